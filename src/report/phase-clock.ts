/**
 * Time a peer's round driver spends in each phase, per round: fed from the driver's `events.phase`
 * hook, read once per completed round (its record gets the totals). Time in an aborted attempt counts
 * toward the phases it spent it in; the gap between `done` and the next `join` is not counted.
 */
import type { Phase } from '../round/phases.ts'

export interface PhaseClockInit {
  /** Milliseconds clock (default `Date.now`). */
  now?: () => number
  /** Rounds kept before the oldest are dropped (default 8): records normally take theirs at once. */
  keepRounds?: number
}

export class PhaseClock {
  private readonly now: () => number
  private readonly keep: number
  /** Milliseconds per phase, by round. */
  private readonly totals = new Map<number, Record<string, number>>()
  private open: { phase: string, round: number, since: number } | undefined

  constructor (init: PhaseClockInit = {}) {
    this.now = init.now ?? Date.now
    this.keep = init.keepRounds ?? 8
  }

  /** The driver entered `phase` of `round` (`done` / `aborted` close the attempt's last phase). */
  enter (phase: Phase, round: number): void {
    const t = this.now()
    this.close(t)
    this.open = phase === 'done' || phase === 'aborted' ? undefined : { phase, round, since: t }
    for (const r of this.totals.keys()) if (r < round - this.keep) this.totals.delete(r)
  }

  /** The milliseconds spent in each phase of `round` so far, and forgets them; undefined if none. */
  take (round: number): Record<string, number> | undefined {
    const o = this.open
    if (o?.round === round) {
      const t = this.now()
      this.close(t)
      this.open = { ...o, since: t }
    }
    const totals = this.totals.get(round)
    this.totals.delete(round)
    return totals
  }

  private close (t: number): void {
    const o = this.open
    if (o == null) return
    let totals = this.totals.get(o.round)
    if (totals == null) { totals = {}; this.totals.set(o.round, totals) }
    totals[o.phase] = (totals[o.phase] ?? 0) + Math.max(0, t - o.since)
    this.open = undefined
  }
}
