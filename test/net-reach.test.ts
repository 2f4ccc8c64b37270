// Reachability and discovery for a public network, with real libp2p nodes over TCP on 127.0.0.1:
// a peer without any listener is reached through a circuit relay and every fedswarm protocol
// (ping, sync, blob, gossip) runs over the relayed connection; peers keep finding each other
// through the private DHT after the bootstrap peer is gone; bad announce addresses and the
// public-network gossip scoring.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createPeerNode, createGossip, createBlobStore, fetchBlob, isCircuitAddress, InvalidMultiaddrError,
  RelayAddressTimeoutError, requestSync, serveBlobs, serveSync, UnsupportedAddressError, waitForRelayAddress,
  pubsubScoreParams, preferPublicAddresses, keepConnected, DHT_PROTOCOL, GOSSIP_IP_COLOCATION_WHITELIST, LIBP2P_RELAY_DEFAULT_DATA_LIMIT_BYTES
} from '../src/net/index.ts'
import type { GossipMessage, PeerNode } from '../src/net/index.ts'
import { validatePeerScoreThresholds, createPeerScoreThresholds } from '@libp2p/gossipsub/score'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'

const LOCAL = '/ip4/127.0.0.1/tcp/0'
const boot0 = peerIdFromString('12D3KooWRxV9PDAtSYJtQxDJsyi9APwmcjn8FBNJfdP5bcGjBkRL')

function tcpAddress (node: PeerNode): string {
  const ma = node.getMultiaddrs().find(a => a.toString().includes('/tcp/') && !isCircuitAddress(a))
  assert.ok(ma != null, `node ${node.peerId} has a TCP address`)
  return ma.toString()
}

async function until (what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

async function stopAll (nodes: PeerNode[]): Promise<void> {
  await Promise.all(nodes.map(async n => { await n.stop().catch(() => {}) }))
}

describe('circuit relay', { timeout: 90_000 }, () => {
  const nodes: PeerNode[] = []
  after(async () => { await stopAll(nodes) })

  test('a peer with no listener is reached through the relay; ping, sync, blob and gossip run over the relayed connection', async () => {
    const relay = await createPeerNode({ listen: [LOCAL], relayServer: true })
    nodes.push(relay)
    assert.ok(relay.services.relay != null, 'relay service present')
    // behind NAT: no TCP listener at all, only a relay reservation
    const hidden = await createPeerNode({ listen: ['/p2p-circuit'], relayClient: true, bootstrap: [tcpAddress(relay)] })
    nodes.push(hidden)
    const relayed = await waitForRelayAddress(hidden, { timeoutMs: 20_000 })
    const text = relayed.toString()
    assert.ok(text.includes(`/p2p/${relay.peerId}/p2p-circuit/p2p/${hidden.peerId}`), text)
    assert.ok(hidden.getMultiaddrs().every(isCircuitAddress), `only relayed addresses: ${hidden.getMultiaddrs().join(' ')}`)
    assert.equal(relay.services.relay.reservations.size, 1)

    // the dialler knows the hidden peer only by its relayed address
    const dialler = await createPeerNode({ listen: [LOCAL], bootstrap: [text] })
    nodes.push(dialler)
    await until('a connection to the hidden peer', () => dialler.getConnections(hidden.peerId).length > 0, 15_000)
    const connections = dialler.getConnections(hidden.peerId)
    for (const c of connections) {
      assert.ok(c.remoteAddr.toString().includes('/p2p-circuit'), `relayed: ${c.remoteAddr.toString()}`)
      // fedswarm relays apply no limits, so libp2p does not mark the connection "limited"
      assert.equal(c.limits, undefined, 'not a limited connection')
    }

    const rtt = await dialler.services.ping.ping(hidden.peerId, { signal: AbortSignal.timeout(5_000) })
    assert.ok(rtt >= 0)

    // far more than libp2p's default relay data limit of 128 KiB
    const big = LIBP2P_RELAY_DEFAULT_DATA_LIMIT_BYTES * 8
    const server = await serveSync(hidden, async (request) => new Uint8Array(big).fill(request[0] ?? 0))
    const response = await requestSync(dialler, hidden.peerId, Uint8Array.of(9), { signal: AbortSignal.timeout(15_000) })
    assert.equal(response.byteLength, big)
    assert.equal(response[big - 1], 9)
    await server.stop()

    const store = createBlobStore()
    const blob = new Uint8Array(2 * 1024 * 1024).fill(3)
    const hash = store.put(blob)
    const blobs = await serveBlobs(hidden, store)
    const fetched = await fetchBlob(dialler, hash, { peers: [hidden.peerId], timeoutMs: 20_000 })
    assert.equal(fetched.byteLength, blob.byteLength)
    await blobs.stop()

    const topic = 'fedswarm/test/relay'
    const gh = createGossip(hidden)
    const gd = createGossip(dialler)
    gh.subscribe(topic)
    gd.subscribe(topic)
    const got: GossipMessage[] = []
    gd.onMessage(topic, (m) => { got.push(m) })
    await gh.waitForMesh(topic, { minPeers: 1, timeoutMs: 15_000 })
    await gd.waitForMesh(topic, { minPeers: 1, timeoutMs: 15_000 })
    const res = await gh.publish(topic, new Uint8Array(1024 * 1024).fill(7))
    assert.equal(res.noPeers, false)
    await until('the gossip message', () => got.length > 0, 15_000)
    assert.equal(got[0].data.byteLength, 1024 * 1024)
    gh.close()
    gd.close()

    // still only relayed: the hidden peer has no direct connection to the dialler
    for (const c of hidden.getConnections(dialler.peerId)) assert.ok(isCircuitAddress(c.remoteAddr), c.remoteAddr.toString())
  })

  test('waitForRelayAddress names its timeout; a node without relayClient fails at once', async () => {
    const lonely = await createPeerNode({ listen: ['/p2p-circuit'], relayClient: true })
    nodes.push(lonely)
    await assert.rejects(waitForRelayAddress(lonely, { timeoutMs: 300 }), (err: Error) => {
      assert.ok(err instanceof RelayAddressTimeoutError, `${err.name}: ${err.message}`)
      assert.match(err.message, /after 300 ms/)
      return true
    })
    const plain = await createPeerNode({ listen: [LOCAL] })
    nodes.push(plain)
    await assert.rejects(waitForRelayAddress(plain, { timeoutMs: 5_000 }), /does not run relayClient/)
    // listening on a circuit address without relayClient is refused, naming the address
    await assert.rejects(createPeerNode({ listen: ['/p2p-circuit'] }), (err: Error) => {
      assert.ok(err instanceof UnsupportedAddressError, `${err.name}: ${err.message}`)
      assert.match(err.message, /\/p2p-circuit/)
      return true
    })
  })
})

describe('private DHT', { timeout: 120_000 }, () => {
  const nodes: PeerNode[] = []
  after(async () => { await stopAll(nodes) })

  // publicNetwork too: DHT records prefer public addresses but keep private ones of a peer that has
  // no other, so a one-host (or LAN) test of a public network still gets a DHT
  for (const publicNetwork of [false, true]) {
    test(`peers keep connecting through the DHT after the bootstrap peer stops (publicNetwork ${publicNetwork})`, async () => {
      await dhtScenario(nodes, publicNetwork)
    })
  }

  test('dht off: no DHT service, no DHT protocol', async () => {
    const n = await createPeerNode({ listen: [LOCAL] })
    nodes.push(n)
    assert.equal(n.services.dht, undefined)
    assert.ok(!n.getProtocols().includes(DHT_PROTOCOL))
    assert.ok(!n.getProtocols().some(p => p.includes('/kad/')))
  })

  test('preferPublicAddresses keeps public (and publicly relayed) addresses, or all when none is public', () => {
    const id = boot0
    const pub = multiaddr('/ip4/8.8.8.8/tcp/4001')
    const relayed = multiaddr(`/ip4/8.8.4.4/tcp/4001/p2p/${id}/p2p-circuit`)
    const lan = multiaddr('/ip4/192.168.1.2/tcp/4001')
    const lo = multiaddr('/ip4/127.0.0.1/tcp/4001')
    assert.deepEqual(preferPublicAddresses({ id, multiaddrs: [lan, pub, lo, relayed] }).multiaddrs.map(String), [pub, relayed].map(String))
    assert.deepEqual(preferPublicAddresses({ id, multiaddrs: [lan, lo] }).multiaddrs.map(String), [lan, lo].map(String))
  })
})

async function dhtScenario (nodes: PeerNode[], publicNetwork: boolean): Promise<void> {
  {
    const boot = await createPeerNode({ listen: [LOCAL], dht: true, publicNetwork })
    nodes.push(boot)
    assert.ok(boot.services.dht != null)
    assert.equal(boot.services.dht.getMode(), 'server')
    assert.ok(boot.getProtocols().includes(DHT_PROTOCOL), `speaks ${DHT_PROTOCOL}`)
    const bootAddr = `${tcpAddress(boot)}/p2p/${boot.peerId}`
    const peers: PeerNode[] = []
    for (let i = 0; i < 3; i++) {
      const p = await createPeerNode({ listen: [LOCAL], dht: true, publicNetwork, bootstrap: [bootAddr] })
      nodes.push(p)
      peers.push(p)
    }
    const [p1, p2, p3] = peers
    const others = (n: PeerNode): number => n.getPeers().filter(id => !id.equals(boot.peerId)).length
    // each learns the others from the bootstrap peer's DHT and dials them
    await until('P1..P3 connected to each other', () => peers.every(p => others(p) >= 2), 40_000)

    await boot.stop()
    await until('the bootstrap peer gone', () => peers.every(p => p.getConnections(boot.peerId).length === 0), 10_000)
    assert.ok(others(p1) >= 2, `P1 keeps ${others(p1)} connections`)

    // a newcomer that knows only P1 finds P2 and P3 through the DHT
    const p4 = await createPeerNode({ listen: [LOCAL], dht: true, publicNetwork, bootstrap: [`${tcpAddress(p1)}/p2p/${p1.peerId}`] })
    nodes.push(p4)
    await until('P4 connected to P2 and P3', () => p4.getConnections(p2.peerId).length > 0 && p4.getConnections(p3.peerId).length > 0, 40_000)
    const info = await p4.peerRouting.findPeer(p3.peerId, { signal: AbortSignal.timeout(10_000) })
    assert.ok(info.multiaddrs.length > 0, 'P3 has addresses in the DHT')
  }
}

describe('announce addresses and public-network scoring', { timeout: 30_000 }, () => {
  const nodes: PeerNode[] = []
  after(async () => { await stopAll(nodes) })

  test('a bad announce address gives a named error naming it', async () => {
    await assert.rejects(createPeerNode({ listen: [LOCAL], announce: ['/ip4/1.2.3.4/tcp/not-a-port'] }), (err: Error) => {
      assert.ok(err instanceof InvalidMultiaddrError, `${err.name}: ${err.message}`)
      assert.ok(err.message.includes('/ip4/1.2.3.4/tcp/not-a-port'), err.message)
      return true
    })
    await assert.rejects(createPeerNode({ listen: [LOCAL], announce: ['/ip4/1.2.3.4/udp/4001/quic-v1'] }), (err: Error) => {
      assert.ok(err instanceof UnsupportedAddressError, `${err.name}: ${err.message}`)
      assert.equal(err.kind, 'announce')
      assert.match(err.message, /^announce address \/ip4\/1\.2\.3\.4\/udp\/4001\/quic-v1 is not supported/)
      return true
    })
    await assert.rejects(createPeerNode({ listen: [LOCAL], announce: ['/dns4/example.org/tcp/443/wss'], transports: ['tcp'] }), (err: Error) => {
      assert.ok(err instanceof UnsupportedAddressError, `${err.name}: ${err.message}`)
      assert.match(err.message, /example\.org.*needs the ws transport/)
      return true
    })
  })

  test('a good announce address replaces the listen addresses', async () => {
    const n = await createPeerNode({ listen: [LOCAL], announce: ['/dns4/peer.example.org/tcp/4001'] })
    nodes.push(n)
    assert.deepEqual(n.getMultiaddrs().map(String), [`/dns4/peer.example.org/tcp/4001/p2p/${n.peerId}`])
  })

  test('announce with relayClient: the announced and the relayed address, not the listen address', async () => {
    const relay = await createPeerNode({ listen: [LOCAL], relayServer: true })
    nodes.push(relay)
    const n = await createPeerNode({ listen: [LOCAL], announce: ['/dns4/peer.example.org/tcp/4001'], relayClient: true, bootstrap: [tcpAddress(relay)] })
    nodes.push(n)
    const relayed = await waitForRelayAddress(n, { timeoutMs: 20_000 })
    assert.deepEqual(n.getMultiaddrs().map(String).sort(), [`/dns4/peer.example.org/tcp/4001/p2p/${n.peerId}`, relayed.toString()].sort())
  })

  test('publicNetwork scoring differs from local scoring as documented', async () => {
    const local = pubsubScoreParams(false)
    const pub = pubsubScoreParams(true)
    // local: loopback exempt, gossipsub's defaults otherwise (today's behaviour)
    assert.deepEqual([...(local.scoreParams.IPColocationFactorWhitelist ?? [])].sort(), [...GOSSIP_IP_COLOCATION_WHITELIST].sort())
    assert.equal(local.scoreParams.IPColocationFactorWeight, undefined)
    assert.equal(local.scoreThresholds, undefined)
    // public: nobody exempt, a stronger penalty, explicit thresholds gossipsub accepts
    assert.equal(pub.scoreParams.IPColocationFactorWhitelist?.size, 0)
    assert.ok((pub.scoreParams.IPColocationFactorWeight ?? 0) < -5, 'stronger than the default -5')
    assert.ok(pub.scoreThresholds != null)
    validatePeerScoreThresholds(createPeerScoreThresholds(pub.scoreThresholds))
    // the documented mapping: surplus s peers on one IP cost weight x s^2
    const cost = (s: number): number => (pub.scoreParams.IPColocationFactorWeight ?? 0) * s * s
    const t = createPeerScoreThresholds(pub.scoreThresholds)
    assert.ok(cost(1) >= t.gossipThreshold && cost(2) < t.gossipThreshold, 'gossip stops at 12 peers on one IP')
    assert.ok(cost(2) >= t.publishThreshold && cost(3) < t.publishThreshold, 'publishing stops at 13')
    assert.ok(cost(3) >= t.graylistThreshold && cost(4) < t.graylistThreshold, 'graylisted at 14')
    // and a node starts with it
    const n = await createPeerNode({ listen: [LOCAL], publicNetwork: true })
    nodes.push(n)
    assert.ok(n.services.pubsub != null)
  })
})

describe('keepConnected and every option at once', { timeout: 60_000 }, () => {
  const nodes: PeerNode[] = []
  after(async () => { await stopAll(nodes) })

  test('dials known peers up to minPeers, backs off from unreachable ones, redials after a disconnect', async () => {
    const a = await createPeerNode({ listen: [LOCAL] })
    const b = await createPeerNode({ listen: [LOCAL] })
    nodes.push(a, b)
    const ghost = await createPeerNode({ listen: [LOCAL] })
    const ghostAddr = multiaddr(tcpAddress(ghost))
    await ghost.stop()
    await a.peerStore.merge(b.peerId, { multiaddrs: [multiaddr(tcpAddress(b))] })
    await a.peerStore.merge(ghost.peerId, { multiaddrs: [ghostAddr] })
    const lines: string[] = []
    const keeper = keepConnected(a, { minPeers: 2, intervalMs: 100, backoffMs: 60_000, log: (l) => lines.push(l) })
    try {
      await until('a connected to b', () => a.getConnections(b.peerId).length > 0, 10_000)
      await until('the ghost backed off', () => lines.some(l => l.includes(`could not dial ${ghost.peerId}`) && l.includes('next try in 60000 ms')), 15_000)
      const tries = lines.filter(l => l.includes(`could not dial ${ghost.peerId}`)).length
      await a.hangUp(b.peerId)
      await until('a redialled b', () => a.getConnections(b.peerId).length > 0, 10_000)
      assert.equal(lines.filter(l => l.includes(`could not dial ${ghost.peerId}`)).length, tries, 'no retry within the backoff')
    } finally {
      keeper.stop()
    }
  })

  test('a node with every option on starts, offers its services and stops', async () => {
    const relay = await createPeerNode({ listen: [LOCAL], relayServer: true, dht: true, autonat: true, publicNetwork: true, maxConnections: 300 })
    nodes.push(relay)
    const n = await createPeerNode({
      listen: [LOCAL], bootstrap: [`${tcpAddress(relay)}/p2p/${relay.peerId}`],
      dht: true, relayClient: true, autonat: true, dcutr: true, publicNetwork: true, minPeers: 2, maxConnections: 64
    })
    nodes.push(n)
    assert.ok(n.services.dht != null && n.services.autonat != null && n.services.dcutr != null)
    assert.equal(n.services.relay, undefined)
    assert.ok(relay.services.relay != null)
    const relayed = await waitForRelayAddress(n, { timeoutMs: 20_000 })
    assert.ok(relayed.toString().includes(`/p2p/${relay.peerId}/p2p-circuit`))
    // the direct TCP address is still there next to the relayed one
    assert.ok(n.getMultiaddrs().some(a => !isCircuitAddress(a)))
    await n.stop()
    assert.equal(n.status, 'stopped')
  })
})
