/**
 * The peer loop behind `fedswarm node` and `fedswarm join`: loads this peer's data, opens its data dir
 * (identity, checkpoints, round records, privacy ledger), starts the libp2p node, runs the round driver
 * until the task is done or SIGINT / SIGTERM, and reports progress on stdout, in `status.json` (for
 * `fedswarm status`) and, with `metrics`, on a Prometheus endpoint.
 */
import { createPrivacyLedger } from '../dp/ledger.ts'
import { shortTaskId } from '../config/index.ts'
import type { Task } from '../config/types.ts'
import { createTrainer, initialParams, loadDataset, parseDataSpec, partition } from '../learning/index.ts'
import {
  createMetricsRegistry, createMetricsServer, createNodeMetrics, createRoundMetrics, parseMetricsAddress
} from '../metrics/index.ts'
import type { MetricsServer } from '../metrics/index.ts'
import { createPeerNode, dialBootstrap, waitForRelayAddress } from '../net/index.ts'
import type { PeerNode } from '../net/index.ts'
import { createSwarmChannel } from '../net/swarm-channel.ts'
import { createUpdateSource } from '../peer/update-source.ts'
import { startTaskDiscovery } from '../peer/task-discovery.ts'
import type { TaskDiscovery } from '../peer/task-discovery.ts'
import { linksFromRecords } from '../round/chain.ts'
import { RoundDriver } from '../round/driver.ts'
import { STATUS_FILE, createStatusWriter, openDataDir } from '../store/index.ts'
import type { StatusWriter } from '../store/index.ts'
import { join } from 'node:path'

export type Backend = 'auto' | 'tensorflow' | 'wasm' | 'cpu'

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
  /** Settings from a network file (default: no DHT, no relay, private network). */
  network?: PeerNetworkSettings
}

/** Runs one peer until its task is done (with `exitWhenDone`) or it is stopped; resolves with the exit code. */
export async function runPeer (o: RunPeerOptions): Promise<number> {
  const { task, taskId: id } = o
  // Bad --metrics values fail before anything is loaded.
  const metricsAddress = o.metrics != null ? parseMetricsAddress(o.metrics) : undefined
  // --data paths are relative to where the command runs.
  const selection = parseDataSpec(o.data, { baseDir: process.cwd(), template: task.dataset })
  const controller = new AbortController()
  const stop = (): void => {
    process.stdout.write('shutting down…\n')
    controller.abort()
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  const registry = createMetricsRegistry()
  const roundMetrics = createRoundMetrics(registry)
  let node: PeerNode | undefined
  createNodeMetrics(registry, { node: () => node })
  let metricsServer: MetricsServer | undefined
  let dir: Awaited<ReturnType<typeof openDataDir>> | undefined
  let trainer: ReturnType<typeof createTrainer> | undefined
  let status: StatusWriter | undefined
  let discovery: TaskDiscovery | undefined
  try {
    if (metricsAddress != null) {
      metricsServer = await createMetricsServer({ listen: metricsAddress, registry, signal: controller.signal })
      process.stdout.write(`metrics on ${metricsServer.url}\n`)
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
    process.stdout.write(`peer ${node.peerId.toString()}\n`)
    for (const a of addresses()) process.stdout.write(`listening on ${a}\n`)
    process.stdout.write(`task ${task.name} (${shortTaskId(id)}), data ${o.data} (${indices?.length ?? dataset.trainY.length} examples), data dir ${dir.path}, starting after round ${model.round}, backend ${await trainer.backend()}\n`)

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
    const onConnections = (): void => statusWriter.update({ connections: peerNode.getConnections().length, addresses: addresses() })
    node.addEventListener('connection:open', onConnections)
    node.addEventListener('connection:close', onConnections)
    node.addEventListener('self:peer:update', onConnections)

    if (o.bootstrap.length > 0) await dialBootstrap(node, o.bootstrap, { signal: controller.signal })
    if (net?.dht === true) {
      discovery = startTaskDiscovery({ node, taskId: id, signal: controller.signal, log: (line) => process.stdout.write(`${line}\n`) })
    }
    if (net?.relay === true) {
      // Behind NAT the relay address is how other peers reach us; without one we still dial out.
      waitForRelayAddress(node, { signal: controller.signal }).then(
        (relayed) => process.stdout.write(`reachable through a relay: ${String(relayed)}\n`),
        (err: Error) => { if (!controller.signal.aborted) process.stdout.write(`no relay address: ${err.message}\n`) }
      )
    }
    const driver = new RoundDriver({
      task,
      taskId: id,
      key,
      channel: createSwarmChannel(node, { taskId: id }),
      updates: createUpdateSource({ task, trainer, dataset: selection.dataset, baseDir: process.cwd(), indices }),
      model,
      // The round chain this peer completed before a restart, so it can serve and extend it.
      chain: linksFromRecords(await dir.roundRecords()),
      // The privacy ledger survives restarts: what this peer spent is in its data dir.
      ledger,
      onPrivacySpent: async (entry) => await dir!.appendLedgerEntry(entry),
      log: (line) => process.stdout.write(`${line}\n`),
      events: {
        phase: (phase, round, attempt) => {
          roundMetrics.phase(phase, round)
          statusWriter.update({ state: 'running', round, attempt, phase })
        },
        rejected: (reason) => roundMetrics.rejected(reason)
      },
      onRound: async (rec, params) => {
        await dir!.saveModel({ taskId: id, round: rec.round, hash: rec.modelHash, params })
        // The record (a link of the round chain) is durable before the slower evaluation starts.
        await dir!.appendRoundRecord({ ...rec })
        // Evaluated on this peer's own test set (the test part of --data).
        const ev = await trainer!.evaluate({ model: task.model, dataset: selection.dataset, baseDir: process.cwd(), params, limit: 2000 }, { signal: controller.signal }).catch(() => undefined)
        const epsilon = ledger.epsilon().epsilon
        roundMetrics.roundCompleted(rec.round)
        roundMetrics.epsilon(epsilon)
        statusWriter.update({ roundsCompleted: rec.round, lastModelHash: rec.modelHash, epsilon })
        process.stdout.write(`round ${rec.round}: model ${rec.modelHash.slice(0, 16)} via ${rec.via}, cohort ${rec.cohort}, survivors ${rec.survivors}` +
          `${rec.member ? ', member' : ''}${rec.leader ? ', leader' : ''}${ev != null ? `, accuracy ${(ev.accuracy * 100).toFixed(2)}% (2,000 test examples)` : ''}` +
          `${rec.epsilon != null ? `, ε ${rec.epsilon.toFixed(3)} (δ ${task.privacy.delta})` : ''}\n`)
      }
    })
    statusWriter.update({ state: 'running' })
    await driver.run({ signal: controller.signal })
    if (!controller.signal.aborted) {
      const done = driver.model
      statusWriter.update({ state: 'finished', round: undefined, attempt: undefined, phase: undefined })
      process.stdout.write(`task finished at round ${done.round}, model ${done.hash}\n`)
      if (o.exitWhenDone !== true) {
        // Stay up: late or restarted peers fetch the final model from us by hash.
        process.stdout.write('serving the final model to late peers until stopped\n')
        await new Promise<void>(resolve => controller.signal.addEventListener('abort', () => resolve(), { once: true }))
      }
    }
    process.stdout.write('stopped\n')
    return 0
  } catch (err) {
    // Stopped (SIGINT / SIGTERM) while still starting up: a clean stop, not a failure.
    if (!controller.signal.aborted) throw err
    process.stdout.write('stopped\n')
    return 0
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    discovery?.stop()
    await status?.close().catch(() => {})
    await metricsServer?.close().catch(() => {})
    await node?.stop().catch(() => {})
    await trainer?.close().catch(() => {})
    await dir?.close().catch(() => {})
  }
}
