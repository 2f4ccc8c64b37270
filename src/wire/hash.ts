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

/**
 * The canonical serialization of a float32 vector (models, updates): little-endian float32 bytes. On a
 * little-endian host this is a view of the vector's memory, not a copy: callers must not mutate the
 * vector afterwards (fedswarm never does; every round makes a new one).
 */
export function float32Bytes (v: Float32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
  const out = new Uint8Array(v.length * 4)
  const view = new DataView(out.buffer)
  for (let i = 0; i < v.length; i++) view.setFloat32(i * 4, v[i], true)
  return out
}

/** The inverse of `float32Bytes`: a fresh Float32Array (always a copy, so it is aligned and owned). */
export function float32FromBytes (b: Uint8Array): Float32Array {
  if (b.byteLength % 4 !== 0) throw new RangeError(`float32 vector has ${b.byteLength} bytes, not a multiple of 4`)
  const out = new Float32Array(b.byteLength / 4)
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(b)
    return out
  }
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true)
  return out
}

/** Canonical bytes of a ring vector: uint32 little-endian (zero-copy on little-endian machines). */
export function uint32Bytes (v: Uint32Array): Uint8Array {
  if (LITTLE_ENDIAN) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
  const out = new Uint8Array(v.length * 4)
  const view = new DataView(out.buffer)
  for (let i = 0; i < v.length; i++) view.setUint32(i * 4, v[i], true)
  return out
}

/** The inverse of `uint32Bytes`: a fresh Uint32Array. */
export function uint32FromBytes (b: Uint8Array): Uint32Array {
  if (b.byteLength % 4 !== 0) throw new RangeError(`uint32 vector has ${b.byteLength} bytes, not a multiple of 4`)
  const out = new Uint32Array(b.byteLength / 4)
  if (LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(b)
    return out
  }
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  for (let i = 0; i < out.length; i++) out[i] = view.getUint32(i * 4, true)
  return out
}
