/**
 * The mask PRG: a 32-byte seed expanded into a vector of Z_2^32 by the AES-256-CTR keystream from
 * node:crypto (the full 256-bit key is the seed; the IV is fixed to zero because every seed keys
 * exactly one stream: b_i is fresh per round, and s_ij is bound by HKDF to task, round, attempt and
 * pair). Keystream bytes are read as little-endian uint32, whatever the host's byte order.
 *
 * `expandMask` returns a whole vector; `MaskStream` hands out the same stream in pieces, so masking
 * can walk a long vector chunk by chunk without one temporary vector per peer.
 */
import { createCipheriv } from 'node:crypto'
import type { Cipheriv } from 'node:crypto'
import { endianness } from 'node:os'
import { MASK_CHUNK, SEED_LENGTH } from './constants.ts'
import { InvalidSeedError } from './errors.ts'

const ZERO_IV = new Uint8Array(16)
const LITTLE_ENDIAN = endianness() === 'LE'
let zeros = new Uint8Array(MASK_CHUNK * 4)

function zeroBytes (n: number): Uint8Array {
  if (zeros.byteLength < n) zeros = new Uint8Array(n)
  return zeros.subarray(0, n)
}

function checkSeed (seed: Uint8Array): void {
  if (!(seed instanceof Uint8Array) || seed.byteLength !== SEED_LENGTH) {
    throw new InvalidSeedError(`mask seed must be ${SEED_LENGTH} bytes, got ${seed instanceof Uint8Array ? seed.byteLength : typeof seed}`)
  }
}

function checkLength (length: number): void {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`mask length must be a non-negative integer, got ${length}`)
}

/** The AES-256-CTR keystream of one seed, read as little-endian uint32 words, in order. */
export class MaskStream {
  private readonly cipher: Cipheriv

  /**
   * @param offset - the word of the stream to start at (default 0): the stream from word `offset` on is
   * the same as the whole stream with its first `offset` words skipped, without generating them (the
   * CTR counter block is set to offset / 4 and the rest of that block is dropped).
   */
  constructor (seed: Uint8Array, offset = 0) {
    checkSeed(seed)
    checkLength(offset)
    const block = Math.floor(offset / 4)
    const iv = new Uint8Array(16)
    // 128-bit big-endian counter; a safe integer fits in the low 8 bytes
    new DataView(iv.buffer).setBigUint64(8, BigInt(block))
    this.cipher = createCipheriv('aes-256-ctr', seed, block === 0 ? ZERO_IV : iv)
    const skip = offset % 4
    if (skip > 0) this.cipher.update(zeroBytes(skip * 4))
  }

  /**
   * The next `words` words of the stream. The result may be a view into a buffer owned by
   * node:crypto; it is valid until the next call, so read or copy it before asking again.
   */
  next (words: number): Uint32Array {
    checkLength(words)
    const bytes = this.cipher.update(zeroBytes(words * 4))
    let view: Uint32Array
    if (bytes.byteOffset % 4 === 0) {
      view = new Uint32Array(bytes.buffer, bytes.byteOffset, words)
    } else {
      view = new Uint32Array(words)
      new Uint8Array(view.buffer).set(bytes)
    }
    if (!LITTLE_ENDIAN) {
      new Uint8Array(view.buffer, view.byteOffset, view.byteLength).reverse()
      view.reverse()
    }
    return view
  }

  /** Writes the next `out.length` words of the stream into `out`. */
  fill (out: Uint32Array): Uint32Array {
    for (let off = 0; off < out.length; off += MASK_CHUNK) {
      const n = Math.min(MASK_CHUNK, out.length - off)
      out.set(this.next(n), off)
    }
    return out
  }
}

/** PRG(seed): the first `length` words of the AES-256-CTR keystream of `seed`, as a ring vector. */
export function expandMask (seed32: Uint8Array, length: number): Uint32Array {
  checkSeed(seed32)
  checkLength(length)
  return new MaskStream(seed32).fill(new Uint32Array(length))
}
