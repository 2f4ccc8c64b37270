/**
 * SHA-256 helpers shared by the wire, round and aggregation layers.
 */
import { createHash } from 'node:crypto'

export function sha256 (...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return new Uint8Array(h.digest())
}

export function toHex (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}

export function fromHex (hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

export function bytesEqual (a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

/** Lexicographic byte order, used wherever the protocol sorts peers. */
export function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.byteLength, b.byteLength)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return a.byteLength - b.byteLength
}

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1

/** Reverses the bytes of every 4-byte word in place (little- <-> big-endian). */
function swapWords (b: Uint8Array): void {
  for (let i = 0; i + 3 < b.byteLength; i += 4) {
    const a0 = b[i]; const a1 = b[i + 1]
    b[i] = b[i + 3]; b[i + 1] = b[i + 2]; b[i + 2] = a1; b[i + 3] = a0
  }
}

/** Little-endian bytes of a vector of 32-bit words: a view on little-endian hosts, a swapped copy otherwise. */
function words32Bytes (v: Float32Array | Uint32Array): Uint8Array {
  const view = new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
  if (LITTLE_ENDIAN) return view
  const out = Uint8Array.from(view)
  swapWords(out)
  return out
}

/** Fills a fresh vector of 32-bit words from little-endian bytes (always a copy: aligned and owned). */
function words32FromBytes<T extends Float32Array | Uint32Array> (b: Uint8Array, make: (n: number) => T, what: string): T {
  if (b.byteLength % 4 !== 0) throw new RangeError(`${what} vector has ${b.byteLength} bytes, not a multiple of 4`)
  const out = make(b.byteLength / 4)
  const bytes = new Uint8Array(out.buffer)
  bytes.set(b)
  if (!LITTLE_ENDIAN) swapWords(bytes)
  return out
}

/**
 * The canonical serialization of a float32 vector (models, updates): little-endian float32 bytes. On a
 * little-endian host this is a view of the vector's memory, not a copy: callers must not mutate the
 * vector afterwards (fedswarm never does; every round makes a new one).
 */
export function float32Bytes (v: Float32Array): Uint8Array {
  return words32Bytes(v)
}

/** The inverse of `float32Bytes`: a fresh Float32Array (always a copy, so it is aligned and owned). */
export function float32FromBytes (b: Uint8Array): Float32Array {
  return words32FromBytes(b, n => new Float32Array(n), 'float32')
}

/** Canonical bytes of a ring vector: uint32 little-endian (a view on little-endian hosts, as above). */
export function uint32Bytes (v: Uint32Array): Uint8Array {
  return words32Bytes(v)
}

/** The inverse of `uint32Bytes`: a fresh Uint32Array. */
export function uint32FromBytes (b: Uint8Array): Uint32Array {
  return words32FromBytes(b, n => new Uint32Array(n), 'uint32')
}
