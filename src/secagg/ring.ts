/**
 * Ring arithmetic in Z_2^32 and quantization of real vectors into it.
 *
 * Vectors of the ring are `Uint32Array`s; storing into a Uint32Array reduces modulo 2^32, so
 * `addInto` / `subInto` are exact ring operations. A ring element read as a signed int32 (two's
 * complement) stands for an integer in [-2^31, 2^31 - 1].
 *
 * Quantization. A real vector x is first clamped coordinate-wise to [-bound, bound] (so a caller's
 * mistake cannot make the sum wrap), then scaled by s and rounded stochastically:
 * q = floor(x·s) + [u < frac(x·s)] with u uniform in [0, 1) from a CSPRNG (53 random bits per
 * coordinate), so E[q] = x·s, and |q| <= ceil(bound·s) <= bound·s + 1.
 *
 * The scale. For a sum of `summands` such vectors never to wrap in the signed interpretation, every
 * coordinate of the integer sum must stay within int32:
 *
 *     summands · (bound · s + 1) <= 2^31 - 1
 *
 * `quantizationScale` returns the largest power of two s = 2^k (k may be negative) that satisfies
 * this. A power of two is chosen, at a cost of at most one bit of resolution, because it makes
 * x·s and sum/s exact in float64: quantization is then a pure rounding step, and dequantizing the
 * integer sum gives the same float on every peer, bit for bit (Invariant 1). The resolution of one
 * coordinate is 1/s, and the round-trip error |q/s - clamp(x)| is below 1/s.
 *
 * The check is done in float64; it is safe because the true worst case summands · ceil(bound·s) is
 * an integer, so a rounding error far below 1 cannot let it exceed 2^31 - 1. Room for noise added
 * later in the ring (distributed DP) must be included in `bound` by the caller.
 */
import { INT32_MAX, RANDOM_CHUNK } from './constants.ts'
import { LengthMismatchError, QuantizationError } from './errors.ts'
import { systemRandom } from './random.ts'
import type { RandomSource } from './random.ts'

function checkSameLength (a: Uint32Array, b: Uint32Array): void {
  if (a.length !== b.length) throw new LengthMismatchError(`ring vectors have lengths ${a.length} and ${b.length}`)
}

/** acc += v (mod 2^32), in place; returns acc. */
export function addInto (acc: Uint32Array, v: Uint32Array): Uint32Array {
  checkSameLength(acc, v)
  for (let i = 0; i < acc.length; i++) acc[i] = acc[i] + v[i]
  return acc
}

/** acc -= v (mod 2^32), in place; returns acc. */
export function subInto (acc: Uint32Array, v: Uint32Array): Uint32Array {
  checkSameLength(acc, v)
  for (let i = 0; i < acc.length; i++) acc[i] = acc[i] - v[i]
  return acc
}

/** The ring sum of some vectors of the same length (`length` is needed when there are none). */
export function ringSum (vectors: Uint32Array[], length = vectors[0]?.length ?? 0): Uint32Array {
  const out = new Uint32Array(length)
  for (const v of vectors) addInto(out, v)
  return out
}

export interface QuantizationInit {
  /** Largest magnitude of one coordinate of one input (the clamp bound); > 0. */
  bound: number
  /** How many inputs may be summed (the cohort size); integer >= 1. */
  summands: number
}

/** Whether `summands` inputs quantized at `scale` with clamp `bound` can never wrap. */
export function fitsInRing ({ bound, summands }: QuantizationInit, scale: number): boolean {
  return summands * (bound * scale + 1) <= INT32_MAX
}

/**
 * The largest power-of-two scale s with summands · (bound · s + 1) <= 2^31 - 1 (see the header).
 * Throws QuantizationError when no positive scale works or the parameters are invalid.
 */
export function quantizationScale (init: QuantizationInit): number {
  const { bound, summands } = init
  if (!(Number.isFinite(bound) && bound > 0)) throw new QuantizationError(`bound must be a positive finite number, got ${bound}`)
  if (!(Number.isSafeInteger(summands) && summands >= 1)) throw new QuantizationError(`summands must be a positive integer, got ${summands}`)
  const room = INT32_MAX / summands - 1
  if (!(room > 0)) throw new QuantizationError(`${summands} summands leave no room in a 32-bit ring`)
  let k = Math.floor(Math.log2(room / bound))
  // Math.log2 may be off by one at exact powers of two: settle k exactly
  while (k > -1074 && !fitsInRing(init, 2 ** k)) k--
  while (fitsInRing(init, 2 ** (k + 1))) k++
  const s = 2 ** k
  if (!(s > 0) || !Number.isFinite(s) || !fitsInRing(init, s)) {
    throw new QuantizationError(`no scale fits bound ${bound} with ${summands} summands`)
  }
  return s
}

export interface QuantizeOptions {
  /** Clamp bound: every coordinate is clamped to [-bound, bound] before scaling. */
  bound: number
  /** Randomness for stochastic rounding (default: the system CSPRNG). */
  rng?: RandomSource
}

const TWO_POW_26 = 2 ** 26
const TWO_POW_M53 = 2 ** -53

/**
 * Quantizes a real vector into the ring: clamp to ±bound, multiply by `scale`, round
 * stochastically (unbiased), store as two's complement uint32. Throws QuantizationError on NaN or
 * when one coordinate could not fit in int32 (bound · scale + 1 > 2^31 - 1).
 */
export function quantize (x: Float32Array | Float64Array, scale: number, options: QuantizeOptions): Uint32Array {
  const { bound, rng = systemRandom } = options
  if (!(Number.isFinite(scale) && scale > 0)) throw new QuantizationError(`scale must be a positive finite number, got ${scale}`)
  if (!(Number.isFinite(bound) && bound > 0)) throw new QuantizationError(`bound must be a positive finite number, got ${bound}`)
  if (!fitsInRing({ bound, summands: 1 }, scale)) throw new QuantizationError(`bound ${bound} at scale ${scale} does not fit in int32`)
  const n = x.length
  const out = new Uint32Array(n)
  const random = new Uint32Array(Math.min(RANDOM_CHUNK, n) * 2)
  for (let start = 0; start < n; start += RANDOM_CHUNK) {
    const end = Math.min(n, start + RANDOM_CHUNK)
    const r = random.subarray(0, (end - start) * 2)
    rng.fillUint32(r)
    for (let i = start, j = 0; i < end; i++, j += 2) {
      let v = x[i]
      if (v !== v) throw new QuantizationError(`coordinate ${i} is NaN`)
      if (v > bound) v = bound
      else if (v < -bound) v = -bound
      const y = v * scale
      const f = Math.floor(y)
      // 53-bit uniform u in [0, 1): exact for the fraction of any |y| >= 1 (a multiple of 2^-52)
      const u = ((r[j] >>> 5) * TWO_POW_26 + (r[j + 1] >>> 6)) * TWO_POW_M53
      out[i] = u < y - f ? f + 1 : f
    }
  }
  return out
}

/**
 * Reads every element as a signed int32 and divides by `scale` (exact when scale is a power of
 * two). Use it on the unmasked ring sum (or on one quantized vector).
 */
export function dequantizeSum (sum: Uint32Array, scale: number): Float64Array {
  if (!(Number.isFinite(scale) && scale > 0)) throw new QuantizationError(`scale must be a positive finite number, got ${scale}`)
  const out = new Float64Array(sum.length)
  for (let i = 0; i < sum.length; i++) out[i] = (sum[i] | 0) / scale
  return out
}
