// The direct protocols on real libp2p nodes connected over @libp2p/memory (Noise, Yamux, multistream):
// raw bytes on a dialled /fedswarm/blob/1.0.0 or /fedswarm/sync/1.0.0 stream, and after every few
// inputs a valid fetchBlob / requestSync that must still succeed, with no stream of the protocol left
// open on the server. Fewer inputs than the other targets (scale): each one is a real stream.
// Also the Join's announced addresses: multiaddr bytes → multiaddr() and SwarmChannel.learnAddresses.
import fc from 'fast-check'
import type { PeerId, Stream } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { fetchBlob, serveBlobs } from '../../../src/net/blob-protocol.ts'
import { createBlobStore } from '../../../src/net/blob-store.ts'
import { BLOB_PROTOCOL, SYNC_PROTOCOL } from '../../../src/net/constants.ts'
import { createPeerNode } from '../../../src/net/create-node.ts'
import type { PeerNode } from '../../../src/net/create-node.ts'
import { createSwarmChannel } from '../../../src/net/swarm-channel.ts'
import { requestSync, serveSync } from '../../../src/net/sync-protocol.ts'
import { memoryAddress } from '../../../src/net/transports.ts'
import { MAX_JOIN_ADDR_BYTES, MAX_JOIN_ADDRS } from '../../../src/wire/constants.ts'
import { bytesEqual, fromHex, sha256 } from '../../../src/wire/hash.ts'
import { getRoundCorpus, syncCorpus } from '../corpus.ts'
import { idleDriver } from '../driver-host.ts'
import { makeIdentity } from '../fixtures.ts'
import { hexPreview, outcome, violation, within } from '../harness.ts'
import type { FuzzTarget, TargetRun } from '../harness.ts'
import { applyMutation, mutationArb } from '../mutate.ts'
import { allFrames, collect, firstFrame, send, sleep, streamInputArb } from '../stream-exchange.ts'
import type { StreamInput } from '../stream-exchange.ts'
import { showStream } from './streams.ts'

/** Real-node targets run this fraction of the runs (5,000 of 100,000). */
const NET_SCALE = 0.05
/** Every this many inputs, a valid request must still be served. */
const CHECK_EVERY = 20

async function nodePair (): Promise<{ server: PeerNode, client: PeerNode, stop: () => Promise<void> }> {
  const make = async (): Promise<PeerNode> => await createPeerNode({ listen: [memoryAddress()], transports: ['memory'] })
  const [server, client] = await Promise.all([make(), make()])
  await client.dial(server.getMultiaddrs())
  return { server, client, stop: async () => { await Promise.all([server.stop(), client.stop()]) } }
}

/** Open streams of `protocol` on the server, after giving closing ones up to 2 s. */
async function openStreams (server: PeerNode, protocol: string): Promise<number> {
  let n = 0
  for (let i = 0; i < 40; i++) {
    n = server.getConnections().flatMap(c => c.streams).filter(s => s.protocol === protocol && (s.status === 'open' || s.status === 'closing')).length
    if (n === 0) return 0
    await sleep(50)
  }
  return n
}

/** Sends `i` on a fresh stream of `protocol` from client to server; returns what came back. */
async function rawExchange (client: PeerNode, server: PeerNode, protocol: string, i: StreamInput): Promise<Uint8Array> {
  const stream: Stream = await client.dialProtocol(server.peerId, protocol, { signal: AbortSignal.timeout(10_000) })
  const got = collect(stream)
  try {
    await send(stream, i).catch(() => {})
    // the server answers and closes, or aborts; an open client waits out the server's 300 ms read timeout
    await within(Promise.race([got.closed, sleep(i.end === 'open' ? 1500 : 10_000)]), 15_000, 'the server to end the stream')
    if (i.end === 'close' && stream.status !== 'closed' && stream.status !== 'aborted' && stream.status !== 'reset') {
      violation(`the server left the stream ${stream.status}`)
    }
    return got.bytes()
  } finally {
    if (stream.status === 'open' || stream.status === 'closing') stream.abort(new Error('fuzz cleanup'))
  }
}

const netBlob: FuzzTarget = {
  name: 'net:blob',
  what: 'raw bytes on a dialled /fedswarm/blob/1.0.0 stream between two libp2p nodes (memory transport): bad requests get no answer, and the server keeps serving fetchBlob with no stream left open',
  scale: NET_SCALE,
  retainBytes: 64 * 1024 * 1024,
  async setup (): Promise<TargetRun<StreamInput>> {
    const { server, client, stop } = await nodePair()
    const store = createBlobStore()
    const blob = Uint8Array.from({ length: 5000 }, (_, k) => k * 7)
    const hash = store.put(blob)
    await serveBlobs(server, store, { timeoutMs: 300, log: () => {} })
    const requests = [fromHex(hash), sha256(Uint8Array.of(3)), Uint8Array.from([...fromHex(hash), 0, 0, 0, 4, 0, 0, 0, 8])]
    let n = 0
    return {
      arbitrary: streamInputArb(requests, 2),
      size: (i) => i.bytes.byteLength,
      show: showStream,
      async run (i) {
        const response = await rawExchange(client, server, BLOB_PROTOCOL, i)
        const f = firstFrame(i.bytes, 1)
        const bad = i.end === 'close' && i.bytes.length <= 104 && (f.kind !== 'frame' || (f.data.length !== 32 && f.data.length !== 40))
        if (bad && response.length > 0) violation(`a bad request got an answer: ${hexPreview(response)}`)
        if (!bad && response.length > 0 && allFrames(response).trailing) violation(`a malformed answer: ${hexPreview(response)}`)
        if (++n % CHECK_EVERY === 0) {
          const r = await outcome('fetchBlob after fuzzed requests', () => fetchBlob(client, hash, { peers: [server.peerId], store: createBlobStore(), timeoutMs: 10_000 }), () => false) as { value: Uint8Array }
          if (!bytesEqual(r.value, blob)) violation('fetchBlob returned other bytes')
          const left = await openStreams(server, BLOB_PROTOCOL)
          if (left > 0) violation(`${left} blob stream(s) left open on the server`)
        }
        return `${i.end}:${response.length > 0 ? 'answer' : 'none'}`
      },
      teardown: stop
    }
  }
}

const netSync: FuzzTarget = {
  name: 'net:sync',
  what: 'raw bytes on a dialled /fedswarm/sync/1.0.0 stream to a RoundDriver\'s sync server (memory transport): bad requests get no answer, and requestSync keeps working with no stream left open',
  scale: NET_SCALE,
  retainBytes: 64 * 1024 * 1024,
  async setup (): Promise<TargetRun<StreamInput>> {
    const c = await getRoundCorpus()
    const s = c.scenarios.plain
    const { server, client, stop } = await nodePair()
    const { channel } = idleDriver(s, await makeIdentity())
    const answer = channel.sync!
    await serveSync(server, async (req: Uint8Array, from: PeerId) => await answer(req, from.toString()), { timeoutMs: 300, log: () => {} })
    const sync = await syncCorpus(s, c.traces.plain.messages.map(vm => vm.bytes), c.signers)
    const good = sync.requests[2]
    const expected = await answer(good, client.peerId.toString())
    let n = 0
    return {
      arbitrary: streamInputArb(sync.requests, 2),
      size: (i) => i.bytes.byteLength,
      show: showStream,
      async run (i) {
        const response = await rawExchange(client, server, SYNC_PROTOCOL, i)
        if (response.length > 0 && allFrames(response).trailing) violation(`a malformed answer: ${hexPreview(response)}`)
        if (++n % CHECK_EVERY === 0) {
          const r = await outcome('requestSync after fuzzed requests', () => requestSync(client, server.peerId, good, { timeoutMs: 10_000 }), () => false) as { value: Uint8Array }
          if (!bytesEqual(r.value, expected)) violation('requestSync returned another answer')
          const left = await openStreams(server, SYNC_PROTOCOL)
          if (left > 0) violation(`${left} sync stream(s) left open on the server`)
        }
        return `${i.end}:${response.length > 0 ? 'answer' : 'none'}`
      },
      teardown: stop
    }
  }
}

interface AddrInput { peer: number, garbage: string, addrs: Uint8Array[] }

const joinAddrs: FuzzTarget = {
  name: 'net:join-addrs',
  what: 'a Join\'s announced addresses (mutated multiaddr bytes, some far over 256 bytes) → multiaddr() (an Error or an address) and SwarmChannel.learnAddresses on a real node (no throw, no unhandled rejection, at most one Join\'s addresses kept per peer)',
  async setup (): Promise<TargetRun<AddrInput>> {
    const node = await createPeerNode({ listen: [memoryAddress()], transports: ['memory'] })
    const channel = createSwarmChannel(node, { taskId: 'ab'.repeat(32) })
    const peers = [(await makeIdentity()).id, (await makeIdentity('secp256k1')).id, node.peerId.toString()]
    const corpus = [
      '/ip4/127.0.0.1/tcp/4001', '/ip6/::1/tcp/4001/ws', '/dns4/example.org/tcp/443/wss', '/ip4/10.0.0.1/udp/4001/quic-v1',
      `/ip4/1.2.3.4/tcp/4001/p2p/${peers[0]}/p2p-circuit`, '/memory/abc', '/unix/tmp%2Fsock', '/dnsaddr/bootstrap.libp2p.io'
    ].map(a => multiaddr(a).bytes)
    let n = 0
    const addr = fc.oneof(
      { weight: 3, arbitrary: fc.record({ base: fc.nat(), ops: fc.array(mutationArb, { minLength: 1, maxLength: 3 }) }).map(({ base, ops }) => ops.reduce<Uint8Array>((b, op) => applyMutation(b, op, corpus), corpus[base % corpus.length])) },
      { weight: 1, arbitrary: fc.constantFrom(...corpus) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) }
    )
    return {
      arbitrary: fc.record({ peer: fc.nat(3), garbage: fc.string({ maxLength: 60 }), addrs: fc.array(addr, { maxLength: 10 }) }),
      size: (i) => i.addrs.reduce((s, a) => s + a.byteLength, 0),
      show: (i) => `peer ${i.peer} ${JSON.stringify(i.garbage)} addrs ${i.addrs.map(a => hexPreview(a, 32)).join(' | ')}`,
      async run (i) {
        // multiaddr() itself only on what fedswarm parses (MAX_JOIN_ADDR_BYTES): it is quadratic in a long
        // /p2p value (base58: 16 kB take 1.2 s, 67 kB 28 s), so learnAddresses drops longer ones unparsed
        let parsed = 0
        for (const a of i.addrs) {
          if (a.byteLength > MAX_JOIN_ADDR_BYTES) continue
          const r = await outcome('multiaddr(bytes)', () => multiaddr(a).toString(), err => err instanceof Error)
          if ('value' in r) parsed++
        }
        const peer = i.peer < peers.length ? peers[i.peer] : i.garbage
        await outcome('SwarmChannel.learnAddresses', () => channel.learnAddresses(peer, i.addrs), () => false)
        await new Promise(resolve => setImmediate(resolve))
        if (++n % 50 === 0) {
          // what the peer store keeps of announced addresses is bounded (one Join's worth per peer)
          for (const p of peers.slice(0, 2)) {
            const kept = await node.peerStore.get(peerIdFromString(p)).then(e => e.addresses.length, () => 0)
            if (kept > MAX_JOIN_ADDRS) violation(`the peer store keeps ${kept} announced addresses of one peer (at most ${MAX_JOIN_ADDRS} expected)`)
          }
        }
        return parsed === i.addrs.length ? 'all parsed' : 'some rejected'
      },
      async teardown () {
        await channel.close()
        await node.stop()
      }
    }
  }
}

export function netTargets (): FuzzTarget[] {
  return [netBlob, netSync, joinAddrs]
}
