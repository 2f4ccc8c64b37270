/**
 * `fedswarm sim`: builds the task from the defaults, an optional task file and the flags, runs the
 * simulator with a live line per round, prints a summary and writes the JSON report.
 */
import { writeFile } from 'node:fs/promises'
import { createTask, readTaskFile } from '../config/index.ts'
import type { Task } from '../config/types.ts'
import { simulate } from '../../sim/simulate.ts'
import { formatRow } from '../../sim/report.ts'
import type { RoundRow } from '../../sim/report.ts'
import { UsageError } from './usage-error.ts'

export interface SimOptions {
  task?: string
  peers: string
  rounds?: string
  cohort?: string
  minSurvivors?: string
  secureAgg?: string
  threshold?: string
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
  partition?: string
  seed?: string
  localEpochs?: string
  batch?: string
  lr?: string
  optimizer?: 'sgd' | 'momentum' | 'adam'
  dropout: string
  transport: 'memory' | 'tcp'
  processes: string
  backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu'
  workers?: string
  evalLimit?: string
  report?: string
  json?: boolean
  quiet?: boolean
  verbose?: boolean
}

export function int (flag: string, value: string | undefined, min = 1): number | undefined {
  if (value == null) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer >= ${min} (got "${value}")`)
  return n
}

export function num (flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value == null) return undefined
  const n = Number(value)
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`${flag} must be a number in [${min}, ${max}] (got "${value}")`)
  return n
}

/** The sim's task: defaults (or the task file), then the flags on top. */
export async function simTask (o: SimOptions): Promise<Task> {
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
  set(['partition'], o.partition)
  set(['seed'], int('--seed', o.seed, 0))
  set(['training', 'epochs'], int('--local-epochs', o.localEpochs))
  set(['training', 'batchSize'], int('--batch', o.batch))
  set(['training', 'learningRate'], num('--lr', o.lr, 1e-9, 100))
  set(['training', 'optimizer'], o.optimizer)
  const task = createTask(base, { source: o.task ?? 'flags' })
  if (task.cohort.minSurvivors > peers) throw new UsageError(`--peers ${peers} is below cohort.minSurvivors ${task.cohort.minSurvivors}`)
  return task
}

export async function runSim (o: SimOptions): Promise<number> {
  const task = await simTask(o)
  const peers = int('--peers', o.peers)!
  const dropout = num('--dropout', o.dropout, 0, 0.9)!
  const processes = int('--processes', o.processes, 0)!
  if (processes > 0 && o.transport !== 'tcp') throw new UsageError('--processes needs --transport tcp')
  const json = o.json === true
  const out = (s: string): void => { if (!json) process.stdout.write(`${s}\n`) }
  const controller = new AbortController()
  const onSignal = (): void => { out('interrupted: stopping the swarm…'); controller.abort() }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const rows: RoundRow[] = []
  try {
    const report = await simulate({
      task,
      peers,
      transport: o.transport,
      processes,
      dropout,
      backend: o.backend,
      workers: int('--workers', o.workers),
      evalLimit: int('--eval-limit', o.evalLimit),
      signal: controller.signal,
      log: (line) => {
        if (o.verbose === true || (o.quiet !== true && /MISMATCH|crashing|restarting|task |deadline|error|failed|privacy budget/i.test(line))) process.stderr.write(`  ${line}\n`)
      },
      onRow: (row) => { rows.push(row); out(formatRow(row, task.rounds)) }
    })
    if (o.report != null) await writeFile(o.report, JSON.stringify(report, null, 2) + '\n')
    if (json) process.stdout.write(JSON.stringify(report) + '\n')
    const disagreed = report.rounds.filter(r => r.peersAgreeing !== r.peersCompleted)
    out(`\n${report.rounds.length}/${task.rounds} rounds in ${report.seconds.toFixed(1)} s, ${peers} peers, backend ${report.backend}; ` +
      `final accuracy ${report.finalAccuracy == null ? '-' : (report.finalAccuracy * 100).toFixed(2) + '%'}; ` +
      (disagreed.length === 0 ? 'every peer agreed in every round' : `PEERS DISAGREED in rounds ${disagreed.map(r => r.round).join(', ')}`) +
      (o.report != null ? `; report in ${o.report}` : ''))
    if (disagreed.length > 0) return 1
    if (report.stopped != null) out(`stopped early: ${report.stopped}`)
    if (report.rounds.length < task.rounds && !controller.signal.aborted && report.stopped == null) return 1
    return 0
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
