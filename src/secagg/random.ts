/**
 * Randomness for stochastic rounding. The default source is the operating system's CSPRNG through
 * `crypto.randomFillSync`; `seededRandom` is a reproducible CSPRNG (the AES-256-CTR keystream of a
 * 32-byte seed, as in the mask PRG) for tests and replays. Both are injectable where randomness is
 * used, through the `RandomSource` interface.
 */
import { randomFillSync } from 'node:crypto'
import { MaskStream } from './prg.ts'

/** A source of uniformly random 32-bit words. */
export interface RandomSource {
  /** Fills `out` with independent uniform uint32 values. */
  fillUint32 (out: Uint32Array): void
}

/** randomFillSync refuses more than 2^31 - 1 bytes at once. */
const MAX_FILL_WORDS = 1 << 28

/** The operating system's CSPRNG (node:crypto `randomFillSync`). */
export const systemRandom: RandomSource = {
  fillUint32 (out: Uint32Array): void {
    for (let off = 0; off < out.length; off += MAX_FILL_WORDS) {
      randomFillSync(out.subarray(off, Math.min(out.length, off + MAX_FILL_WORDS)))
    }
  }
}

/** A deterministic CSPRNG: the AES-256-CTR keystream of `seed32`. The same seed gives the same words. */
export function seededRandom (seed32: Uint8Array): RandomSource {
  const stream = new MaskStream(seed32)
  return {
    fillUint32 (out: Uint32Array): void {
      stream.fill(out)
    }
  }
}
