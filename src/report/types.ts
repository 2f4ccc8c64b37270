/**
 * What the charts and the HTML report read. The simulator's `SimReport` / `RoundRow` (sim/report.ts)
 * have this shape; the node dashboard builds the same rows from one peer's round records.
 */

/** One completed round, as the charts see it. */
export interface ChartRow {
  round: number
  /** Test accuracy of M[r] (null: not evaluated). */
  accuracy: number | null
  loss: number | null
  /** ε spent after this round (null: no differential privacy). */
  epsilon: number | null
  cohort: number
  survivors: number
  /** Bytes on the wire in this round, per peer (for one node: its own). */
  bytesSentPerPeer: number
  bytesReceivedPerPeer: number
  /** Seconds spent in each phase of the round (absent: not measured). */
  phaseSeconds?: Record<string, number>
}

/** A round of the report's table: a chart row with the swarm's agreement. */
export interface ReportRow extends ChartRow {
  modelHash: string
  peersCompleted: number
  peersAgreeing: number
  peersSynced?: number
  attempts?: number
  seconds: number
}

/** The simulation report the HTML page is built from (sim/report.ts's `SimReport`). */
export interface ReportInput {
  task: unknown
  taskId: string
  peers: number
  transport: string
  processes: number
  backend: string
  startedAt: string
  seconds: number
  rounds: ReportRow[]
  mismatches: number
  finalAccuracy: number | null
  stopped?: string
  dropout?: number
  evalLimit?: number
  flags?: Record<string, string | boolean>
}

/** Names of the charts, also their `data-chart` attribute in the HTML. */
export type ChartId = 'accuracy' | 'loss' | 'epsilon' | 'bytes' | 'phases' | 'survivors'
