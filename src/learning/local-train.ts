/**
 * Local training and evaluation on the current thread's tfjs backend: mini-batch SGD / momentum /
 * Adam over this peer's examples with a seeded shuffle per epoch, and test-set accuracy and loss.
 * The `Trainer` runs these inside worker threads; calling them directly blocks the calling thread.
 */

import * as tf from '@tensorflow/tfjs'
import { EVAL_BATCH_SIZE, LOSS_EPSILON, RNG_DOMAINS } from './constants.ts'
import type { Gradients } from './constants.ts'
import { loadDataset } from './datasets.ts'
import type { Dataset } from './datasets.ts'
import { ensureRows, firstRows } from './features.ts'
import { TrainerError } from './errors.ts'
import { checkEvalJob, checkTrainJob } from './jobs.ts'
import type { EvalJob, EvalResult, TrainJob, TrainResult } from './jobs.ts'
import { buildModel, getParams, setParams } from './models.ts'
import type { BuiltModel } from './models.ts'
import { planGradients } from './backprop.ts'
import { createRng } from './prng.ts'
import type { ModelSpec, TrainingSpec } from '../config/types.ts'

export interface LocalOptions {
  signal?: AbortSignal
  /** Polled between batches; training stops with an `AbortError` when it returns true. */
  shouldStop?: () => boolean
  /** Called after every batch with the batches done and the batches of the whole job. */
  onBatch?: (done: number, total: number) => void
  /**
   * How `trainLocal` gets each batch's gradients: `manual` (default) back-propagates the layer plan by
   * hand (`backprop.ts`, a third of the kernel calls); `autodiff` runs tfjs's tape over the layers
   * model, the reference the manual form is tested against.
   */
  gradients?: Gradients
}

const models = new Map<string, BuiltModel>()

/** One model per (spec, input shape, classes) per thread, reused across jobs (weights are overwritten). */
function modelFor (spec: ModelSpec, ds: Dataset): BuiltModel {
  const key = JSON.stringify([spec, ds.inputShape, ds.classes])
  let m = models.get(key)
  if (m == null) {
    m = buildModel(spec, ds.inputShape, ds.classes)
    models.set(key, m)
  }
  return m
}

function createOptimizer (t: TrainingSpec): tf.Optimizer {
  switch (t.optimizer) {
    case 'sgd': return tf.train.sgd(t.learningRate)
    case 'momentum': return tf.train.momentum(t.learningRate, t.momentum)
    case 'adam': return tf.train.adam(t.learningRate)
  }
}

/** Mean categorical cross-entropy of softmax outputs, probabilities clipped to [1e-7, 1] (as Keras). */
function crossEntropy (oneHot: tf.Tensor, probs: tf.Tensor): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.log(tf.clipByValue(probs, LOSS_EPSILON, 1))), -1))) as tf.Scalar
}

function abortError (): Error {
  const err = new Error('training was aborted')
  err.name = 'AbortError'
  return err
}

/** Trains `job.params` on `job.indices` (or the whole training set) and returns local - params. */
export async function trainLocal (job: TrainJob, options: LocalOptions = {}): Promise<TrainResult> {
  checkTrainJob(job)
  const stop = (): boolean => options.signal?.aborted === true || options.shouldStop?.() === true
  const ds = await loadDataset(job.dataset, { baseDir: job.baseDir, signal: options.signal })
  const built = modelFor(job.model, ds)
  const n = ds.trainY.length
  const indices = job.indices ?? firstRows(n)
  for (let i = 0; i < indices.length; i++) {
    if (indices[i] >= n) throw new TrainerError(`train job.indices[${i}] = ${indices[i]} is out of range: the training set has ${n} examples`)
  }
  ensureRows(ds, 'train', indices, { signal: options.signal, shouldStop: options.shouldStop })
  setParams(built, job.params)
  const backend = tf.getBackend()
  if (indices.length === 0) return { delta: new Float32Array(job.params.length), examples: 0, loss: 0, seconds: 0, backend }

  const { epochs, batchSize } = job.training
  const { features, classes, inputShape } = ds
  const bs = Math.min(batchSize, indices.length)
  const xBuf = new Float32Array(bs * features)
  const yBuf = new Float32Array(bs * classes)
  const labelBuf = new Int32Array(bs)
  const manual = options.gradients !== 'autodiff'
  const variables = built.model.weights
  const order = indices.slice()
  const rng = createRng(RNG_DOMAINS.shuffle, job.seed)
  const optimizer = createOptimizer(job.training)
  const model = built.model
  let lossSum: tf.Scalar = tf.scalar(0)
  let manualLoss = 0
  const started = performance.now()
  const totalBatches = epochs * Math.ceil(order.length / bs)
  let batches = 0
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      rng.shuffle(order)
      for (let start = 0; start < order.length; start += bs) {
        if (batches > 0) options.onBatch?.(batches, totalBatches)
        batches++
        if (stop()) throw abortError()
        const b = Math.min(bs, order.length - start)
        for (let i = 0; i < b; i++) {
          const e = order[start + i]
          xBuf.set(ds.trainX.subarray(e * features, (e + 1) * features), i * features)
          labelBuf[i] = ds.trainY[e]
        }
        const xs = tf.tensor(xBuf.subarray(0, b * features), [b, ...inputShape], 'float32')
        try {
          if (manual) {
            const step = planGradients(built.plan, variables.map(v => v.read()), xs, labelBuf.subarray(0, b))
            optimizer.applyGradients(Object.fromEntries(variables.map((v, k) => [v.name, step.grads[k]])))
            tf.dispose(step.grads)
            manualLoss += step.lossSum
          } else {
            yBuf.fill(0)
            for (let i = 0; i < b; i++) yBuf[i * classes + labelBuf[i]] = 1
            const ys = tf.tensor(yBuf.subarray(0, b * classes), [b, classes], 'float32')
            const next = tf.tidy(() => {
              const cost = optimizer.minimize(() => crossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor), true)!
              return tf.add(lossSum, tf.mul(cost, b)) as tf.Scalar
            })
            tf.dispose([ys, lossSum])
            lossSum = next
          }
        } finally {
          xs.dispose()
        }
      }
    }
    const total = (await lossSum.data())[0] + manualLoss
    const local = getParams(built)
    const delta = new Float32Array(local.length)
    for (let i = 0; i < delta.length; i++) delta[i] = local[i] - job.params[i]
    return { delta, examples: indices.length, loss: total / (indices.length * epochs), seconds: (performance.now() - started) / 1000, backend }
  } finally {
    lossSum.dispose()
    disposeOptimizer(optimizer)
  }
}

/**
 * `optimizer.dispose()`, plus the learning-rate scalar that tfjs 4's MomentumOptimizer.dispose leaves
 * behind (it overrides SGDOptimizer.dispose without calling it): one leaked tensor per round otherwise
 * (test/learning-memory.test.ts).
 */
function disposeOptimizer (optimizer: tf.Optimizer): void {
  optimizer.dispose()
  const c = (optimizer as unknown as { c?: tf.Tensor }).c
  if (optimizer instanceof tf.MomentumOptimizer && c != null && !c.isDisposed) c.dispose()
}

/** Accuracy and mean cross-entropy of `job.params` on the test set (or its first `limit` examples). */
export async function evaluateLocal (job: EvalJob, options: LocalOptions = {}): Promise<EvalResult> {
  checkEvalJob(job)
  const ds = await loadDataset(job.dataset, { baseDir: job.baseDir, signal: options.signal })
  const built = modelFor(job.model, ds)
  setParams(built, job.params)
  const n = Math.min(job.limit ?? Infinity, ds.testY.length)
  ensureRows(ds, 'test', firstRows(n), { signal: options.signal, shouldStop: options.shouldStop })
  const { features, classes, inputShape } = ds
  let correct = 0
  let lossSum = 0
  for (let start = 0; start < n; start += EVAL_BATCH_SIZE) {
    if (options.signal?.aborted === true || options.shouldStop?.() === true) throw abortError()
    const b = Math.min(EVAL_BATCH_SIZE, n - start)
    const [c, l] = tf.tidy(() => {
      const xs = tf.tensor(ds.testX.subarray(start * features, (start + b) * features), [b, ...inputShape], 'float32')
      const labels = tf.tensor1d(Int32Array.from(ds.testY.subarray(start, start + b)), 'int32')
      const probs = built.model.apply(xs, { training: false }) as tf.Tensor
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(probs, -1), labels), 'float32'))
      const ce = tf.mul(crossEntropy(tf.oneHot(labels, classes), probs), b)
      return [hits.dataSync()[0], ce.dataSync()[0]]
    })
    correct += c
    lossSum += l
  }
  return { accuracy: n > 0 ? correct / n : 0, loss: n > 0 ? lossSum / n : 0, examples: n, backend: tf.getBackend() }
}
