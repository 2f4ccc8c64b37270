/**
 * The dashboard state of one peer (`fedswarm node` / `join --dashboard`), fed from the peer loop: its
 * connections, the driver's phase events, each completed round (with this peer's evaluation, ε and
 * traffic) and the driver's log. A peer cannot see every other peer's model, so agreement is what the
 * driver reports: a round counts as agreed until the driver logs `MODEL MISMATCH in round <r>` (another
 * peer's gossiped Result hash differs from this peer's M[r]).
 */
import type { Task } from '../config/types.ts'
import { PhaseClock } from '../report/phase-clock.ts'
import type { RoundRecord } from '../round/driver.ts'
import type { Phase } from '../round/phases.ts'
import { DashboardStore } from './state.ts'
import type { DashboardRunState } from './state.ts'
import { dashboardTask } from './task.ts'

const MISMATCH = /MODEL MISMATCH in round (\d+)/

export interface PeerFeedInit {
  task: Task
  taskId: string
  /** This peer's id, if known yet (see `peer`). */
  peerId?: string
  /** The node's byte counters so far (default: none). */
  bytes?: () => { sent: number, received: number }
}

export class PeerDashboardFeed {
  readonly store: DashboardStore
  private readonly clock = new PhaseClock()
  private readonly bytes: () => { sent: number, received: number }
  /** Rounds the driver logged a mismatch for. */
  private readonly mismatched = new Set<number>()

  constructor (init: PeerFeedInit) {
    this.bytes = init.bytes ?? (() => ({ sent: 0, received: 0 }))
    this.store = new DashboardStore({ kind: 'peer', task: dashboardTask(init.task, init.taskId), initial: { peerId: init.peerId } })
  }

  /** This peer's id, once its node exists. */
  peer (peerId: string): void {
    this.store.update({ peerId })
  }

  connections (connected: number): void {
    this.store.update({ peers: { connected } })
  }

  phase (phase: Phase, round: number, attempt: number): void {
    this.clock.enter(phase, round)
    const between = phase === 'done' || phase === 'aborted'
    this.store.update({ state: 'running', round, attempt, phase: between ? undefined : phase, bytes: this.safeBytes() })
  }

  /** A completed round, with this peer's evaluation of M[r] (if it ran) and its ε so far. */
  round (rec: RoundRecord, ev: { accuracy: number, loss: number } | undefined, epsilon: number | null): void {
    const phaseSeconds = rec.via === 'aggregate' ? this.clock.take(rec.round) : undefined
    this.store.addRound({
      round: rec.round,
      accuracy: ev?.accuracy ?? null,
      loss: ev?.loss ?? null,
      epsilon: rec.epsilon ?? null,
      cohort: rec.cohort,
      survivors: rec.survivors,
      bytesSentPerPeer: rec.roundSent,
      bytesReceivedPerPeer: rec.roundReceived,
      ...(phaseSeconds != null ? { phaseSeconds: Object.fromEntries(Object.entries(phaseSeconds).map(([k, ms]) => [k, ms / 1000])) } : {}),
      modelHash: rec.modelHash,
      ...this.agreement(rec.round, rec.via)
    }, { epsilon, bytes: this.safeBytes() })
  }

  /** The driver's log lines: a MODEL MISMATCH marks its round as disagreed. */
  log (line: string): void {
    const m = MISMATCH.exec(line)
    if (m == null) return
    const round = Number(m[1])
    this.mismatched.add(round)
    const row = this.store.state.rounds.find(r => r.round === round)
    if (row != null) this.store.addRound({ ...row, ...this.agreement(round, 'aggregate') })
  }

  state (state: DashboardRunState, note?: string): void {
    this.store.update({ state, round: undefined, attempt: undefined, phase: undefined, note, bytes: this.safeBytes() })
  }

  private agreement (round: number, via: 'aggregate' | 'sync'): { agreed: boolean, agreement: string } {
    if (this.mismatched.has(round)) return { agreed: false, agreement: 'MODEL MISMATCH: another peer has a different hash' }
    return { agreed: true, agreement: via === 'sync' ? 'synced from the swarm by hash' : 'no mismatch reported by other peers' }
  }

  private safeBytes (): { sent: number, received: number } {
    try {
      const { sent, received } = this.bytes()
      return { sent, received }
    } catch {
      return this.store.state.bytes
    }
  }
}
