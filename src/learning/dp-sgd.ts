/**
 * Example-level DP-SGD (Abadi et al. 2016) for the dense models (`mlp` with relu or tanh, `logreg`),
 * with TF Privacy's microbatch semantics (DPKerasSGDOptimizer, dp_optimizer_keras.py):
 *
 *   each batch of B examples is split into `microbatches` = m consecutive groups of g = B / m;
 *   every group's MEAN gradient is clipped to l2NormClip C (global norm over all weights, scaled by
 *   C / max(norm, C) as tf.clip_by_global_norm); the clipped group gradients are summed; Gaussian
 *   noise N(0, (noiseMultiplier · C)²) is added to every coordinate of the sum; the result is divided
 *   by m and taken as the gradient of an SGD (or momentum) step. m = B (the default) is per-example
 *   clipping, m = 1 clips the batch mean only.
 *
 * Per-example gradients are exact and batched, never a loop over examples (Goodfellow 2015,
 * "Efficient per-example gradient computations"): one forward pass keeps every layer's input A_l, the
 * output deltas Δ_l are back-propagated by hand with tfjs ops (softmax cross-entropy: Δ_L = P - Y;
 * relu: · step(a), tanh: · (1 - a²)), and a dense layer's per-example gradient is the outer product
 * a_i ⊗ δ_i (bias: δ_i). So, for g = 1, the squared norm of example i's gradient is
 * Σ_l (||a_{l,i}||² + 1) · ||δ_{l,i}||², from row norms only. For g > 1 the squared norm of a group's
 * summed gradient Σ_{i∈G} a_i ⊗ δ_i is Σ_{i,k∈G} (a_i·a_k + 1)(δ_i·δ_k): the elementwise product of
 * the group's Gram matrices, a batched matmul of [m, g, d] by [m, d, g] per layer. The clipped sum is
 * then Aᵀ · diag(w) · Δ per layer (one matmul), with w_i = c_{G(i)} / g. For m = 1 the batch's
 * mean gradient AᵀΔ / B is formed directly and clipped (cheaper than B×B Gram matrices).
 *
 * The loss is the project's cross-entropy (`local-train.ts`): -log(clip(p_y, 1e-7, 1)) on the softmax.
 * Its gradient is taken as P - Y (the unclipped cross-entropy), which equals tfjs's gradient of the
 * clipped loss whenever p_y >= 1e-7; below, tfjs's gradient vanishes and ours does not.
 *
 * Sampling: fixed-size batches from a seeded shuffle per epoch (as `trainLocal`); the last
 * incomplete batch of an epoch is dropped so that every step sees exactly B examples (and B is a
 * multiple of g). This is TF Privacy's tutorial convention: the moments/RDP accountant is then applied
 * as if each step were a Poisson sample with rate q = B / N, steps = epochs · floor(N / B) (a common
 * approximation, not a proof for shuffled batches).
 *
 * Noise: a CSPRNG (node:crypto randomFillSync), 53-bit uniforms, Marsaglia's polar method in float64,
 * rounded to float32 once scaled (`gaussianNoise`). The float rounding is not hardened against
 * Mironov's (2012) floating-point attack and the tails are bounded by the 53-bit uniforms (|z| < ~12):
 * fine for training utility and the usual accounting, not a certified-exact sampler.
 */

import { randomFillSync } from 'node:crypto'
import * as tf from '@tensorflow/tfjs'
import type { ModelSpec, TrainingSpec } from '../config/types.ts'
import { LOSS_EPSILON, RNG_DOMAINS } from './constants.ts'
import { loadDataset } from './datasets.ts'
import { ensureRows, firstRows } from './features.ts'
import { TrainerError } from './errors.ts'
import { checkTrainJob } from './jobs.ts'
import type { TrainJob, TrainResult } from './jobs.ts'
import { planModel } from './layout.ts'
import type { LocalOptions } from './local-train.ts'
import { createRng } from './prng.ts'

/** DP-SGD parameters (TF Privacy's names). */
export interface DpSgdSpec {
  /** σ: the noise standard deviation over l2NormClip. 0 = clipping only (no privacy). */
  noiseMultiplier: number
  /** C: every microbatch's mean gradient is clipped to this L2 norm (all weights together). */
  l2NormClip: number
  /**
   * Microbatches per batch, m (must divide training.batchSize). Absent or 0 = batchSize: per-example
   * clipping (TF Privacy's num_microbatches=None).
   */
  microbatches?: number
}

/** Fills `out` with independent N(0, std²) values. */
export type NoiseSource = (out: Float32Array, std: number) => void

export interface DpSgdInput {
  /** `mlp` or `logreg` (dense layers only). */
  model: ModelSpec
  inputShape: readonly number[]
  classes: number
  /** Starting model, flat in layout order (not modified). */
  params: Float32Array
  /** Training inputs, row-major, `features` values per example. */
  x: Float32Array
  /** Training labels in [0, classes). */
  y: ArrayLike<number>
  /** The examples to train on (all of `y` if absent). */
  indices?: Uint32Array
  /** epochs, batchSize, learningRate, optimizer (`sgd` or `momentum`), momentum. */
  training: TrainingSpec
  dp: DpSgdSpec
  /** Seeds the per-epoch shuffles (the noise never depends on it). */
  seed: number
  /** Noise generator; default `gaussianNoise` (CSPRNG). For tests. */
  noise?: NoiseSource
}

export interface DpSgdResult extends TrainResult {
  /** Optimizer steps taken: epochs · floor(examples / batchSize). */
  steps: number
  /** Examples per step (batchSize, or fewer if the peer has fewer examples). */
  batchSize: number
  /** Microbatches per step. */
  microbatches: number
  /** q = batchSize / examples, for the accountant (with `steps` and noiseMultiplier). */
  samplingRate: number
}

/** How DP-SGD batches N examples: bs examples a step (a multiple of g), m = bs / g microbatches. */
export interface DpSgdPlan { batchSize: number, microbatches: number, examplesPerMicrobatch: number, stepsPerEpoch: number }

/**
 * The batch shape of DP-SGD on `examples` examples: bs = min(B, N) rounded down to a multiple of the
 * microbatch size g = B / m (g shrinks to bs when N < g), the last partial batch of an epoch dropped.
 * The accountant's q is bs / N. Shared by training and by the ledger's estimate before a round.
 */
export function dpSgdPlan (examples: number, batchSize: number, microbatches = 0): DpSgdPlan {
  const B = batchSize
  const m0 = microbatches === 0 ? B : microbatches
  let g = B / m0
  let bs = Math.min(B, examples)
  if (bs < B) { g = Math.min(g, bs); bs = g === 0 ? 0 : Math.floor(bs / g) * g }
  return { batchSize: bs, microbatches: bs === 0 ? 0 : bs / g, examplesPerMicrobatch: g, stepsPerEpoch: bs === 0 ? 0 : Math.floor(examples / bs) }
}

/** A training job with DP-SGD: a `TrainJob` plus its `dp` block. */
export interface DpTrainJob extends TrainJob {
  dp: DpSgdSpec
}

interface Dense { inputs: number, units: number, activation: 'relu' | 'tanh' | 'softmax' }

/** The dense layers of `model`; throws for models with convolutions. */
export function denseLayers (model: ModelSpec, inputShape: readonly number[], classes: number): Dense[] {
  const plan = planModel(model, inputShape, classes)
  const out: Dense[] = []
  for (const l of plan) {
    if (l.type === 'dense') out.push({ inputs: l.inputs, units: l.units, activation: l.activation })
    else if (l.type !== 'flatten') throw new TrainerError(`DP-SGD supports dense models only (mlp, logreg), not ${model.kind}`)
  }
  return out
}

/** Throws a `TrainerError` naming the first malformed field of a DP-SGD spec for batches of `batchSize`. */
export function checkDpSgd (dp: DpSgdSpec, training: TrainingSpec): void {
  if (dp == null || typeof dp !== 'object') throw new TrainerError('dp must be an object { noiseMultiplier, l2NormClip, microbatches }')
  if (!(typeof dp.noiseMultiplier === 'number' && dp.noiseMultiplier >= 0 && Number.isFinite(dp.noiseMultiplier))) {
    throw new TrainerError(`dp.noiseMultiplier must be a finite number >= 0, got ${JSON.stringify(dp.noiseMultiplier)}`)
  }
  if (!(typeof dp.l2NormClip === 'number' && dp.l2NormClip > 0 && Number.isFinite(dp.l2NormClip))) {
    throw new TrainerError(`dp.l2NormClip must be a finite number > 0, got ${JSON.stringify(dp.l2NormClip)}`)
  }
  const m = dp.microbatches ?? 0
  if (!(Number.isInteger(m) && m >= 0)) throw new TrainerError(`dp.microbatches must be an integer >= 0 (0 = per example), got ${JSON.stringify(dp.microbatches)}`)
  if (m > 0 && training.batchSize % m !== 0) {
    throw new TrainerError(`dp.microbatches (${m}) must divide training.batchSize (${training.batchSize})`)
  }
  if (training.optimizer !== 'sgd' && training.optimizer !== 'momentum') {
    throw new TrainerError(`DP-SGD supports training.optimizer sgd or momentum, got ${JSON.stringify(training.optimizer)}`)
  }
}

const TWO_52 = 4503599627370496
const CHUNK = 1 << 16 // u32 words per randomFillSync call
const words = new Uint32Array(CHUNK)
/** Next unused word of `words` (CHUNK: refill first); kept across calls so a small tensor's noise does not discard a whole refill. */
let cursor = CHUNK

/**
 * Fills `out` with N(0, std²) from the OS CSPRNG (node:crypto randomFillSync): Marsaglia's polar
 * method in float64 on pairs of uniforms in [-1, 1) with 53 random bits each (rejecting s >= 1 and
 * s = 0, about 21% of pairs), then scaled and rounded to float32. (Box-Muller's cos/sin cost ~40% more.)
 */
export function gaussianNoise (out: Float32Array, std: number): void {
  let w = cursor
  const n = out.length
  for (let i = 0; i < n;) {
    if (w + 4 > CHUNK) { randomFillSync(words); w = 0 }
    const u = ((words[w] >>> 5) * 67108864 + (words[w + 1] >>> 6)) / TWO_52 - 1
    const v = ((words[w + 2] >>> 5) * 67108864 + (words[w + 3] >>> 6)) / TWO_52 - 1
    w += 4
    const s = u * u + v * v
    if (s >= 1 || s === 0) continue
    const f = std * Math.sqrt(-2 * Math.log(s) / s)
    out[i++] = u * f
    if (i < n) out[i++] = v * f
  }
  cursor = w
}

/** What one batch yields before noise: per layer the clipped-gradient sums, and diagnostics. */
export interface ClippedBatch {
  /** Σ over microbatches of clip(mean gradient of the microbatch), per weight tensor (layout order). */
  grads: tf.Tensor[]
  /** L2 norm of every microbatch's mean gradient before clipping, [m]. */
  norms: tf.Tensor1D
  /** Sum over the batch of the per-example cross-entropy. */
  lossSum: tf.Scalar
}

/**
 * The clipped gradient sum of one batch (no noise, not divided by m): `weights` are the layout-order
 * tensors [W_1, b_1, ..., W_L, b_L], `xs` is [B, features], `labels` int32 [B], `m` divides B.
 * Returns new tensors (the caller disposes them).
 */
export function clippedGradients (layers: readonly Dense[], weights: readonly tf.Tensor[], xs: tf.Tensor2D, labels: tf.Tensor1D, m: number, clip: number): ClippedBatch {
  return tf.tidy(() => {
    const B = xs.shape[0]
    if (B % m !== 0) throw new TrainerError(`batch of ${B} examples does not split into ${m} microbatches`)
    const g = B / m
    const L = layers.length
    // forward, keeping every layer's input
    const inputs: tf.Tensor2D[] = [xs]
    let a: tf.Tensor2D = xs
    for (let l = 0; l < L; l++) {
      const z = tf.add(tf.matMul(a, weights[2 * l] as tf.Tensor2D), weights[2 * l + 1]) as tf.Tensor2D
      if (l === L - 1) { a = z; break }
      a = (layers[l].activation === 'relu' ? tf.relu(z) : tf.tanh(z))
      inputs.push(a)
    }
    const probs = tf.softmax(a)
    const oneHot = tf.cast(tf.oneHot(labels, layers[L - 1].units), 'float32') // (the wasm OneHot kernel ignores a float32 dtype)
    const lossSum = tf.neg(tf.sum(tf.mul(oneHot, tf.log(tf.clipByValue(probs, LOSS_EPSILON, 1))))) as tf.Scalar
    // backward: per-example output deltas of every layer
    const deltas: tf.Tensor2D[] = new Array(L)
    let d = tf.sub(probs, oneHot) as tf.Tensor2D
    for (let l = L - 1; l >= 0; l--) {
      deltas[l] = d
      if (l === 0) break
      const back = tf.matMul(d, weights[2 * l] as tf.Tensor2D, false, true)
      const h = inputs[l] // activation output of layer l - 1
      d = layers[l - 1].activation === 'relu'
        ? tf.mul(back, tf.step(h))
        : tf.mul(back, tf.sub(1, tf.square(h)))
    }
    if (m === 1) {
      // one microbatch: the batch mean gradient itself, clipped (cheaper than the B×B Gram matrices)
      const sums: tf.Tensor[] = []
      for (let l = 0; l < L; l++) sums.push(tf.matMul(inputs[l], deltas[l], true, false), tf.sum(deltas[l], 0))
      const norm = tf.div(tf.sqrt(tf.addN(sums.map(t => tf.sum(tf.square(t))))), B)
      const scale = tf.div(tf.div(clip, tf.maximum(norm, clip)), B)
      return { grads: sums.map(t => tf.mul(t, scale)), norms: tf.reshape(norm, [1]) as tf.Tensor1D, lossSum }
    }
    // squared norms of every microbatch's summed gradient
    let sq: tf.Tensor1D
    if (g === 1) {
      let s: tf.Tensor = tf.zeros([B])
      for (let l = 0; l < L; l++) {
        s = tf.add(s, tf.mul(tf.add(tf.sum(tf.square(inputs[l]), 1), 1), tf.sum(tf.square(deltas[l]), 1)))
      }
      sq = s as tf.Tensor1D
    } else {
      let s: tf.Tensor = tf.zeros([m])
      for (let l = 0; l < L; l++) {
        const A = tf.reshape(inputs[l], [m, g, layers[l].inputs]) as tf.Tensor3D
        const D = tf.reshape(deltas[l], [m, g, layers[l].units]) as tf.Tensor3D
        const ga = tf.matMul(A, A, false, true)
        const gd = tf.matMul(D, D, false, true)
        s = tf.add(s, tf.sum(tf.mul(tf.add(ga, 1), gd), [1, 2]))
      }
      sq = tf.div(tf.relu(s), g * g) as tf.Tensor1D // mean gradient; relu guards tiny negative rounding
    }
    const norms = tf.sqrt(sq) as tf.Tensor1D
    const factor = tf.div(clip, tf.maximum(norms, clip)) // tf.clip_by_global_norm
    const w = (g === 1 ? factor : tf.reshape(tf.tile(tf.reshape(tf.div(factor, g), [m, 1]), [1, g]), [B])).reshape([B, 1])
    const grads: tf.Tensor[] = []
    for (let l = 0; l < L; l++) {
      const wd = tf.mul(deltas[l], w)
      grads.push(tf.matMul(inputs[l], wd, true, false), tf.sum(wd, 0))
    }
    return { grads, norms, lossSum }
  })
}

function toVariable (t: tf.Tensor): tf.Variable {
  const v = tf.variable(t)
  t.dispose()
  return v
}

function abortError (): Error {
  const err = new Error('training was aborted')
  err.name = 'AbortError'
  return err
}

/**
 * DP-SGD on the current thread's tfjs backend: returns local - params like `trainLocal`, with the
 * number of steps and the sampling rate for the accountant.
 */
export async function dpSgdTrain (input: DpSgdInput, options: LocalOptions = {}): Promise<DpSgdResult> {
  const { model, inputShape, classes, params, x, y, training, dp } = input
  checkDpSgd(dp, training)
  const layers = denseLayers(model, inputShape, classes)
  const features = layers[0].inputs
  const size = layers.reduce((s, l) => s + (l.inputs + 1) * l.units, 0)
  if (!(params instanceof Float32Array) || params.length !== size) throw new TrainerError(`params must be a Float32Array of ${size} values for this model`)
  const n = y.length
  if (x.length !== n * features) throw new TrainerError(`x has ${x.length} values, expected ${n} examples × ${features} features`)
  const indices = input.indices ?? firstRows(n)
  for (let i = 0; i < indices.length; i++) {
    if (indices[i] >= n) throw new TrainerError(`indices[${i}] = ${indices[i]} is out of range: the training set has ${n} examples`)
  }
  const backend = tf.getBackend()
  const plan = dpSgdPlan(indices.length, training.batchSize, dp.microbatches ?? 0)
  const bs = plan.batchSize
  const empty = (): DpSgdResult => ({ delta: new Float32Array(size), examples: indices.length, loss: 0, seconds: 0, backend, steps: 0, batchSize: bs, microbatches: 0, samplingRate: 0 })
  if (bs === 0) return empty()
  const m = plan.microbatches
  const perEpoch = plan.stepsPerEpoch
  const stop = (): boolean => options.signal?.aborted === true || options.shouldStop?.() === true
  const noise = input.noise ?? gaussianNoise
  const std = dp.noiseMultiplier * dp.l2NormClip
  const lr = training.learningRate
  const mu = training.optimizer === 'momentum' ? training.momentum : 0

  let o = 0
  const shapes: number[][] = layers.flatMap(l => [[l.inputs, l.units], [l.units]])
  const vars = shapes.map(shape => {
    const k = shape.reduce((a, b) => a * b, 1)
    o += k
    return toVariable(tf.tensor(params.slice(o - k, o), shape, 'float32'))
  })
  const velocity = mu > 0 ? shapes.map(shape => toVariable(tf.zeros(shape))) : []
  const noiseBufs = std > 0 ? shapes.map(shape => new Float32Array(shape.reduce((a, b) => a * b, 1))) : []
  const xBuf = new Float32Array(bs * features)
  const yBuf = new Int32Array(bs)
  const order = indices.slice()
  const rng = createRng(RNG_DOMAINS.shuffle, input.seed)
  let lossSum: tf.Scalar = tf.scalar(0)
  let steps = 0
  const started = performance.now()
  try {
    for (let epoch = 0; epoch < training.epochs; epoch++) {
      rng.shuffle(order)
      for (let s = 0; s < perEpoch; s++) {
        if (steps > 0) options.onBatch?.(steps, training.epochs * perEpoch)
        if (stop()) throw abortError()
        for (let i = 0; i < bs; i++) {
          const e = order[s * bs + i]
          xBuf.set(x.subarray(e * features, (e + 1) * features), i * features)
          yBuf[i] = y[e]
        }
        const xs = tf.tensor2d(xBuf, [bs, features], 'float32')
        const labels = tf.tensor1d(yBuf, 'int32')
        const batch = clippedGradients(layers, vars, xs, labels, m, dp.l2NormClip)
        const noiseTs = noiseBufs.map((buf, k) => { noise(buf, std); return tf.tensor(buf, shapes[k], 'float32') })
        tf.tidy(() => {
          for (let k = 0; k < vars.length; k++) {
            let grad = batch.grads[k]
            if (std > 0) grad = tf.add(grad, noiseTs[k])
            grad = tf.div(grad, m)
            if (mu > 0) {
              velocity[k].assign(tf.add(tf.mul(velocity[k], mu), grad))
              vars[k].assign(tf.sub(vars[k], tf.mul(velocity[k], lr)))
            } else {
              vars[k].assign(tf.sub(vars[k], tf.mul(grad, lr)))
            }
          }
        })
        const next = tf.add(lossSum, batch.lossSum) as tf.Scalar
        tf.dispose([xs, labels, lossSum, batch.grads, batch.norms, batch.lossSum, noiseTs])
        lossSum = next
        steps++
      }
    }
    const total = (await lossSum.data())[0]
    const delta = new Float32Array(size)
    o = 0
    for (const v of vars) {
      const d = v.dataSync() as Float32Array
      for (let i = 0; i < d.length; i++) delta[o + i] = d[i] - params[o + i]
      o += d.length
    }
    return {
      delta,
      examples: indices.length,
      loss: steps > 0 ? total / (steps * bs) : 0,
      seconds: (performance.now() - started) / 1000,
      backend,
      steps,
      batchSize: bs,
      microbatches: m,
      samplingRate: bs / indices.length
    }
  } finally {
    tf.dispose([lossSum, ...vars, ...velocity])
  }
}

/** `trainLocal` with DP-SGD: loads the job's dataset (cached per thread) and runs `dpSgdTrain`. */
export async function dpTrainLocal (job: DpTrainJob, options: LocalOptions = {}): Promise<DpSgdResult> {
  checkTrainJob(job)
  checkDpSgd(job.dp, job.training)
  const ds = await loadDataset(job.dataset, { baseDir: job.baseDir, signal: options.signal })
  const n = ds.trainY.length
  // (out-of-range indices are reported by dpSgdTrain; only the valid ones are transformed here)
  ensureRows(ds, 'train', job.indices?.filter(i => i < n) ?? firstRows(n), { signal: options.signal, shouldStop: options.shouldStop })
  return await dpSgdTrain({
    model: job.model,
    inputShape: ds.inputShape,
    classes: ds.classes,
    params: job.params,
    x: ds.trainX,
    y: ds.trainY,
    indices: job.indices,
    training: job.training,
    dp: job.dp,
    seed: job.seed
  }, options)
}
