/**
 * Turns per-peer round records into the simulation report: one row per round with the majority model,
 * agreement counts, timing and traffic, and the live line printed while the swarm runs.
 */
import type { RoundRecord } from '../src/round/driver.ts'
import { formatBytes } from '../src/report/format.ts'


export interface RoundRow {
  round: number
  cohort: number
  survivors: number
  accuracy: number | null
  loss: number | null
  modelHash: string
  /** Peers that completed the round themselves (aggregated M[r]). */
  peersCompleted: number
  /** Of those, peers whose M[r] hash equals the majority hash. */
  peersAgreeing: number
  /** Peers that got M[r] by syncing from the swarm after falling behind (crashed or late). */
  peersSynced: number
  /** Attempts this round took (1 = first try). */
  attempts: number
  seconds: number
  bytesSentPerPeer: number
  bytesReceivedPerPeer: number
  epsilon: number | null
  /**
   * Mean seconds the peers that aggregated the round spent in each of its phases (`join`, `cohort`,
   * `shares`, `update`, `survivors`, `unmask`, `aggregate`), from the drivers' phase events.
   */
  phaseSeconds?: Record<string, number>
}

export interface SimReport {
  task: unknown
  taskId: string
  peers: number
  transport: string
  processes: number
  backend: string
  startedAt: string
  seconds: number
  rounds: RoundRow[]
  mismatches: number
  /** Times a peer gave up its last round(s) for the chain most of the swarm held (a fork that healed). */
  forks?: number
  finalAccuracy: number | null
  /** Why the simulation ended before its last round, if it did (e.g. every peer's privacy budget is spent). */
  stopped?: string
  /** Probability that a peer crashes in a round (`--dropout`). */
  dropout?: number
  /** Test examples each round was evaluated on (absent: the whole test set). */
  evalLimit?: number
  /** The command-line flags the run was started with (set by `fedswarm sim`). */
  flags?: Record<string, string | boolean>
  /**
   * Mean payload bytes per peer over the whole run by libp2p protocol (e.g. `/meshsub/1.2.0` for gossip,
   * `/fedswarm/blob/1.0.0`), of the in-process peers alive at the end; absent with `--processes`.
   */
  protocolBytes?: Record<string, { sent: number, received: number }>
  /** Faults injected (`--faults`): the plan, its seed, gossip messages dropped / delayed, fetches cut by a partition. */
  faults?: { plan: string, seed: number, dropped: number, delayed: number, cut: number }
}

export interface PeerRecord extends RoundRecord {
  peer: string
  /** Milliseconds this peer's driver spent in each phase of the round (sim/phase-clock.ts). */
  phaseMs?: Record<string, number>
}

/** Majority hash and counts for one round from all peers' records of it. */
export function summarizeRound (round: number, records: PeerRecord[], prevEnd: number, peers: number): Omit<RoundRow, 'accuracy' | 'loss' | 'epsilon'> {
  const own = records.filter(r => r.via === 'aggregate')
  const votes = new Map<string, number>()
  for (const r of own) votes.set(r.modelHash, (votes.get(r.modelHash) ?? 0) + 1)
  const [modelHash = '', agreeing = 0] = [...votes.entries()].sort((a, b) => b[1] - a[1])[0] ?? []
  const end = Math.max(...own.map(r => r.endedAt), prevEnd)
  const sent = records.reduce((s, r) => s + r.roundSent, 0)
  const received = records.reduce((s, r) => s + r.roundReceived, 0)
  const first = own.find(r => r.modelHash === modelHash)
  const phaseSeconds = meanPhaseSeconds(own)
  return {
    round,
    cohort: first?.cohort ?? 0,
    survivors: first?.survivors ?? 0,
    modelHash,
    peersCompleted: own.length,
    peersAgreeing: agreeing,
    peersSynced: records.length - own.length,
    attempts: Math.max(1, ...own.map(r => r.attempt + 1)),
    seconds: (end - prevEnd) / 1000,
    bytesSentPerPeer: Math.round(sent / Math.max(1, peers)),
    bytesReceivedPerPeer: Math.round(received / Math.max(1, peers)),
    ...(phaseSeconds != null ? { phaseSeconds } : {})
  }
}

/** Mean seconds per phase over the records that carry phase times (undefined if none does). */
export function meanPhaseSeconds (records: readonly PeerRecord[]): Record<string, number> | undefined {
  const timed = records.filter(r => r.phaseMs != null)
  if (timed.length === 0) return undefined
  const sums: Record<string, number> = {}
  for (const r of timed) for (const [phase, ms] of Object.entries(r.phaseMs!)) sums[phase] = (sums[phase] ?? 0) + ms
  const mean: Record<string, number> = {}
  for (const [phase, ms] of Object.entries(sums)) mean[phase] = Math.round(ms / timed.length) / 1000
  return mean
}


/** The largest ε any peer reported after this round (the worst-off peer), or null without DP. */
export function roundEpsilon (records: readonly PeerRecord[]): number | null {
  let max: number | null = null
  for (const r of records) if (r.epsilon != null && (max == null || r.epsilon > max)) max = r.epsilon
  return max
}

export function formatRow (row: RoundRow, rounds: number): string {
  const acc = row.accuracy == null ? '   -   ' : `${(row.accuracy * 100).toFixed(2)}%`
  const loss = row.loss == null ? '  -   ' : row.loss.toFixed(4)
  const agree = row.peersAgreeing === row.peersCompleted ? `${row.peersAgreeing}/${row.peersCompleted}` : `${row.peersAgreeing}/${row.peersCompleted} DISAGREE`
  const synced = row.peersSynced > 0 ? ` synced ${row.peersSynced}` : ''
  const attempts = row.attempts > 1 ? ` attempts ${row.attempts}` : ''
  const eps = row.epsilon == null ? '' : `  ε ${row.epsilon.toFixed(2)}`
  return `round ${String(row.round).padStart(3)}/${rounds}  cohort ${String(row.cohort).padStart(3)}  survivors ${String(row.survivors).padStart(3)}  ` +
    `acc ${acc}  loss ${loss}  ${row.seconds.toFixed(1).padStart(6)}s  ` +
    `sent ${formatBytes(row.bytesSentPerPeer)}/peer  recv ${formatBytes(row.bytesReceivedPerPeer)}/peer  agree ${agree}${synced}${attempts}${eps}  ${row.modelHash.slice(0, 12)}`
}
