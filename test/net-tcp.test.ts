// Real TCP (and WebSockets) on 127.0.0.1: two nodes connect and gossip; bad init gives named,
// one-line errors that name the address; an unreachable bootstrap is detected.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import {
  BootstrapUnreachableError, DEFAULT_MAX_MESSAGE_BYTES, InvalidBootstrapAddressError, InvalidMultiaddrError, ListenAddressInUseError,
  NetError, UnknownTransportError, UnsupportedAddressError, createGossip, createPeerNode, dialBootstrap, memoryAddress
} from '../src/net/index.ts'
import type { GossipMessage, PeerNode, TransportName } from '../src/net/index.ts'

/** A port that was free a moment ago and now has nothing listening on it. */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>(resolve => server.close(() => resolve()))
  return port
}

function portOf (node: PeerNode): string {
  const ma = node.getMultiaddrs().find(a => a.toString().includes('/tcp/'))!
  return ma.getComponents().find(c => c.name === 'tcp')!.value!
}

describe('tcp and websockets', { timeout: 60_000 }, () => {
  const nodes: PeerNode[] = []
  after(async () => { await Promise.all(nodes.map(async n => n.stop())) })

  test('two TCP nodes on 127.0.0.1:0 connect and gossip', async () => {
    const a = await createPeerNode({ listen: ['/ip4/127.0.0.1/tcp/0'] })
    nodes.push(a)
    const b = await createPeerNode({ listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [a.getMultiaddrs()[0].toString()] })
    nodes.push(b)
    const ga = createGossip(a)
    const gb = createGossip(b)
    const topic = 'fedswarm/test/tcp'
    ga.subscribe(topic)
    gb.subscribe(topic)
    const got: GossipMessage[] = []
    gb.onMessage(topic, (m) => { got.push(m) })
    // b reaches a through the background bootstrap dial
    await ga.waitForMesh(topic, { minPeers: 1, timeoutMs: 10_000 })
    await gb.waitForMesh(topic, { minPeers: 1, timeoutMs: 10_000 })
    // the largest payload allowed: gossipsub's 4 MiB frame minus the RPC overhead
    const payload = new Uint8Array(DEFAULT_MAX_MESSAGE_BYTES).fill(5)
    const res = await ga.publish(topic, payload)
    assert.equal(res.noPeers, false)
    const deadline = Date.now() + 10_000
    while (got.length === 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 25))
    assert.equal(got.length, 1)
    assert.equal(got[0].data.byteLength, payload.byteLength)
    const bytes = gb.bytes()
    assert.ok(bytes.received > payload.byteLength, `received ${bytes.received} >= payload`)
    ga.close()
    gb.close()
  })

  test('a listen port in use gives ListenAddressInUseError naming the address', async () => {
    const a = await createPeerNode({ listen: ['/ip4/127.0.0.1/tcp/0'] })
    nodes.push(a)
    const address = `/ip4/127.0.0.1/tcp/${portOf(a)}`
    await assert.rejects(createPeerNode({ listen: [address] }), (err: Error) => {
      assert.ok(err instanceof ListenAddressInUseError, `${err.name}: ${err.message}`)
      assert.ok(err instanceof NetError)
      assert.equal(err.message, `listen address ${address} is in use`)
      return true
    })
    // the same for the memory transport
    const name = memoryAddress()
    nodes.push(await createPeerNode({ listen: [name], transports: ['memory'] }))
    await assert.rejects(createPeerNode({ listen: [name], transports: ['memory'] }), (err: Error) => {
      assert.ok(err instanceof ListenAddressInUseError, `${err.name}: ${err.message}`)
      assert.ok(err.message.includes(name))
      return true
    })
  })

  test('bad init: unparseable multiaddr, unknown transport, unsupported address, bootstrap without peer id', async () => {
    await assert.rejects(createPeerNode({ listen: ['/ip4/1.2.3/tcp/5'] }), (err: Error) => {
      assert.ok(err instanceof InvalidMultiaddrError, `${err.name}: ${err.message}`)
      assert.ok(err.message.includes('/ip4/1.2.3/tcp/5'))
      return true
    })
    await assert.rejects(createPeerNode({ listen: [], transports: ['quic' as TransportName] }), UnknownTransportError)
    await assert.rejects(createPeerNode({ listen: ['/ip4/127.0.0.1/udp/0/quic-v1'] }), (err: Error) => {
      assert.ok(err instanceof UnsupportedAddressError, `${err.name}: ${err.message}`)
      assert.ok(err.message.includes('/ip4/127.0.0.1/udp/0/quic-v1'))
      return true
    })
    await assert.rejects(createPeerNode({ listen: ['/ip4/127.0.0.1/tcp/0/ws'], transports: ['tcp'] }), UnsupportedAddressError)
    await assert.rejects(createPeerNode({ listen: [], maxMessageBytes: 4 * 1024 * 1024 }), /maxMessageBytes must be/)
    await assert.rejects(createPeerNode({ listen: [], bootstrap: ['/ip4/127.0.0.1/tcp/4001'] }), (err: Error) => {
      assert.ok(err instanceof InvalidBootstrapAddressError)
      assert.ok(err.message.includes('/ip4/127.0.0.1/tcp/4001'))
      return true
    })
  })

  test('an unreachable bootstrap address gives BootstrapUnreachableError naming it', async () => {
    const node = await createPeerNode({ listen: ['/ip4/127.0.0.1/tcp/0'], transports: ['tcp', 'ws'] })
    nodes.push(node)
    const dead = `/ip4/127.0.0.1/tcp/${await closedPort()}`
    await assert.rejects(dialBootstrap(node, [dead], { timeoutMs: 3000 }), (err: Error) => {
      assert.ok(err instanceof BootstrapUnreachableError, `${err.name}: ${err.message}`)
      assert.ok(err.message.includes(dead), err.message)
      assert.ok(!err.message.includes('\n'))
      return true
    })
    // one reachable address is enough; the dead one is reported as a failure
    const live = await createPeerNode({ listen: ['/ip4/127.0.0.1/tcp/0/ws'] })
    nodes.push(live)
    const ok = await dialBootstrap(node, [dead, live.getMultiaddrs()[0].toString()], { timeoutMs: 3000 })
    assert.equal(ok.connected.length, 1)
    assert.ok(ok.connected[0].peer.equals(live.peerId))
    assert.equal(ok.failures[0].address, dead)
  })
  test('mDNS finds and dials a peer on this host', { skip: process.env.FEDSWARM_NO_MDNS != null ? 'FEDSWARM_NO_MDNS is set' : false }, async () => {
    const a = await createPeerNode({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: true })
    nodes.push(a)
    const b = await createPeerNode({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: true })
    nodes.push(b)
    const deadline = Date.now() + 15_000
    while (a.getConnections(b.peerId).length === 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 100))
    assert.ok(a.getConnections(b.peerId).length > 0, 'mDNS peers connected (set FEDSWARM_NO_MDNS=1 where multicast is blocked)')
  })
})
