/**
 * Local training as the round driver sees it: trains M[r-1] on this peer's data with the shared trainer
 * (worker threads, so the event loop stays free) and returns the delta and example count.
 */
import type { UpdateSource, LocalUpdate } from '../round/driver.ts'
import type { Task, DatasetSpec } from '../config/types.ts'
import type { Trainer } from '../learning/index.ts'

export interface UpdateSourceInit {
  task: Task
  trainer: Trainer
  dataset: DatasetSpec
  baseDir?: string
  /** This peer's training examples (indices into the dataset's training set); all of it if absent. */
  indices?: Uint32Array
  /** Mixed into the training seed so peers shuffle differently. */
  salt?: number
  /** Training examples when `indices` is absent (the whole training set), for DP-SGD's accounting. */
  examples?: number
}

export function createUpdateSource (init: UpdateSourceInit): UpdateSource {
  const p = init.task.privacy
  const dp = p.dpSgd ? { noiseMultiplier: p.noiseMultiplier, l2NormClip: p.l2NormClip, microbatches: p.microbatches } : undefined
  return {
    eligible: init.indices == null || init.indices.length > 0,
    privacyCost: () => {
      // As DP-SGD trains (src/learning/dp-sgd.ts): batches of B = min(batchSize, N), the last partial
      // batch of each epoch dropped, q = B / N.
      const n = init.indices?.length ?? init.examples
      if (dp == null || n == null || n === 0) return undefined
      const b = Math.min(init.task.training.batchSize, n)
      return { steps: init.task.training.epochs * Math.floor(n / b), samplingRate: b / n, noiseMultiplier: dp.noiseMultiplier }
    },
    async train (base: Float32Array, round: number, opts: { signal: AbortSignal }): Promise<LocalUpdate> {
      const res = await init.trainer.train({
        model: init.task.model,
        dataset: init.dataset,
        baseDir: init.baseDir,
        indices: init.indices,
        params: base,
        training: init.task.training,
        seed: (init.task.seed * 1_000_003 + round * 7_919 + (init.salt ?? 0)) >>> 0,
        ...(dp != null ? { dp } : {})
      }, { signal: opts.signal })
      return { delta: res.delta, examples: res.examples, loss: res.loss, ...(res.privacy != null ? { privacy: res.privacy } : {}) }
    }
  }
}
