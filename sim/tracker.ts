/**
 * Where the simulated swarm is right now, from the peers' phase, crash and restart events: the round
 * the swarm is on (the highest any live peer is in), its most common phase there and how many peers
 * are in it. Feeds the terminal's progress line and the dashboard.
 */
import type { SimEvent } from './simulate.ts'
import type { RoundRow } from './report.ts'
import { formatPercent } from '../src/report/format.ts'
import { bar } from '../src/cli/output.ts'

export interface SwarmNow {
  /** The swarm's round (0 before the first phase event). */
  round: number
  /** The most common phase among the live peers in `round`. */
  phase?: string
  /** Live peers in `round` and `phase`. */
  inPhase: number
  /** Peers that are up (not crashed). */
  live: number
  total: number
  /** Local training of the live peers in `round` (batches done and in all, summed), if any reported. */
  training?: { done: number, total: number }
}

export class SwarmTracker {
  private readonly total: number
  private readonly peers = new Map<number, { round: number, phase: string }>()
  private readonly down = new Set<number>()
  private readonly training = new Map<number, { round: number, done: number, total: number }>()

  constructor (total: number) {
    this.total = total
  }

  onEvent (e: SimEvent): void {
    if (e.type === 'phase') this.peers.set(e.peer, { round: e.round, phase: e.phase })
    else if (e.type === 'crashed') this.down.add(e.peer)
    else if (e.type === 'restarted') this.down.delete(e.peer)
    else if (e.type === 'training') this.training.set(e.peer, { round: e.round, done: e.done, total: e.total })
  }

  now (): SwarmNow {
    const live = [...this.peers.entries()].filter(([p]) => !this.down.has(p)).map(([, s]) => s)
    const round = Math.max(0, ...live.map(s => s.round))
    const counts = new Map<string, number>()
    for (const s of live) if (s.round === round) counts.set(s.phase, (counts.get(s.phase) ?? 0) + 1)
    const [phase, inPhase = 0] = [...counts.entries()].sort((a, b) => b[1] - a[1])[0] ?? []
    let done = 0
    let all = 0
    for (const [p, t] of this.training) {
      if (this.down.has(p) || t.round !== round) continue
      done += t.done
      all += t.total
    }
    return { round, phase, inPhase, live: this.total - this.down.size, total: this.total, ...(all > 0 ? { training: { done, total: all } } : {}) }
  }
}

/** The terminal's progress line: `round 3/20 [update] 4/5 peers  last acc 91.23%  12.3 s`. */
export function progressLine (now: SwarmNow, rounds: number, last: RoundRow | undefined, seconds: number): string {
  if (now.round === 0) return `starting ${now.total} peers…  ${seconds.toFixed(1)} s`
  const phase = now.phase != null ? ` [${now.phase}] ${now.inPhase}/${now.live} peers` : ''
  const acc = last != null ? `  last acc ${formatPercent(last.accuracy)}` : ''
  const t = now.training
  const training = t != null && now.phase === 'update' ? `  training ${bar(t.done / t.total)} ${Math.floor(100 * t.done / t.total)}%` : ''
  return `round ${now.round}/${rounds}${phase}${training}${acc}  ${seconds.toFixed(1)} s`
}
