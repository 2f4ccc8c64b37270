// Gossip over the in-memory transport: delivery after the mesh forms, validators (reject, throw),
// oversize messages, and the byte counters. Real libp2p nodes, bounded waits.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { createGossip, createPeerNode, linkPeers, memoryAddress, MessageTooLargeError } from '../src/net/index.ts'
import type { Gossip, GossipMessage, PeerNode } from '../src/net/index.ts'

const TOPIC = 'fedswarm/test/gossip'

async function waitFor (what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(25)
  }
}

describe('gossip over memory transport', { timeout: 60_000 }, () => {
  const nodes: PeerNode[] = []
  const gossips: Gossip[] = []
  const received: GossipMessage[][] = []
  const logs: string[][] = []
  const N = 4

  before(async () => {
    for (let i = 0; i < N; i++) {
      const node = await createPeerNode({ listen: [memoryAddress()], transports: ['memory'], maxMessageBytes: 256 * 1024 })
      nodes.push(node)
      const lines: string[] = []
      logs.push(lines)
      const g = createGossip(node, { log: (line) => lines.push(line) })
      gossips.push(g)
      const inbox: GossipMessage[] = []
      received.push(inbox)
      g.subscribe(TOPIC)
      g.setValidator(TOPIC, (msg) => {
        if (msg.data[0] === 0xff) return { action: 'reject', reason: 'starts with 0xff' }
        if (msg.data[0] === 0xee) throw new Error('validator exploded')
        if (msg.data[0] === 0xdd) return { action: 'ignore', reason: 'not interesting' }
        return { action: 'accept' }
      })
      g.onMessage(TOPIC, (msg) => { inbox.push(msg) })
    }
    await linkPeers(nodes, { degree: 2, seed: 7 })
    await Promise.all(gossips.map(async g => g.waitForMesh(TOPIC, { minPeers: 1, timeoutMs: 10_000 })))
  })

  after(async () => {
    for (const g of gossips) g.close()
    await Promise.all(nodes.map(async n => n.stop()))
  })

  test('a published message reaches every other peer', async () => {
    const data = new TextEncoder().encode('hello swarm')
    const result = await gossips[0].publish(TOPIC, data)
    assert.equal(result.noPeers, false)
    assert.ok(result.recipients.length >= 1)
    await waitFor('delivery to all peers', () => received.slice(1).every(inbox => inbox.some(m => new TextDecoder().decode(m.data) === 'hello swarm')))
    assert.equal(received[0].length, 0, 'the publisher does not receive its own message')
    const msg = received[1].find(m => new TextDecoder().decode(m.data) === 'hello swarm')!
    // StrictNoSign: no author in gossip; the message names the neighbour that handed it over
    assert.ok(!msg.propagationSource.equals(nodes[1].peerId) && nodes.some(n => n.peerId.equals(msg.propagationSource)), 'forwarded by another peer of the swarm')
  })

  test('a rejected message is not delivered, is logged with reason and sender, and later messages still arrive', async () => {
    const before = received.map(inbox => inbox.length)
    await gossips[1].publish(TOPIC, Uint8Array.of(0xff, 1, 2, 3))
    await waitFor('reject logged by a neighbour', () => logs.some(lines => lines.some(l => l.includes('rejected') && l.includes('starts with 0xff'))))
    const line = logs.flat().find(l => l.includes('starts with 0xff'))!
    assert.ok(line.includes(nodes[1].peerId.toString()), `log line names the sender: ${line}`)
    // a good message published after the bad one reaches everybody
    await gossips[1].publish(TOPIC, Uint8Array.of(1, 2, 3, 4))
    await waitFor('good message after reject', () => received.every((inbox, i) => i === 1 || inbox.some(m => m.data[0] === 1 && m.data[3] === 4)))
    for (let i = 0; i < N; i++) {
      assert.equal(received[i].filter(m => m.data[0] === 0xff).length, 0, `peer ${i} never saw the rejected message`)
      assert.ok(received[i].length >= before[i])
    }
    // each node logged that reject at most once
    for (const lines of logs) assert.ok(lines.filter(l => l.includes('starts with 0xff')).length <= 1)
  })

  test('a validator that throws counts as reject; ignore drops silently', async () => {
    await gossips[2].publish(TOPIC, Uint8Array.of(0xee, 9))
    await gossips[2].publish(TOPIC, Uint8Array.of(0xdd, 9))
    await gossips[2].publish(TOPIC, Uint8Array.of(2, 9))
    await waitFor('good message after throw', () => received.every((inbox, i) => i === 2 || inbox.some(m => m.data[0] === 2 && m.data[1] === 9)))
    await waitFor('throw logged as reject', () => logs.some(lines => lines.some(l => l.includes('rejected') && l.includes('validator threw: validator exploded'))))
    for (const inbox of received) {
      assert.equal(inbox.filter(m => m.data[0] === 0xee || m.data[0] === 0xdd).length, 0)
    }
    const stats = gossips.map(g => g.stats())
    assert.ok(stats.some(s => s.rejected >= 2))
    assert.ok(stats.some(s => s.ignored >= 1))
  })

  test('oversize: publish refuses, and an oversize message off the wire is rejected without harm', async () => {
    await assert.rejects(gossips[0].publish(TOPIC, new Uint8Array(256 * 1024 + 1)), MessageTooLargeError)
    // bypass the wrapper: the raw router of node 3 sends 1 MiB, over the receivers' 256 KiB limit
    const raw = await nodes[3].services.pubsub.publish(TOPIC, new Uint8Array(1024 * 1024).fill(7))
    assert.ok(raw.recipients.length >= 1)
    await waitFor('oversize reject logged', () => logs.some(lines => lines.some(l => l.includes('rejected') && l.includes('oversize'))))
    // over gossipsub's 4 MiB frame cap the router cannot even send it: no recipients, no crash
    const tooBig = await nodes[3].services.pubsub.publish(TOPIC, new Uint8Array(4 * 1024 * 1024 + 1))
    assert.equal(tooBig.recipients.length, 0)
    // everybody, including the sender of the oversize messages, keeps gossiping
    await gossips[0].publish(TOPIC, Uint8Array.of(3, 3, 3))
    await gossips[3].publish(TOPIC, Uint8Array.of(4, 4, 4))
    await waitFor('messages after oversize', () => received.every((inbox, i) =>
      (i === 0 || inbox.some(m => m.data[0] === 3 && m.data[2] === 3)) && (i === 3 || inbox.some(m => m.data[0] === 4 && m.data[2] === 4))))
    for (const inbox of received) assert.equal(inbox.filter(m => m.data.byteLength > 256 * 1024).length, 0)
    for (const node of nodes) assert.equal(node.status, 'started')
  })

  test('publishing on a topic nobody subscribes to is a visible, non-fatal result', async () => {
    const result = await gossips[0].publish('fedswarm/test/nobody', Uint8Array.of(1))
    assert.equal(result.noPeers, true)
    assert.equal(result.recipients.length, 0)
  })

  test('topicPeers and byte counters', async () => {
    assert.ok(gossips[0].topicPeers(TOPIC).length >= 1)
    const b = gossips[0].bytes()
    assert.ok(b.sent > 0 && b.received > 0, JSON.stringify(b))
    assert.ok(Object.keys(b.protocols).some(p => p.startsWith('/meshsub/')), JSON.stringify(b.protocols))
    // what all nodes sent equals what all nodes received (every connection is between two of them)
    const all = nodes.map(n => gossips[nodes.indexOf(n)].bytes())
    const sent = all.reduce((s, x) => s + x.sent, 0)
    const recv = all.reduce((s, x) => s + x.received, 0)
    assert.ok(Math.abs(sent - recv) / sent < 0.05, `sent ${sent} vs received ${recv}`)
  })
})
