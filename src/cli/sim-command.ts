/**
 * `fedswarm sim`: builds the task from the defaults, an optional task file and the flags, runs the
 * simulator with a live line per round (`sim-live.ts`: progress line on a TTY, JSON lines with --json,
 * optional live dashboard), prints a summary and writes the JSON and HTML reports.
 */
import { writeFile } from 'node:fs/promises'
import { LR_SCHEDULES, NORMALIZE_MODES, TRANSFORMS, createTask, readTaskFile } from '../config/index.ts'
import type { Task } from '../config/types.ts'
import { simulate } from '../../sim/simulate.ts'
import type { SimReport } from '../../sim/report.ts'
import { crowdFactor, crowdTimeouts } from '../../sim/crowd.ts'
import { FaultSpecError, parseFaults } from '../../sim/faults.ts'
import type { FaultPlan } from '../../sim/faults.ts'
import { createDashboardServer, parseDashboardAddress } from '../dashboard/index.ts'
import type { DashboardServer } from '../dashboard/index.ts'
import { createOutput, outputLevel } from './output.ts'
import { SimLive } from './sim-live.ts'
import { reportHtmlPath, runFlags, writeReportHtml } from './sim-report-file.ts'
import { UsageError } from './usage-error.ts'
import { choice, int, num } from './flags.ts'

export interface SimOptions {
  task?: string
  peers: string
  rounds?: string
  cohort?: string
  minSurvivors?: string
  secureAgg?: string
  threshold?: string
  sliceFrom?: string
  clip?: string
  dpFedavg?: boolean
  dpSgd?: boolean
  noiseMultiplier?: string
  l2NormClip?: string
  microbatches?: string
  noise?: string
  delta?: string
  targetEpsilon?: string
  model?: 'mlp' | 'cnn' | 'logreg'
  hidden?: string
  dataset?: 'mnist' | 'fashion-mnist'
  /** `none` or `standard` (dataset.normalize). */
  normalize?: string
  /** `none` or `scattering` (dataset.transform). */
  transform?: string
  partition?: string
  seed?: string
  localEpochs?: string
  batch?: string
  lr?: string
  optimizer?: 'sgd' | 'momentum' | 'adam'
  /** `constant`, `step` or `cosine` (training.lrSchedule). */
  lrSchedule?: string
  dropout: string
  faults?: string
  faultSeed?: string
  transport: 'memory' | 'tcp'
  processes: string
  backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu'
  workers?: string
  evalLimit?: string
  report?: string
  /** `--report-html <file>`, or false with `--no-report-html` (default: next to --report). */
  reportHtml?: string | false
  /** `--dashboard <host:port>`: serve the live dashboard there. */
  dashboard?: string
  json?: boolean
  quiet?: boolean
  verbose?: boolean
}

/** The sim's task: defaults (or the task file), then the flags on top. */
export async function simTask (o: SimOptions): Promise<Task> {
  return (await buildSimTask(o)).task
}

/** The sim's task, and the deadline factor when they were stretched for a crowded process (sim/crowd.ts). */
async function buildSimTask (o: SimOptions): Promise<{ task: Task, crowd?: { perProcess: number, factor: number } }> {
  const base: Record<string, any> = o.task != null ? structuredClone((await readTaskFile(o.task)).task) : {}
  const peers = int('--peers', o.peers, 1)!
  const set = (path: string[], v: unknown): void => {
    if (v === undefined) return
    let obj = base
    for (const k of path.slice(0, -1)) obj = (obj[k] ??= {})
    obj[path.at(-1)!] = v
  }
  set(['rounds'], int('--rounds', o.rounds))
  if (o.task == null) set(['cohort', 'size'], peers)
  set(['cohort', 'size'], int('--cohort', o.cohort))
  set(['cohort', 'minSurvivors'], int('--min-survivors', o.minSurvivors))
  set(['cohort', 'threshold'], int('--threshold', o.threshold, 0))
  set(['aggregation', 'sliceFrom'], int('--slice-from', o.sliceFrom, 0))
  set(['aggregation', 'clipNorm'], num('--clip', o.clip, 1e-9, 1e9))
  if (o.dpFedavg === true) set(['privacy', 'dpFedAvg'], true)
  if (o.dpSgd === true) set(['privacy', 'dpSgd'], true)
  set(['privacy', 'noiseMultiplier'], num('--noise-multiplier', o.noiseMultiplier, 1e-6, 1e6))
  set(['privacy', 'l2NormClip'], num('--l2-norm-clip', o.l2NormClip, 1e-9, 1e9))
  set(['privacy', 'microbatches'], int('--microbatches', o.microbatches, 0))
  set(['privacy', 'fedAvgNoise'], num('--noise', o.noise, 1e-6, 1e6))
  set(['privacy', 'delta'], num('--delta', o.delta, 1e-300, 0.5))
  set(['privacy', 'targetEpsilon'], num('--target-epsilon', o.targetEpsilon, 0, 1e9))
  if (o.secureAgg != null) {
    if (o.secureAgg !== 'on' && o.secureAgg !== 'off') throw new UsageError(`--secure-agg must be on or off (got "${o.secureAgg}")`)
    set(['secureAggregation'], o.secureAgg === 'on')
  }
  if (o.model != null) base.model = { kind: o.model }
  if (o.hidden != null) {
    const hidden = o.hidden.split(',').map(s => Number(s.trim()))
    if (hidden.some(h => !Number.isInteger(h) || h < 1)) throw new UsageError(`--hidden must be comma-separated positive integers (got "${o.hidden}")`)
    base.model = { ...(base.model ?? { kind: 'mlp' }), hidden }
  }
  if (o.dataset != null) base.dataset = { kind: o.dataset }
  set(['dataset', 'normalize'], choice('--normalize', o.normalize, NORMALIZE_MODES))
  set(['dataset', 'transform'], choice('--transform', o.transform, TRANSFORMS))
  set(['partition'], o.partition)
  set(['seed'], int('--seed', o.seed, 0))
  set(['training', 'epochs'], int('--local-epochs', o.localEpochs))
  set(['training', 'batchSize'], int('--batch', o.batch))
  set(['training', 'learningRate'], num('--lr', o.lr, 1e-9, 100))
  set(['training', 'optimizer'], o.optimizer)
  set(['training', 'lrSchedule'], choice('--lr-schedule', o.lrSchedule, LR_SCHEDULES))
  // Many peers on one main thread: stretch the deadlines the user did not set (sim/crowd.ts).
  const perProcess = Math.ceil(peers / Math.max(1, int('--processes', o.processes, 0) ?? 0))
  const factor = crowdFactor(perProcess)
  const stretched = base.timeouts == null && factor > 1
  if (stretched) base.timeouts = crowdTimeouts(perProcess)
  const task = createTask(base, { source: o.task ?? 'flags' })
  if (task.cohort.minSurvivors > peers) throw new UsageError(`--peers ${peers} is below cohort.minSurvivors ${task.cohort.minSurvivors}`)
  return stretched ? { task, crowd: { perProcess, factor } } : { task }
}

export async function runSim (o: SimOptions): Promise<number> {
  const { task, crowd } = await buildSimTask(o)
  const peers = int('--peers', o.peers)!
  const dropout = num('--dropout', o.dropout, 0, 0.9)!
  const processes = int('--processes', o.processes, 0)!
  if (processes > 0 && o.transport !== 'tcp') throw new UsageError('--processes needs --transport tcp')
  let faults: FaultPlan | undefined
  try {
    faults = o.faults != null ? parseFaults(o.faults, int('--fault-seed', o.faultSeed, 0) ?? 1) : undefined
  } catch (err) {
    if (err instanceof FaultSpecError) throw new UsageError(err.message)
    throw err
  }
  if (faults != null && processes > 0) throw new UsageError('--faults needs the peers in this process (leave out --processes)')
  // Bad --dashboard values fail before anything is loaded.
  const dashboardAddress = o.dashboard != null ? parseDashboardAddress(o.dashboard) : undefined
  const htmlPath = reportHtmlPath(o)
  const output = createOutput({ json: o.json === true, level: outputLevel(o) })
  const controller = new AbortController()
  const onSignal = (): void => { output.info('interrupted', 'interrupted: stopping the swarm…'); controller.abort() }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  if (crowd != null) {
    const t = task.timeouts
    output.info('timeouts', `${crowd.perProcess} peers on one process: phase deadlines ×${crowd.factor.toFixed(1)} (cohort ${t.cohortMs / 1000} s, update ${t.updateMs / 1000} s, survivors ${t.survivorsMs / 1000} s; a task file's timeouts are used as written)`, { ...t })
  }
  const live = new SimLive({ task, peers, output, dashboard: dashboardAddress != null })
  let dashboard: DashboardServer | undefined
  let report: SimReport | undefined
  try {
    if (dashboardAddress != null) {
      dashboard = await createDashboardServer({ listen: dashboardAddress, store: live.store!, signal: controller.signal })
      output.summary('dashboard', `dashboard on ${dashboard.url}`, { url: dashboard.url })
    }
    report = await simulate({
      task,
      peers,
      transport: o.transport,
      processes,
      dropout,
      faults,
      backend: o.backend,
      workers: int('--workers', o.workers),
      evalLimit: int('--eval-limit', o.evalLimit),
      signal: controller.signal,
      log: live.log,
      onRow: live.onRow,
      onEvent: live.onEvent
    })
    report.flags = runFlags(o)
    live.finish(report, controller.signal.aborted)
    if (o.report != null) await writeFile(o.report, JSON.stringify(report, null, 2) + '\n')
    if (htmlPath != null) await writeReportHtml(htmlPath, report)
    const disagreed = report.rounds.filter(r => r.peersAgreeing !== r.peersCompleted)
    const files = [o.report, htmlPath].filter(f => f != null)
    output.summary('summary', `\n${report.rounds.length}/${task.rounds} rounds in ${report.seconds.toFixed(1)} s, ${peers} peers, backend ${report.backend}; ` +
      `final accuracy ${report.finalAccuracy == null ? '-' : (report.finalAccuracy * 100).toFixed(2) + '%'}; ` +
      (disagreed.length === 0 ? 'every peer agreed in every round' : `PEERS DISAGREED in rounds ${disagreed.map(r => r.round).join(', ')}`) +
      (files.length > 0 ? `; report in ${files.join(' and ')}` : ''), {
      roundsCompleted: report.rounds.length,
      rounds: task.rounds,
      seconds: report.seconds,
      peers,
      finalAccuracy: report.finalAccuracy,
      disagreedRounds: disagreed.map(r => r.round),
      ...(o.report != null ? { reportFile: o.report } : {}),
      ...(htmlPath != null ? { htmlFile: htmlPath } : {}),
      report
    })
    if (disagreed.length > 0) return 1
    if (report.stopped != null) output.summary('stopped', `stopped early: ${report.stopped}`, { reason: report.stopped })
    if (report.rounds.length < task.rounds && !controller.signal.aborted && report.stopped == null) return 1
    return 0
  } finally {
    live.finish(report, controller.signal.aborted)
    await dashboard?.close()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

export { choice, int, num }
