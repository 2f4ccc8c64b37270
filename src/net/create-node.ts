/**
 * Builds a fedswarm peer: a libp2p 3 node with TCP / WebSockets / in-memory transports, Noise,
 * Yamux, identify, ping, gossipsub (see `pubsub.ts`), bootstrap and optional mDNS discovery, and
 * byte counters. This is the only file in the project that calls `createLibp2p`.
 *
 * Bad input fails before or while starting with a named error whose message names the address:
 * `InvalidMultiaddrError`, `UnknownTransportError`, `UnsupportedAddressError`,
 * `ListenAddressInUseError`, `ListenError`, `InvalidBootstrapAddressError`, `InvalidPrivateKeyError`.
 */

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import type { Identify } from '@libp2p/identify'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import { mdns } from '@libp2p/mdns'
import { memory } from '@libp2p/memory'
import { ping } from '@libp2p/ping'
import type { Ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'
import type { Libp2pOptions } from 'libp2p'
import { ByteMetrics } from './byte-metrics.ts'
import type { ByteCounts } from './byte-metrics.ts'
import {
  DEFAULT_DIAL_TIMEOUT_MS, DEFAULT_INBOUND_CONNECTION_THRESHOLD, DEFAULT_LISTEN, DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_INCOMING_PENDING_CONNECTIONS, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_PARALLEL_DIALS,
  GOSSIP_MAX_FRAME_BYTES, GOSSIP_RPC_OVERHEAD_BYTES
} from './constants.ts'
import {
  InvalidBootstrapAddressError, InvalidPrivateKeyError, ListenAddressInUseError, ListenError, NetError, reasonOf
} from './errors.ts'
import { createLogger } from './logger.ts'
import type { NetLogger } from './logger.ts'
import { createPubSub } from './pubsub.ts'
import type { PubSubService } from './pubsub.ts'
import { parseMultiaddr, selectTransports } from './transports.ts'
import type { TransportName } from './transports.ts'

// a type alias (not an interface) so it satisfies libp2p's `ServiceMap` index signature
export type PeerNodeServices = {
  identify: Identify
  ping: Ping
  pubsub: PubSubService
}

/**
 * A started libp2p node with fedswarm's services. `start`/`stop` are typed as the promises they
 * are (libp2p's `Startable` allows `void`), so `node.stop().catch(...)` type-checks.
 */
export type PeerNode = { start(): Promise<void>, stop(): Promise<void> } & Libp2p<PeerNodeServices>

export interface PeerNodeInit {
  /** Ed25519 identity key; a fresh one is generated if absent. */
  privateKey?: PrivateKey
  /** Listen addresses (default `['/ip4/0.0.0.0/tcp/0']`; `[]` for a dial-only node). */
  listen?: string[]
  /** Transports to run (default: TCP plus whatever the listen and bootstrap addresses need). */
  transports?: TransportName[]
  /** Bootstrap peers, each a multiaddr ending in `/p2p/<peer-id>`; dialled in the background. */
  bootstrap?: string[]
  /** Discover and dial peers on the local network with mDNS (default false). */
  mdns?: boolean
  /** Time one dial may take (default 10 s). */
  dialTimeoutMs?: number
  /** Largest gossip message payload (default and maximum 3.75 MiB: gossipsub's 4 MiB frame minus RPC overhead). */
  maxMessageBytes?: number
  /** Send own gossip to every connected subscriber, not only the mesh (default true). */
  floodPublish?: boolean
  /** Where this module logs (default: `fedswarm:net`, silent unless `DEBUG` includes `fedswarm`). */
  log?: NetLogger
  signal?: AbortSignal
}

/** Settings other modules of `src/net/` read back from a node. */
export interface PeerNodeConfig {
  maxMessageBytes: number
  transports: TransportName[]
  dialTimeoutMs: number
}

const configs = new WeakMap<object, PeerNodeConfig>()

/** The settings a node was created with (defaults if it was not made by `createPeerNode`). */
export function getNodeConfig (node: PeerNode): PeerNodeConfig {
  return configs.get(node) ?? { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES, transports: ['tcp'], dialTimeoutMs: DEFAULT_DIAL_TIMEOUT_MS }
}

/** Bytes this node has sent and received on its transport connections since it started. */
export function nodeBytes (node: PeerNode): ByteCounts {
  const metrics = node.metrics
  if (!(metrics instanceof ByteMetrics)) {
    throw new NetError(`node ${node.peerId} was not created by createPeerNode, so it has no byte counters`)
  }
  return metrics.snapshot()
}

function checkBootstrap (addresses: readonly string[]): void {
  for (const address of addresses) {
    const ma = parseMultiaddr(address)
    const peer = ma.getComponents().findLast(c => c.name === 'p2p')?.value
    if (peer == null) throw new InvalidBootstrapAddressError(address, 'it has no /p2p/<peer-id> part')
  }
}

/**
 * libp2p reports failed listen addresses in one multi-line message, one `  <address>: <error>`
 * block per address; turn the first failure into a named error naming the address.
 */
function listenFailure (err: unknown, listen: readonly string[]): NetError | undefined {
  if (!(err instanceof Error) || err.name !== 'UnsupportedListenAddressesError') return undefined
  const lines = err.message.split('\n')
  for (const address of listen) {
    const line = lines.find(l => l.trim().startsWith(`${address}:`))
    if (line == null) continue
    const reason = line.trim().slice(address.length + 1).trim()
    if (/EADDRINUSE|already in use/i.test(reason)) return new ListenAddressInUseError(address, { cause: err })
    return new ListenError(address, reason.replace(/^Error:\s*/, ''), { cause: err })
  }
  return new ListenError(listen.join(', '), reasonOf(err), { cause: err })
}

export async function createPeerNode (init: PeerNodeInit = {}): Promise<PeerNode> {
  init.signal?.throwIfAborted()
  const log = init.log ?? createLogger('net')
  const listen = [...(init.listen ?? DEFAULT_LISTEN)]
  const bootstrapList = [...(init.bootstrap ?? [])]
  checkBootstrap(bootstrapList)
  const transports = selectTransports(listen, bootstrapList, init.transports)
  const maxMessageBytes = init.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  if (!Number.isInteger(maxMessageBytes) || maxMessageBytes < 1 || maxMessageBytes > DEFAULT_MAX_MESSAGE_BYTES) {
    throw new NetError(`maxMessageBytes must be an integer from 1 to ${DEFAULT_MAX_MESSAGE_BYTES} (gossipsub's 4 MiB frame minus ${GOSSIP_RPC_OVERHEAD_BYTES} bytes of RPC overhead), got ${maxMessageBytes}`)
  }
  const dialTimeoutMs = init.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS

  let privateKey = init.privateKey
  if (privateKey == null) {
    privateKey = await generateKeyPair('Ed25519')
  } else if (privateKey.type !== 'Ed25519') {
    throw new InvalidPrivateKeyError(`fedswarm identities are Ed25519 keys (got ${privateKey.type})`)
  }

  // a stream may buffer gossip frames before its reader attaches; keep headroom for two
  const streamReadBuffer = 2 * GOSSIP_MAX_FRAME_BYTES

  const options: Libp2pOptions<PeerNodeServices> = {
    privateKey,
    addresses: { listen },
    transports: transports.map(name => {
      switch (name) {
        case 'tcp': return tcp()
        case 'ws': return webSockets()
        case 'memory': return memory()
      }
    }),
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ streamOptions: { maxReadBufferLength: streamReadBuffer } })],
    peerDiscovery: [
      ...(bootstrapList.length > 0 ? [bootstrap({ list: bootstrapList, timeout: 0 })] : []),
      ...(init.mdns === true ? [mdns()] : [])
    ],
    connectionManager: {
      maxConnections: DEFAULT_MAX_CONNECTIONS,
      maxParallelDials: DEFAULT_MAX_PARALLEL_DIALS,
      maxIncomingPendingConnections: DEFAULT_MAX_INCOMING_PENDING_CONNECTIONS,
      inboundConnectionThreshold: DEFAULT_INBOUND_CONNECTION_THRESHOLD,
      dialTimeout: dialTimeoutMs
    },
    metrics: () => new ByteMetrics(),
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: createPubSub({ floodPublish: init.floodPublish })
    }
  }

  let node: PeerNode
  try {
    node = await createLibp2p(options) as PeerNode
  } catch (err) {
    throw listenFailure(err, listen) ?? err
  }
  configs.set(node, { maxMessageBytes, transports, dialTimeoutMs })

  if (init.mdns === true) {
    // mDNS only fills the peer store; dial what it finds
    node.addEventListener('peer:discovery', (evt) => {
      const peer: PeerId = evt.detail.id
      if (node.getConnections(peer).length > 0 || node.status !== 'started') return
      node.dial(peer).catch(err => { log(`could not dial discovered peer ${peer}: ${reasonOf(err)}`) })
    })
  }

  if (init.signal?.aborted === true) {
    await node.stop()
    init.signal.throwIfAborted()
  }
  log(`peer ${node.peerId} listening on ${node.getMultiaddrs().map(String).join(' ') || '(nothing)'} with ${transports.join(', ')}`)
  return node
}
