/**
 * FedAvg over plaintext (or already unmasked) updates, as one fixed sequence of IEEE-754 operations so
 * that every peer that sums the same updates derives a bit-identical model.
 *
 * The sequence (documented in README "Determinism"):
 *   1. order the updates by the author's PeerId bytes (lexicographic);
 *   2. W = Σ w_i in that order, in float64 (w_i = example count, or 1 for uniform weighting);
 *   3. for every coordinate k: S_k = Σ w_i · Δ_i[k] in that order, in float64 (one multiply and one add
 *      per term; JavaScript never fuses them);
 *   4. M[r][k] = fround(M[r-1][k] + fround(η · S_k / W)), η the server learning rate.
 * JavaScript numbers are IEEE-754 binary64 with round-to-nearest on every operation, so this is the same
 * on every platform and in every process.
 */
import { compareBytes } from '../wire/hash.ts'

export class AggregationError extends Error {
  override name = 'AggregationError'
}

export interface WeightedUpdate {
  /** Author PeerId bytes: the sort key. */
  peer: Uint8Array
  /** FedAvg weight (> 0). */
  weight: number
  delta: Float32Array
}

export interface FedAvgInit {
  weighting?: 'examples' | 'uniform'
  serverLearningRate?: number
}

/** Sum of weighted deltas, in the fixed order. Exposed so secure aggregation can replace this step. */
export function weightedSum (updates: readonly WeightedUpdate[], weighting: 'examples' | 'uniform'): { sum: Float64Array, totalWeight: number } {
  if (updates.length === 0) throw new AggregationError('no updates to aggregate')
  const ordered = [...updates].sort((a, b) => compareBytes(a.peer, b.peer))
  const d = ordered[0].delta.length
  const sum = new Float64Array(d)
  let totalWeight = 0
  for (let i = 0; i < ordered.length; i++) {
    const u = ordered[i]
    if (i > 0 && compareBytes(ordered[i - 1].peer, u.peer) === 0) throw new AggregationError('two updates from the same peer')
    if (u.delta.length !== d) throw new AggregationError(`update has ${u.delta.length} parameters, expected ${d}`)
    const w = weighting === 'uniform' ? 1 : u.weight
    if (!(Number.isFinite(w) && w > 0)) throw new AggregationError(`update weight ${u.weight} is not a positive number`)
    totalWeight += w
    const delta = u.delta
    for (let k = 0; k < d; k++) sum[k] += w * delta[k]
  }
  return { sum, totalWeight }
}

/** Applies the averaged delta to the base model: step 4 above. */
export function applyAverage (base: Float32Array, sum: Float64Array, totalWeight: number, serverLearningRate = 1): Float32Array {
  if (sum.length !== base.length) throw new AggregationError(`sum has ${sum.length} parameters, model has ${base.length}`)
  const out = new Float32Array(base.length)
  for (let k = 0; k < base.length; k++) out[k] = Math.fround(base[k] + Math.fround(serverLearningRate * sum[k] / totalWeight))
  return out
}

/** FedAvg: M[r] from M[r-1] and the survivors' updates. */
export function fedAvg (base: Float32Array, updates: readonly WeightedUpdate[], init: FedAvgInit = {}): Float32Array {
  const { sum, totalWeight } = weightedSum(updates, init.weighting ?? 'examples')
  return applyAverage(base, sum, totalWeight, init.serverLearningRate ?? 1)
}
