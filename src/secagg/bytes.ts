/**
 * Byte helpers of secure aggregation: peer order, equality, hex keys for maps, and the injective
 * length-prefixed encoding used for HKDF info strings and AES-GCM associated data.
 */
import { InvalidContextError } from './errors.ts'

/**
 * Peer order, equality and hex keys are the wire's (`src/wire/hash.ts`): lexicographic byte order of
 * PeerId multihashes (a proper prefix sorts first) gives the sign of pairwise masks and sorts peers.
 */
export { bytesEqual, compareBytes as comparePeers, toHex } from '../wire/hash.ts'

/**
 * A copy as a plain `Uint8Array` (not a Buffer or a view into a larger buffer).
 * `shamir-secret-sharing` checks `value.constructor === Uint8Array`, so a Buffer is refused there.
 */
export function plainBytes (bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.byteLength)
  out.set(bytes)
  return out
}

export function concatBytes (parts: Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.byteLength
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.byteLength }
  return out
}

/** A field of a context encoding: bytes, a UTF-8 string, or a non-negative safe integer (u64). */
export type ContextField = Uint8Array | string | number

function u32be (n: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n, false)
  return out
}

function u64be (n: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n), false)
  return out
}

/**
 * Encodes fields so that different field lists never give the same bytes: every field is a type
 * tag (0x01 bytes, 0x02 string, 0x03 integer) followed by a 4-byte big-endian length and its bytes;
 * integers are 8-byte big-endian. Throws InvalidContextError on a negative or non-integer number.
 */
export function encodeContext (fields: ContextField[]): Uint8Array {
  const parts: Uint8Array[] = []
  for (const f of fields) {
    let tag: number
    let body: Uint8Array
    if (typeof f === 'number') {
      if (!Number.isSafeInteger(f) || f < 0) throw new InvalidContextError(`context integer must be a non-negative safe integer, got ${f}`)
      tag = 3
      body = u64be(f)
    } else if (typeof f === 'string') {
      tag = 2
      body = new TextEncoder().encode(f)
    } else if (f instanceof Uint8Array) {
      tag = 1
      body = f
    } else {
      throw new InvalidContextError('context field must be bytes, a string or an integer')
    }
    parts.push(Uint8Array.of(tag), u32be(body.byteLength), body)
  }
  return concatBytes(parts)
}
