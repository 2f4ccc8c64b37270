/**
 * Learning-rate schedules over rounds (`training.lrSchedule`): the factor the task's learning rate is
 * multiplied by in round r of a horizon of H rounds. Pure functions; the update source
 * (src/peer/update-source.ts) applies them when it builds a round's training job, so trainers and
 * workers only ever see a plain learning rate.
 *
 * With f = (r − 1) / H, the fraction of the horizon before round r (rounds are numbered from 1):
 *   constant  1
 *   step      1 while f < 1/2, 0.5 while f < 3/4, 0.25 after (LR_STEP_SCHEDULE)
 *   cosine    ½ (1 + cos(π f))
 * Rounds past the horizon (a peer that can afford fewer rounds than the swarm runs, or a task whose
 * horizon was shortened) keep the factor of round H, so the rate never reaches 0.
 */

import { LR_STEP_SCHEDULE } from '../config/constants.ts'
import type { LrSchedule, TrainingSpec } from '../config/types.ts'
import { TrainerError } from './errors.ts'

/** The learning-rate multiplier of round `round` (>= 1) of a horizon of `horizon` (>= 1) rounds. */
export function lrFactor (schedule: LrSchedule, round: number, horizon: number): number {
  if (!Number.isSafeInteger(round) || round < 1) throw new TrainerError(`round must be an integer >= 1, got ${JSON.stringify(round)}`)
  if (!Number.isSafeInteger(horizon) || horizon < 1) throw new TrainerError(`horizon must be an integer >= 1, got ${JSON.stringify(horizon)}`)
  const f = (Math.min(round, horizon) - 1) / horizon
  switch (schedule) {
    case 'constant': return 1
    case 'step': return stepFactor(f)
    case 'cosine': return 0.5 * (1 + Math.cos(Math.PI * f))
    default: throw new TrainerError(`training.lrSchedule must be constant, step or cosine, got ${JSON.stringify(schedule)}`)
  }
}

/** LR_STEP_SCHEDULE's factor at fraction f of the horizon: the last step whose start is <= f. */
function stepFactor (f: number): number {
  let factor = 1
  for (const s of LR_STEP_SCHEDULE) if (f >= s.from) factor = s.factor
  return factor
}

/**
 * The training spec of one round: `training` itself when the schedule is constant (absent), else a copy
 * with the scheduled learning rate and without `lrSchedule`.
 */
export function roundTraining (training: TrainingSpec, round: number, horizon: number): TrainingSpec {
  const { lrSchedule, ...rest } = training
  if (lrSchedule === undefined || lrSchedule === 'constant') return training
  return { ...rest, learningRate: training.learningRate * lrFactor(lrSchedule, round, horizon) }
}
