/**
 * Keeps a peer connected to at least `minPeers` others once its bootstrap peers are gone: when
 * below the target it dials peers from the peer store (filled by the DHT, identify, mDNS, ...),
 * a few at a time, each failed peer backing off exponentially; with nothing left to dial it looks
 * up its own id in the DHT (Kademlia's way to find its neighbours), at most every so often.
 * `createPeerNode` runs one when `dht: true`.
 */

import type { PeerId } from '@libp2p/interface'
import {
  DEFAULT_DIAL_TIMEOUT_MS, DEFAULT_KEEP_CONNECTED_BACKOFF_MS, DEFAULT_KEEP_CONNECTED_INTERVAL_MS,
  DEFAULT_KEEP_CONNECTED_LOOKUP_INTERVAL_MS, DEFAULT_KEEP_CONNECTED_LOOKUP_TIMEOUT_MS, DEFAULT_KEEP_CONNECTED_MAX_BACKOFF_MS,
  DEFAULT_KEEP_CONNECTED_MAX_DIALS, DEFAULT_MIN_PEERS
} from './constants.ts'
import type { PeerNode } from './create-node.ts'
import { NetError, reasonOf } from './errors.ts'
import { createLogger } from './logger.ts'
import type { NetLogger } from './logger.ts'

export interface KeepConnectedInit {
  /** Connected peers to keep at least (default 4). */
  minPeers?: number
  /** How often to check (default 5 s; also checked on every disconnect and peer discovery). */
  intervalMs?: number
  /** Peers dialled at once per check (default 4). */
  maxDials?: number
  /** First backoff of a peer that could not be dialled, doubled per failure (default 5 s). */
  backoffMs?: number
  /** Longest backoff (default 5 min). */
  maxBackoffMs?: number
  /** Time one dial may take (default 10 s). */
  dialTimeoutMs?: number
  /** Least time between two DHT lookups of our own id (default 15 s). */
  lookupIntervalMs?: number
  log?: NetLogger
  /** Stops keeping connected when aborted. */
  signal?: AbortSignal
}

export interface KeepConnected {
  /** Runs one check now (dials and lookups it starts are not awaited past `signal`). */
  check(options?: { signal?: AbortSignal }): Promise<void>
  stop(): void
}

interface Backoff { until: number, failures: number }

function positive (name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new NetError(`keepConnected: ${name} must be a positive number, got ${value}`)
  return value
}

export function keepConnected (node: PeerNode, init: KeepConnectedInit = {}): KeepConnected {
  const log = init.log ?? createLogger('net:keep-connected')
  const minPeers = init.minPeers ?? DEFAULT_MIN_PEERS
  if (!Number.isInteger(minPeers) || minPeers < 0) throw new NetError(`keepConnected: minPeers must be an integer >= 0, got ${minPeers}`)
  const intervalMs = positive('intervalMs', init.intervalMs ?? DEFAULT_KEEP_CONNECTED_INTERVAL_MS)
  const maxDials = positive('maxDials', init.maxDials ?? DEFAULT_KEEP_CONNECTED_MAX_DIALS)
  const backoffMs = positive('backoffMs', init.backoffMs ?? DEFAULT_KEEP_CONNECTED_BACKOFF_MS)
  const maxBackoffMs = positive('maxBackoffMs', init.maxBackoffMs ?? DEFAULT_KEEP_CONNECTED_MAX_BACKOFF_MS)
  const dialTimeoutMs = positive('dialTimeoutMs', init.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS)
  const lookupIntervalMs = positive('lookupIntervalMs', init.lookupIntervalMs ?? DEFAULT_KEEP_CONNECTED_LOOKUP_INTERVAL_MS)

  const controller = new AbortController()
  const backoffs = new Map<string, Backoff>()
  const dialling = new Set<string>()
  let lastLookup = 0
  let running: Promise<void> | undefined
  let again = false

  const connectedPeers = (): number => node.getPeers().length

  async function dialOne (peer: PeerId, signal: AbortSignal): Promise<void> {
    const key = peer.toString()
    dialling.add(key)
    try {
      await node.dial(peer, { signal: AbortSignal.any([signal, AbortSignal.timeout(dialTimeoutMs)]) })
      backoffs.delete(key)
      log(`connected to ${key} (${connectedPeers()} peers)`)
    } catch (err) {
      const failures = (backoffs.get(key)?.failures ?? 0) + 1
      const wait = Math.min(maxBackoffMs, backoffMs * 2 ** (failures - 1))
      backoffs.set(key, { until: Date.now() + wait, failures })
      log(`could not dial ${key} (${reasonOf(err)}); next try in ${wait} ms`)
    } finally {
      dialling.delete(key)
    }
  }

  async function candidates (): Promise<PeerId[]> {
    const now = Date.now()
    const peers = await node.peerStore.all({
      filters: [(p) => p.addresses.length > 0 && !p.id.equals(node.peerId)]
    })
    return peers
      .map(p => p.id)
      .filter(id => {
        const key = id.toString()
        if (dialling.has(key) || node.getConnections(id).length > 0) return false
        return (backoffs.get(key)?.until ?? 0) <= now
      })
      // fewest failures first, then a random order so peers do not all dial the same ones
      .map(id => ({ id, failures: backoffs.get(id.toString())?.failures ?? 0, r: Math.random() }))
      .sort((a, b) => a.failures - b.failures || a.r - b.r)
      .map(c => c.id)
  }

  async function lookupSelf (signal: AbortSignal): Promise<void> {
    if (node.services.dht == null || Date.now() - lastLookup < lookupIntervalMs) return
    lastLookup = Date.now()
    let found = 0
    try {
      const lookup = AbortSignal.any([signal, AbortSignal.timeout(DEFAULT_KEEP_CONNECTED_LOOKUP_TIMEOUT_MS)])
      for await (const _peer of node.peerRouting.getClosestPeers(node.peerId.toMultihash().bytes, { signal: lookup })) found++
    } catch (err) {
      if (!signal.aborted) log(`DHT lookup of own id ended: ${reasonOf(err)}`)
    }
    log(`DHT lookup of own id found ${found} peers`)
  }

  async function checkOnce (signal: AbortSignal): Promise<void> {
    if (node.status !== 'started') return
    let missing = minPeers - connectedPeers() - dialling.size
    if (missing <= 0) return
    let peers = await candidates()
    if (peers.length === 0) {
      await lookupSelf(signal)
      if (signal.aborted || node.status !== 'started') return
      missing = minPeers - connectedPeers() - dialling.size
      if (missing <= 0) return
      peers = await candidates()
    }
    const batch = peers.slice(0, Math.min(missing, maxDials))
    if (batch.length === 0) return
    log(`${connectedPeers()}/${minPeers} peers: dialling ${batch.length}`)
    await Promise.all(batch.map(async peer => { await dialOne(peer, signal) }))
  }

  async function check (options: { signal?: AbortSignal } = {}): Promise<void> {
    if (controller.signal.aborted) return
    if (running != null) {
      again = true
      return running
    }
    const signal = options.signal == null ? controller.signal : AbortSignal.any([controller.signal, options.signal])
    running = (async () => {
      try {
        do {
          again = false
          await checkOnce(signal)
        } while (again && !signal.aborted)
      } catch (err) {
        if (!signal.aborted) log(`check failed: ${reasonOf(err)}`)
      } finally {
        running = undefined
      }
    })()
    return running
  }

  const trigger = (): void => { void check() }
  const timer = setInterval(trigger, intervalMs)
  timer.unref()
  node.addEventListener('peer:disconnect', trigger)
  node.addEventListener('peer:discovery', trigger)

  function stop (): void {
    if (controller.signal.aborted) return
    controller.abort()
    clearInterval(timer)
    node.removeEventListener('peer:disconnect', trigger)
    node.removeEventListener('peer:discovery', trigger)
  }
  if (init.signal?.aborted === true) stop()
  init.signal?.addEventListener('abort', stop, { once: true })
  node.addEventListener('stop', stop, { once: true })
  if (!controller.signal.aborted) trigger()

  return { check, stop }
}
