/**
 * Local training as the round driver sees it: trains M[r-1] on this peer's data with the shared trainer
 * (worker threads, so the event loop stays free) and returns the delta and example count.
 *
 * The round's learning rate follows `training.lrSchedule` (src/learning/lr-schedule.ts) over a horizon of
 * `task.rounds`, or, with DP-SGD and a privacy budget, of the rounds this peer can afford before its
 * ledger stops it (`affordableRounds`, src/dp/budget.ts, priced as `privacyCost` below), whichever is
 * fewer. A constant schedule (the default) passes `task.training` through untouched.
 */
import type { UpdateSource, LocalUpdate } from '../round/driver.ts'
import type { Task, DatasetSpec } from '../config/types.ts'
import { affordableRounds } from '../dp/budget.ts'
import type { Trainer } from '../learning/index.ts'
import { dpSgdPlan } from '../learning/dp-sgd.ts'
import { roundTraining } from '../learning/lr-schedule.ts'

export interface UpdateSourceInit {
  task: Task
  trainer: Trainer
  dataset: DatasetSpec
  baseDir?: string
  /** This peer's training examples (indices into the dataset's training set); all of it if absent. */
  indices?: Uint32Array
  /** Mixed into the training seed so peers shuffle differently. */
  salt?: number
  /** Progress of local training: batches done and in all, about every 250 ms, for progress bars. */
  onProgress?: (round: number, done: number, total: number) => void
  /** Training examples when `indices` is absent (the whole training set), for DP-SGD's accounting. */
  examples?: number
}

/** What one round of local DP-SGD costs, for the ledger (the driver's `privacyCost`). */
type RoundPrivacyCost = { steps: number, samplingRate: number, noiseMultiplier: number }

export interface PeerUpdateSource extends UpdateSource {
  /** The learning-rate schedule's horizon for this peer, in rounds (>= 1). */
  lrHorizon (): number
}

export function createUpdateSource (init: UpdateSourceInit): PeerUpdateSource {
  const p = init.task.privacy
  const dp = p.dpSgd ? { noiseMultiplier: p.noiseMultiplier, l2NormClip: p.l2NormClip, microbatches: p.microbatches } : undefined
  const privacyCost = (): RoundPrivacyCost | undefined => {
    // The batch shape DP-SGD will train with (src/learning/dp-sgd.ts), so the estimate is what it spends.
    const n = init.indices?.length ?? init.examples
    if (dp == null || n == null || n === 0) return undefined
    const plan = dpSgdPlan(n, init.task.training.batchSize, dp.microbatches)
    if (plan.batchSize === 0) return undefined
    return { steps: init.task.training.epochs * plan.stepsPerEpoch, samplingRate: plan.batchSize / n, noiseMultiplier: dp.noiseMultiplier }
  }
  let horizon: number | undefined
  const lrHorizon = (): number => (horizon ??= scheduleHorizon(init.task, privacyCost()))
  return {
    eligible: init.indices == null || init.indices.length > 0,
    privacyCost,
    lrHorizon,
    async train (base: Float32Array, round: number, opts: { signal: AbortSignal }): Promise<LocalUpdate> {
      const training = init.task.training.lrSchedule === undefined ? init.task.training : roundTraining(init.task.training, round, lrHorizon())
      const res = await init.trainer.train({
        model: init.task.model,
        dataset: init.dataset,
        baseDir: init.baseDir,
        indices: init.indices,
        params: base,
        training,
        seed: (init.task.seed * 1_000_003 + round * 7_919 + (init.salt ?? 0)) >>> 0,
        ...(dp != null ? { dp } : {})
      }, { signal: opts.signal, ...(init.onProgress != null ? { progress: (done: number, total: number) => init.onProgress!(round, done, total) } : {}) })
      return { delta: res.delta, examples: res.examples, loss: res.loss, ...(res.privacy != null ? { privacy: res.privacy } : {}) }
    }
  }
}

/**
 * The schedule's horizon: `task.rounds`, or fewer when DP-SGD with a target ε stops this peer earlier
 * (the rounds its ledger lets it join at `cost` per round). At least 1. A DP-FedAvg cost in the same
 * ledger is not counted here, so with both mechanisms on the horizon can run past the budget's end.
 */
export function scheduleHorizon (task: Task, cost: RoundPrivacyCost | undefined): number {
  const p = task.privacy
  if (!p.dpSgd || p.targetEpsilon === 0 || cost == null) return task.rounds
  const rounds = affordableRounds({
    perRound: { mechanism: 'dp-sgd', noiseMultiplier: cost.noiseMultiplier, sampleRate: cost.samplingRate, steps: cost.steps },
    delta: p.delta,
    targetEpsilon: p.targetEpsilon,
    maxRounds: task.rounds
  })
  return Math.max(1, rounds)
}
