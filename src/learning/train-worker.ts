/**
 * Entry point of a training worker thread: picks the tfjs backend once, then runs the jobs the
 * `Trainer` sends, one at a time. Datasets come from the main thread's cache when it has them (shared
 * memory, sent once per worker) or are loaded here and cached, so jobs carry only indices and parameters. Started by `trainer.ts`; not meant to be imported.
 */

import { parentPort, workerData } from 'node:worker_threads'
import { useBackend } from './backend.ts'
import { adoptDataset } from './datasets.ts'
import { errorData } from './errors.ts'
import type { EvalResult, TrainResult } from './jobs.ts'
import { evaluateLocal, trainLocal } from './local-train.ts'
import { dpTrainLocal } from './dp-sgd.ts'
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.ts'

const port = parentPort
if (port == null) throw new Error('train-worker.ts must run in a worker thread (see createTrainer)')
const init = workerData as WorkerInit

const post = (msg: FromWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(msg, transfer)

const ready = useBackend(init.backend)
ready.then(
  backend => post({ type: 'ready', backend }),
  err => post({ type: 'ready-error', error: errorData(err) })
)

let queue: Promise<void> = Promise.resolve()

port.on('message', (msg: ToWorker) => {
  if (msg.share != null) adoptDataset(msg.share.key, msg.share.dataset)
  queue = queue.then(async () => {
    const shouldStop = (): boolean => Atomics.load(msg.cancel, 0) !== 0
    // words 1 and 2 of the shared flag (when the trainer made them): batches done and in all
    const onBatch = msg.cancel.length >= 3
      ? (done: number, total: number): void => { Atomics.store(msg.cancel, 2, total); Atomics.store(msg.cancel, 1, done) }
      : undefined
    try {
      await ready
      let result: TrainResult | EvalResult
      if (msg.type === 'train' && msg.job.dp != null) {
        const r = await dpTrainLocal({ ...msg.job, dp: msg.job.dp }, { shouldStop, onBatch })
        result = { delta: r.delta, examples: r.examples, loss: r.loss, seconds: r.seconds, backend: r.backend, privacy: { steps: r.steps, samplingRate: r.samplingRate, noiseMultiplier: msg.job.dp.noiseMultiplier } }
      } else if (msg.type === 'train') result = await trainLocal(msg.job, { shouldStop, onBatch, gradients: init.gradients })
      else result = await evaluateLocal(msg.job, { shouldStop })
      const transfer = 'delta' in result ? [result.delta.buffer as ArrayBuffer] : []
      post({ type: 'done', id: msg.id, result }, transfer)
    } catch (err) {
      post({ type: 'failed', id: msg.id, error: errorData(err) })
    }
  })
})
