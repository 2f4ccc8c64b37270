/**
 * The round and scale parts of bench/bench.ts, both on the simulator (sim/simulate.ts: real libp2p
 * peers over the in-memory transport, all in this process, real round protocol and training):
 *
 * - round: the same swarm (same task seed, peers = cohort size) once with plain FedAvg and once with
 *   secure aggregation + DP-FedAvg; median round time and bytes per member (rounds after the first
 *   that had the full cohort), against each other and against the 4·d floor of one masked vector.
 * - scale: 100 peers, cohort 50, secure aggregation on, in one process: median round time and RSS per
 *   peer; smaller swarms are tried when 100 do not complete.
 *
 * Local work is kept small so that the rounds measure the protocol: the peers share the first
 * peers × EXAMPLES_PER_PEER MNIST training examples (an IDX subset, IID split, so two batches of 32 per
 * peer per round), and each round's model is evaluated on EVAL_LIMIT test examples. The model is the
 * default task's 2NN (MLP 784-200-200-10, d = 199,210) and the task keeps its default training; its
 * deadlines are the defaults stretched for the number of peers in this one process, as `fedswarm sim`
 * does (sim/crowd.ts; the join phase waits timeouts.joinMs = 5 s before the cohort is picked, in both
 * modes).
 */

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTask } from '../../src/config/index.ts'
import type { DatasetSpec, Task, TaskInit } from '../../src/config/types.ts'
import { modelLayout } from '../../src/learning/index.ts'
import { crowdTimeouts } from '../../sim/crowd.ts'
import { simulate } from '../../sim/simulate.ts'
import { formatRow } from '../../sim/report.ts'
import type { RoundRow, SimReport } from '../../sim/report.ts'
import { finiteOrNull, median, mnistSubset, progress, round, rssMb, simLog } from './common.ts'

export const EXAMPLES_PER_PEER = 64
export const EVAL_LIMIT = 100
const TEST_EXAMPLES = 500
/** DP-FedAvg's noise multiplier in the secure + DP run (the task default). */
const FED_AVG_NOISE = 1

export interface ModeFigures {
  secureAggregation: boolean
  dpFedAvg: boolean
  /**
   * Median seconds per round over `measuredRounds`: the rounds after the first (when there are more)
   * that had the full cohort, or all rounds after the first when none had it.
   */
  roundSeconds: number | null
  /** Median bytes received / sent per peer per round (every peer is a member here). */
  bytesReceivedPerPeer: number | null
  bytesSentPerPeer: number | null
  /** Median over those rounds of the peers' mean seconds in each phase. */
  phaseSeconds: Record<string, number>
  /** Seconds of the whole simulation (node start-up, every round, evaluation). */
  simSeconds: number | null
  roundsCompleted: number
  /** The rounds the medians are taken over. */
  measuredRounds: number[]
  finalAccuracy: number | null
  rows: Array<Pick<RoundRow, 'round' | 'cohort' | 'survivors' | 'peersCompleted' | 'peersAgreeing' | 'attempts' | 'seconds' | 'bytesSentPerPeer' | 'bytesReceivedPerPeer'>>
  error?: string
}

interface SimRun { figures: ModeFigures, report?: SimReport }

/** Runs one simulation and sums it up; an exception or missing rounds become `figures.error`. */
async function runSim (part: string, label: string, task: Task, peers: number, boundMs: number, verbose = false): Promise<SimRun> {
  // A round that takes longer than a third of the bound (at least 3 min) counts as stuck: stop there.
  const stallMs = Math.max(3 * 60_000, Math.round(boundMs / 3))
  const stall = new AbortController()
  let stalled = false
  let stallTimer: NodeJS.Timeout | undefined
  const armStall = (): void => {
    clearTimeout(stallTimer)
    stallTimer = setTimeout(() => { stalled = true; stall.abort() }, stallMs)
  }
  armStall()
  progress(part, `${label}: ${peers} peers, cohort ${task.cohort.size}, ${task.rounds} rounds, secure aggregation ${task.secureAggregation ? 'on' : 'off'}${task.privacy.dpFedAvg ? ` + DP-FedAvg σ ${task.privacy.fedAvgNoise}` : ''}`)
  let report: SimReport | undefined
  let error: string | undefined
  try {
    report = await simulate({
      task,
      peers,
      transport: 'memory',
      processes: 0,
      dropout: 0,
      backend: 'auto',
      evalLimit: EVAL_LIMIT,
      log: verbose ? line => progress(part, line) : simLog(part),
      onRow: row => {
        armStall()
        progress(part, `${label}: ${formatRow(row, task.rounds)}`)
      },
      signal: AbortSignal.any([AbortSignal.timeout(boundMs), stall.signal])
    })
  } catch (err) {
    error = `${label}: ${(err as Error).name}: ${(err as Error).message}`
  } finally {
    clearTimeout(stallTimer)
  }
  const all = report?.rounds ?? []
  const done = all.filter(r => r.peersCompleted > 0)
  if (done.length < task.rounds) {
    const why = stalled ? `no round completed for ${Math.round(stallMs / 60_000)} min, stopped` : `bound ${Math.round(boundMs / 60_000)} min, or the sim's own deadline`
    error = `${label}: ${done.length} of ${task.rounds} rounds completed (${why})${error != null ? `; ${error}` : ''}`
  }
  // A round with a smaller cohort (some peers missed its join) moves fewer bytes in less time: it is not
  // a round at this cohort size.
  const later = done.filter(r => task.rounds === 1 || r.round > 1)
  const full = later.filter(r => r.cohort === task.cohort.size)
  const rows = full.length > 0 ? full : later
  const phases = new Set(rows.flatMap(r => Object.keys(r.phaseSeconds ?? {})))
  const phaseSeconds: Record<string, number> = {}
  for (const p of phases) phaseSeconds[p] = round(median(rows.map(r => r.phaseSeconds?.[p] ?? 0)))
  const figures: ModeFigures = {
    secureAggregation: task.secureAggregation,
    dpFedAvg: task.privacy.dpFedAvg,
    roundSeconds: finiteOrNull(median(rows.map(r => r.seconds))),
    bytesReceivedPerPeer: finiteOrNull(median(rows.map(r => r.bytesReceivedPerPeer)), 0),
    bytesSentPerPeer: finiteOrNull(median(rows.map(r => r.bytesSentPerPeer)), 0),
    phaseSeconds,
    simSeconds: report == null ? null : round(report.seconds, 1),
    roundsCompleted: done.length,
    measuredRounds: rows.map(r => r.round),
    finalAccuracy: report?.finalAccuracy ?? null,
    rows: all.map(r => ({
      round: r.round, cohort: r.cohort, survivors: r.survivors, peersCompleted: r.peersCompleted, peersAgreeing: r.peersAgreeing,
      attempts: r.attempts, seconds: round(r.seconds), bytesSentPerPeer: r.bytesSentPerPeer, bytesReceivedPerPeer: r.bytesReceivedPerPeer
    })),
    ...(error != null ? { error } : {})
  }
  if (error != null) progress(part, error)
  return { figures, report }
}

/**
 * A task of the benchmark swarm of `peers` peers in this process: the default task (2NN, default
 * training) on `dataset`, with the deadlines `fedswarm sim` gives that many peers in one process.
 */
function benchTask (name: string, dataset: DatasetSpec, rounds: number, cohort: number, peers: number, extra: TaskInit = {}): Task {
  return createTask({ name, rounds, cohort: { size: cohort, minSurvivors: 2 }, dataset, timeouts: crowdTimeouts(peers), ...extra })
}

export interface RoundOptions {
  small: boolean
  /** Every sim log line on stderr (default: the sim's own lines and peers' problems). */
  verbose?: boolean
  /** Called with the figures so far after each simulation (so a crash later keeps them). */
  save?: (partial: RoundResult) => void
}

export interface RoundResult {
  plainSeconds: number | null
  secureDpSeconds: number | null
  /** secureDpSeconds / plainSeconds. */
  secureDpVsPlainTime: number | null
  /** Median bytes received per member per round. */
  plainBytesPerMember: number | null
  secureDpBytesPerMember: number | null
  /** Median bytes sent per member per round. */
  plainBytesSentPerMember: number | null
  secureDpBytesSentPerMember: number | null
  /** secureDpBytesPerMember / (4·d). */
  bytesPerMemberVsFloor: number | null
  /** The same ratio for plain FedAvg (context). */
  plainBytesPerMemberVsFloor: number | null
  /**
   * (secureDp − its join phase) / (plain − its join phase): the time ratio without the fixed join
   * window (timeouts.joinMs), where every phase mean comes from the drivers' phase events.
   */
  secureDpVsPlainTimeAfterJoin: number | null
  d: number
  floorBytes: number
  peers: number
  cohort: number
  rounds: number
  /** The rounds the medians are over: after the first, with the full cohort (see ModeFigures). */
  medianOf: string
  examplesPerPeer: number
  evalLimit: number
  fedAvgNoise: number
  timeouts: Task['timeouts']
  aggregation: Task['aggregation']
  training: Task['training']
  plain: ModeFigures
  secureDp: ModeFigures
}

export async function roundPart ({ small, verbose = false, save }: RoundOptions): Promise<RoundResult> {
  const PART = 'round'
  const peers = small ? 6 : 50
  const rounds = small ? 2 : 3
  const boundMs = (small ? 3 : 40) * 60_000
  const dir = mkdtempSync(join(tmpdir(), 'fedswarm-bench-round-'))
  try {
    const dataset = mnistSubset(dir, peers * EXAMPLES_PER_PEER, TEST_EXAMPLES)
    const plainTask = benchTask('bench-round', dataset, rounds, peers, peers, { secureAggregation: false })
    const secureTask = benchTask('bench-round', dataset, rounds, peers, peers, { secureAggregation: true, privacy: { dpFedAvg: true, fedAvgNoise: FED_AVG_NOISE } })
    const d = modelLayout(plainTask.model, [28, 28, 1], 10).size
    progress(PART, `d = ${d} (4·d = ${(4 * d / 1e6).toFixed(3)} MB), ${EXAMPLES_PER_PEER} examples per peer, eval on ${EVAL_LIMIT} test examples`)
    const ratio = (a: number | null, b: number | null): number | null => a == null || b == null ? null : finiteOrNull(a / b)
    const afterJoin = (m: ModeFigures): number | null => m.roundSeconds == null || m.phaseSeconds.join == null ? null : m.roundSeconds - m.phaseSeconds.join
    const result = (plain: ModeFigures, secureDp: ModeFigures): RoundResult => ({
      plainSeconds: plain.roundSeconds,
      secureDpSeconds: secureDp.roundSeconds,
      secureDpVsPlainTime: ratio(secureDp.roundSeconds, plain.roundSeconds),
      plainBytesPerMember: plain.bytesReceivedPerPeer,
      secureDpBytesPerMember: secureDp.bytesReceivedPerPeer,
      plainBytesSentPerMember: plain.bytesSentPerPeer,
      secureDpBytesSentPerMember: secureDp.bytesSentPerPeer,
      bytesPerMemberVsFloor: ratio(secureDp.bytesReceivedPerPeer, 4 * d),
      plainBytesPerMemberVsFloor: ratio(plain.bytesReceivedPerPeer, 4 * d),
      secureDpVsPlainTimeAfterJoin: ratio(afterJoin(secureDp), afterJoin(plain)),
      d,
      floorBytes: 4 * d,
      peers,
      cohort: peers,
      rounds,
      medianOf: `plain ${roundList(plain.measuredRounds)}, secure+DP ${roundList(secureDp.measuredRounds)}`,
      examplesPerPeer: EXAMPLES_PER_PEER,
      evalLimit: EVAL_LIMIT,
      fedAvgNoise: FED_AVG_NOISE,
      timeouts: plainTask.timeouts,
      aggregation: plainTask.aggregation,
      training: plainTask.training,
      plain,
      secureDp
    })
    const plain = (await runSim(PART, 'plain', plainTask, peers, boundMs, verbose)).figures
    save?.(result(plain, unfinished(secureTask, 'secure+dp')))
    const secureDp = (await runSim(PART, 'secure+dp', secureTask, peers, boundMs, verbose)).figures
    return result(plain, secureDp)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The figures of a simulation that has not finished (saved before it starts). */
function unfinished (task: Task, label: string): ModeFigures {
  return {
    secureAggregation: task.secureAggregation,
    dpFedAvg: task.privacy.dpFedAvg,
    roundSeconds: null,
    bytesReceivedPerPeer: null,
    bytesSentPerPeer: null,
    phaseSeconds: {},
    simSeconds: null,
    roundsCompleted: 0,
    measuredRounds: [],
    finalAccuracy: null,
    rows: [],
    error: `${label}: did not finish (the benchmark process ended during this simulation)`
  }
}

export interface ScaleOptions {
  small: boolean
  verbose?: boolean
  /** Called with the attempts so far after each one (so a crash later keeps them). */
  save?: (partial: ScaleResult) => void
}

export interface ScaleResult {
  /** The swarm size the figures are from (the first of `attempts` that completed), or null. */
  peers: number | null
  cohort: number
  secondsPerRound: number | null
  /** rssEndMb / peers. */
  rssMbPerPeer: number | null
  rssStartMb: number
  rssEndMb: number | null
  /** Peak RSS of the process (getrusage maxrss). */
  rssPeakMb: number
  bytesReceivedPerPeer: number | null
  rounds: number
  /** The rounds the medians are over: after the first, with the full cohort (see ModeFigures). */
  medianOf: string
  examplesPerPeer: number
  /** Every swarm size tried, largest first, with its outcome. */
  attempts: Array<{ peers: number, ok: boolean, secondsPerRound: number | null, rssEndMb: number, error?: string }>
  /** The largest swarm that worked when the first size did not (absent otherwise). */
  largestWorking?: number | null
  error?: string
  run?: ModeFigures
}

export async function scalePart ({ small, verbose = false, save }: ScaleOptions): Promise<ScaleResult> {
  const PART = 'scale'
  const rssStartMb = rssMb()
  const cohort = small ? 6 : 50
  const sizes = small ? [10, 6] : [100, 50]
  const rounds = small ? 2 : 3
  const boundMs = (small ? 3 : 40) * 60_000
  const dir = mkdtempSync(join(tmpdir(), 'fedswarm-bench-scale-'))
  const attempts: ScaleResult['attempts'] = []
  try {
    const dataset = mnistSubset(dir, sizes[0] * EXAMPLES_PER_PEER, TEST_EXAMPLES)
    progress(PART, `RSS at start ${rssStartMb.toFixed(0)} MB`)
    for (const peers of sizes) {
      const task = benchTask('bench-scale', dataset, rounds, Math.min(cohort, peers), peers, { secureAggregation: true })
      const { figures } = await runSim(PART, `${peers} peers`, task, peers, boundMs, verbose)
      const rssEndMb = rssMb()
      // enough for the figures: every round, or at least one round after the first (then with a note)
      const ok = figures.roundsCompleted >= Math.min(rounds, 2)
      attempts.push({ peers, ok, secondsPerRound: figures.roundSeconds, rssEndMb: round(rssEndMb, 1), ...(figures.error != null ? { error: figures.error } : {}) })
      progress(PART, `${peers} peers: ${ok ? 'completed' : 'failed'}, RSS ${rssEndMb.toFixed(0)} MB (${(rssEndMb / peers).toFixed(1)} MB/peer), peak ${(process.resourceUsage().maxRSS * 1024 / 1e6).toFixed(0)} MB`)
      if (!ok) {
        save?.(failed())
        continue
      }
      return {
        peers,
        cohort: Math.min(cohort, peers),
        secondsPerRound: figures.roundSeconds,
        rssMbPerPeer: round(rssEndMb / peers, 2),
        rssStartMb: round(rssStartMb, 1),
        rssEndMb: round(rssEndMb, 1),
        rssPeakMb: round(process.resourceUsage().maxRSS * 1024 / 1e6, 1),
        bytesReceivedPerPeer: figures.bytesReceivedPerPeer,
        rounds,
        medianOf: roundList(figures.measuredRounds),
        examplesPerPeer: EXAMPLES_PER_PEER,
        attempts,
        ...(peers !== sizes[0] ? { largestWorking: peers, error: attempts[0].error } : figures.error != null ? { error: figures.error } : {}),
        run: figures
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return failed()

  function failed (): ScaleResult {
    return {
      peers: null,
      cohort,
      secondsPerRound: null,
      rssMbPerPeer: null,
      rssStartMb: round(rssStartMb, 1),
      rssEndMb: round(rssMb(), 1),
      rssPeakMb: round(process.resourceUsage().maxRSS * 1024 / 1e6, 1),
      bytesReceivedPerPeer: null,
      rounds,
      medianOf: rounds > 1 ? `rounds 2-${rounds}` : 'round 1',
      examplesPerPeer: EXAMPLES_PER_PEER,
      attempts,
      largestWorking: null,
      error: attempts.map(a => a.error).join('; ')
    }
  }
}

/** "round 3", "rounds 2, 3" (the rounds a median is over), "no round". */
function roundList (rounds: readonly number[]): string {
  if (rounds.length === 0) return 'no round'
  return `${rounds.length === 1 ? 'round' : 'rounds'} ${rounds.join(', ')}`
}
