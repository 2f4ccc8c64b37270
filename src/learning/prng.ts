/**
 * Seeded pseudo-random numbers in pure JS, identical on every peer: a SHA-256 hash of a domain label
 * and the seed (plus any extra parts) seeds xoshiro128** (Blackman and Vigna, 2018; 32-bit words, period
 * 2^128 - 1). Used for M[0], partitions and per-epoch shuffles. Not for cryptography.
 */

import { sha256 } from '@noble/hashes/sha2.js'
import { utf8ToBytes } from '@noble/hashes/utils.js'

export interface Rng {
  /** A uniform 32-bit unsigned integer. */
  u32 (): number
  /** A uniform double in [0, 1) with 53 random bits. */
  float (): number
  /** A uniform integer in [0, n) (n >= 1, up to 2^32), without modulo bias. */
  int (n: number): number
  /** A standard normal (Box-Muller on two `float()`s). */
  normal (): number
  /** A Gamma(shape, 1) variate (Marsaglia and Tsang, 2000; shape < 1 boosted by U^(1/shape)). */
  gamma (shape: number): number
  /** Proportions over `k` bins from a symmetric Dirichlet(alpha) (normalized Gammas, in log space so tiny alphas do not underflow). */
  dirichlet (alpha: number, k: number): Float64Array
  /** Shuffles `a` in place (Fisher-Yates) and returns it. */
  shuffle<T extends { length: number, [i: number]: number }> (a: T): T
}

/**
 * An Rng whose stream depends only on `domain` and `parts`: the state is the first 16 bytes of
 * SHA-256(domain, 0x00, part1, 0x00, part2, ...) with numbers written as JS prints them.
 */
export function createRng (domain: string, ...parts: Array<number | string>): Rng {
  for (const p of parts) {
    if (typeof p === 'number' && !Number.isFinite(p)) throw new RangeError(`seed must be a finite number, got ${p}`)
  }
  const digest = sha256(utf8ToBytes([domain, ...parts.map(String)].join('\u0000')))
  const view = new DataView(digest.buffer, digest.byteOffset, digest.byteLength)
  let s0 = view.getUint32(0, true)
  let s1 = view.getUint32(4, true)
  let s2 = view.getUint32(8, true)
  let s3 = view.getUint32(12, true)
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1 // the all-zero state is the one fixed point

  const u32 = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0
    const t = s1 << 9
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = rotl(s3, 11)
    return result
  }
  const float = (): number => ((u32() >>> 5) * 67108864 + (u32() >>> 6)) / 9007199254740992
  const int = (n: number): number => {
    if (!(n >= 1 && n <= 0x100000000 && Number.isInteger(n))) throw new RangeError(`int(n) needs an integer n in [1, 2^32], got ${n}`)
    // rejection sampling: accept x < limit, the largest multiple of n that fits in 2^32
    const limit = 0x100000000 - (0x100000000 % n)
    for (;;) {
      const x = u32()
      if (x < limit) return x % n
    }
  }
  const normal = (): number => {
    let u = float()
    while (u === 0) u = float()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * float())
  }
  const gamma = (shape: number): number => {
    if (!(shape > 0) || !Number.isFinite(shape)) throw new RangeError(`gamma shape must be > 0, got ${shape}`)
    if (shape < 1) {
      let u = float()
      while (u === 0) u = float()
      return gamma(shape + 1) * Math.pow(u, 1 / shape)
    }
    const d = shape - 1 / 3
    const c = 1 / Math.sqrt(9 * d)
    for (;;) {
      let x: number
      let v: number
      do {
        x = normal()
        v = 1 + c * x
      } while (v <= 0)
      v = v * v * v
      const u = float()
      if (u < 1 - 0.0331 * x * x * x * x) return d * v
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v
    }
  }
  const logGamma = (shape: number): number => {
    if (shape >= 1) return Math.log(gamma(shape))
    let u = float()
    while (u === 0) u = float()
    return Math.log(gamma(shape + 1)) + Math.log(u) / shape
  }
  const dirichlet = (alpha: number, k: number): Float64Array => {
    const out = new Float64Array(k)
    let max = -Infinity
    for (let i = 0; i < k; i++) {
      out[i] = logGamma(alpha)
      if (out[i] > max) max = out[i]
    }
    let sum = 0
    for (let i = 0; i < k; i++) {
      out[i] = Math.exp(out[i] - max)
      sum += out[i]
    }
    for (let i = 0; i < k; i++) out[i] /= sum
    return out
  }
  const shuffle = <T extends { length: number, [i: number]: number }>(a: T): T => {
    for (let i = a.length - 1; i > 0; i--) {
      const j = int(i + 1)
      const tmp = a[i]
      a[i] = a[j]
      a[j] = tmp
    }
    return a
  }
  return { u32, float, int, normal, gamma, dirichlet, shuffle }
}

function rotl (x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}
