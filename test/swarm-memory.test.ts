// Real swarms in one process over libp2p's memory transport: a 3-peer swarm trains 3 rounds and every
// peer ends each round with the bit-identical model (Invariant 1); a rogue node that floods the topic
// with bad messages (Invariant 4) gets them rejected while the honest peers keep training.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createTask, taskId as computeTaskId } from '../src/config/index.ts'
import { createTrainer, initialParams, loadDataset, partition } from '../src/learning/index.ts'
import { createPeerNode, createGossip, linkPeers } from '../src/net/index.ts'
import type { PeerNode } from '../src/net/index.ts'
import { createSwarmChannel } from '../src/net/swarm-channel.ts'
import { RoundDriver } from '../src/round/driver.ts'
import type { RoundRecord } from '../src/round/driver.ts'
import { createUpdateSource } from '../src/peer/update-source.ts'
import { simulate } from '../sim/simulate.ts'
import { roundTopic, sealMessage, sha256, float32Bytes, MAX_GOSSIP_BYTES } from '../src/wire/index.ts'

const smallTask = (over: Record<string, unknown> = {}) => createTask({
  rounds: 3,
  model: { kind: 'mlp', hidden: [32] },
  cohort: { size: 3, minSurvivors: 2 },
  timeouts: { joinMs: 1000, cohortMs: 1500, updateMs: 60000, survivorsMs: 10000 },
  ...over
})

test('3 peers, 3 rounds over the memory transport: every round completes and all peers agree', { timeout: 240_000 }, async () => {
  const task = smallTask()
  const report = await simulate({ task, peers: 3, transport: 'memory', processes: 0, dropout: 0, backend: 'auto', evalLimit: 2000 })
  assert.equal(report.rounds.length, 3)
  for (const row of report.rounds) {
    assert.equal(row.peersCompleted, 3, `round ${row.round}: ${row.peersCompleted} completed`)
    assert.equal(row.peersAgreeing, row.peersCompleted, `round ${row.round} disagreement`)
    assert.equal(row.survivors, 3)
    assert.match(row.modelHash, /^[0-9a-f]{64}$/)
    assert.ok(row.bytesSentPerPeer > 0 && row.bytesReceivedPerPeer > 0)
  }
  assert.equal(new Set(report.rounds.map(r => r.modelHash)).size, 3, 'each round yields a new model')
  assert.ok(report.rounds[2].accuracy! > 0.8, `accuracy after 3 rounds ${report.rounds[2].accuracy}`)
})

test('bad messages from a rogue peer are rejected and the swarm keeps training', { timeout: 240_000 }, async () => {
  const task = smallTask({ rounds: 2 })
  const id = computeTaskId(task)
  const data = await loadDataset(task.dataset)
  const parts = partition(data.trainY, 3, 'iid', 1).map(p => p.subarray(0, 2000))
  const m0 = initialParams(task.model, data.inputShape, data.classes, task.seed)
  const trainer = createTrainer({ backend: 'auto' })
  const nodes: PeerNode[] = []
  const drivers: RoundDriver[] = []
  const records: RoundRecord[][] = [[], [], []]
  const keys = [await generateKeyPair('Ed25519'), await generateKeyPair('Ed25519'), await generateKeyPair('Ed25519'), await generateKeyPair('Ed25519')]
  const rogueKey = keys[3]
  try {
    for (let i = 0; i < 4; i++) nodes.push(await createPeerNode({ listen: [`/memory/rogue-test-${process.pid}-${i}`], transports: ['memory'], privateKey: keys[i] }))
    await linkPeers(nodes, { degree: 3, seed: 1 })
    const rogue = createGossip(nodes[3])
    const topic = roundTopic(id)
    rogue.subscribe(topic)
    const controller = new AbortController()
    const running: Array<Promise<void>> = []
    for (let i = 0; i < 3; i++) {
      const d = new RoundDriver({
        task, taskId: id, key: keys[i],
        channel: createSwarmChannel(nodes[i], { taskId: id }),
        updates: createUpdateSource({ task, trainer, dataset: task.dataset, indices: parts[i], salt: i }),
        model: { round: 0, params: m0 },
        meshPeers: 2,
        onRound: (rec) => { records[i].push(rec) }
      })
      drivers.push(d)
      running.push(d.run({ signal: controller.signal }))
    }
    await rogue.waitForMesh(topic, { minPeers: 2, timeoutMs: 15000 })
    // The rogue: malformed bytes, a forged task, a wrong base, an update from a non-member, a replayed
    // round-0 message, and an oversize message. All signed by the rogue itself where signing applies.
    const header = { task: sha256(new TextEncoder().encode(id)) as any, round: 1, attempt: 0, base: sha256(float32Bytes(m0)) as any }
    const junk: Uint8Array[] = [
      new Uint8Array([0xff, 0x00, 0x13, 0x37]),
      await sealMessage(rogueKey, { ...header, task: sha256(new Uint8Array([1])) as any, join: { encPub: new Uint8Array(32) as any, maskPub: new Uint8Array(32) as any, addrs: [] } }),
      await sealMessage(rogueKey, { ...header, base: sha256(new Uint8Array([2])) as any, join: { encPub: new Uint8Array(32) as any, maskPub: new Uint8Array(32) as any, addrs: [] } }),
      await sealMessage(rogueKey, { ...header, task: Buffer.from(id, 'hex') as any, base: sha256(float32Bytes(m0)) as any, update: { cohortHash: new Uint8Array(32) as any, weight: 1, encoding: 1, length: m0.length, vector: new Uint8Array(0) as any, blobHash: new Uint8Array(32) as any, scale: 0 } }),
      await sealMessage(rogueKey, { ...header, task: Buffer.from(id, 'hex') as any, round: 0, join: { encPub: new Uint8Array(32) as any, maskPub: new Uint8Array(32) as any, addrs: [] } })
    ]
    for (const j of junk) await rogue.publish(topic, j).catch(() => {})
    await rogue.publish(topic, new Uint8Array(MAX_GOSSIP_BYTES + 1024)).catch(() => {})
    let timer: NodeJS.Timeout | undefined
    await Promise.race([Promise.all(running), new Promise(resolve => { timer = setTimeout(resolve, 200_000) })])
    clearTimeout(timer)
    controller.abort()
    for (let i = 0; i < 3; i++) assert.equal(records[i].length, 2, `peer ${i} completed ${records[i].length} rounds`)
    for (let r = 0; r < 2; r++) assert.equal(new Set(records.map(rs => rs[r].modelHash)).size, 1, `round ${r + 1} disagreement`)
    const rejected = drivers.reduce((s, d) => s + d.rejected, 0)
    assert.ok(rejected >= 3, `only ${rejected} messages rejected`)
  } finally {
    for (const d of drivers) d.stop()
    await Promise.all(nodes.map(async n => await n.stop()))
    await trainer.close()
  }
})
