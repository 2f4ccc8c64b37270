/**
 * The swarm simulator: N real peers (real libp2p nodes, real protocol, real training) on this machine,
 * either in this process over the in-memory transport or spread over child processes talking TCP on
 * loopback. It injects crashes (`dropout`), collects every peer's round records, evaluates the
 * majority model of each round and builds the report.
 */
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { PrivateKey } from '@libp2p/interface'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Task } from '../src/config/types.ts'
import { taskId as computeTaskId } from '../src/config/index.ts'
import { createTrainer, initialParams, loadDataset, partition } from '../src/learning/index.ts'
import type { Gradients, Trainer } from '../src/learning/index.ts'
import { RoundDriver } from '../src/round/driver.ts'
import type { RoundRecord } from '../src/round/driver.ts'
import { createPeerNode, linkPeers, nodeBytes, seededRandom } from '../src/net/index.ts'
import type { ByteCount, PeerNode } from '../src/net/index.ts'
import { createSwarmChannel } from '../src/net/swarm-channel.ts'
import { createUpdateSource } from '../src/peer/update-source.ts'
import { roundEpsilon, summarizeRound } from './report.ts'
import type { PeerRecord, RoundRow, SimReport } from './report.ts'
import { Phase } from '../src/round/phases.ts'
import { PhaseClock } from '../src/report/phase-clock.ts'
import { NO_FAULTS, describeFaults, faultyChannel, hasFaults, slowPeers, slowUpdates } from './faults.ts'
import type { FaultPlan, FaultStats } from './faults.ts'

/** How much longer a slow peer's local training takes (`--faults slow:<p>`). */
const SLOW_FACTOR = 3

/** What the swarm's peers do, as it happens (for progress lines and the dashboard). */
export type SimEvent =
  /** Peer `peer` (its index) entered `phase` of `round`. */
  | { type: 'phase', peer: number, phase: Phase, round: number, attempt: number }
  /** Peer `peer` crashed (fault injection) in `round`. */
  | { type: 'crashed', peer: number, round: number }
  /** Peer `peer` came back after a crash. */
  | { type: 'restarted', peer: number }
  /** Peer `peer`'s local training in `round`: `done` of `total` batches (about 4 a second). */
  | { type: 'training', peer: number, round: number, done: number, total: number }

export interface SimInit {
  task: Task
  peers: number
  transport: 'memory' | 'tcp'
  /** With tcp: child processes to spread the peers over (0 = all in this process). */
  processes: number
  /** Probability that a peer crashes in a round (at a random phase); it comes back 1-2 rounds later. */
  dropout: number
  /** Network and peer faults (sim/faults.ts): gossip loss and delay, a partition, slow peers (in-process peers). */
  faults?: FaultPlan
  backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu'
  /** Trainer worker threads per process (default: the trainer's own default). */
  workers?: number
  /** The trainer's `gradients` option, in-process peers (default manual). */
  gradients?: Gradients
  /** Test examples used for the per-round evaluation (default: all). */
  evalLimit?: number
  log?: (line: string) => void
  onRow?: (row: RoundRow) => void
  /** Every peer's phase changes, crashes and restarts (default: none); must not throw. */
  onEvent?: (event: SimEvent) => void
  signal?: AbortSignal
}

export class SimulationError extends Error {
  override name = 'SimulationError'
}

/** A peer hosted by this process. */
interface LocalPeer {
  index: number
  key: PrivateKey
  id: string
  indices: Uint32Array
  node?: PeerNode
  driver?: RoundDriver
  running?: Promise<void>
  /** Its last completed model: what a restart resumes from (the sim's stand-in for the data dir). */
  model: { round: number, params: Float32Array }
  crashed: boolean
  crash?: { round: number, phase: string }
  returnAt?: number
  lastSeenRound: number
}

const CRASH_PHASES = [Phase.Join, Phase.Cohort, Phase.Update, Phase.Survivors]
/** With secure aggregation peers also crash after sharing their keys and while unmasking. */
const SECURE_CRASH_PHASES = [...CRASH_PHASES, Phase.Shares, Phase.Unmask]

/**
 * Hosts a set of peers in this process and runs them until the task's last round. Used directly for
 * `--transport memory` and by each child process for `--transport tcp`.
 */
export class PeerHost {
  readonly task: Task
  readonly taskId: string
  readonly peers: LocalPeer[] = []
  private readonly trainer: Trainer
  private readonly transport: 'memory' | 'tcp'
  private readonly dropout: number
  private readonly random: () => number
  private readonly log: (line: string) => void
  private readonly onRecord: (rec: PeerRecord, params: Float32Array) => void
  private readonly onEvent: (event: SimEvent) => void
  private readonly memPrefix: string
  private readonly faults: FaultPlan
  private readonly slow: Set<number>
  /** What the fault plan injected so far. */
  readonly faultStats: FaultStats = { dropped: 0, delayed: 0, cut: 0 }
  private readonly startedAt = Date.now()
  private stopped = false
  /** Addresses of peers in other processes, to link new or restarted peers to. */
  remoteAddrs: string[] = []

  constructor (init: {
    task: Task, taskId: string, trainer: Trainer, transport: 'memory' | 'tcp', dropout: number, seed: number, log: (l: string) => void,
    onRecord: (rec: PeerRecord, params: Float32Array) => void, onEvent?: (event: SimEvent) => void, faults?: FaultPlan, peers?: number
  }) {
    this.faults = init.faults ?? NO_FAULTS
    this.slow = slowPeers(this.faults, init.peers ?? 0)
    this.task = init.task
    this.taskId = init.taskId
    this.trainer = init.trainer
    this.transport = init.transport
    this.dropout = init.dropout
    this.random = seededRandom(init.seed)
    this.log = init.log
    this.onRecord = init.onRecord
    this.onEvent = init.onEvent ?? (() => {})
    this.memPrefix = `sim-${process.pid}-${Date.now()}`
  }

  async addPeer (index: number, indices: Uint32Array, m0: Float32Array): Promise<LocalPeer> {
    const key = await generateKeyPair('Ed25519')
    const p: LocalPeer = { index, key, id: peerIdFromPrivateKey(key).toString(), indices, model: { round: 0, params: m0 }, crashed: false, lastSeenRound: 0 }
    this.peers.push(p)
    return p
  }

  async startNode (p: LocalPeer): Promise<void> {
    p.node = await createPeerNode({
      privateKey: p.key,
      listen: this.transport === 'memory' ? [`/memory/${this.memPrefix}-${p.index}`] : ['/ip4/127.0.0.1/tcp/0'],
      transports: [this.transport]
    })
  }

  addrsOf (p: LocalPeer): string[] {
    return (p.node?.getMultiaddrs() ?? []).map(a => a.toString())
  }

  startDriver (p: LocalPeer, signal: AbortSignal, meshPeers: number): void {
    if (p.node == null) throw new SimulationError(`peer ${p.index} has no node`)
    let channel = createSwarmChannel(p.node, { taskId: this.taskId })
    if (hasFaults(this.faults)) {
      channel = faultyChannel(channel, {
        plan: this.faults,
        index: p.index,
        elapsed: () => (Date.now() - this.startedAt) / 1000,
        indexOf: (id) => this.peers.find(q => q.id === id)?.index,
        stats: this.faultStats
      })
    }
    const source = createUpdateSource({ task: this.task, trainer: this.trainer, dataset: this.task.dataset, indices: p.indices, salt: p.index, onProgress: (round, done, total) => this.onEvent({ type: 'training', peer: p.index, round, done, total }) })
    const clock = new PhaseClock()
    const driver = new RoundDriver({
      task: this.task,
      taskId: this.taskId,
      key: p.key,
      channel,
      updates: this.slow.has(p.index) ? slowUpdates(source, SLOW_FACTOR) : source,
      model: p.model,
      meshPeers,
      log: (line) => this.log(`peer ${p.index}: ${line}`),
      events: {
        phase: (phase, round, attempt) => {
          clock.enter(phase, round)
          this.onEvent({ type: 'phase', peer: p.index, phase, round, attempt })
        }
      },
      onRound: (rec: RoundRecord, params: Float32Array) => {
        p.model = { round: rec.round, params }
        const phaseMs = rec.via === 'aggregate' ? clock.take(rec.round) : undefined
        this.onRecord({ ...rec, peer: p.id, ...(phaseMs != null ? { phaseMs } : {}) }, params)
      }
    })
    p.driver = driver
    p.running = driver.run({ signal }).catch(err => {
      if (!signal.aborted) this.log(`peer ${p.index}: stopped with an error: ${(err as Error).message}`)
    })
  }

  private get crashPhases (): readonly string[] {
    return this.task.secureAggregation ? SECURE_CRASH_PHASES : CRASH_PHASES
  }

  /** Crash and restart peers according to the dropout rate. Call periodically. */
  async injectFaults (swarmRound: number, signal: AbortSignal, relink: (p: LocalPeer) => Promise<void>): Promise<void> {
    if (this.dropout <= 0 || this.stopped) return
    for (const p of this.peers) {
      const d = p.driver
      if (!p.crashed && d != null) {
        const r = d.currentRound
        if (r !== p.lastSeenRound) {
          p.lastSeenRound = r
          p.crash = r <= this.task.rounds && this.random() < this.dropout
            ? { round: r, phase: this.crashPhases[Math.floor(this.random() * this.crashPhases.length)] }
            : undefined
        }
        if (p.crash != null && d.currentRound === p.crash.round && d.currentPhase === p.crash.phase) {
          this.log(`peer ${p.index}: crashing in round ${p.crash.round} (${p.crash.phase} phase)`)
          p.crashed = true
          p.returnAt = p.crash.round + 1 + Math.floor(this.random() * 2)
          p.crash = undefined
          this.onEvent({ type: 'crashed', peer: p.index, round: d.currentRound })
          d.stop()
          await p.running
          await p.node?.stop()
          p.node = undefined
          p.driver = undefined
        }
      } else if (p.crashed && p.returnAt != null && swarmRound >= p.returnAt && swarmRound < this.task.rounds) {
        this.log(`peer ${p.index}: restarting at model of round ${p.model.round}`)
        p.crashed = false
        p.returnAt = undefined
        await this.startNode(p)
        await relink(p)
        this.startDriver(p, signal, 1)
        this.onEvent({ type: 'restarted', peer: p.index })
      }
    }
  }

  async stop (): Promise<void> {
    this.stopped = true
    for (const p of this.peers) p.driver?.stop()
    await Promise.all(this.peers.map(async p => {
      await p.running
      await p.node?.stop().catch(() => {})
    }))
  }
}

/** Runs a whole simulation and returns its report. */
export async function simulate (init: SimInit): Promise<SimReport> {
  const { task } = init
  const log = init.log ?? (() => {})
  const taskId = computeTaskId(task)
  const started = Date.now()
  if (init.peers < task.cohort.minSurvivors) throw new SimulationError(`--peers ${init.peers} is below the task's cohort.minSurvivors ${task.cohort.minSurvivors}`)
  const dataset = await loadDataset(task.dataset, { signal: init.signal })
  const parts = partition(dataset.trainY, init.peers, task.partition, task.seed)
  const m0 = initialParams(task.model, dataset.inputShape, dataset.classes, task.seed)
  const trainer = createTrainer({ backend: init.backend, workers: init.workers, gradients: init.gradients })
  const backend = await trainer.backend()
  log(`task ${taskId.slice(0, 16)}: ${init.peers} peers, ${task.rounds} rounds, ${init.transport}${init.processes > 0 ? ` over ${init.processes} processes` : ''}, backend ${backend}, ${m0.length} parameters, secure aggregation ${task.secureAggregation ? 'on' : 'off'}`)

  const controller = new AbortController()
  const signal = AbortSignal.any([controller.signal, ...(init.signal != null ? [init.signal] : [])])
  const records = new Map<number, PeerRecord[]>()
  /** One copy of each round's model(s), by round then hash, until the round's row is out. */
  const modelParams = new Map<number, Map<string, Float32Array>>()
  const rows: RoundRow[] = []
  let prevEnd = started
  let emitted = 0
  let stopped: string | undefined
  let protocolBytes: Record<string, ByteCount> | undefined
  let evaluating = Promise.resolve()

  let forks = 0
  const onRecord = (rec: PeerRecord, params?: Float32Array): void => {
    if (rec.replacesFrom != null) {
      // A fork healed: this peer gave up its rounds from replacesFrom for the swarm's chain. Its records of
      // those rounds whose rows are not out yet go; rows already out keep the disagreement they showed.
      forks++
      log(`fork: peer ${rec.peer.slice(-8)} gave up its rounds from ${rec.replacesFrom} for the chain most peers hold (model ${rec.modelHash.slice(0, 12)} at round ${rec.round})`)
      for (const [r, list] of records) {
        if (r < rec.replacesFrom || r <= emitted) continue
        const kept = list.filter(x => x.peer !== rec.peer)
        if (kept.length > 0) records.set(r, kept)
        else records.delete(r)
      }
    }
    let list = records.get(rec.round)
    if (list == null) { list = []; records.set(rec.round, list) }
    list.push(rec)
    if (params == null) return
    let models = modelParams.get(rec.round)
    if (models == null) { models = new Map(); modelParams.set(rec.round, models) }
    if (!models.has(rec.modelHash)) models.set(rec.modelHash, params)
  }

  const onEvent = (event: SimEvent): void => { try { init.onEvent?.(event) } catch {} }
  const host = new PeerHost({ task, taskId, trainer, transport: init.transport, dropout: init.dropout, seed: task.seed ^ 0x5eed, log, onRecord, onEvent, faults: init.faults, peers: init.peers })
  if (init.faults != null && hasFaults(init.faults)) {
    if (init.processes > 0) throw new SimulationError('--faults needs the peers in this process (without --processes)')
    log(`faults: ${describeFaults(init.faults)} (seed ${init.faults.seed})`)
  }
  const children: ChildProcess[] = []
  let livePeers = (): number => host.peers.filter(p => !p.crashed).length

  try {
    if (init.transport === 'tcp' && init.processes > 0) {
      const remote = await startChildren(init, taskId, parts, children, onRecord, onEvent, log, signal)
      livePeers = () => remote.live()
    } else {
      for (let i = 0; i < init.peers; i++) await host.addPeer(i, parts[i], m0)
      for (const p of host.peers) await host.startNode(p)
      await linkPeers(host.peers.map(p => p.node!), { degree: Math.min(3, init.peers - 1), seed: task.seed })
      const meshPeers = Math.min(2, init.peers - 1)
      for (const p of host.peers) host.startDriver(p, signal, meshPeers)
    }

    const relink = async (p: { node?: PeerNode }): Promise<void> => {
      const others = host.peers.filter(q => q.node != null && q.node !== p.node)
      const nodes = [p.node!, ...others.map(q => q.node!)]
      await linkPeers(nodes, { degree: Math.min(3, nodes.length - 1), seed: Date.now() }).catch(() => {})
    }

    const maxRoundMs = task.timeouts.joinMs + 5 * task.timeouts.cohortMs + task.timeouts.updateMs + task.timeouts.survivorsMs
    const deadline = started + 60_000 + task.rounds * 3 * maxRoundMs
    const budgeted = (task.privacy.dpFedAvg || task.privacy.dpSgd) && task.privacy.targetEpsilon > 0 && init.processes === 0
    while (!signal.aborted) {
      // Emit rows for rounds every live peer has passed.
      const swarmRound = Math.max(0, ...[...records.keys()])
      for (let r = emitted + 1; r <= swarmRound; r++) {
        const list = records.get(r) ?? []
        const laterDone = (records.get(r + 1)?.length ?? 0) > 0
        if (list.length < livePeers() && !(laterDone && list.length > 0) && Date.now() < deadline) break
        const summary = summarizeRound(r, list, prevEnd, init.peers)
        if (summary.peersAgreeing !== summary.peersCompleted) {
          // Invariant 1 broken: say which peers hold which model, from which attempt, cohort and base
          const groups = new Map<string, PeerRecord[]>()
          for (const rec of list) {
            if (rec.via !== 'aggregate') continue
            const group = groups.get(rec.modelHash)
            if (group === undefined) groups.set(rec.modelHash, [rec])
            else group.push(rec)
          }
          log(`round ${r}: completed models disagree: ${[...groups.entries()].map(([hash, recs]) =>
            `${hash.slice(0, 12)} by ${recs.map(x => x.peer).join(',')} (attempt ${recs.map(x => x.attempt).join('/')}, cohort ${recs[0].cohortHash.slice(0, 12)} of ${recs[0].cohort}, survivors ${recs[0].survivors}, base ${recs[0].baseHash.slice(0, 12)})`).join(' | ')}`)
        }
        prevEnd = Math.max(prevEnd, ...list.filter(x => x.via === 'aggregate').map(x => x.endedAt))
        const row: RoundRow = { ...summary, accuracy: null, loss: null, epsilon: roundEpsilon(list) }
        rows.push(row)
        emitted = r
        const params = modelParams.get(r)?.get(summary.modelHash)
        modelParams.delete(r)
        evaluating = evaluating.then(async () => {
          if (params != null) {
            const ev = await trainer.evaluate({ model: task.model, dataset: task.dataset, params, limit: init.evalLimit }, { signal })
            row.accuracy = ev.accuracy
            row.loss = ev.loss
          }
          init.onRow?.(row)
        }).catch(err => { if (!signal.aborted) log(`evaluation of round ${r} failed: ${(err as Error).message}`) })
      }
      if (emitted >= task.rounds) break
      // With a privacy budget the swarm ends when fewer peers than a round needs (minSurvivors) may join
      // another one (in-process peers); e.g. a peer that synced a round it missed has one round more left.
      if (budgeted && emitted === swarmRound && host.peers.length > 0) {
        const left = host.peers.filter(p => p.driver != null && !p.driver.budgetSpent).length
        if (left < Math.max(1, task.cohort.minSurvivors)) {
          stopped = left === 0
            ? `every peer's privacy budget (ε ≤ ${task.privacy.targetEpsilon}) is spent after round ${emitted}`
            : `the privacy budget (ε ≤ ${task.privacy.targetEpsilon}) of all but ${left} peer${left === 1 ? '' : 's'} is spent after round ${emitted}, and a round needs ${task.cohort.minSurvivors}`
          log(stopped)
          break
        }
      }
      if (Date.now() > deadline) {
        log(`simulation deadline reached at round ${emitted}`)
        break
      }
      await host.injectFaults(swarmRound, signal, relink)
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    await evaluating
  } finally {
    controller.abort()
    protocolBytes = meanProtocolBytes(host.peers.flatMap(p => p.node == null ? [] : [nodeBytes(p.node).protocols]))
    await host.stop()
    for (const c of children) c.kill('SIGTERM')
    await trainer.close()
  }
  const last = rows.at(-1)
  return {
    task,
    taskId,
    peers: init.peers,
    transport: init.transport,
    processes: init.processes,
    backend,
    startedAt: new Date(started).toISOString(),
    seconds: (Date.now() - started) / 1000,
    rounds: rows,
    mismatches: rows.filter(r => r.peersAgreeing !== r.peersCompleted).length,
    ...(forks > 0 ? { forks } : {}),
    finalAccuracy: last?.accuracy ?? null,
    ...(stopped != null ? { stopped } : {}),
    dropout: init.dropout,
    ...(init.evalLimit != null ? { evalLimit: init.evalLimit } : {}),
    ...(protocolBytes != null ? { protocolBytes } : {}),
    ...(init.faults != null && hasFaults(init.faults) ? { faults: { plan: describeFaults(init.faults), seed: init.faults.seed, ...host.faultStats } } : {})
  }
}

/** Mean bytes per peer and protocol over the run (in-process peers alive at the end). */
function meanProtocolBytes (all: Array<Record<string, ByteCount>>): Record<string, ByteCount> | undefined {
  if (all.length === 0) return undefined
  const out: Record<string, ByteCount> = {}
  for (const protocols of all) {
    for (const [name, c] of Object.entries(protocols)) {
      const o = (out[name] ??= { sent: 0, received: 0 })
      o.sent += c.sent / all.length
      o.received += c.received / all.length
    }
  }
  for (const c of Object.values(out)) { c.sent = Math.round(c.sent); c.received = Math.round(c.received) }
  return out
}

// ------------------------------------------------------------------ multi-process (TCP on loopback)

interface ChildHandle { proc: ChildProcess, addrs: string[], live: number }

async function startChildren (
  init: SimInit, taskId: string, parts: Uint32Array[], children: ChildProcess[],
  onRecord: (rec: PeerRecord, params?: Float32Array) => void,
  onEvent: (event: SimEvent) => void,
  log: (l: string) => void, signal: AbortSignal
): Promise<{ live: () => number }> {
  const n = Math.min(init.processes, init.peers)
  const handles: ChildHandle[] = []
  const script = fileURLToPath(new URL('./child.ts', import.meta.url))
  for (let c = 0; c < n; c++) {
    const mine: number[] = []
    for (let i = c; i < init.peers; i += n) mine.push(i)
    const proc = fork(script, [], { execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    children.push(proc)
    const h: ChildHandle = { proc, addrs: [], live: mine.length }
    handles.push(h)
    proc.on('message', (msg: any) => {
      if (msg.type === 'record') onRecord(msg.record, msg.params != null ? new Float32Array(msg.params) : undefined)
      else if (msg.type === 'log') log(msg.line)
      else if (msg.type === 'event') onEvent(msg.event)
      else if (msg.type === 'live') h.live = msg.live
    })
    proc.on('exit', (code) => { if (!signal.aborted && code !== 0) log(`child process ${c} exited with code ${code}`) })
    const ready = new Promise<string[]>((resolve, reject) => {
      const onMsg = (msg: any): void => { if (msg.type === 'ready') { proc.off('message', onMsg); resolve(msg.addrs) } }
      proc.on('message', onMsg)
      proc.once('exit', code => reject(new SimulationError(`child process ${c} exited with code ${code} before it was ready`)))
    })
    proc.send({
      type: 'init',
      task: init.task,
      taskId,
      peers: mine.map(i => ({ index: i, indices: parts[i] })),
      dropout: init.dropout,
      backend: init.backend,
      workers: init.workers ?? 1,
      seed: init.task.seed + c
    })
    h.addrs = await ready
  }
  // Link every child's peers to peers of the other children.
  const all = handles.flatMap(h => h.addrs)
  for (const h of handles) h.proc.send({ type: 'link', addrs: all.filter(a => !h.addrs.includes(a)), meshPeers: Math.min(2, init.peers - 1) })
  return { live: () => handles.reduce((s, h) => s + h.live, 0) }
}
