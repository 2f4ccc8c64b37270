/**
 * The phases of one round attempt and the transitions allowed between them. Secure aggregation adds the
 * Shares and Unmask phases; without it an attempt goes Join → Cohort → Update → Survivors → Aggregate.
 */

export const Phase = {
  /** Collecting joins; a leader waits for the join window to close. */
  Join: 'join',
  /** Join window closed; waiting for (or, as leader, publishing) the cohort. */
  Cohort: 'cohort',
  /** Secure aggregation: committed to one cohort; members publish their key shares, the leader fixes the mask set. */
  Shares: 'shares',
  /** Committed to one cohort (and mask set); members publish their updates, the leader collects them. */
  Update: 'update',
  /** The leader's survivor list is fixed; every peer gathers the updates it names. */
  Survivors: 'survivors',
  /** Secure aggregation: every named update is here; waiting for t members' shares to unmask the sum. */
  Unmask: 'unmask',
  /** Every named update (and, secure, t members' shares) is here; the driver computes M[r]. */
  Aggregate: 'aggregate',
  Done: 'done',
  Aborted: 'aborted'
} as const

export type Phase = typeof Phase[keyof typeof Phase]

export const TRANSITIONS: Readonly<Record<Phase, readonly Phase[]>> = {
  join: ['cohort', 'update', 'shares', 'aborted'],
  cohort: ['update', 'shares', 'aborted'],
  shares: ['update', 'aborted'],
  update: ['survivors', 'aborted'],
  survivors: ['aggregate', 'unmask', 'aborted'],
  unmask: ['aggregate', 'aborted'],
  aggregate: ['done', 'aborted'],
  done: [],
  aborted: []
}

export class TransitionError extends Error {
  override name = 'TransitionError'
}

export function assertTransition (from: Phase, to: Phase): void {
  if (!TRANSITIONS[from].includes(to)) throw new TransitionError(`illegal phase transition ${from} -> ${to}`)
}
