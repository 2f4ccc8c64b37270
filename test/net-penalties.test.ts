// gossipsub's application score (src/net/penalties.ts): the penalty box's decay and bounds (fast-check),
// and on real libp2p nodes over the memory transport: a peer that keeps sending messages our validator
// rejects loses score, is graylisted (its further messages never reach the validator) while an honest
// peer's messages keep flowing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { setTimeout as sleep } from 'node:timers/promises'
import { createPenaltyBox } from '../src/net/penalties.ts'
import { createGossip, createPeerNode, getNodeConfig, linkPeers, memoryAddress } from '../src/net/index.ts'
import type { Gossip, PeerNode } from '../src/net/index.ts'

test('penalty points decay by half per half-life, never go negative, and stay within the caps', () => {
  fc.assert(fc.property(
    fc.array(fc.record({ peer: fc.constantFrom('a', 'b', 'c', 'd'), points: fc.oneof(fc.constant(0), fc.constant(-1), fc.double({ min: 0.05, max: 50, noNaN: true })), wait: fc.integer({ min: 0, max: 300_000 }) }), { maxLength: 60 }),
    (steps) => {
      const peers = ['a', 'b', 'c', 'd']
      const held = (): Array<{ peer: string, points: number }> => peers.map(peer => ({ peer, points: box.points(peer) })).filter(e => e.points > 0)
      let t = 0
      const box = createPenaltyBox({ halfLifeMs: 60_000, maxPoints: 100, maxPeers: 3, now: () => t })
      for (const s of steps) {
        t += s.wait
        const before = box.points(s.peer)
        box.penalise(s.peer, s.points)
        const after = box.points(s.peer)
        assert.ok(after >= 0 && after <= 100)
        if (s.points > 0) assert.ok(after >= Math.min(100, before + s.points) - 1e-9 || after === 100)
        else assert.ok(Math.abs(after - before) < 1e-9)
        assert.ok(held().length <= 3, 'more peers held than maxPeers')
        assert.equal(box.score(s.peer), -after)
      }
      const before = held()
      t += 60_000
      for (const e of before) {
        const p = box.points(e.peer)
        assert.ok(p === 0 || Math.abs(p - e.points / 2) < 1e-6, `after one half-life ${e.points} became ${p}`)
      }
    }
  ), { numRuns: 300 })
})

test('a peer that keeps sending rejected messages is graylisted; an honest peer is not', { timeout: 90_000 }, async () => {
  const TOPIC = 'fedswarm/test/penalties'
  const nodes: PeerNode[] = []
  const gossips: Gossip[] = []
  try {
    for (let i = 0; i < 3; i++) {
      const node = await createPeerNode({ listen: [memoryAddress()], transports: ['memory'] })
      nodes.push(node)
      const g = createGossip(node, { log: () => {} })
      g.subscribe(TOPIC)
      gossips.push(g)
    }
    // every peer judges alike (as fedswarm peers do): anything starting with 0xff is invalid; node 0 counts
    const seen = { bad: 0, good: 0 }
    gossips.forEach((g, i) => g.setValidator(TOPIC, (msg) => {
      if (msg.data[0] === 0xff) { if (i === 0) seen.bad++; return { action: 'reject', reason: 'starts with 0xff' } }
      if (i === 0) seen.good++
      return { action: 'accept' }
    }))
    // 0-1 and 0-2 connected: node 1 is the attacker, node 2 honest
    await linkPeers(nodes, { degree: 2, seed: 3 })
    await Promise.all(gossips.map(async g => g.waitForMesh(TOPIC, { minPeers: 1, timeoutMs: 10_000 })))
    const pubsub = nodes[0].services.pubsub as unknown as { getScore: (id: string) => number }
    const attacker = nodes[1].peerId.toString()
    const honest = nodes[2].peerId.toString()

    let sent = 0
    for (; sent < 400 && pubsub.getScore(attacker) >= -80; sent++) {
      await gossips[1].publish(TOPIC, Uint8Array.of(0xff, sent & 0xff, sent >> 8))
      await sleep(5)
    }
    // gossipsub caches scores for a moment; wait for the graylist to take effect
    await sleep(1500)
    const points = getNodeConfig(nodes[0]).penalties.points(attacker)
    const score = pubsub.getScore(attacker)
    console.log(`attacker: ${sent} rejected messages sent, ${seen.bad} judged, ${points.toFixed(1)} penalty points, score ${score.toFixed(1)}`)
    assert.ok(score < -80, `attacker score ${score} is above the graylist threshold`)
    assert.ok(pubsub.getScore(honest) > -10, `honest peer score ${pubsub.getScore(honest)}`)

    // graylisted: what the attacker sends now is dropped before validation; the honest peer still gets through
    const badBefore = seen.bad
    for (let i = 0; i < 20; i++) await gossips[1].publish(TOPIC, Uint8Array.of(0xff, 0xee, i))
    const goodBefore = seen.good
    await gossips[2].publish(TOPIC, Uint8Array.of(1, 2, 3))
    const deadline = Date.now() + 10_000
    while (seen.good === goodBefore && Date.now() < deadline) await sleep(25)
    await sleep(500)
    assert.equal(seen.good, goodBefore + 1, 'the honest message did not arrive')
    assert.equal(seen.bad, badBefore, `${seen.bad - badBefore} messages of the graylisted peer were still validated`)
  } finally {
    for (const g of gossips) g.close()
    await Promise.all(nodes.map(async n => await n.stop()))
  }
})
