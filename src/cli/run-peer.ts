/**
 * The peer loop behind `fedswarm node` and `fedswarm join`: loads this peer's data, opens its data dir
 * (identity, checkpoints, round records, privacy ledger), starts the libp2p node, runs the round driver
 * until the task is done or SIGINT / SIGTERM, and reports progress on stdout (text or JSON lines), in
 * `status.json` (for `fedswarm status`), with `metrics` on a Prometheus endpoint and with `dashboard`
 * on a live web page.
 */
import { createPrivacyLedger } from '../dp/ledger.ts'
import { shortTaskId } from '../config/index.ts'
import type { Task } from '../config/types.ts'
import { createTrainer, initialParams, loadDataset, parseDataSpec, partition } from '../learning/index.ts'
import {
  createMetricsRegistry, createMetricsServer, createNodeMetrics, createRoundMetrics, parseMetricsAddress
} from '../metrics/index.ts'
import type { MetricsServer } from '../metrics/index.ts'
import { PeerDashboardFeed, createDashboardServer, parseDashboardAddress } from '../dashboard/index.ts'
import type { DashboardServer } from '../dashboard/index.ts'
import { createPeerNode, dialBootstrap, nodeBytes, waitForRelayAddress } from '../net/index.ts'
import type { PeerNode } from '../net/index.ts'
import { createSwarmChannel } from '../net/swarm-channel.ts'
import { createUpdateSource } from '../peer/update-source.ts'
import { startTaskDiscovery } from '../peer/task-discovery.ts'
import type { TaskDiscovery } from '../peer/task-discovery.ts'
import { linksFromRecords } from '../round/chain.ts'
import { RoundDriver } from '../round/driver.ts'
import type { RoundRecord } from '../round/driver.ts'
import { STATUS_FILE, createStatusWriter, openDataDir } from '../store/index.ts'
import type { StatusWriter } from '../store/index.ts'
import { join } from 'node:path'
import { bar, createOutput } from './output.ts'
import type { Output } from './output.ts'

export type Backend = 'auto' | 'tensorflow' | 'wasm' | 'cpu'

/** The flags `node` and `join` share (commander's camelCase names). */
export interface PeerCommandOptions {
  data: string
  listen: string[]
  bootstrap: string[]
  dataDir?: string
  mdns?: boolean
  exitWhenDone?: boolean
  backend: Backend
  /** `host:port` of a Prometheus endpoint. */
  metrics?: string
  /** `host:port` of the live dashboard. */
  dashboard?: string
  /** One JSON object per line instead of text. */
  json?: boolean
  quiet?: boolean
  verbose?: boolean
}

/** What a network file asks of a peer's libp2p node (all off for `fedswarm node`). */
export interface PeerNetworkSettings {
  /** The network's name, shown in status. */
  name: string
  /** Kademlia DHT, and finding the task's peers through it. */
  dht: boolean
  /** Circuit-relay client (reservations on relays) and DCUtR hole punching. */
  relay: boolean
  /** AutoNAT and public addresses only in the DHT (false: a LAN). */
  publicNetwork: boolean
}

export interface RunPeerOptions {
  task: Task
  taskId: string
  /** `--data`: mnist:<partition>:<i>/<n>, mnist, fashion-mnist, an IDX directory or a .csv file. */
  data: string
  listen: string[]
  /** Dialled at start; at least one must answer. May be empty (mDNS, or the first peer). */
  bootstrap: string[]
  /** The data dir (created if missing). */
  dataDir: string
  /** Addresses to announce instead of the listen addresses (a public IP or DNS name). */
  announce?: string[]
  mdns?: boolean
  /** Exit after the last round (default: keep serving the final model until stopped). */
  exitWhenDone?: boolean
  backend: Backend
  /** `host:port` of a Prometheus endpoint (default: none). */
  metrics?: string
  /** `host:port` of the live dashboard (default: none). */
  dashboard?: string
  /** Where progress lines go: text or JSON lines, quiet / normal / verbose (default: text, normal). */
  output?: Output
  /** Settings from a network file (default: no DHT, no relay, private network). */
  network?: PeerNetworkSettings
}

/** Runs one peer until its task is done (with `exitWhenDone`) or it is stopped; resolves with the exit code. */
export async function runPeer (o: RunPeerOptions): Promise<number> {
  const { task, taskId: id } = o
  // Bad --metrics values fail before anything is loaded.
  const metricsAddress = o.metrics != null ? parseMetricsAddress(o.metrics) : undefined
  const dashboardAddress = o.dashboard != null ? parseDashboardAddress(o.dashboard) : undefined
  const out = o.output ?? createOutput()
  // --data paths are relative to where the command runs.
  const selection = parseDataSpec(o.data, { baseDir: process.cwd(), template: task.dataset })
  const controller = new AbortController()
  const stop = (): void => {
    out.info('shutdown', 'shutting down…')
    controller.abort()
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  const registry = createMetricsRegistry()
  const roundMetrics = createRoundMetrics(registry)
  let node: PeerNode | undefined
  createNodeMetrics(registry, { node: () => node })
  let metricsServer: MetricsServer | undefined
  let dashboardServer: DashboardServer | undefined
  let feed: PeerDashboardFeed | undefined
  let dir: Awaited<ReturnType<typeof openDataDir>> | undefined
  let trainer: ReturnType<typeof createTrainer> | undefined
  let status: StatusWriter | undefined
  let discovery: TaskDiscovery | undefined
  try {
    if (metricsAddress != null) {
      metricsServer = await createMetricsServer({ listen: metricsAddress, registry, signal: controller.signal })
      out.summary('metrics', `metrics on ${metricsServer.url}`, { url: metricsServer.url })
    }
    if (dashboardAddress != null) {
      feed = new PeerDashboardFeed({ task, taskId: id, bytes: () => node != null ? nodeBytes(node) : { sent: 0, received: 0 } })
      dashboardServer = await createDashboardServer({ listen: dashboardAddress, store: feed.store, signal: controller.signal })
      out.summary('dashboard', `dashboard on ${dashboardServer.url}`, { url: dashboardServer.url })
    }
    const dataset = await loadDataset(selection.dataset, { baseDir: process.cwd() })
    let indices: Uint32Array | undefined
    if (selection.partition != null) {
      const parts = partition(dataset.trainY, selection.partition.of, selection.partition.spec, task.seed)
      indices = parts[selection.partition.index]
    }
    dir = await openDataDir(o.dataDir)
    trainer = createTrainer({ backend: o.backend })
    const key = await dir.identity()
    const stored = await dir.latestModel(id)
    const model = stored != null
      ? { round: stored.round, params: stored.params }
      : { round: 0, params: initialParams(task.model, dataset.inputShape, dataset.classes, task.seed) }
    const net = o.network
    node = await createPeerNode({
      privateKey: key,
      listen: o.listen,
      bootstrap: o.bootstrap,
      mdns: o.mdns === true,
      ...(o.announce != null && o.announce.length > 0 ? { announce: o.announce } : {}),
      ...(net != null
        ? { dht: net.dht, relayClient: net.relay, dcutr: net.relay, autonat: net.publicNetwork, publicNetwork: net.publicNetwork }
        : {})
    })
    const peerNode = node
    const addresses = (): string[] => peerNode.getMultiaddrs().map(String)
    out.info('peer', `peer ${node.peerId.toString()}`, { peerId: node.peerId.toString() })
    for (const a of addresses()) out.info('listening', `listening on ${a}`, { address: a })
    const examples = indices?.length ?? dataset.trainY.length
    const backend = await trainer.backend()
    out.info('task', `task ${task.name} (${shortTaskId(id)}), data ${o.data} (${examples} examples), data dir ${dir.path}, starting after round ${model.round}, backend ${backend}`, {
      task: task.name, taskId: id, data: o.data, examples, dataDir: dir.path, startRound: model.round, backend
    })
    feed?.peer(node.peerId.toString())
    const dashboard = feed

    const ledger = createPrivacyLedger({ delta: task.privacy.delta, targetEpsilon: task.privacy.targetEpsilon, entries: await dir.ledgerEntries() })
    roundMetrics.epsilon(ledger.epsilon().epsilon)
    const statusWriter = createStatusWriter({
      path: join(dir.path, STATUS_FILE),
      initial: {
        role: 'peer',
        state: 'starting',
        peerId: node.peerId.toString(),
        ...(net != null ? { network: net.name } : {}),
        task: {
          name: task.name,
          id,
          rounds: task.rounds,
          delta: task.privacy.delta,
          targetEpsilon: task.privacy.targetEpsilon,
          dp: task.privacy.dpFedAvg || task.privacy.dpSgd
        },
        addresses: addresses(),
        connections: 0,
        roundsCompleted: model.round,
        ...(stored != null ? { lastModelHash: stored.hash } : {}),
        epsilon: ledger.epsilon().epsilon
      }
    })
    status = statusWriter
    const onConnections = (): void => {
      statusWriter.update({ connections: peerNode.getConnections().length, addresses: addresses() })
      dashboard?.connections(peerNode.getConnections().length)
    }
    node.addEventListener('connection:open', onConnections)
    node.addEventListener('connection:close', onConnections)
    node.addEventListener('self:peer:update', onConnections)

    if (o.bootstrap.length > 0) await dialBootstrap(node, o.bootstrap, { signal: controller.signal })
    if (net?.dht === true) {
      discovery = startTaskDiscovery({ node, taskId: id, signal: controller.signal, log: (line) => out.info('log', line) })
    }
    if (net?.relay === true) {
      // Behind NAT the relay address is how other peers reach us; without one we still dial out.
      waitForRelayAddress(node, { signal: controller.signal }).then(
        (relayed) => out.info('relay', `reachable through a relay: ${String(relayed)}`, { address: String(relayed) }),
        (err: Error) => { if (!controller.signal.aborted) out.info('relay', `no relay address: ${err.message}`, { error: err.message }) }
      )
    }
    let evaluations: Promise<void> = Promise.resolve()
    const driver = new RoundDriver({
      task,
      taskId: id,
      key,
      channel: createSwarmChannel(node, { taskId: id }),
      updates: createUpdateSource({
        task, trainer, dataset: selection.dataset, baseDir: process.cwd(), indices, examples: dataset.trainY.length,
        // a TTY shows local training as a bar (a no-op when piped)
        onProgress: (round, done, total) => out.progress(`round ${round} [update] training ${bar(done / total)} ${Math.floor(100 * done / total)}% (${done}/${total} batches)`)
      }),
      model,
      // The round chain this peer completed before a restart, so it can serve and extend it.
      chain: linksFromRecords(await dir.roundRecords()),
      // The privacy ledger survives restarts: what this peer spent is in its data dir.
      ledger,
      onPrivacySpent: async (entry) => await dir!.appendLedgerEntry(entry),
      log: (line) => {
        out.info('log', line)
        dashboard?.log(line)
      },
      events: {
        phase: (phase, round, attempt) => {
          roundMetrics.phase(phase, round)
          statusWriter.update({ state: 'running', round, attempt, phase })
          dashboard?.phase(phase, round, attempt)
          out.verbose('phase', `round ${round} attempt ${attempt}: ${phase}`, { round, attempt, phase })
          out.progress(`round ${round} [${phase}]`)
        },
        rejected: (reason) => roundMetrics.rejected(reason)
      },
      onRound: async (rec, params) => {
        await dir!.saveModel({ taskId: id, round: rec.round, hash: rec.modelHash, params })
        // The record (a link of the round chain) is durable before the slower evaluation starts.
        await dir!.appendRoundRecord({ ...rec })
        const epsilon = ledger.epsilon().epsilon
        roundMetrics.roundCompleted(rec.round)
        roundMetrics.epsilon(epsilon)
        statusWriter.update({ roundsCompleted: rec.round, lastModelHash: rec.modelHash, epsilon })
        // The evaluation runs on its own chain, so a slow one never holds back the next round's
        // checkpoint and record (the driver waits for this callback before the next one).
        evaluations = evaluations.then(async () => await report(rec, params, epsilon))
          .catch(err => out.info('error', `round ${rec.round}: evaluation failed: ${(err as Error).message}`))
      }
    })
    const report = async (rec: RoundRecord, params: Float32Array, epsilon: number): Promise<void> => {
      // Evaluated on this peer's own test set (the test part of --data).
      const ev = controller.signal.aborted ? undefined : await trainer!.evaluate({ model: task.model, dataset: selection.dataset, baseDir: process.cwd(), params, limit: 2000 }, { signal: controller.signal }).catch(() => undefined)
      dashboard?.round(rec, ev, rec.epsilon != null || task.privacy.dpFedAvg || task.privacy.dpSgd ? epsilon : null)
      out.info('round', `round ${rec.round}: model ${rec.modelHash.slice(0, 16)} via ${rec.via}, cohort ${rec.cohort}, survivors ${rec.survivors}` +
        `${rec.member ? ', member' : ''}${rec.leader ? ', leader' : ''}${ev != null ? `, accuracy ${(ev.accuracy * 100).toFixed(2)}% (2,000 test examples)` : ''}` +
        `${rec.epsilon != null ? `, ε ${rec.epsilon.toFixed(3)} (δ ${task.privacy.delta})` : ''}`, {
        round: rec.round,
        modelHash: rec.modelHash,
        via: rec.via,
        cohort: rec.cohort,
        survivors: rec.survivors,
        member: rec.member,
        leader: rec.leader,
        accuracy: ev?.accuracy ?? null,
        loss: ev?.loss ?? null,
        epsilon: rec.epsilon ?? null,
        bytesSent: rec.roundSent,
        bytesReceived: rec.roundReceived
      })
    }
    statusWriter.update({ state: 'running' })
    await driver.run({ signal: controller.signal })
    await evaluations // the last rounds' lines come before "task finished"
    if (!controller.signal.aborted) {
      const done = driver.model
      statusWriter.update({ state: 'finished', round: undefined, attempt: undefined, phase: undefined })
      dashboard?.state('finished')
      out.summary('finished', `task finished at round ${done.round}, model ${done.hash}`, { round: done.round, modelHash: done.hash })
      if (o.exitWhenDone !== true) {
        // Stay up: late or restarted peers fetch the final model from us by hash.
        out.info('serving', 'serving the final model to late peers until stopped')
        await new Promise<void>(resolve => controller.signal.addEventListener('abort', () => resolve(), { once: true }))
      }
    }
    out.info('stopped', 'stopped')
    return 0
  } catch (err) {
    // Stopped (SIGINT / SIGTERM) while still starting up: a clean stop, not a failure.
    if (!controller.signal.aborted) throw err
    out.info('stopped', 'stopped')
    return 0
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    discovery?.stop()
    await status?.close().catch(() => {})
    await metricsServer?.close().catch(() => {})
    feed?.state('stopped')
    await dashboardServer?.close().catch(() => {})
    await node?.stop().catch(() => {})
    await trainer?.close().catch(() => {})
    await dir?.close().catch(() => {})
  }
}
