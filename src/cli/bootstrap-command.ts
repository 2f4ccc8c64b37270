/**
 * `fedswarm bootstrap`: a long-running entry point for a network: a DHT server, a circuit relay for
 * peers behind NAT, AutoNAT, identify and gossipsub, but no task of its own. Peers dial it first, find
 * each other's addresses through its DHT and reach each other through its relay. Its identity lives in
 * its data dir, so its `/p2p/<peer-id>` address (the one network files list) survives restarts.
 */
import { DEFAULT_BOOTSTRAP_LISTEN, DEFAULT_BOOTSTRAP_MAX_CONNECTIONS } from './bootstrap-defaults.ts'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { loadNetwork } from '../config/index.ts'
import type { Network } from '../config/index.ts'
import { createMetricsRegistry, createMetricsServer, createNodeMetrics, parseMetricsAddress } from '../metrics/index.ts'
import type { MetricsServer } from '../metrics/index.ts'
import { createPeerNode } from '../net/index.ts'
import type { PeerNode } from '../net/index.ts'
import { STATUS_FILE, createStatusWriter, openDataDir } from '../store/index.ts'
import type { DataDir, StatusWriter } from '../store/index.ts'
import { fedswarmHome } from './home.ts'
import { int } from './flags.ts'


export interface BootstrapOptions {
  listen: string[]
  announce: string[]
  /** Default `~/.fedswarm/bootstrap` (`$FEDSWARM_HOME/bootstrap`). */
  dataDir?: string
  /** A network (name or file): its publicNetwork setting, and its other bootstrap peers are dialled. */
  network?: string
  maxConnections?: string
  metrics?: string
  verbose?: boolean
}

export async function runBootstrap (o: BootstrapOptions): Promise<number> {
  const metricsAddress = o.metrics != null ? parseMetricsAddress(o.metrics) : undefined
  const maxConnections = int('--max-connections', o.maxConnections, 1) ?? DEFAULT_BOOTSTRAP_MAX_CONNECTIONS
  const network: Network | undefined = o.network != null ? await loadNetwork(o.network) : undefined
  const publicNetwork = network?.publicNetwork ?? true
  const controller = new AbortController()
  const stop = (): void => {
    process.stdout.write('shutting down…\n')
    controller.abort()
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  const registry = createMetricsRegistry()
  let node: PeerNode | undefined
  createNodeMetrics(registry, { node: () => node })
  let metricsServer: MetricsServer | undefined
  let dir: DataDir | undefined
  let status: StatusWriter | undefined
  try {
    if (metricsAddress != null) {
      metricsServer = await createMetricsServer({ listen: metricsAddress, registry, signal: controller.signal })
      process.stdout.write(`metrics on ${metricsServer.url}\n`)
    }
    dir = await openDataDir(o.dataDir ?? join(fedswarmHome(), 'bootstrap'))
    const key = await dir.identity()
    const self = peerIdFromPrivateKey(key).toString()
    // Other bootstrap nodes of the network, so that the bootstrap nodes' DHTs know each other.
    const others = (network?.bootstrap ?? []).filter(a => !a.endsWith(`/p2p/${self}`))
    node = await createPeerNode({
      privateKey: key,
      listen: o.listen,
      bootstrap: others,
      ...(o.announce.length > 0 ? { announce: o.announce } : {}),
      dht: true,
      relayServer: true,
      autonat: publicNetwork,
      publicNetwork,
      maxConnections
    })
    const peerNode = node
    const addresses = (): string[] => peerNode.getMultiaddrs().map(String)
    process.stdout.write(`peer ${self}\n`)
    for (const a of addresses()) process.stdout.write(`listening on ${withPeer(a, self)}\n`)
    process.stdout.write(`bootstrap node${network != null ? ` for network ${network.name}` : ''}: DHT server, relay, data dir ${dir.path}; ` +
      'put one of the addresses above in a network file\'s "bootstrap" list\n')
    const statusWriter = createStatusWriter({
      path: join(dir.path, STATUS_FILE),
      initial: {
        role: 'bootstrap',
        state: 'running',
        peerId: self,
        ...(network != null ? { network: network.name } : {}),
        addresses: addresses(),
        connections: 0
      }
    })
    status = statusWriter
    const onChange = (): void => statusWriter.update({ connections: peerNode.getConnections().length, addresses: addresses() })
    node.addEventListener('connection:open', onChange)
    node.addEventListener('connection:close', onChange)
    node.addEventListener('self:peer:update', onChange)
    await new Promise<void>(resolve => controller.signal.addEventListener('abort', () => resolve(), { once: true }))
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
    await status?.close().catch(() => {})
    await metricsServer?.close().catch(() => {})
    await node?.stop().catch(() => {})
    await dir?.close().catch(() => {})
  }
}

/** `address` ending in `/p2p/<peer>` (libp2p usually adds it already). */
function withPeer (address: string, peer: string): string {
  return address.includes('/p2p/') ? address : `${address}/p2p/${peer}`
}

export { DEFAULT_BOOTSTRAP_LISTEN, DEFAULT_BOOTSTRAP_MAX_CONNECTIONS }
