// Measures a 10-peer in-memory swarm: time for every peer's topic mesh to reach 2 peers after
// linking, and time for one 800 kB message to reach all 9 others; prints both (and the bytes).
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createGossip, createPeerNode, diffByteCounts, linkPeers, memoryAddress } from '../src/net/index.ts'
import type { ByteCounts, Gossip, PeerNode } from '../src/net/index.ts'

const N = 10
const TOPIC = 'fedswarm/test/mesh'
const SIZE = 800_000

describe(`${N}-peer memory mesh`, { timeout: 60_000 }, () => {
  const nodes: PeerNode[] = []
  const gossips: Gossip[] = []
  after(async () => {
    for (const g of gossips) g.close()
    await Promise.all(nodes.map(async n => n.stop()))
  })

  test('mesh forms and an 800 kB message reaches everyone', async (t) => {
    const t0 = performance.now()
    for (let i = 0; i < N; i++) {
      const node = await createPeerNode({ listen: [memoryAddress()], transports: ['memory'] })
      nodes.push(node)
      const g = createGossip(node)
      g.subscribe(TOPIC)
      gossips.push(g)
    }
    const tStarted = performance.now()
    const { edges } = await linkPeers(nodes, { degree: 3, seed: 42 })
    const tLinked = performance.now()
    const sizes = await Promise.all(gossips.map(async g => g.waitForMesh(TOPIC, { minPeers: 2, timeoutMs: 20_000 })))
    const tMesh = performance.now()

    const arrived: number[] = []
    const done = new Promise<void>((resolve) => {
      gossips.forEach((g, i) => {
        if (i === 0) return
        g.onMessage(TOPIC, (msg) => {
          if (msg.data.byteLength === SIZE) {
            arrived.push(performance.now())
            if (arrived.length === N - 1) resolve()
          }
        })
      })
    })
    const before: ByteCounts[] = gossips.map(g => g.bytes())
    const payload = new Uint8Array(SIZE).map((_, i) => i & 0xff)
    const tPublish = performance.now()
    const res = await gossips[0].publish(TOPIC, payload)
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`only ${arrived.length}/${N - 1} peers got the message`)) }, 20_000) })
    await Promise.race([done, timeout]).finally(() => { clearTimeout(timer) })
    const tDelivered = performance.now()
    const spent = gossips.map((g, i) => diffByteCounts(g.bytes(), before[i]))

    const report = {
      peers: N,
      links: edges.length,
      startMs: Math.round(tStarted - t0),
      linkMs: Math.round(tLinked - tStarted),
      meshMs: Math.round(tMesh - tLinked),
      meshSizes: sizes,
      publishRecipients: res.recipients.length,
      deliverAllMs: Math.round(tDelivered - tPublish),
      firstArrivalMs: Math.round(Math.min(...arrived) - tPublish),
      publisherSentBytes: spent[0].sent,
      meanReceivedBytes: Math.round(spent.slice(1).reduce((s, b) => s + b.received, 0) / (N - 1)),
      totalSentBytes: spent.reduce((s, b) => s + b.sent, 0)
    }
    t.diagnostic(JSON.stringify(report))
    console.log(`net-mesh: ${JSON.stringify(report)}`)
    assert.equal(arrived.length, N - 1)
    assert.ok(sizes.every(s => s >= 2))
  })
})
