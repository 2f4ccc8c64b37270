/**
 * Messages between a `Trainer` and its worker threads (`train-worker.ts`). Float32Array and
 * Uint32Array payloads travel in transfer lists; each job carries a one-word SharedArrayBuffer the
 * main thread sets to 1 to stop the job between batches.
 */

import type { BackendChoice } from './constants.ts'
import type { ErrorData } from './errors.ts'
import type { EvalJob, EvalResult, TrainJob, TrainResult } from './jobs.ts'

export interface WorkerInit {
  backend: BackendChoice
}

export type ToWorker =
  | { type: 'train', id: number, job: TrainJob, cancel: Int32Array }
  | { type: 'evaluate', id: number, job: EvalJob, cancel: Int32Array }

export type FromWorker =
  | { type: 'ready', backend: string }
  | { type: 'ready-error', error: ErrorData }
  | { type: 'done', id: number, result: TrainResult | EvalResult }
  | { type: 'failed', id: number, error: ErrorData }
