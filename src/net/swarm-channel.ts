/**
 * The round driver's view of the network (`SwarmChannel`) built from a libp2p peer node: the task's
 * gossip topic, a blob store served over the blob protocol, and the sync protocol.
 */
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { SwarmChannel, RequestOptions, SyncRequestOptions } from '../round/channel.ts'
import type { Verdict } from '../round/machine.ts'
import { roundTopic } from '../wire/topics.ts'
import { createGossip } from './gossip.ts'
import { createBlobStore } from './blob-store.ts'
import { fetchBlob, fetchBlobRange, serveBlobs } from './blob-protocol.ts'
import { MAX_JOIN_ADDRS, MAX_JOIN_ADDR_BYTES } from '../wire/constants.ts'
import type { BlobServer } from './blob-protocol.ts'
import { requestSync, serveSync } from './sync-protocol.ts'
import type { SyncServer } from './sync-protocol.ts'
import type { PeerNode } from './create-node.ts'
import { getNodeConfig, nodeBytes } from './create-node.ts'
import { createLogger } from './logger.ts'
import type { NetLogger } from './logger.ts'

export interface SwarmChannelInit {
  taskId: string
  /** Bytes of blobs (updates, models) kept for other peers (default 128 MiB). */
  blobStoreBytes?: number
  log?: NetLogger
}

const DEFAULT_CHANNEL_BLOB_BYTES = 128 * 1024 * 1024

export function createSwarmChannel (node: PeerNode, init: SwarmChannelInit): SwarmChannel {
  const topic = roundTopic(init.taskId)
  const log = init.log ?? createLogger('channel')
  const gossip = createGossip(node, { log })
  const store = createBlobStore({ maxBytes: init.blobStoreBytes ?? DEFAULT_CHANNEL_BLOB_BYTES })
  const servers: Array<Promise<BlobServer | SyncServer>> = [serveBlobs(node, store, { log })]

  const connectedPeers = (): PeerId[] => {
    const subscribed = gossip.topicPeers(topic)
    return subscribed.length > 0 ? subscribed : node.getPeers()
  }
  /** `prefer` (PeerId strings; bad ones skipped) first, then the other connected peers. */
  const preferredFirst = (prefer: readonly string[] = []): PeerId[] => {
    const preferred = prefer.flatMap(id => { try { return [peerIdFromString(id)] } catch { return [] } })
    const first = new Set(preferred.map(p => p.toString()))
    return [...preferred, ...connectedPeers().filter(p => !first.has(p.toString()))]
  }

  return {
    peerId: node.peerId.toString(),
    listen (handler: (data: Uint8Array, via: string) => Promise<Verdict>): void {
      // The validator goes in before the subscription, so no message is ever taken unchecked.
      gossip.setValidator(topic, async (msg) => await handler(msg.data, msg.propagationSource.toString()))
      gossip.subscribe(topic)
    },
    async publish (data: Uint8Array, opts: RequestOptions & { flood?: boolean } = {}): Promise<void> {
      await gossip.publish(topic, data, { signal: opts.signal, flood: opts.flood })
    },
    async waitForMesh (opts): Promise<boolean> {
      try {
        await gossip.waitForMesh(topic, opts)
        return true
      } catch (err) {
        if (opts.signal?.aborted === true) throw err
        log(`topic mesh did not reach ${opts.minPeers} peer(s) in ${opts.timeoutMs} ms; going on`)
        return false
      }
    },
    putBlob: (bytes) => store.put(bytes),
    getBlob: (hash) => store.get(hash),
    async fetchBlob (hash: string, opts: RequestOptions & { prefer?: string[] } = {}): Promise<Uint8Array> {
      const peers = preferredFirst(opts.prefer)
      return await fetchBlob(node, hash, { store, timeoutMs: opts.timeoutMs, signal: opts.signal, peers })
    },
    async fetchBlobRange (hash: string, offset: number, length: number, opts: RequestOptions & { from: string }): Promise<Uint8Array> {
      // one peer to ask: it gets the whole timeout
      return await fetchBlobRange(node, hash, offset, length, { peers: [peerIdFromString(opts.from)], store, timeoutMs: opts.timeoutMs, peerTimeoutMs: opts.timeoutMs, signal: opts.signal, log })
    },
    addresses (): Uint8Array[] {
      return node.getMultiaddrs()
        .map(a => a.decapsulateCode(421).bytes) // without /p2p/<self>
        .filter(b => b.byteLength <= MAX_JOIN_ADDR_BYTES)
        .slice(0, MAX_JOIN_ADDRS)
    },
    learnAddresses (peerId: string, addrs: readonly Uint8Array[]): void {
      if (addrs.length === 0 || peerId === node.peerId.toString()) return
      try {
        const id = peerIdFromString(peerId)
        const multiaddrs = addrs.slice(0, MAX_JOIN_ADDRS).filter(b => b.byteLength <= MAX_JOIN_ADDR_BYTES).map(b => multiaddr(b))
        if (multiaddrs.length === 0) return
        // The latest Join's addresses replace the ones announced before (patch, not merge): merged, a peer
        // announcing new ones in every Join grew its entry without bound, each merge slower than the last
        // (0.7 s at 8,000 addresses), and one address could be megabytes long (found by test/fuzz).
        node.peerStore.patch(id, { multiaddrs }).catch(err => log(`could not remember the addresses of ${peerId}: ${(err as Error).message}`))
      } catch (err) {
        log(`ignoring bad addresses announced by ${peerId}: ${(err as Error).message}`)
      }
    },
    penalise (peerId: string, points: number): void {
      getNodeConfig(node).penalties.penalise(peerId, points)
    },
    serveSync (handler): void {
      servers.push(serveSync(node, async (req, from) => await handler(req, from.toString())))
    },
    async requestSync (request: Uint8Array, opts: SyncRequestOptions = {}): Promise<Uint8Array[]> {
      const peers = preferredFirst(opts.prefer)
        .filter(p => opts.exclude?.(p.toString()) !== true)
        .slice(0, opts.fanout ?? 3)
      const answers = await Promise.allSettled(peers.map(async p => await requestSync(node, p, request, { timeoutMs: opts.timeoutMs, signal: opts.signal })))
      return answers.flatMap(a => a.status === 'fulfilled' ? [a.value] : [])
    },
    traffic () {
      const b = nodeBytes(node)
      return { sent: b.sent, received: b.received }
    },
    async close (): Promise<void> {
      gossip.close()
      for (const s of await Promise.allSettled(servers)) if (s.status === 'fulfilled') await s.value.stop()
    }
  }
}
