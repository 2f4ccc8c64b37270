/**
 * A pool of worker threads that run local training and evaluation off the caller's event loop, so
 * gossip heartbeats and timers keep running while a peer trains. Jobs queue FIFO; workers start on
 * demand (up to `workers`), keep their datasets and models between jobs, and are unref'd while idle so
 * an idle pool does not keep the process alive. A dataset the calling thread has already loaded is
 * shared with the workers (SharedArrayBuffer), not loaded again by each of them.
 */

import { Worker } from 'node:worker_threads'
import type { BackendChoice, Gradients } from './constants.ts'
import { DEFAULT_BACKEND, MAX_WORKERS, PROGRESS_POLL_MS, defaultWorkers } from './constants.ts'
import { datasetKey, loadedDataset } from './datasets.ts'
import { BackendError, TrainerError, reviveError } from './errors.ts'
import { checkEvalJob, checkTrainJob } from './jobs.ts'
import type { EvalJob, EvalResult, TrainJob, TrainResult } from './jobs.ts'
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.ts'

export interface TrainerInit {
  /** Worker threads (default `min(2, os.availableParallelism())`). */
  workers?: number
  /** tfjs backend of every worker (default `auto`: tensorflow > wasm > cpu). */
  backend?: BackendChoice
  /** How the workers get a batch's gradients (`Gradients`; default manual). */
  gradients?: Gradients
}

export interface Trainer {
  /** The backend the workers actually use (starts a worker if none runs yet). */
  backend (options?: { signal?: AbortSignal }): Promise<string>
  /** `progress` is called (about every 250 ms while the job runs) with batches done and in all. */
  train (job: TrainJob, options?: { signal?: AbortSignal, progress?: (done: number, total: number) => void }): Promise<TrainResult>
  evaluate (job: EvalJob, options?: { signal?: AbortSignal }): Promise<EvalResult>
  /** Stops every worker; pending jobs reject with a `TrainerError`. */
  close (): Promise<void>
}

interface Pending {
  msg: ToWorker
  /** Cache key of the job's dataset. */
  key: string
  transfer: ArrayBuffer[]
  resolve: (r: any) => void
  reject: (e: Error) => void
  settled: boolean
  signal?: AbortSignal
  onAbort?: () => void
}

interface Slot {
  worker: Worker
  ready: Promise<string>
  /** Datasets whose shared copy this worker has been sent. */
  shared: Set<string>
  job?: Pending
  dead: boolean
}

/** The worker entry, and how to run TypeScript in it: tsx's ESM loader, by absolute URL. */
const WORKER_URL = new URL('./train-worker.ts', import.meta.url)

function workerExecArgv (): string[] {
  try {
    return ['--import', import.meta.resolve('tsx')]
  } catch {
    return [...process.execArgv]
  }
}

export function createTrainer (init: TrainerInit = {}): Trainer {
  const size = init.workers ?? defaultWorkers()
  if (!Number.isInteger(size) || size < 1 || size > MAX_WORKERS) throw new TrainerError(`workers must be an integer in [1, ${MAX_WORKERS}], got ${JSON.stringify(init.workers)}`)
  const backendChoice = init.backend ?? DEFAULT_BACKEND
  if (!['auto', 'tensorflow', 'wasm', 'cpu'].includes(backendChoice)) {
    throw new BackendError(`backend must be auto, tensorflow, wasm or cpu; got ${JSON.stringify(backendChoice)}`)
  }
  const slots: Slot[] = []
  const queue: Pending[] = []
  let nextId = 1
  let closed = false
  let execArgv: string[] | undefined

  const settle = (p: Pending, err: Error | undefined, result?: unknown): void => {
    if (p.settled) return
    p.settled = true
    if (p.onAbort != null) p.signal?.removeEventListener('abort', p.onAbort)
    if (err != null) p.reject(err)
    else p.resolve(result)
  }

  const retire = (slot: Slot, why: string): void => {
    if (slot.dead) return
    slot.dead = true
    const i = slots.indexOf(slot)
    if (i >= 0) slots.splice(i, 1)
    if (slot.job != null) settle(slot.job, new TrainerError(why))
    slot.job = undefined
    void slot.worker.terminate().catch(() => {})
    pump()
  }

  const spawn = (): Slot => {
    execArgv ??= workerExecArgv()
    const worker = new Worker(WORKER_URL, { execArgv, workerData: { backend: backendChoice, gradients: init.gradients } satisfies WorkerInit })
    let readyResolve!: (b: string) => void
    let readyReject!: (e: Error) => void
    const ready = new Promise<string>((resolve, reject) => { readyResolve = resolve; readyReject = reject })
    ready.catch(() => {})
    const slot: Slot = { worker, ready, shared: new Set(), dead: false }
    worker.on('message', (msg: FromWorker) => {
      switch (msg.type) {
        case 'ready': readyResolve(msg.backend); break
        case 'ready-error': readyReject(reviveError(msg.error)); break
        case 'done':
        case 'failed': {
          const job = slot.job
          if (job == null || job.msg.id !== msg.id) return
          slot.job = undefined
          if (msg.type === 'done') settle(job, undefined, msg.result)
          else settle(job, reviveError(msg.error))
          if (!slot.dead) slot.worker.unref()
          pump()
        }
      }
    })
    worker.on('error', (err) => {
      readyReject(new TrainerError(`training worker failed to start: ${err.message}`))
      retire(slot, `training worker crashed: ${err.message}`)
    })
    worker.on('exit', (code) => {
      readyReject(new TrainerError(`training worker exited with code ${code} before it was ready`))
      if (!closed) retire(slot, `training worker exited with code ${code}`)
    })
    worker.unref()
    slots.push(slot)
    return slot
  }

  const pump = (): void => {
    if (closed) return
    while (queue.length > 0) {
      let slot = slots.find(s => s.job == null && !s.dead)
      if (slot == null) {
        if (slots.length >= size) return
        slot = spawn()
      }
      const p = queue.shift()!
      slot.job = p
      slot.worker.ref()
      const ds = slot.shared.has(p.key) ? undefined : loadedDataset(p.key)
      if (ds != null) slot.shared.add(p.key)
      slot.worker.postMessage(ds != null ? { ...p.msg, share: { key: p.key, dataset: ds } } : p.msg, p.transfer)
    }
  }

  const submit = async <R>(msg: ToWorker, key: string, transfer: ArrayBuffer[], signal?: AbortSignal): Promise<R> => {
    if (closed) throw new TrainerError('trainer is closed')
    signal?.throwIfAborted()
    return await new Promise<R>((resolve, reject) => {
      const p: Pending = { msg, key, transfer, resolve, reject, settled: false, signal }
      if (signal != null) {
        p.onAbort = () => {
          Atomics.store(msg.cancel, 0, 1) // the worker stops at the next batch; its slot frees itself then
          const i = queue.indexOf(p)
          if (i >= 0) queue.splice(i, 1)
          settle(p, signal.reason instanceof Error ? signal.reason : new DOMException('This operation was aborted', 'AbortError'))
        }
        signal.addEventListener('abort', p.onAbort, { once: true })
      }
      queue.push(p)
      pump()
    })
  }

  const cancelFlag = (words = 1): Int32Array => new Int32Array(new SharedArrayBuffer(4 * words))

  return {
    async backend (options = {}) {
      if (closed) throw new TrainerError('trainer is closed')
      const slot = slots.find(s => !s.dead) ?? spawn()
      const signal = options.signal
      signal?.throwIfAborted()
      slot.worker.ref() // keep the process alive while someone waits for the worker
      let onAbort: (() => void) | undefined
      try {
        if (signal == null) return await slot.ready
        return await Promise.race([slot.ready, new Promise<never>((_resolve, reject) => {
          onAbort = () => reject(signal.reason)
          signal.addEventListener('abort', onAbort, { once: true })
        })])
      } finally {
        if (onAbort != null) signal?.removeEventListener('abort', onAbort)
        if (slot.job == null && !slot.dead) slot.worker.unref()
      }
    },

    async train (job, options = {}) {
      checkTrainJob(job)
      const params = job.params.slice()
      const indices = job.indices?.slice()
      const key = datasetKey(job.dataset, job.baseDir)
      const msg: ToWorker = { type: 'train', id: nextId++, job: { ...job, dataset: JSON.parse(key), baseDir: undefined, params, indices }, cancel: cancelFlag(3) }
      const transfer = [params.buffer as ArrayBuffer, ...(indices != null ? [indices.buffer as ArrayBuffer] : [])]
      const progress = options.progress
      if (progress == null) return await submit<TrainResult>(msg, key, transfer, options.signal)
      let last = -1
      const poll = (): void => {
        const done = Atomics.load(msg.cancel, 1)
        if (done === last || done === 0) return // 0: the job has not finished a batch yet
        last = done
        try { progress(done, Atomics.load(msg.cancel, 2)) } catch {}
      }
      const timer = setInterval(poll, PROGRESS_POLL_MS)
      timer.unref()
      try {
        return await submit<TrainResult>(msg, key, transfer, options.signal)
      } finally {
        clearInterval(timer)
      }
    },

    async evaluate (job, options = {}) {
      checkEvalJob(job)
      const params = job.params.slice()
      const key = datasetKey(job.dataset, job.baseDir)
      const msg: ToWorker = { type: 'evaluate', id: nextId++, job: { ...job, dataset: JSON.parse(key), baseDir: undefined, params }, cancel: cancelFlag() }
      return await submit<EvalResult>(msg, key, [params.buffer as ArrayBuffer], options.signal)
    },

    async close () {
      if (closed) return
      closed = true
      for (const p of queue.splice(0)) settle(p, new TrainerError('trainer was closed before the job ran'))
      const all = slots.splice(0)
      for (const s of all) {
        s.dead = true
        if (s.job != null) settle(s.job, new TrainerError('trainer was closed while the job ran'))
      }
      await Promise.all(all.map(async s => await s.worker.terminate().catch(() => 0)))
    }
  }
}
