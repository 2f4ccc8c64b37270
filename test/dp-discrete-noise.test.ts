// Exact discrete Gaussian noise (src/dp/discrete-noise.ts): the moments of N_Z(0, σ²) for σ² from 0.5
// to 1e14 (mean, variance within 5 standard errors, with a negative control showing a 10% error in
// the variance is far outside that band), symmetry, chi-square goodness of fit against the exact pmf
// (and against a wrong pmf, which must fail), the building blocks (uniform integers without modulo
// bias, Bernoulli(exp(−γ)), the discrete Laplace), determinism under seededRandom, ring noise read
// back as int32 differences, the per-member variance rule, errors, and a benchmark print.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  addDiscreteGaussianNoise, DiscreteGaussianSampler, DiscreteNoiseError, floatToRational, memberNoiseVariance,
  NoiseParameterError, sampleBernoulliExp, sampleDiscreteGaussian, sampleDiscreteLaplace, uniformBelow
} from '../src/dp/discrete-noise.ts'
import type { Rational } from '../src/dp/discrete-noise.ts'
import { seededRandom, systemRandom } from '../src/secagg/random.ts'

const seed = (n: number): Uint8Array => { const s = new Uint8Array(32); s[0] = n; s[31] = 0xd9; return s }

/** Standard errors a statistic may deviate by before the test fails. */
const Z = 5

/** Unnormalized pmf of N_Z(0, σ²) at x, and the exact moments for small σ² (direct summation). */
function moments (sigma2: number): { v: number, m4: number } {
  if (sigma2 > 1e4) {
    // Poisson summation: the discrete moments differ from the continuous ones by a relative
    // ~σ²·exp(−2π²σ²) < 1e-70 here
    return { v: sigma2, m4: 3 * sigma2 * sigma2 }
  }
  const K = Math.ceil(14 * Math.sqrt(sigma2)) + 10
  let z = 1; let s2 = 0; let s4 = 0
  for (let x = K; x >= 1; x--) {
    const w = Math.exp(-x * x / (2 * sigma2))
    z += 2 * w; s2 += 2 * x * x * w; s4 += 2 * x * x * x * x * w
  }
  return { v: s2 / z, m4: s4 / z }
}

/** The exact pmf of N_Z(0, σ²) on [−K, K], normalized over that (truncated) support. */
function pmf (sigma2: number, K: number): Map<number, number> {
  const out = new Map<number, number>()
  let z = 0
  for (let x = -K; x <= K; x++) { const w = Math.exp(-x * x / (2 * sigma2)); out.set(x, w); z += w }
  for (const [x, w] of out) out.set(x, w / z)
  return out
}

/** Upper quantile of chi-square with k degrees of freedom at normal deviate zq (Wilson–Hilferty). */
function chiSquareCritical (k: number, zq: number): number {
  const a = 2 / (9 * k)
  return k * (1 - a + zq * Math.sqrt(a)) ** 3
}

/**
 * Pearson's statistic of integer samples against a pmf: one bin per x with expected count >= 5 in
 * the central run [−K, K], the two tails folded into the end bins (so every bin expects >= 5).
 */
function chiSquare (samples: Float64Array, p: (x: number) => number): { stat: number, df: number } {
  const n = samples.length
  let K = 0
  while (n * p(K + 1) >= 5) K++
  assert.ok(K >= 1, 'at least three bins')
  const counts = new Map<number, number>()
  for (const s of samples) { const x = Math.max(-K, Math.min(K, s)); counts.set(x, (counts.get(x) ?? 0) + 1) }
  let tail = 0 // Pr[X > K]
  for (let x = K + 1; n * p(x) > 1e-12 || x < K + 20; x++) tail += p(x)
  let stat = 0
  for (let x = -K; x <= K; x++) {
    const e = n * (p(x) + (Math.abs(x) === K ? tail : 0))
    assert.ok(e >= 5, `expected count ${e} at ${x}`)
    const o = counts.get(x) ?? 0
    stat += (o - e) ** 2 / e
  }
  return { stat, df: 2 * K }
}

const dgPmf = (sigma2: number): (x: number) => number => {
  const table = pmf(sigma2, Math.ceil(14 * Math.sqrt(sigma2)) + 20)
  return x => table.get(x) ?? 0
}

/** Mean and mean square of samples (the mean is known to be 0, so E[X²] estimates the variance). */
function stats (xs: Float64Array): { mean: number, meanSq: number } {
  let s = 0; let s2 = 0
  for (const x of xs) { s += x; s2 += x * x }
  return { mean: s / xs.length, meanSq: s2 / xs.length }
}

const N = 100_000

for (const [i, sigma2] of [0.5, 2, 25, 1e4, 1e10, 1e14].entries()) {
  test(`N_Z(0, ${sigma2}): mean 0, variance within ${Z} standard errors, symmetric; a 10% variance error would be caught`, () => {
    const xs = new DiscreteGaussianSampler(sigma2, seededRandom(seed(10 + i))).fill(new Float64Array(N))
    for (const x of xs) assert.ok(Number.isSafeInteger(x))
    const { v, m4 } = moments(sigma2)
    const { mean, meanSq } = stats(xs)
    const seMean = Math.sqrt(v / N)
    const seVar = Math.sqrt((m4 - v * v) / N)
    assert.ok(Math.abs(mean) < Z * seMean, `mean ${mean} vs standard error ${seMean}`)
    assert.ok(Math.abs(meanSq - v) < Z * seVar, `E[X^2] ${meanSq} vs ${v} (standard error ${seVar})`)
    // negative control: a variance off by 10% sits at least 2·Z standard errors away, so the same
    // check rejects it even when the estimate strays Z standard errors towards it
    assert.ok(0.1 * v > 2 * Z * seVar, `10% of the variance is only ${(0.1 * v / seVar).toFixed(1)} standard errors at N = ${N}`)
    for (const wrong of [0.9 * v, 1.1 * v]) {
      const seWrong = Math.sqrt((m4 - v * v) / N) * (wrong / v)
      assert.ok(Math.abs(meanSq - wrong) > Z * Math.max(seVar, seWrong), `the check would accept variance ${wrong}`)
    }
    // symmetry: the positive count among the non-zero samples is Binomial(nz, 1/2)
    let pos = 0; let nz = 0
    for (const x of xs) { if (x !== 0) { nz++; if (x > 0) pos++ } }
    assert.ok(Math.abs(pos - nz / 2) < Z * Math.sqrt(nz) / 2, `${pos} positive of ${nz} non-zero`)
  })
}

test('chi-square goodness of fit against the exact pmf for small σ² (floats, a rational, 0.1 taken exactly); a wrong pmf fails', () => {
  const cases: Array<{ name: string, sigma2: number | Rational, value: number }> = [
    { name: '0.5', sigma2: 0.5, value: 0.5 },
    { name: '2', sigma2: 2, value: 2 },
    { name: '25', sigma2: 25, value: 25 },
    { name: '1/3', sigma2: { num: 1n, den: 3n }, value: 1 / 3 },
    { name: '0.1 (the float)', sigma2: 0.1, value: 0.1 }
  ]
  for (const [i, { name, sigma2, value }] of cases.entries()) {
    const xs = new DiscreteGaussianSampler(sigma2, seededRandom(seed(40 + i))).fill(new Float64Array(N))
    const { stat, df } = chiSquare(xs, dgPmf(value))
    const critical = chiSquareCritical(df, 4.75) // upper tail ~1e-6
    assert.ok(stat < critical, `σ² = ${name}: chi-square ${stat.toFixed(1)} on ${df} df exceeds ${critical.toFixed(1)}`)
    // control: the same samples against N_Z(0, 1.1·σ²) must be rejected
    const wrong = chiSquare(xs, dgPmf(1.1 * value))
    assert.ok(wrong.stat > chiSquareCritical(wrong.df, 4.75), `σ² = ${name}: a 10% wrong pmf passed (chi-square ${wrong.stat.toFixed(1)})`)
  }
})

test('discrete Laplace: chi-square against Pr[y] ∝ exp(−|y|/t)', () => {
  for (const [i, t] of [1, 3, 10].entries()) {
    const rng = seededRandom(seed(60 + i))
    const xs = new Float64Array(50_000)
    for (let j = 0; j < xs.length; j++) xs[j] = sampleDiscreteLaplace(t, rng)
    const c = (Math.exp(1 / t) - 1) / (Math.exp(1 / t) + 1)
    const { stat, df } = chiSquare(xs, y => c * Math.exp(-Math.abs(y) / t))
    assert.ok(stat < chiSquareCritical(df, 4.75), `t = ${t}: chi-square ${stat.toFixed(1)} on ${df} df`)
  }
})

test('Bernoulli(exp(−γ)) for rational γ: frequency within 5 standard errors of exp(−γ)', () => {
  const rng = seededRandom(seed(70))
  const n = 40_000
  const gammas: Rational[] = [
    { num: 0n, den: 1n }, { num: 1n, den: 2n }, { num: 1n, den: 1n }, { num: 7n, den: 3n },
    { num: (1n << 80n) + 12345n, den: 1n << 80n }, { num: 5n * 10n ** 30n + 1n, den: 2n * 10n ** 30n }
  ]
  for (const g of gammas) {
    const p = Math.exp(-Number(g.num) / Number(g.den))
    let k = 0
    for (let j = 0; j < n; j++) if (sampleBernoulliExp(g, rng)) k++
    const se = Math.sqrt(p * (1 - p) / n)
    assert.ok(Math.abs(k / n - p) <= Z * se + 1e-12, `γ = ${g.num}/${g.den}: ${k / n} vs ${p}`)
  }
})

test('uniformBelow: in range, uniform (chi-square), no modulo bias for n just above a power of two', () => {
  const rng = seededRandom(seed(80))
  // small n, 32-bit n, and bigints of 33, 53, 54 and 100 bits; uniformity of the thirds. A modulo
  // reduction would put twice the mass on the first third for 3·2^30 (of 2^32) and 3·2^51 (of 2^53).
  const ns = [3n, 6n, 3n * 2n ** 30n, 3n * 2n ** 31n, 3n * 2n ** 51n, 3n * 2n ** 52n, 3n * 2n ** 98n]
  for (const n of ns) {
    const counts = [0, 0, 0]
    const draws = 30_000
    for (let j = 0; j < draws; j++) {
      const x = uniformBelow(n, rng)
      assert.ok(x >= 0n && x < n)
      counts[Number(x * 3n / n)]++
    }
    const e = draws / 3
    const stat = counts.reduce((s, o) => s + (o - e) ** 2 / e, 0)
    assert.ok(stat < chiSquareCritical(2, 4.75), `n = ${n}: thirds ${counts.join(', ')}`)
  }
  // n = 2^32 + 1 through the 53-bit path and 2^64 + 1 through BigInt: still exactly in range
  fc.assert(fc.property(fc.bigInt({ min: 1n, max: 1n << 130n }), n => {
    const x = uniformBelow(n, rng)
    return x >= 0n && x < n
  }), { numRuns: 2000 })
})

test('determinism: the same seed gives the same samples, another seed different ones', () => {
  for (const sigma2 of [0.5, 1e4, 1e14]) {
    const a = new DiscreteGaussianSampler(sigma2, seededRandom(seed(90))).fill(new Float64Array(1000))
    const b = new DiscreteGaussianSampler(sigma2, seededRandom(seed(90))).fill(new Float64Array(1000))
    const c = new DiscreteGaussianSampler(sigma2, seededRandom(seed(91))).fill(new Float64Array(1000))
    assert.deepEqual(a, b)
    assert.notDeepEqual(a, c)
    const u = addDiscreteGaussianNoise(new Uint32Array(500), sigma2, seededRandom(seed(92)))
    const w = addDiscreteGaussianNoise(new Uint32Array(500), sigma2, seededRandom(seed(92)))
    assert.deepEqual(u, w)
  }
  assert.equal(sampleDiscreteGaussian(7, seededRandom(seed(93))), sampleDiscreteGaussian(7, seededRandom(seed(93))))
})

test('addDiscreteGaussianNoise: in place, mod 2^32; the int32 differences have the per-member variance', () => {
  const sigma2 = memberNoiseVariance({ sigma: 1, clip: 10, scale: 2 ** 24, threshold: 6 }) // σ ≈ 6.8e7 ring units
  const n = 200_000
  const vec = new Uint32Array(n)
  seededRandom(seed(100)).fillUint32(vec) // arbitrary ring values: the addition must wrap correctly
  vec[0] = 0xffffffff; vec[1] = 0; vec[2] = 0x7fffffff; vec[3] = 0x80000000
  const before = vec.slice()
  const out = addDiscreteGaussianNoise(vec, sigma2, seededRandom(seed(101)))
  assert.equal(out, vec, 'returns the same vector')
  const diff = new Float64Array(n)
  for (let i = 0; i < n; i++) diff[i] = (vec[i] - before[i]) | 0
  const { mean, meanSq } = stats(diff)
  const seVar = Math.sqrt(2 * sigma2 * sigma2 / n)
  assert.ok(Math.abs(mean) < Z * Math.sqrt(sigma2 / n), `mean ${mean}`)
  assert.ok(Math.abs(meanSq - sigma2) < Z * seVar, `variance ${meanSq} vs ${sigma2}`)
  assert.ok(0.1 * sigma2 > 2 * Z * seVar, 'a 10% error would be detected')
  // σ² = 0 leaves the vector alone
  const same = before.slice()
  addDiscreteGaussianNoise(same, 0, seededRandom(seed(102)))
  assert.deepEqual(same, before)
})

test('memberNoiseVariance: t·σ_m² >= (σ·C·s)² exactly, and no more than a rounding above it', () => {
  assert.equal(memberNoiseVariance({ sigma: 1, clip: 10, scale: 2 ** 24, threshold: 1 }), (10 * 2 ** 24) ** 2)
  assert.equal(memberNoiseVariance({ sigma: 0, clip: 10, scale: 2 ** 24, threshold: 4 }), 0)
  fc.assert(fc.property(
    fc.double({ min: 1e-3, max: 10, noNaN: true }), fc.double({ min: 1e-3, max: 100, noNaN: true }),
    fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 255 }),
    (sigma, clip, k, threshold) => {
      const scale = 2 ** k
      const target = (sigma * clip * scale) ** 2 / threshold
      if (target > 2 ** 62 * (1 + 1e-9)) {
        assert.throws(() => memberNoiseVariance({ sigma, clip, scale, threshold }), NoiseParameterError)
        return
      }
      if (target > 2 ** 62 * (1 - 1e-9)) return // at the limit: either answer is right
      const v = memberNoiseVariance({ sigma, clip, scale, threshold })
      const r = floatToRational(v)
      const a = floatToRational(sigma); const b = floatToRational(clip); const c = floatToRational(scale)
      const tn = a.num * b.num * c.num; const td = a.den * b.den * c.den
      assert.ok(r.num * BigInt(threshold) * td * td >= tn * tn * r.den, 'below the target')
      assert.ok(v <= target * (1 + 2 ** -50), `${v} far above ${target}`)
    }
  ), { numRuns: 3000 })
})

test('floatToRational is exact', () => {
  assert.deepEqual(floatToRational(0.5), { num: 1n, den: 2n })
  assert.deepEqual(floatToRational(1e10), { num: 10_000_000_000n, den: 1n })
  assert.deepEqual(floatToRational(0.1), { num: 3602879701896397n, den: 1n << 55n })
  assert.deepEqual(floatToRational(5e-324), { num: 1n, den: 1n << 1074n })
  fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), x => {
    const r = floatToRational(x)
    // the quotient rounds back to x (exact for dyadic rationals within range)
    return Number(r.num) / Number(r.den) === x || (r.den > (1n << 1000n))
  }), { numRuns: 2000 })
})

test('errors: named, one line, with codes', () => {
  for (const bad of [-1, NaN, Infinity, 2 ** 63]) {
    assert.throws(() => new DiscreteGaussianSampler(bad), NoiseParameterError)
  }
  assert.throws(() => sampleDiscreteGaussian({ num: 1n, den: 0n }), NoiseParameterError)
  assert.throws(() => sampleDiscreteGaussian({ num: -1n, den: 2n }), NoiseParameterError)
  assert.throws(() => uniformBelow(0n), NoiseParameterError)
  assert.throws(() => sampleDiscreteLaplace(0), NoiseParameterError)
  assert.throws(() => memberNoiseVariance({ sigma: 1, clip: 0, scale: 1, threshold: 1 }), NoiseParameterError)
  assert.throws(() => memberNoiseVariance({ sigma: 1, clip: 1, scale: 1, threshold: 1.5 }), NoiseParameterError)
  assert.throws(() => memberNoiseVariance({ sigma: 1e10, clip: 1e10, scale: 2 ** 30, threshold: 1 }), NoiseParameterError)
  try {
    addDiscreteGaussianNoise(new Uint32Array(2), -3)
    assert.fail('no error')
  } catch (err) {
    assert.ok(err instanceof DiscreteNoiseError)
    assert.equal(err.name, 'NoiseParameterError')
    assert.equal(err.code, 'ERR_NOISE_PARAMETER')
    assert.ok(!err.message.includes('\n'))
  }
})

test('benchmark (printed, not asserted): samples/s at σ = 1e7 from the system CSPRNG', (t) => {
  const sampler = new DiscreteGaussianSampler(1e14, systemRandom)
  const out = new Float64Array(200_000)
  sampler.fill(out.subarray(0, 10_000))
  const t0 = performance.now()
  sampler.fill(out)
  const s = (performance.now() - t0) / 1000
  t.diagnostic(`σ = 1e7: ${Math.round(out.length / s).toLocaleString('en')} samples/s (${out.length} in ${s.toFixed(3)} s)`)
})
