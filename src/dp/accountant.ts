/**
 * Rényi-DP accountant for the (Poisson-)subsampled Gaussian mechanism, as used by DP-SGD and by
 * DP-FedAvg with a sampled cohort: the RDP curve of one step, its composition over steps and over
 * heterogeneous phases (RDP composes additively, order by order), and the conversion to (ε, δ).
 * Pure functions of numbers; nothing here samples noise.
 *
 * The mechanism. One step releases f(D') + N(0, σ²·Δ²) where D' keeps every record independently with
 * probability q and f has L2 sensitivity Δ; σ is the noise multiplier. Neighbouring datasets differ by
 * adding or removing one record. Following Mironov, Talwar, Zhang 2019, "Rényi Differential Privacy of
 * the Sampled Gaussian Mechanism" (arXiv:1908.10530, "MTZ19" below), the RDP at order α > 1 is
 *   ε(α) = log(A_α) / (α − 1),   A_α = E_{z∼μ0} [ ((1 − q) + q·μ1(z)/μ0(z))^α ]
 * with μ0 = N(0, σ²), μ1 = N(1, σ²), so μ1(z)/μ0(z) = exp((2z − 1)/(2σ²)) (MTZ19 show that the
 * divergence in the other direction is never larger). Special cases: q = 0 gives 0; q = 1 is the
 * plain Gaussian mechanism, α/(2σ²); σ = 0 (with q > 0) or α = ∞ gives ∞.
 *
 *  - Integer α (MTZ19 §3.3): expand the α-th power with the binomial theorem; every term is a Gaussian
 *    moment, E_{μ0}[exp(k(2z − 1)/(2σ²))] = exp((k² − k)/(2σ²)), so
 *      A_α = Σ_{k=0..α} C(α, k) q^k (1 − q)^{α−k} exp((k² − k)/(2σ²)),
 *    summed in log space (all terms are positive).
 *  - Fractional α (MTZ19 §3.3, the "two series"): split the integral at z0 = σ²·log(1/q − 1) + 1/2,
 *    where q·μ1/μ0 = 1 − q. Below z0 expand (1 − q + x)^α in powers of x, above z0 in powers of 1 − q
 *    (generalized binomial series, convergent on each side); each term is a truncated Gaussian moment:
 *      A_α = Σ_k C(α,k) q^k (1−q)^{α−k} e^{(k²−k)/(2σ²)} · ½erfc((k − z0)/(√2σ))
 *          + Σ_k C(α,k) q^{α−k} (1−q)^k e^{(j²−j)/(2σ²)} · ½erfc((z0 − j)/(√2σ)),   j = α − k.
 *    C(α, k) is positive up to k = ⌊α⌋ + 1 and alternates in sign after that. By default ('signed')
 *    the terms are summed with their signs, which is A_α itself (as in MTZ19, Opacus, and TF Privacy /
 *    dp_accounting before April 2024); 'absolute' sums |C(α, k)| terms instead, an upper bound on A_α,
 *    which is what dp_accounting has computed since its "Improve numerical stability of RDP
 *    computation" change (0b109e9), so its values at fractional orders are slightly larger. Summation
 *    stops once the terms decrease and fall below e^-30 of the total. If the series has not converged
 *    after MAX_SERIES_TERMS (+ α) terms, the signed sum adds the last term's magnitude (this bounds the
 *    rest of an alternating series whose terms decrease) and the absolute sum gives ∞ (so that order is
 *    not used, as in dp_accounting).
 *
 * Conversion to (ε, δ), minimized over the orders given:
 *  - 'improved' (default): ε = rdp + log((α − 1)/α) − (log δ + log α)/(α − 1), Balle et al. 2020
 *    "Hypothesis testing interpretations and Rényi DP" Thm 21 / Canonne, Kamath, Steinke 2020 Prop 12;
 *    as in dp_accounting's compute_epsilon and Opacus's get_privacy_spent. Like dp_accounting, an order
 *    whose RDP r already satisfies δ ≥ sqrt(1 − e^−r) (the KL bound, as D_1 ≤ D_α) gives ε = 0.
 *  - 'classic': ε = rdp − log δ/(α − 1), Mironov 2017 "Rényi Differential Privacy" Prop 3 (TF Privacy's
 *    rdp_accountant before December 2020).
 * deltaFromRdp is the inverse of each (δ for a target ε).
 *
 * Reference values from TF Privacy, dp_accounting and Opacus are reproduced in test/dp-accountant.test.ts.
 */

export class AccountantError extends Error {
  override name = 'AccountantError'
}

export type Conversion = 'improved' | 'classic'
export type FractionalSeries = 'signed' | 'absolute'

/**
 * dp_accounting's DEFAULT_RDP_ORDERS (python/dp_accounting/dp_accounting/rdp/rdp_privacy_accountant.py):
 * [1 + x / 10 for x in 1..99] + range(11, 64) + [128, 256, 512, 1024].
 */
export const DEFAULT_RDP_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, i) => 1 + (i + 1) / 10),
  ...Array.from({ length: 53 }, (_, i) => 11 + i),
  128, 256, 512, 1024
])

/**
 * The orders of TF Privacy's compute_dp_sgd_privacy (tensorflow_privacy/privacy/analysis/
 * compute_dp_sgd_privacy_lib.py): [1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5] + range(5, 64) + [128, 256, 512].
 */
export const DP_SGD_PRIVACY_ORDERS: readonly number[] = Object.freeze([
  1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5,
  ...Array.from({ length: 59 }, (_, i) => 5 + i),
  128, 256, 512
])

/** Terms of the fractional-order series before giving up on convergence. */
export const MAX_SERIES_TERMS = 5000

export interface SampledGaussianOptions {
  /** Probability q in [0, 1] that each record takes part in a step (Poisson sampling). */
  sampleRate: number
  /** σ: the noise standard deviation over the L2 sensitivity, >= 0. */
  noiseMultiplier: number
  /** Number of identical steps composed, an integer >= 0 (default 1). */
  steps?: number
  /** RDP orders α > 1 (∞ allowed); default DEFAULT_RDP_ORDERS. */
  orders?: readonly number[]
  /** How the fractional-order series treats the negative binomial coefficients; default 'signed'. */
  fractionalSeries?: FractionalSeries
}

/** The RDP of `steps` steps of the subsampled Gaussian mechanism at each order (same length as orders). */
export function rdpSampledGaussian (opts: SampledGaussianOptions): Float64Array {
  const q = opts.sampleRate
  const sigma = opts.noiseMultiplier
  const steps = opts.steps ?? 1
  const orders = checkOrders(opts.orders ?? DEFAULT_RDP_ORDERS, 'orders')
  const series = opts.fractionalSeries ?? 'signed'
  if (typeof q !== 'number' || !(q >= 0 && q <= 1)) throw new AccountantError(`sampleRate must be a number in [0, 1] (got ${String(q)})`)
  if (typeof sigma !== 'number' || !Number.isFinite(sigma) || sigma < 0) throw new AccountantError(`noiseMultiplier must be a finite number >= 0 (got ${String(sigma)})`)
  if (!Number.isSafeInteger(steps) || steps < 0) throw new AccountantError(`steps must be an integer >= 0 (got ${String(steps)})`)
  if (series !== 'signed' && series !== 'absolute') throw new AccountantError(`fractionalSeries must be 'signed' or 'absolute' (got ${String(series)})`)
  const out = new Float64Array(orders.length)
  if (steps === 0 || q === 0) return out
  for (let i = 0; i < orders.length; i++) out[i] = rdpOneStep(q, sigma, orders[i], series) * steps
  return out
}

export interface SampledGaussianPhase {
  sampleRate: number
  noiseMultiplier: number
  steps: number
}

/**
 * The RDP of a sequence of phases with different sampling rates, noise multipliers and step counts:
 * the sum, order by order, of each phase's curve (RDP composition).
 */
export function rdpComposed (phases: readonly SampledGaussianPhase[], orders: readonly number[] = DEFAULT_RDP_ORDERS,
  fractionalSeries: FractionalSeries = 'signed'): Float64Array {
  if (!Array.isArray(phases)) throw new AccountantError('phases must be an array of { sampleRate, noiseMultiplier, steps }')
  const total = new Float64Array(checkOrders(orders, 'orders').length)
  for (const p of phases) {
    const rdp = rdpSampledGaussian({ sampleRate: p.sampleRate, noiseMultiplier: p.noiseMultiplier, steps: p.steps, orders, fractionalSeries })
    for (let i = 0; i < total.length; i++) total[i] += rdp[i]
  }
  return total
}

/** Sums RDP curves computed over the same orders. */
export function sumRdp (curves: ReadonlyArray<ArrayLike<number>>): Float64Array {
  if (curves.length === 0) throw new AccountantError('curves must hold at least one RDP curve')
  const total = new Float64Array(curves[0].length)
  for (const c of curves) {
    if (c.length !== total.length) throw new AccountantError(`curves must all have the same length (got ${c.length} and ${total.length})`)
    for (let i = 0; i < total.length; i++) total[i] += c[i]
  }
  return total
}

export interface RdpCurve {
  orders: readonly number[]
  rdp: ArrayLike<number>
  /** 'improved' (default) or 'classic'; see the header. */
  conversion?: Conversion
}

export interface EpsilonResult {
  epsilon: number
  /** The order at which the minimum is reached (the first one on ties, e.g. when every order gives ∞). */
  order: number
}

/** The smallest ε such that the mechanism is (ε, δ)-DP, over the orders of the curve. */
export function epsilonFromRdp (opts: RdpCurve & { delta: number }): EpsilonResult {
  const { orders, rdp } = checkCurve(opts)
  const delta = opts.delta
  const conversion = checkConversion(opts.conversion)
  if (typeof delta !== 'number' || !(delta >= 0 && delta <= 1)) throw new AccountantError(`delta must be a number in [0, 1] (got ${String(delta)})`)
  const { value, order } = minOverOrders(orders, rdp, (alpha, r) => epsilonAt(alpha, r, delta, conversion))
  return { epsilon: Math.max(0, value), order }
}

export interface DeltaResult {
  delta: number
  order: number
}

/** The smallest δ such that the mechanism is (ε, δ)-DP, over the orders of the curve. */
export function deltaFromRdp (opts: RdpCurve & { epsilon: number }): DeltaResult {
  const { orders, rdp } = checkCurve(opts)
  const eps = opts.epsilon
  const conversion = checkConversion(opts.conversion)
  if (typeof eps !== 'number' || !(eps >= 0)) throw new AccountantError(`epsilon must be a number >= 0 (got ${String(eps)})`)
  const { value, order } = minOverOrders(orders, rdp, (alpha, r) => logDeltaAt(alpha, r, eps, conversion))
  return { delta: Math.min(1, Math.exp(value)), order }
}

/** The smallest `f(α, max(0, rdp(α)))` over the orders, and the first order reaching it (∞ if none is finite). */
function minOverOrders (orders: readonly number[], rdp: ArrayLike<number>, f: (alpha: number, rdp: number) => number): { value: number, order: number } {
  let value = Infinity
  let order = orders[0]
  for (let i = 0; i < orders.length; i++) {
    const v = f(orders[i], Math.max(0, rdp[i]))
    if (v < value) { value = v; order = orders[i] }
  }
  return { value, order }
}

export interface SampledGaussianEpsilonOptions extends SampledGaussianOptions {
  delta: number
  conversion?: Conversion
}

export interface PrivacySpent extends EpsilonResult {
  sampleRate: number
  steps: number
}

/** ε at the given δ after `steps` steps of the subsampled Gaussian mechanism. */
export function sampledGaussianEpsilon (opts: SampledGaussianEpsilonOptions): PrivacySpent {
  const orders = opts.orders ?? DEFAULT_RDP_ORDERS
  const rdp = rdpSampledGaussian({ ...opts, orders })
  const r = epsilonFromRdp({ orders, rdp, delta: opts.delta, conversion: opts.conversion })
  return { ...r, sampleRate: opts.sampleRate, steps: opts.steps ?? 1 }
}

export interface DpSgdOptions {
  /** N: training examples. */
  examples: number
  /** B: expected batch size; q = B / N. */
  batchSize: number
  noiseMultiplier: number
  /** Passes over the data, may be fractional; steps = ceil(epochs · N / B). */
  epochs: number
  delta: number
  orders?: readonly number[]
  conversion?: Conversion
  fractionalSeries?: FractionalSeries
}

/**
 * ε of DP-SGD with Poisson sampling at rate B/N for ceil(epochs · N / B) steps, the accounting of TF
 * Privacy's compute_dp_sgd_privacy (which, unlike this function by default, uses DP_SGD_PRIVACY_ORDERS).
 */
export function dpSgdEpsilon (opts: DpSgdOptions): PrivacySpent {
  const { examples, batchSize, epochs } = opts
  if (!Number.isSafeInteger(examples) || examples < 1) throw new AccountantError(`examples must be an integer >= 1 (got ${String(examples)})`)
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new AccountantError(`batchSize must be an integer >= 1 (got ${String(batchSize)})`)
  if (batchSize > examples) throw new AccountantError(`batchSize must not exceed examples (got ${batchSize} > ${examples})`)
  if (typeof epochs !== 'number' || !Number.isFinite(epochs) || epochs <= 0) throw new AccountantError(`epochs must be a finite number > 0 (got ${String(epochs)})`)
  const sampleRate = batchSize / examples
  // Same expression, in the same order, as compute_dp_sgd_privacy: the float result decides the ceil.
  const steps = Math.ceil(epochs * examples / batchSize)
  return sampledGaussianEpsilon({
    sampleRate,
    noiseMultiplier: opts.noiseMultiplier,
    steps,
    delta: opts.delta,
    orders: opts.orders,
    conversion: opts.conversion,
    fractionalSeries: opts.fractionalSeries
  })
}

// ---------------------------------------------------------------------------------------------------
// RDP of one step

function rdpOneStep (q: number, sigma: number, alpha: number, series: FractionalSeries): number {
  if (q === 0) return 0
  if (sigma === 0 || alpha === Infinity) return Infinity
  if (q === 1) return alpha / (2 * sigma * sigma)
  const logA = Number.isInteger(alpha) ? logAInteger(q, sigma, alpha) : logAFractional(q, sigma, alpha, series)
  // A_α >= 1 (a Rényi divergence is >= 0); a slightly negative log is rounding.
  return Math.max(0, logA) / (alpha - 1)
}

/** log A_α for an integer α >= 2 and 0 < q < 1: the binomial expansion, in log space. */
function logAInteger (q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q)
  const log1mQ = Math.log1p(-q)
  const twoVar = 2 * sigma * sigma
  let logBinom = 0 // log C(α, 0)
  let acc = -Infinity
  for (let k = 0; k <= alpha; k++) {
    acc = logAdd(acc, logBinom + k * logQ + (alpha - k) * log1mQ + (k * k - k) / twoVar)
    logBinom += Math.log((alpha - k) / (k + 1))
  }
  return acc
}

/** log A_α for a fractional α > 1 and 0 < q < 1: the two series of MTZ19 §3.3. */
function logAFractional (q: number, sigma: number, alpha: number, series: FractionalSeries): number {
  const logQ = Math.log(q)
  const log1mQ = Math.log1p(-q)
  const twoVar = 2 * sigma * sigma
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5
  const scale = 1 / (Math.SQRT2 * sigma)
  const limit = MAX_SERIES_TERMS + Math.ceil(alpha)
  let logBinom = 0 // log |C(α, k)|
  let sign = 1 // sign of C(α, k)
  let pos = -Infinity // log of the sum of the positive terms
  let neg = -Infinity // log of the sum of the magnitudes of the negative terms
  let all = -Infinity // log of the sum of all magnitudes (the 'absolute' series)
  let last0 = Infinity
  let last1 = Infinity
  let term = -Infinity
  let decreasing = false
  for (let k = 0; k < limit; k++) {
    const j = alpha - k
    const s0 = logBinom + k * logQ + j * log1mQ + (k * k - k) / twoVar + LOG_HALF + logErfc((k - z0) * scale)
    const s1 = logBinom + j * logQ + k * log1mQ + (j * j - j) / twoVar + LOG_HALF + logErfc((z0 - j) * scale)
    term = logAdd(s0, s1)
    all = logAdd(all, term)
    if (sign > 0) pos = logAdd(pos, term)
    else neg = logAdd(neg, term)
    const total = series === 'absolute' ? all : signedTotal(pos, neg, all)
    decreasing = k > alpha + 1 && s0 < last0 && s1 < last1
    if (decreasing && Math.max(s0, s1) < total - 30) return total
    last0 = s0
    last1 = s1
    const factor = alpha - k // C(α, k+1) = C(α, k)·(α − k)/(k + 1)
    logBinom += Math.log(Math.abs(factor) / (k + 1))
    if (factor < 0) sign = -sign
  }
  if (series === 'absolute' || !decreasing) return Infinity
  // Alternating series whose terms decrease: the rest is smaller than the last term.
  return logAdd(signedTotal(pos, neg, all), term)
}

/**
 * log(e^pos − e^neg), the signed sum; A_α >= 1 > 0, so pos > neg unless rounding broke it, in which case
 * the sum of magnitudes (an upper bound) is used.
 */
function signedTotal (pos: number, neg: number, all: number): number {
  if (neg === -Infinity) return pos
  if (!(pos > neg)) return all
  return pos + Math.log1p(-Math.exp(neg - pos))
}

const LOG_HALF = Math.log(0.5)

/** log(e^a + e^b). */
export function logAdd (a: number, b: number): number {
  const hi = Math.max(a, b)
  const lo = Math.min(a, b)
  if (lo === -Infinity) return hi
  return hi + Math.log1p(Math.exp(lo - hi))
}

/**
 * log(erfc(x)), accurate to a few ulps of the result over the whole line: the positive series of erf
 * below 2 (no cancellation in the sum; 1 − erf loses at most 3 digits there), the Laplace continued
 * fraction of erfc above it (evaluated in log space, so no underflow for large x), and
 * erfc(x) = 2 − erfc(−x) for negative x.
 */
export function logErfc (x: number): number {
  if (Number.isNaN(x)) return NaN
  if (x < 0) return Math.LN2 + Math.log1p(-Math.exp(logErfc(-x)) / 2)
  if (x < 2) return Math.log1p(-erfSeries(x))
  return -x * x - 0.5 * Math.log(Math.PI) - Math.log(erfcContinuedFraction(x))
}

/** erf(x) = (2/√π)·e^{−x²}·Σ_n 2^n x^{2n+1} / (1·3·…·(2n+1)), all terms positive. */
function erfSeries (x: number): number {
  const x2 = x * x
  let term = x
  let sum = x
  for (let n = 1; n < 200; n++) {
    term *= 2 * x2 / (2 * n + 1)
    sum += term
    if (term < sum * 1e-17) break
  }
  return 2 / Math.sqrt(Math.PI) * Math.exp(-x2) * sum
}

/** g(x) with erfc(x) = e^{−x²} / (√π·g(x)), g = x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …)))) (modified Lentz). */
function erfcContinuedFraction (x: number): number {
  const tiny = 1e-300
  let f = x
  let c = x
  let d = 0
  for (let n = 1; n < 5000; n++) {
    const a = n / 2
    d = x + a * d
    if (d === 0) d = tiny
    c = x + a / c
    if (c === 0) c = tiny
    d = 1 / d
    const delta = c * d
    f *= delta
    if (Math.abs(delta - 1) < 1e-16) break
  }
  return f
}

// ---------------------------------------------------------------------------------------------------
// Conversion

function epsilonAt (alpha: number, r: number, delta: number, conversion: Conversion): number {
  if (r === Infinity) return Infinity
  if (delta === 0) return r === 0 ? 0 : Infinity
  if (alpha === Infinity) return r // both formulas tend to the pure-DP guarantee
  if (conversion === 'classic') return r - Math.log(delta) / (alpha - 1)
  if (delta * delta + Math.expm1(-r) > 0) return 0 // δ >= sqrt(1 − e^−KL), KL <= D_α = r
  return r + Math.log1p(-1 / alpha) - (Math.log(delta) + Math.log(alpha)) / (alpha - 1)
}

function logDeltaAt (alpha: number, r: number, eps: number, conversion: Conversion): number {
  if (r === Infinity) return Infinity
  if (alpha === Infinity) return r <= eps ? -Infinity : Infinity
  if (conversion === 'classic') return (alpha - 1) * (r - eps)
  const kl = r === 0 ? -Infinity : 0.5 * Math.log1p(-Math.exp(-r))
  return Math.min(kl, (alpha - 1) * (r - eps + Math.log1p(-1 / alpha)) - Math.log(alpha))
}

// ---------------------------------------------------------------------------------------------------
// Argument checks

function checkOrders (orders: readonly number[], what: string): readonly number[] {
  if (!Array.isArray(orders) || orders.length === 0) throw new AccountantError(`${what} must be a non-empty array of numbers > 1`)
  for (const a of orders) {
    if (typeof a !== 'number' || !(a > 1)) throw new AccountantError(`${what} must all be numbers > 1 (got ${String(a)})`)
  }
  return orders
}

function checkCurve (opts: RdpCurve): { orders: readonly number[], rdp: ArrayLike<number> } {
  const orders = checkOrders(opts.orders, 'orders')
  const rdp = opts.rdp
  if (rdp == null || typeof rdp.length !== 'number') throw new AccountantError('rdp must be an array of numbers')
  if (rdp.length !== orders.length) throw new AccountantError(`rdp must have one value per order (got ${rdp.length} values for ${orders.length} orders)`)
  for (let i = 0; i < rdp.length; i++) {
    if (typeof rdp[i] !== 'number' || Number.isNaN(rdp[i])) throw new AccountantError(`rdp must hold numbers (got ${String(rdp[i])} at index ${i})`)
  }
  return { orders, rdp }
}

function checkConversion (c: Conversion | undefined): Conversion {
  if (c === undefined) return 'improved'
  if (c !== 'improved' && c !== 'classic') throw new AccountantError(`conversion must be 'improved' or 'classic' (got ${String(c)})`)
  return c
}
