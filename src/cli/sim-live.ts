/**
 * `fedswarm sim` while it runs: turns the swarm's events and rows into terminal output (plain round
 * lines, a progress line on a TTY, JSON lines with --json) and into the dashboard's state.
 */
import { taskId as computeTaskId } from '../config/index.ts'
import type { Task } from '../config/types.ts'
import { DashboardStore, dashboardTask } from '../dashboard/index.ts'
import type { SimEvent } from '../../sim/simulate.ts'
import { formatRow } from '../../sim/report.ts'
import type { RoundRow, SimReport } from '../../sim/report.ts'
import { SwarmTracker, progressLine } from '../../sim/tracker.ts'
import type { Output } from './output.ts'

/** Peer log lines shown without --verbose: the ones that say something went wrong or changed. */
const NOTABLE = /MISMATCH|crashing|restarting|task |deadline|error|failed|privacy budget/i

export interface SimLiveInit {
  task: Task
  peers: number
  output: Output
  /** Keep a dashboard's state too (default: no). */
  dashboard?: boolean
  /** How often the progress line's clock ticks (default 1000 ms). */
  tickMs?: number
}

export class SimLive {
  readonly rows: RoundRow[] = []
  /** The dashboard's state, with `dashboard`. */
  readonly store?: DashboardStore
  private readonly init: SimLiveInit
  private readonly tracker: SwarmTracker
  private readonly started = Date.now()
  private readonly bytes = { sent: 0, received: 0 }
  private readonly tick?: NodeJS.Timeout

  constructor (init: SimLiveInit) {
    this.init = init
    this.tracker = new SwarmTracker(init.peers)
    if (init.dashboard === true) {
      this.store = new DashboardStore({
        kind: 'sim',
        task: dashboardTask(init.task, computeTaskId(init.task)),
        initial: { peers: { connected: init.peers, total: init.peers } }
      })
    }
    if (init.output.progressShown) {
      this.tick = setInterval(() => this.progress(), init.tickMs ?? 1000)
      this.tick.unref()
      this.progress()
    }
  }

  /** A peer's log line: the notable ones normally, all of them with --verbose. */
  log = (line: string): void => {
    this.init.output.note('log', `  ${line}`, {}, { verboseOnly: !NOTABLE.test(line) })
  }

  onEvent = (e: SimEvent): void => {
    this.tracker.onEvent(e)
    if (e.type === 'training') { this.progress(); return } // ~4 a second per peer; nothing the dashboard shows
    const now = this.tracker.now()
    if (e.type === 'phase') {
      const { type: _, ...fields } = e
      this.init.output.verbose('phase', `  peer ${e.peer}: round ${e.round} attempt ${e.attempt} ${e.phase}`, fields)
    }
    this.store?.update({
      state: 'running',
      round: now.round > 0 ? now.round : undefined,
      phase: now.phase,
      inPhase: now.phase != null ? now.inPhase : undefined,
      peers: { connected: now.live, total: now.total }
    })
    this.progress()
  }

  onRow = (row: RoundRow): void => {
    this.rows.push(row)
    this.init.output.info('round', formatRow(row, this.init.task.rounds), { ...row })
    this.bytes.sent += row.bytesSentPerPeer
    this.bytes.received += row.bytesReceivedPerPeer
    this.store?.addRound({
      ...row,
      agreed: row.peersAgreeing === row.peersCompleted,
      agreement: `${row.peersAgreeing}/${row.peersCompleted} peers`
    }, { epsilon: row.epsilon, bytes: { ...this.bytes } })
    this.progress()
  }

  /** The run is over: the dashboard's final state, and no more progress line. */
  finish (report: SimReport | undefined, interrupted: boolean): void {
    clearInterval(this.tick)
    this.init.output.end()
    this.store?.update({
      state: interrupted ? 'stopped' : 'finished',
      round: undefined,
      phase: undefined,
      inPhase: undefined,
      note: report?.stopped ?? (interrupted ? 'interrupted' : undefined)
    })
  }

  private progress (): void {
    if (!this.init.output.progressShown) return
    this.init.output.progress(progressLine(this.tracker.now(), this.init.task.rounds, this.rows.at(-1), (Date.now() - this.started) / 1000))
  }
}
