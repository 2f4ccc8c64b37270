/**
 * `fedswarm join <network>`: a peer that takes part in a network's task (`networks/<name>.json` or a
 * network file) with its own data. The network file gives the task, the bootstrap peers and which
 * libp2p services to run (DHT, relay client + hole punching, AutoNAT, mDNS); the peer loop is
 * `runPeer`, the same as `fedswarm node`.
 */
import { join } from 'node:path'
import { NetworkError, bootstrapAddressProblem, loadNetwork, shortTaskId } from '../config/index.ts'
import { parseMetricsAddress } from '../metrics/index.ts'
import { parseDashboardAddress } from '../dashboard/index.ts'
import { createOutput, outputLevel } from './output.ts'
import { fedswarmHome } from './home.ts'
import { runPeer } from './run-peer.ts'
import type { PeerCommandOptions } from './run-peer.ts'
import { UsageError } from './usage-error.ts'

export interface JoinOptions extends PeerCommandOptions {
  /** Default `~/.fedswarm/<network name>/<short task id>` (`$FEDSWARM_HOME` instead of `~/.fedswarm`). */
  dataDir?: string
  /** Added to the network file's bootstrap peers. */
  bootstrap: string[]
  announce: string[]
  /** On if the flag is given or the network file says `"mdns": true`. */
  mdns?: boolean
}

export async function runJoin (networkName: string, o: JoinOptions): Promise<number> {
  if (o.metrics != null) parseMetricsAddress(o.metrics) // bad values fail before anything else
  if (o.dashboard != null) parseDashboardAddress(o.dashboard)
  const output = createOutput({ json: o.json === true, level: outputLevel(o) })
  const network = await loadNetwork(networkName)
  for (const address of o.bootstrap) {
    const problem = bootstrapAddressProblem(address)
    if (problem !== undefined) throw new UsageError(`--bootstrap ${address} ${problem}`)
  }
  const bootstrap = [...new Set([...network.bootstrap, ...o.bootstrap])]
  const mdns = o.mdns === true || network.mdns
  if (bootstrap.length === 0 && !mdns) {
    throw new NetworkError(`network ${network.name} (${network.file}) lists no bootstrap peers; pass --bootstrap /ip4/<host>/tcp/4001/p2p/<peer-id> (the address a fedswarm bootstrap node prints) or add it to the file's "bootstrap" list`, {
      file: network.file, field: 'bootstrap', code: 'ERR_NETWORK_NO_BOOTSTRAP'
    })
  }
  output.info('network', `network ${network.name} (${network.file}), task ${network.task.name} from ${network.taskSource}, ${bootstrap.length} bootstrap peer(s)${mdns ? ', mDNS' : ''}${network.dht ? ', DHT' : ''}${network.relay ? ', relays' : ''}`, {
    network: network.name, file: network.file, task: network.task.name, taskId: network.taskId, bootstrap, mdns, dht: network.dht, relay: network.relay
  })
  return await runPeer({
    task: network.task,
    taskId: network.taskId,
    data: o.data,
    listen: o.listen,
    bootstrap,
    announce: o.announce,
    dataDir: o.dataDir ?? join(fedswarmHome(), network.name, shortTaskId(network.taskId)),
    mdns,
    exitWhenDone: o.exitWhenDone,
    backend: o.backend,
    metrics: o.metrics,
    dashboard: o.dashboard,
    output,
    network: { name: network.name, dht: network.dht, relay: network.relay, publicNetwork: network.publicNetwork }
  })
}
