/**
 * The phases of one round attempt and the transitions allowed between them. Secure aggregation adds its
 * Shares / Unmask phases here without changing the others.
 */

export const Phase = {
  /** Collecting joins; a leader waits for the join window to close. */
  Join: 'join',
  /** Join window closed; waiting for (or, as leader, publishing) the cohort. */
  Cohort: 'cohort',
  /** Committed to one cohort; members publish their updates, the leader collects them. */
  Update: 'update',
  /** The leader's survivor list is fixed; every peer gathers the updates it names. */
  Survivors: 'survivors',
  /** Every named update is here; the driver computes M[r]. */
  Aggregate: 'aggregate',
  Done: 'done',
  Aborted: 'aborted'
} as const

export type Phase = typeof Phase[keyof typeof Phase]

export const TRANSITIONS: Readonly<Record<Phase, readonly Phase[]>> = {
  join: ['cohort', 'update', 'aborted'],
  cohort: ['update', 'aborted'],
  update: ['survivors', 'aborted'],
  survivors: ['aggregate', 'aborted'],
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
