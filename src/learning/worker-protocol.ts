/**
 * Messages between a `Trainer` and its worker threads (`train-worker.ts`). Float32Array and
 * Uint32Array payloads travel in transfer lists; each job carries a small shared Int32Array: word 0 the main
 * thread sets to 1 to stop the job between batches; words 1 and 2 (training jobs) the worker sets to the
 * batches done and the batches of the job, for progress. The first job of a worker on a dataset the
 * main thread has loaded carries that dataset's SharedArrayBuffer views, so the worker need not load it.
 */

import type { BackendChoice, Gradients } from './constants.ts'
import type { Dataset } from './datasets.ts'
import type { ErrorData } from './errors.ts'
import type { EvalJob, EvalResult, TrainJob, TrainResult } from './jobs.ts'

export interface WorkerInit {
  backend: BackendChoice
  /** `trainLocal`'s `gradients` option (default manual). */
  gradients?: Gradients
}

/** The main thread's copy of a dataset (SharedArrayBuffer views), for the worker's cache. */
export interface SharedDataset { key: string, dataset: Dataset }

export type ToWorker =
  | { type: 'train', id: number, job: TrainJob, cancel: Int32Array, share?: SharedDataset }
  | { type: 'evaluate', id: number, job: EvalJob, cancel: Int32Array, share?: SharedDataset }

export type FromWorker =
  | { type: 'ready', backend: string }
  | { type: 'ready-error', error: ErrorData }
  | { type: 'done', id: number, result: TrainResult | EvalResult }
  | { type: 'failed', id: number, error: ErrorData }
