/**
 * Finding the other peers of a task on a network with a DHT: every peer announces itself as a
 * provider of the task's rendezvous key and looks the key up now and then, dialling the peers it finds
 * (libp2p does not dial discovered peers by itself). Once two peers of a task are connected, gossipsub
 * meshes them; the bootstrap node only has to be a DHT server, it need not know the task.
 *
 * The rendezvous key is sha256(`/fedswarm/1/task/<task id>`) as a CID. Providers' addresses include
 * their relay (`/p2p-circuit`) addresses when they have a reservation, so peers behind NAT are reached
 * through a relay first (and DCUtR may upgrade that to a direct connection).
 */

import { peerIdFromMultihash } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import type { PeerNode } from '../net/create-node.ts'
import { sha256 } from '../wire/hash.ts'
import { PROTOCOL_VERSION } from '../config/constants.ts'

/** The CID type libp2p's content routing takes. */
type CID = Parameters<PeerNode['contentRouting']['provide']>[0]

export interface TaskDiscoveryInit {
  node: PeerNode
  taskId: string
  /** First lookup after this long (default 1 s), then doubling up to `maxIntervalMs`. */
  firstDelayMs?: number
  /** Longest pause between two lookups (default 60 s). */
  maxIntervalMs?: number
  /** Dial found peers only while fewer than this many task peers are connected (default 8). */
  targetPeers?: number
  /** Time one provide / lookup / dial may take (default 20 s). */
  timeoutMs?: number
  log?: (line: string) => void
  signal?: AbortSignal
}

export interface TaskDiscovery {
  stop(): void
}

/** The DHT key peers of a task meet at. */
export function taskRendezvous (taskId: string): CID {
  const digest = sha256(new TextEncoder().encode(`/${PROTOCOL_VERSION}/task/${taskId}`))
  const bytes = new Uint8Array(2 + digest.length)
  bytes.set([0x12, 0x20])
  bytes.set(digest, 2)
  // A sha256 multihash wrapped as a CID; @libp2p/peer-id builds the CID (multiformats is not a direct dependency).
  const multihash = { code: 0x12, size: 32, digest, bytes } as unknown as Parameters<typeof peerIdFromMultihash>[0]
  return peerIdFromMultihash(multihash).toCID()
}

/** Starts announcing and looking up the task's peers in the background until `stop()` or the signal. */
export function startTaskDiscovery (init: TaskDiscoveryInit): TaskDiscovery {
  const { node } = init
  const log = init.log ?? (() => {})
  const controller = new AbortController()
  const signal = init.signal != null ? AbortSignal.any([controller.signal, init.signal]) : controller.signal
  const key = taskRendezvous(init.taskId)
  const timeoutMs = init.timeoutMs ?? 20_000
  const target = init.targetPeers ?? 8
  const found = new Set<string>()
  const failed = new Set<string>()
  let announced = false

  const timed = (): AbortSignal => AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)])

  const announce = async (): Promise<void> => {
    try {
      await node.contentRouting.provide(key, { signal: timed() })
      if (!announced) log('announced this peer for the task in the DHT')
      announced = true
    } catch (err) {
      if (!signal.aborted) log(`could not announce the task in the DHT (will retry): ${(err as Error).message}`)
    }
  }

  const lookup = async (): Promise<void> => {
    const dials: Array<Promise<void>> = []
    try {
      for await (const provider of node.contentRouting.findProviders(key, { signal: timed() })) {
        const id: PeerId = provider.id
        if (id.equals(node.peerId)) continue
        const fresh = !found.has(id.toString())
        found.add(id.toString())
        if (node.getConnections(id).length > 0 || connectedTaskPeers() >= target) continue
        if (provider.multiaddrs.length > 0) await node.peerStore.merge(id, { multiaddrs: provider.multiaddrs }).catch(() => {})
        dials.push(node.dial(id, { signal: timed() }).then(
          () => { if (fresh) log(`connected to task peer ${id}`) },
          (err) => {
            // Providers outlive the peers that announced them: say so once per peer, not every lookup.
            if (!signal.aborted && !failed.has(id.toString())) log(`could not dial task peer ${id}: ${(err as Error).message}`)
            failed.add(id.toString())
          }
        ))
      }
    } catch (err) {
      if (!signal.aborted) log(`task peer lookup failed (will retry): ${(err as Error).message}`)
    }
    await Promise.all(dials)
  }

  const connectedTaskPeers = (): number => [...found].filter(p => node.getPeers().some(q => q.toString() === p)).length

  void (async () => {
    let delay = init.firstDelayMs ?? 1000
    const max = init.maxIntervalMs ?? 60_000
    let lastAnnounce = -Infinity
    while (!signal.aborted) {
      await sleep(delay, signal)
      if (signal.aborted) break
      // Providers expire (kad-dht keeps records 48 h, republishes itself); re-announce after a failure
      // and every ten minutes, in case the DHT servers we told restarted.
      if (!announced || Date.now() - lastAnnounce > 600_000) {
        lastAnnounce = Date.now()
        await announce()
      }
      await lookup()
      delay = Math.min(max, delay * 2)
    }
  })()

  return {
    stop () { controller.abort() }
  }
}

async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>(resolve => {
    const t = setTimeout(done, ms)
    function done (): void {
      clearTimeout(t)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}
