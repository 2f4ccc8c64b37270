/**
 * Builds a fedswarm peer: a libp2p 3 node with TCP / WebSockets / in-memory transports, Noise,
 * Yamux, identify, ping, gossipsub (see `pubsub.ts`), bootstrap and optional mDNS discovery, and
 * byte counters. This is the only file in the project that calls `createLibp2p`.
 *
 * For a public network, each off by default: a private Kademlia DHT (`dht`, with
 * `keep-connected.ts` dialling what it finds), circuit relay v2 as server (`relayServer`) or
 * client (`relayClient`, listening on `/p2p-circuit`), AutoNAT, DCUtR hole punching, announce
 * addresses and public-network gossip scoring (`publicNetwork`). The circuit relay transport
 * (to dial `/p2p-circuit` addresses) runs with any of relayClient, dht, dcutr or publicNetwork.
 *
 * libp2p's connection monitor (a ping stream on every connection every 10 s, aborting the connection
 * when one is slow) runs on a public network only. In a local swarm it opened most of the streams: 688
 * ping streams a peer and round in a 50-peer, cohort-50 simulation (of ~1,250 streams; a received
 * Noise frame carries ~30 bytes of framing, and a peer received ~12,500 frames a round), and without it
 * a peer received 27% fewer frames at 30 peers. Yamux's keep-alive (30 s) still runs on every connection.
 *
 * Bad input fails before or while starting with a named error whose message names the address:
 * `InvalidMultiaddrError`, `UnknownTransportError`, `UnsupportedAddressError`,
 * `ListenAddressInUseError`, `ListenError`, `InvalidBootstrapAddressError`, `InvalidPrivateKeyError`.
 */

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { autoNAT } from '@libp2p/autonat'
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { dcutr } from '@libp2p/dcutr'
import { identify } from '@libp2p/identify'
import type { Identify } from '@libp2p/identify'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { KadDHT } from '@libp2p/kad-dht'
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
  DEFAULT_MAX_INCOMING_PENDING_CONNECTIONS, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_PARALLEL_DIALS, DEFAULT_MIN_PEERS,
  GOSSIP_MAX_FRAME_BYTES, GOSSIP_RPC_OVERHEAD_BYTES, RELAY_LIMIT_RELAYED_CONNECTIONS,
  RELAY_MAX_RESERVATIONS, RELAY_RESERVATION_TTL_MS
} from './constants.ts'
import {
  InvalidBootstrapAddressError, InvalidPrivateKeyError, ListenAddressInUseError, ListenError, NetError, UnsupportedAddressError, reasonOf
} from './errors.ts'
import { createDht } from './dht.ts'
import { keepConnected } from './keep-connected.ts'
import type { KeepConnected } from './keep-connected.ts'
import { createLogger } from './logger.ts'
import type { NetLogger } from './logger.ts'
import { createPubSub } from './pubsub.ts'
import { createPenaltyBox } from './penalties.ts'
import type { PenaltyBox } from './penalties.ts'
import type { PubSubService } from './pubsub.ts'
import { checkAnnounce, isCircuitAddress, parseMultiaddr, selectTransports } from './transports.ts'
import type { TransportName } from './transports.ts'

// a type alias (not an interface) so it satisfies libp2p's `ServiceMap` index signature
export type PeerNodeServices = {
  identify: Identify
  ping: Ping
  pubsub: PubSubService
  /** Present with `dht: true`. */
  dht?: KadDHT
  /** Present with `relayServer: true`: the reservations this relay holds. */
  relay?: CircuitRelayService
  /** Present with `autonat: true`. */
  autonat?: unknown
  /** Present with `dcutr: true`. */
  dcutr?: unknown
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
  /** Send own gossip to every connected subscriber, not only the mesh (default true: see `pubsub.ts`). */
  floodPublish?: boolean
  /**
   * Run fedswarm's private Kademlia DHT (`/fedswarm/kad/1.0.0`) in server mode, so peers find each
   * other's addresses and keep finding peers after the bootstrap peers are gone; peers it finds are
   * dialled while fewer than `minPeers` are connected (default false).
   */
  dht?: boolean
  /** With `dht`: connected peers to keep at least (default 4). */
  minPeers?: number
  /** Serve circuit relay v2 for up to 128 reservations, relayed connections unlimited (default false; see constants). */
  relayServer?: boolean
  /**
   * Listen on `/p2p-circuit`: reserve a slot on a relay this node is connected to (e.g. its bootstrap
   * relay), so peers can reach it behind NAT at `/.../p2p/<relay>/p2p-circuit/p2p/<self>` (default false).
   */
  relayClient?: boolean
  /** Ask peers to dial back, to learn which of our addresses are reachable (default false). */
  autonat?: boolean
  /** Upgrade relayed connections to direct ones by hole punching (default false; wants `relayClient`). */
  dcutr?: boolean
  /**
   * Addresses to tell other peers instead of the listen and observed addresses, e.g. a public IP or
   * DNS name that forwards to this node (default: none, advertise the listen addresses). Relayed
   * addresses of a `relayClient` are advertised with them.
   */
  announce?: string[]
  /**
   * Gossip peer scoring for a public network: the IP-colocation penalty applies to loopback too,
   * with explicit thresholds (default false: local swarm scoring, loopback exempt). With `dht`, DHT
   * records keep only a peer's public addresses when it has any.
   */
  publicNetwork?: boolean
  /** Connection manager limit (default 128; a relay should allow well over its 128 reservations). */
  maxConnections?: number
  /** Where this module logs (default: `fedswarm:net`, silent unless `DEBUG` includes `fedswarm`). */
  log?: NetLogger
  signal?: AbortSignal
}

/** Settings other modules of `src/net/` read back from a node. */
export interface PeerNodeConfig {
  maxMessageBytes: number
  transports: TransportName[]
  dialTimeoutMs: number
  /** The node listens on `/p2p-circuit` (reserves relay slots). */
  relayClient: boolean
  /** Penalty points of the peers that sent this node messages it rejected (gossipsub's application score). */
  penalties: PenaltyBox
}

const configs = new WeakMap<object, PeerNodeConfig>()

/** The settings a node was created with (defaults if it was not made by `createPeerNode`). */
export function getNodeConfig (node: PeerNode): PeerNodeConfig {
  let config = configs.get(node)
  if (config == null) {
    config = { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES, transports: ['tcp'], dialTimeoutMs: DEFAULT_DIAL_TIMEOUT_MS, relayClient: false, penalties: createPenaltyBox() }
    configs.set(node, config)
  }
  return config
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

/**
 * Advertise `announce` instead of the listen (and observed) addresses, but keep relayed ones:
 * libp2p's own `announce` option would hide the `/p2p-circuit` addresses a relayClient gets.
 */
function announceAddresses (listen: string[], announce: string[], privateKey: PrivateKey): NonNullable<Libp2pOptions['addresses']> {
  const self = peerIdFromPrivateKey(privateKey).toString()
  const keep = new Set(announce.map(address => {
    const ma = parseMultiaddr(address)
    return ma.getComponents().at(-1)?.value === self ? ma.toString() : ma.encapsulate(`/p2p/${self}`).toString()
  }))
  return {
    listen,
    appendAnnounce: announce,
    announceFilter: (addrs) => addrs.filter(ma => isCircuitAddress(ma) || keep.has(ma.toString()))
  }
}

/** Splits listen addresses into circuit relay ones and the rest; `relayClient` adds `/p2p-circuit`. */
function splitListen (listen: readonly string[], relayClient: boolean): { direct: string[], circuit: string[] } {
  const direct: string[] = []
  const circuit: string[] = []
  for (const address of listen) {
    if (isCircuitAddress(parseMultiaddr(address))) {
      if (!relayClient) throw new UnsupportedAddressError(address, 'listening on a circuit relay address needs relayClient: true')
      circuit.push(address)
    } else {
      direct.push(address)
    }
  }
  if (relayClient && circuit.length === 0) circuit.push('/p2p-circuit')
  return { direct, circuit }
}

function checkCount (name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new NetError(`${name} must be an integer >= ${min}, got ${value}`)
  return value
}

export async function createPeerNode (init: PeerNodeInit = {}): Promise<PeerNode> {
  init.signal?.throwIfAborted()
  const log = init.log ?? createLogger('net')
  const relayClient = init.relayClient === true
  const publicNetwork = init.publicNetwork === true
  const bootstrapList = [...(init.bootstrap ?? [])]
  checkBootstrap(bootstrapList)
  const { direct: listenDirect, circuit: listenCircuit } = splitListen(init.listen ?? DEFAULT_LISTEN, relayClient)
  const listen = [...listenDirect, ...listenCircuit]
  const announce = [...(init.announce ?? [])]
  const transports = selectTransports(listenDirect, [...bootstrapList, ...announce], init.transports)
  checkAnnounce(announce, transports)
  // dialling `/p2p-circuit` addresses: peers behind NAT are only reachable that way
  const circuitTransport = relayClient || init.dht === true || init.dcutr === true || publicNetwork ||
    [...bootstrapList, ...announce].some(address => isCircuitAddress(parseMultiaddr(address)))
  const maxMessageBytes = init.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  const penalties = createPenaltyBox()
  if (!Number.isInteger(maxMessageBytes) || maxMessageBytes < 1 || maxMessageBytes > DEFAULT_MAX_MESSAGE_BYTES) {
    throw new NetError(`maxMessageBytes must be an integer from 1 to ${DEFAULT_MAX_MESSAGE_BYTES} (gossipsub's 4 MiB frame minus ${GOSSIP_RPC_OVERHEAD_BYTES} bytes of RPC overhead), got ${maxMessageBytes}`)
  }
  const dialTimeoutMs = init.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS
  const maxConnections = checkCount('maxConnections', init.maxConnections ?? DEFAULT_MAX_CONNECTIONS, 1)
  const minPeers = checkCount('minPeers', init.minPeers ?? DEFAULT_MIN_PEERS, 0)

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
    addresses: announce.length > 0 ? announceAddresses(listen, announce, privateKey) : { listen },
    transports: [
      ...transports.map(name => {
        switch (name) {
          case 'tcp': return tcp()
          case 'ws': return webSockets()
          case 'memory': return memory()
        }
      }),
      ...(circuitTransport ? [circuitRelayTransport()] : [])
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ streamOptions: { maxReadBufferLength: streamReadBuffer } })],
    peerDiscovery: [
      ...(bootstrapList.length > 0 ? [bootstrap({ list: bootstrapList, timeout: 0 })] : []),
      ...(init.mdns === true ? [mdns()] : [])
    ],
    connectionManager: {
      maxConnections,
      maxParallelDials: DEFAULT_MAX_PARALLEL_DIALS,
      maxIncomingPendingConnections: DEFAULT_MAX_INCOMING_PENDING_CONNECTIONS,
      inboundConnectionThreshold: DEFAULT_INBOUND_CONNECTION_THRESHOLD,
      dialTimeout: dialTimeoutMs
    },
    metrics: () => new ByteMetrics(),
    connectionMonitor: { enabled: publicNetwork },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: createPubSub({ floodPublish: init.floodPublish, publicNetwork, penalties }),
      ...(init.dht === true
        ? {
            dht: createDht({ publicNetwork })
          }
        : {}),
      ...(init.relayServer === true
        ? {
            relay: circuitRelayServer({
              reservations: {
                maxReservations: RELAY_MAX_RESERVATIONS,
                reservationTtl: RELAY_RESERVATION_TTL_MS,
                applyDefaultLimit: RELAY_LIMIT_RELAYED_CONNECTIONS
              }
            })
          }
        : {}),
      ...(init.autonat === true ? { autonat: autoNAT() } : {}),
      ...(init.dcutr === true ? { dcutr: dcutr() } : {})
    }
  }

  let node: PeerNode
  try {
    node = await createLibp2p(options) as PeerNode
  } catch (err) {
    throw listenFailure(err, listen) ?? err
  }
  configs.set(node, { maxMessageBytes, transports, dialTimeoutMs, relayClient, penalties })

  if (init.mdns === true) {
    // mDNS only fills the peer store; dial what it finds
    node.addEventListener('peer:discovery', (evt) => {
      const peer: PeerId = evt.detail.id
      if (node.getConnections(peer).length > 0 || node.status !== 'started') return
      node.dial(peer).catch(err => { log(`could not dial discovered peer ${peer}: ${reasonOf(err)}`) })
    })
  }

  let keeper: KeepConnected | undefined
  if (init.dht === true && minPeers > 0) {
    // the DHT fills the peer store; keep enough of those peers connected
    keeper = keepConnected(node, { minPeers, dialTimeoutMs, log: createLogger('net:keep-connected') })
  }

  if (init.signal?.aborted === true) {
    keeper?.stop()
    await node.stop()
    init.signal.throwIfAborted()
  }
  log(`peer ${node.peerId} listening on ${node.getMultiaddrs().map(String).join(' ') || '(nothing)'} with ${[...transports, ...(circuitTransport ? ['p2p-circuit'] : [])].join(', ')}${describeExtras(init)}`)
  return node
}

function describeExtras (init: PeerNodeInit): string {
  const on = (['dht', 'relayServer', 'relayClient', 'autonat', 'dcutr', 'publicNetwork'] as const).filter(k => init[k] === true)
  return on.length === 0 ? '' : ` (${on.join(', ')})`
}
