/**
 * What the dashboard shows, kept by the process that runs the peers (a simulation or one node) and read
 * by the dashboard server: the task, the current round and phase, connected peers, the rounds done so
 * far (the charts' data), ε, bytes and whether the swarm agreed on the last result. Writers call
 * `update` / `addRound`; the server subscribes and pushes a new state to the browsers.
 */
import type { ChartRow } from '../report/types.ts'

export interface DashboardTask {
  name: string
  id: string
  rounds: number
  /** ε budget of the task (0: none) and δ of its accounting. */
  targetEpsilon: number
  delta: number
  /** Whether the task uses differential privacy (DP-FedAvg or DP-SGD). */
  dp: boolean
}

/** A completed round: the charts' row plus the result hash and the agreement on it. */
export interface DashboardRound extends ChartRow {
  modelHash: string
  /** Whether the peers agreed on M[r] (null: not known). */
  agreed: boolean | null
  /** How agreement was judged, e.g. `5/5 peers` or `no mismatch seen`. */
  agreement: string
}

export type DashboardRunState = 'starting' | 'running' | 'finished' | 'stopped'

export interface DashboardState {
  /** A whole simulated swarm, or one peer of a real one. */
  kind: 'sim' | 'peer'
  task: DashboardTask
  state: DashboardRunState
  /** This peer's id (kind `peer`). */
  peerId?: string
  /** sim: peers up (`connected`) of all (`total`); peer: open libp2p connections. */
  peers: { connected: number, total?: number }
  /** The round, attempt and phase being worked on (absent between attempts). */
  round?: number
  attempt?: number
  phase?: string
  /** sim: peers of the current round in `phase`. */
  inPhase?: number
  /** Completed rounds, oldest first. */
  rounds: DashboardRound[]
  /** ε spent so far (null: no differential privacy). */
  epsilon: number | null
  /** Bytes on the wire so far (sim: per peer on average; peer: this node's). */
  bytes: { sent: number, received: number }
  /** A line of what ended the run early, if something did. */
  note?: string
  startedAt: string
  updatedAt: string
}

/** The fields writers may set with `update`; the rounds go through `addRound`. */
export type DashboardPatch = Partial<Omit<DashboardState, 'kind' | 'task' | 'rounds' | 'startedAt' | 'updatedAt'>>

export interface DashboardStoreInit {
  kind: 'sim' | 'peer'
  task: DashboardTask
  /** Initial fields (default: state `starting`, no peers, no rounds). */
  initial?: DashboardPatch
  /** Rounds kept for the charts (default 1000; older ones are dropped). */
  maxRounds?: number
}

/** The dashboard's state; synchronous, cheap to update on every phase change. */
export class DashboardStore {
  private current: DashboardState
  private listeners = new Set<() => void>()
  private readonly maxRounds: number
  /** Bumped whenever `rounds` changes (the charts are re-rendered only then). */
  roundsVersion = 0

  constructor (init: DashboardStoreInit) {
    const now = new Date().toISOString()
    this.maxRounds = init.maxRounds ?? 1000
    this.current = {
      kind: init.kind,
      task: init.task,
      state: 'starting',
      peers: { connected: 0 },
      rounds: [],
      epsilon: null,
      bytes: { sent: 0, received: 0 },
      startedAt: now,
      updatedAt: now
    }
    if (init.initial != null) this.update(init.initial)
  }

  /** The current state (treat as read-only; every change makes a new object). */
  get state (): DashboardState {
    return this.current
  }

  /** Merges `patch` (an `undefined` value removes an optional field). */
  update (patch: DashboardPatch): void {
    const next: Record<string, unknown> = { ...this.current, ...patch, updatedAt: new Date().toISOString() }
    for (const [k, v] of Object.entries(next)) if (v === undefined) delete next[k]
    this.current = next as unknown as DashboardState
    this.emit()
  }

  /** Adds a completed round (replacing an earlier entry of the same round), keeping rounds in order. */
  addRound (round: DashboardRound, patch: DashboardPatch = {}): void {
    const rounds = this.current.rounds.filter(r => r.round !== round.round)
    rounds.push(round)
    rounds.sort((a, b) => a.round - b.round)
    if (rounds.length > this.maxRounds) rounds.splice(0, rounds.length - this.maxRounds)
    this.roundsVersion++
    this.current = { ...this.current, rounds }
    this.update(patch)
  }

  /** Calls `listener` after every change; returns the function that unsubscribes it. */
  subscribe (listener: () => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  private emit (): void {
    for (const l of this.listeners) {
      try { l() } catch {}
    }
  }
}
