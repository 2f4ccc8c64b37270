/**
 * Training and evaluation jobs: what a caller asks a `Trainer` for and what it gets back, and the
 * checks a job passes before it is queued (so a malformed job fails fast with a named error).
 */

import type { DatasetSpec, ModelSpec, TrainingSpec } from '../config/types.ts'
import { TrainerError } from './errors.ts'

export interface TrainJob {
  model: ModelSpec
  dataset: DatasetSpec
  /** Relative paths of `idx`/`csv` datasets are resolved against this (default: the working directory). */
  baseDir?: string
  /** Indices into the training set; all training examples if absent. */
  indices?: Uint32Array
  /** The starting model (flat, layout order). Not modified; the trainer works on a copy. */
  params: Float32Array
  training: TrainingSpec
  /** Seeds the per-epoch shuffles. */
  seed: number
  /** Example-level DP-SGD (dense models): per-example clipping and Gaussian noise (see dp-sgd.ts). */
  dp?: { noiseMultiplier: number, l2NormClip: number, microbatches?: number }
}

export interface TrainResult {
  /** local - params, element-wise in float32. */
  delta: Float32Array
  /** Training examples used (each epoch sees each once). */
  examples: number
  /** Mean cross-entropy over every batch of every epoch (before each step), weighted by batch size. */
  loss: number
  /** Wall time of the training loop (after the dataset and the model are ready). */
  seconds: number
  /** With `job.dp`: optimizer steps and the sampling rate q = B/N, for the accountant. */
  privacy?: { steps: number, samplingRate: number, noiseMultiplier: number }
  /** The backend the job ran on. */
  backend: string
}

export interface EvalJob {
  model: ModelSpec
  dataset: DatasetSpec
  baseDir?: string
  params: Float32Array
  /** Evaluate on the first `limit` test examples only. */
  limit?: number
}

export interface EvalResult {
  /** Fraction of test examples whose arg-max prediction is the label, in [0, 1]. */
  accuracy: number
  /** Mean cross-entropy. */
  loss: number
  examples: number
  backend: string
}

const OPTIMIZERS = ['sgd', 'momentum', 'adam']

/** Throws a `TrainerError` naming the first malformed field of a training job. */
export function checkTrainJob (job: TrainJob): void {
  if (job == null || typeof job !== 'object') throw new TrainerError(`train job must be an object, got ${typeof job}`)
  checkParams(job.params, 'train')
  const t = job.training
  if (t == null || typeof t !== 'object') throw new TrainerError('train job.training must be a TrainingSpec object')
  if (!Number.isInteger(t.epochs) || t.epochs < 1) throw new TrainerError(`training.epochs must be an integer >= 1, got ${JSON.stringify(t.epochs)}`)
  if (!Number.isInteger(t.batchSize) || t.batchSize < 1) throw new TrainerError(`training.batchSize must be an integer >= 1, got ${JSON.stringify(t.batchSize)}`)
  if (!(typeof t.learningRate === 'number' && t.learningRate > 0 && Number.isFinite(t.learningRate))) {
    throw new TrainerError(`training.learningRate must be a finite number > 0, got ${JSON.stringify(t.learningRate)}`)
  }
  if (!OPTIMIZERS.includes(t.optimizer)) throw new TrainerError(`training.optimizer must be ${OPTIMIZERS.join(', ')}; got ${JSON.stringify(t.optimizer)}`)
  if (t.optimizer === 'momentum' && !(typeof t.momentum === 'number' && t.momentum >= 0 && t.momentum < 1)) {
    throw new TrainerError(`training.momentum must be a number in [0, 1), got ${JSON.stringify(t.momentum)}`)
  }
  if (typeof job.seed !== 'number' || !Number.isFinite(job.seed)) throw new TrainerError(`train job.seed must be a finite number, got ${JSON.stringify(job.seed)}`)
  if (job.indices != null && !(job.indices instanceof Uint32Array)) throw new TrainerError('train job.indices must be a Uint32Array')
}

export function checkEvalJob (job: EvalJob): void {
  if (job == null || typeof job !== 'object') throw new TrainerError(`eval job must be an object, got ${typeof job}`)
  checkParams(job.params, 'eval')
  if (job.limit != null && !(Number.isInteger(job.limit) && job.limit >= 1)) throw new TrainerError(`eval job.limit must be an integer >= 1, got ${JSON.stringify(job.limit)}`)
}

function checkParams (params: unknown, what: string): void {
  if (!(params instanceof Float32Array)) throw new TrainerError(`${what} job.params must be a Float32Array`)
}
