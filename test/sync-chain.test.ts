// State sync over the verified round-record chain (src/round/chain.ts, chain-wire.ts, the driver's
// syncHead): pure tests of the verifier and the vote ranking (fast-check: any single-field mutation of a
// valid chain is rejected), the data-dir round trip of links, then real libp2p swarms over the memory
// transport: a late joiner syncs the chain from restarted peers and takes part in the next round with
// the same model; peers that serve tampered chains are rejected by name and the joiner syncs from an
// honest one.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { createTask, taskId as computeTaskId } from '../src/config/index.ts'
import type { Task } from '../src/config/types.ts'
import { createTrainer, initialParams, loadDataset, partition } from '../src/learning/index.ts'
import { createPeerNode, linkPeers } from '../src/net/index.ts'
import type { PeerNode } from '../src/net/index.ts'
import { createSwarmChannel } from '../src/net/swarm-channel.ts'
import type { SwarmChannel } from '../src/round/channel.ts'
import { RoundDriver } from '../src/round/driver.ts'
import type { RoundRecord } from '../src/round/driver.ts'
import { createUpdateSource } from '../src/peer/update-source.ts'
import {
  ChainError, LINK_FIELDS, chainConflict, chainEndingAt, chainProblem, linksFromRecords, rankChains, verifyChain
} from '../src/round/chain.ts'
import type { ChainAnswer, ChainLink, LinkField } from '../src/round/chain.ts'
import { ChainWireError, linkFromWire, openChainPage, signChainPage } from '../src/round/chain-wire.ts'
import { ChainPage, SyncResponse, float32Bytes, fromHex, sha256, toHex } from '../src/wire/index.ts'

// ------------------------------------------------------------------ pure: verifier and ranking

const PAGE = 256
const hexArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(b => toHex(b))

/** A valid chain of 1..8 links from some round, with the anchor and head it verifies against. */
const chainArb = fc.record({
  from: fc.integer({ min: 1, max: 10_000 }),
  base: hexArb,
  steps: fc.array(fc.record({ attempt: fc.nat({ max: 6 }), cohortHash: hexArb, survivorsHash: hexArb, resultHash: hexArb }), { minLength: 1, maxLength: 8 })
}).map(({ from, base, steps }) => {
  const links: ChainLink[] = []
  let prev = base
  steps.forEach((s, i) => {
    links.push({ round: from + i, attempt: s.attempt, baseHash: prev, cohortHash: s.cohortHash, survivorsHash: s.survivorsHash, resultHash: s.resultHash })
    prev = s.resultHash
  })
  const last = links[links.length - 1]
  return { from, base, links, head: { round: last.round, model: last.resultHash } }
})

/** A different value for one field: well-formed or not. */
function otherValue (field: LinkField, old: string | number): fc.Arbitrary<string | number> {
  const arb: fc.Arbitrary<string | number> = field === 'round' || field === 'attempt'
    ? fc.oneof(fc.integer({ min: -3, max: 20_000 }), fc.constantFrom(0.5, Number.NaN, 2 ** 60))
    : fc.oneof(hexArb, hexArb.map(h => h.toUpperCase()), hexArb.map(h => h.slice(2)), fc.constant(''))
  return arb.filter(v => !Object.is(v, old))
}

const mutationArb = chainArb.chain(c => fc.record({
  i: fc.integer({ min: 0, max: c.links.length - 1 }),
  field: fc.constantFrom(...LINK_FIELDS)
}).chain(({ i, field }) => otherValue(field, c.links[i][field]).map(value => {
  const links = c.links.map(l => ({ ...l }))
  ;(links[i] as any)[field] = value
  return { c, i, field, value, links }
})))

test('chain verifier: a valid chain passes; round, baseHash and resultHash mutations are caught from the links alone', () => {
  fc.assert(fc.property(chainArb, c => {
    verifyChain(c.links, { from: c.from, base: c.base, head: c.head, pageLinks: PAGE })
  }), { numRuns: 300 })
  fc.assert(fc.property(mutationArb.filter(m => ['round', 'baseHash', 'resultHash'].includes(m.field)), m => {
    const { c, i } = m
    assert.throws(() => verifyChain(m.links, { from: c.from, base: c.base, head: c.head, pageLinks: PAGE }), (err: unknown) => {
      assert.ok(err instanceof ChainError)
      // The broken link is the mutated one, or (a resultHash) the one after it.
      assert.ok(err.round === c.links[i].round || err.round === c.links[i].round + 1, `${err.message} (mutated link ${i})`)
      return true
    })
  }), { numRuns: 500 })
})

test('chain ranking: any single-field mutation of a valid chain is rejected when two peers vouch for the original', () => {
  fc.assert(fc.property(mutationArb, m => {
    const { c } = m
    const answers: ChainAnswer[] = [
      { peer: 'honest-a', head: c.head, links: c.links },
      { peer: 'liar', head: c.head, links: m.links },
      { peer: 'honest-b', head: c.head, links: c.links }
    ]
    const { candidates, rejected } = rankChains(answers, { from: c.from, base: c.base, pageLinks: PAGE })
    assert.deepEqual(rejected.map(r => r.peer), ['liar'], `not rejected: ${m.field} of link ${m.i} -> ${String(m.value)}`)
    assert.match(rejected[0].reason, new RegExp(`round (${c.links[m.i].round}|${c.links[m.i].round + 1})\\b`))
    assert.equal(candidates.length, 1)
    assert.deepEqual(candidates[0].links, c.links)
    assert.deepEqual(candidates[0].voters.sort(), ['honest-a', 'honest-b'])
  }), { numRuns: 500 })
})

test('chain verifier: explicit cases name the broken link', () => {
  const h = (n: number): string => toHex(sha256(Uint8Array.of(n)))
  const links: ChainLink[] = [1, 2, 3].map(r => ({ round: r, attempt: 0, baseHash: h(r - 1), cohortHash: h(100 + r), survivorsHash: h(200 + r), resultHash: h(r) }))
  const init = { from: 1, base: h(0), head: { round: 3, model: h(3) }, pageLinks: PAGE }
  verifyChain(links, init)
  const broken = links.map(l => ({ ...l }))
  broken[1].baseHash = h(99)
  assert.match(chainProblem(broken, init)!, /^round 2: baseHash .* is not the resultHash .* of round 1$/)
  assert.match(chainProblem(links, { ...init, base: h(42) })!, /^round 1: baseHash .* is not this peer's model/)
  assert.match(chainProblem(links, { ...init, head: { round: 3, model: h(7) } })!, /^round 3: resultHash .* is not the head model/)
  assert.match(chainProblem(links.slice(0, 2), init)!, /stops at round 2, before the head round 3/)
  assert.match(chainProblem([], init)!, /no link for round 1/)
  assert.match(chainProblem(links, { ...init, from: 2 })!, /link 0 is round 1, expected round 2/)
  // A full page may stop short of the head (the next page continues it).
  assert.equal(chainProblem(links.slice(0, 2), { ...init, pageLinks: 2 }), undefined)
  assert.match(chainProblem(links, { ...init, pageLinks: 2 })!, /more than a page/)
  // Chains that extend one another do not conflict; a differing field at a shared round does.
  assert.equal(chainConflict(links, links.slice(0, 2)), undefined)
  assert.deepEqual(chainConflict(links, broken), { round: 2, field: 'baseHash' })
})

test('chain links round-trip through round records, and a restart keeps only the chain that leads to its model', () => {
  const h = (n: number): string => toHex(sha256(Uint8Array.of(n)))
  const link = (r: number, base: number, result: number): ChainLink => ({ round: r, attempt: 0, baseHash: h(base), cohortHash: h(100 + r), survivorsHash: h(200 + r), resultHash: h(result) })
  const asRecord = (l: ChainLink, extra: Record<string, unknown> = {}): Record<string, unknown> => {
    const { resultHash, ...rest } = l
    return { ...rest, modelHash: resultHash, via: 'aggregate', accuracy: 0.9, ...extra }
  }
  const records = JSON.parse(JSON.stringify([
    { round: 1, modelHash: h(1), via: 'aggregate' }, // an old record without link fields
    asRecord(link(3, 2, 3), { via: 'sync', syncedLinks: [link(1, 0, 1), link(2, 1, 2)] }),
    asRecord(link(4, 3, 4)),
    asRecord(link(4, 3, 44)), // a fork nobody built on
    asRecord(link(5, 4, 5)) // after the last checkpoint the peer restarts from
  ]))
  const links = linksFromRecords(records)
  assert.equal(links.length, 6)
  const chain = chainEndingAt(links, { round: 4, model: h(4) })
  assert.deepEqual(chain.map(l => [l.round, l.resultHash]), [[1, h(1)], [2, h(2)], [3, h(3)], [4, h(4)]])
  // The checkpoint's own record lost: the chain ends one round before it, if that round is unambiguous.
  assert.deepEqual(chainEndingAt(links, { round: 4, model: h(9) }).map(l => l.round), [1, 2, 3])
  assert.deepEqual(chainEndingAt(links, { round: 5, model: h(9) }), [], 'two links of round 4: ambiguous')
  assert.deepEqual(chainEndingAt(links, { round: 0, model: h(0) }), [])
})

test('signed chain pages: round trip, the signer is the peer; a forged signature or another task is refused', async () => {
  const key = await generateKeyPair('Ed25519')
  const other = await generateKeyPair('Ed25519')
  const task = sha256(Uint8Array.of(7))
  const h = (n: number): string => toHex(sha256(Uint8Array.of(n)))
  const links: ChainLink[] = [{ round: 1, attempt: 2, baseHash: h(0), cohortHash: h(10), survivorsHash: h(20), resultHash: h(1) }]
  const s = await signChainPage(key, { task, head: { round: 1, model: h(1) }, links })
  const answer = await openChainPage(s, { task, maxLinks: PAGE })
  assert.deepEqual(answer.links, links)
  assert.deepEqual(answer.head, { round: 1, model: h(1) })
  const { peerIdFromPrivateKey } = await import('@libp2p/peer-id')
  assert.equal(answer.peer, peerIdFromPrivateKey(key).toString())
  const forged = { ...s, signer: (await signChainPage(other, { task, head: { round: 1, model: h(1) }, links })).signer }
  await assert.rejects(openChainPage(forged, { task, maxLinks: PAGE }), (err: unknown) => err instanceof ChainWireError && /bad signature/.test(err.message))
  await assert.rejects(openChainPage(s, { task: sha256(Uint8Array.of(8)), maxLinks: PAGE }), /another task/)
  await assert.rejects(openChainPage(s, { task, maxLinks: 0 }), /malformed/)
})

// ------------------------------------------------------------------ real swarms

const smallTask = (over: Record<string, unknown> = {}): Task => createTask({
  model: { kind: 'mlp', hidden: [32] },
  timeouts: { joinMs: 3000, cohortMs: 1500, updateMs: 60000, survivorsMs: 10000 },
  ...over
})

interface Swarm {
  task: Task
  id: string
  nodes: PeerNode[]
  keys: PrivateKey[]
  m0: Float32Array
  source: (i: number) => ReturnType<typeof createUpdateSource>
  close: () => Promise<void>
}

async function makeSwarm (task: Task, n: number, tag: string): Promise<Swarm> {
  const id = computeTaskId(task)
  const data = await loadDataset(task.dataset)
  const parts = partition(data.trainY, n, 'iid', 1).map(p => p.subarray(0, 1500))
  const m0 = initialParams(task.model, data.inputShape, data.classes, task.seed)
  const trainer = createTrainer({ backend: 'auto' })
  const keys: PrivateKey[] = []
  const nodes: PeerNode[] = []
  for (let i = 0; i < n; i++) keys.push(await generateKeyPair('Ed25519'))
  for (let i = 0; i < n; i++) nodes.push(await createPeerNode({ listen: [`/memory/sync-chain-${tag}-${process.pid}-${i}`], transports: ['memory'], privateKey: keys[i] }))
  await linkPeers(nodes, { degree: n - 1, seed: 1 })
  return {
    task, id, nodes, keys, m0,
    source: (i) => createUpdateSource({ task, trainer, dataset: task.dataset, indices: parts[i], salt: i }),
    close: async () => {
      await Promise.all(nodes.map(async nd => await nd.stop()))
      await trainer.close()
    }
  }
}

/** Runs drivers to the end, bounded; stops them all on the way out. */
async function runAll (drivers: RoundDriver[], ms: number): Promise<void> {
  const controller = new AbortController()
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<void>((resolve) => { timer = setTimeout(() => { controller.abort(); resolve() }, ms) })
  try {
    await Promise.race([Promise.all(drivers.map(async d => await d.run({ signal: controller.signal }))), deadline])
  } finally {
    clearTimeout(timer)
    controller.abort()
  }
}

const linkOf = (r: RoundRecord): ChainLink => ({ round: r.round, attempt: r.attempt, baseHash: r.baseHash, cohortHash: r.cohortHash, survivorsHash: r.survivorsHash, resultHash: r.modelHash })

test('a late joiner syncs the verified chain from restarted peers, adopts the head and takes part in the next round', { timeout: 300_000 }, async () => {
  const task = smallTask({ rounds: 3, cohort: { size: 4, minSurvivors: 2 } })
  const sw = await makeSwarm(task, 4, 'late')
  const channels: SwarmChannel[] = []
  try {
    // Rounds 1-2: three peers; node 3 is up and linked but runs no driver yet.
    const records: RoundRecord[][] = [[], [], [], []]
    const first: RoundDriver[] = []
    for (let i = 0; i < 3; i++) {
      channels[i] = createSwarmChannel(sw.nodes[i], { taskId: sw.id })
      first.push(new RoundDriver({
        task, taskId: sw.id, key: sw.keys[i], channel: channels[i], updates: sw.source(i),
        model: { round: 0, params: sw.m0 }, meshPeers: 2, lastRound: 2,
        onRound: (rec) => { records[i].push(rec) }
      }))
    }
    await runAll(first, 120_000)
    for (let i = 0; i < 3; i++) assert.deepEqual(records[i].map(r => [r.round, r.via]), [[1, 'aggregate'], [2, 'aggregate']], `peer ${i}`)
    const chain = first[0].chain
    assert.equal(chain.length, 2)
    assert.equal(chain[0].baseHash, toHex(sha256(float32Bytes(sw.m0))))
    assert.equal(chain[1].baseHash, chain[0].resultHash)
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(first[i].chain, chain, `peer ${i} computed another chain`)
      assert.deepEqual(records[i].map(linkOf), chain, `peer ${i}'s records carry other links`)
    }

    // Round 3: the three restart (new drivers, chain rebuilt from their records as the node command
    // does from its data dir) and node 3 joins from round 0. Peer 2 lost its round-2 record (killed
    // between saving the checkpoint and appending the record): it fetches that link back.
    const second: RoundDriver[] = []
    for (let i = 0; i < 3; i++) {
      await channels[i].close()
      channels[i] = createSwarmChannel(sw.nodes[i], { taskId: sw.id })
      const stored = JSON.parse(JSON.stringify(i === 2 ? records[i].slice(0, 1) : records[i])) as Array<Record<string, unknown>>
      if (i === 2) records[i].pop()
      second.push(new RoundDriver({
        task, taskId: sw.id, key: sw.keys[i], channel: channels[i], updates: sw.source(i),
        model: { round: 2, params: first[i].model.params }, meshPeers: 3, lastRound: 3,
        chain: linksFromRecords(stored),
        onRound: (rec) => { records[i].push(rec) }
      }))
      assert.deepEqual(second[i].chain, i === 2 ? chain.slice(0, 1) : chain, `restarted peer ${i} did not rebuild its chain`)
    }
    const logs: string[] = []
    channels[3] = createSwarmChannel(sw.nodes[3], { taskId: sw.id })
    const joiner = new RoundDriver({
      task, taskId: sw.id, key: sw.keys[3], channel: channels[3], updates: sw.source(3),
      model: { round: 0, params: sw.m0 }, meshPeers: 3, lastRound: 3,
      log: (line) => logs.push(line),
      onRound: (rec) => { records[3].push(rec) }
    })
    await runAll([...second, joiner], 120_000)

    const j = records[3]
    assert.deepEqual(j.map(r => [r.round, r.via]), [[2, 'sync'], [3, 'aggregate']], `joiner records; log:\n${logs.join('\n')}`)
    assert.deepEqual(j[0].syncedLinks, [chain[0]])
    assert.deepEqual(linkOf(j[0]), chain[1])
    assert.ok(j[1].member, 'the joiner was not in the round-3 cohort')
    assert.equal(j[1].cohort, 4)
    assert.deepEqual(records[2].map(r => [r.round, r.via]), [[1, 'aggregate'], [2, 'sync'], [3, 'aggregate']], 'peer 2 did not recover its round-2 link')
    assert.deepEqual(linkOf(records[2][1]), chain[1])
    for (let i = 0; i < 3; i++) assert.equal(records[i][2].modelHash, j[1].modelHash, `peer ${i} disagrees on round 3`)
    for (let i = 0; i < 3; i++) assert.deepEqual(second[i].chain, joiner.chain, `peer ${i} holds another chain`)
    assert.equal(joiner.chain.length, 3)
    assert.deepEqual(linksFromRecords(JSON.parse(JSON.stringify(j))), joiner.chain, 'the joiner\'s records do not carry its chain')
    // Peer 2 vouches too once it has its link back; if the joiner asked before, peer 2's chain was short.
    assert.ok(logs.some(l => /^synced to round 2 .*2 chain link\(s\) from round 1 verified, vouched for by [23] peer\(s\)$/.test(l)), logs.join('\n'))
    for (const l of logs.filter(x => x.startsWith('chain sync: rejected'))) assert.match(l, new RegExp(`${sw.nodes[2].peerId.toString()}: the chain stops at round 1, before the head round 2`))
    assert.equal(joiner.mismatches + second.reduce((s, d) => s + d.mismatches, 0), 0)
  } finally {
    await Promise.all(channels.map(async c => await c?.close().catch(() => {})))
    await sw.close()
  }
})

/**
 * A channel whose sync answers go through `edit`: the honest handler answers, then the page is changed
 * and signed again with the peer's own key (a lying peer, not a forged one). `edit` returns undefined to
 * leave an answer alone.
 */
function lyingChannel (channel: SwarmChannel, key: PrivateKey, edit: (a: ChainAnswer) => ChainAnswer | undefined): SwarmChannel {
  const serve = channel.serveSync.bind(channel)
  channel.serveSync = (handler) => serve(async (req, from) => {
    const bytes = await handler(req, from)
    const res = SyncResponse.decode(bytes)
    if (res.chain == null) return bytes
    const page = ChainPage.decode(res.chain.page)
    const bad = edit({ peer: '', head: { round: page.headRound, model: toHex(page.headModel) }, links: page.links.map(linkFromWire) })
    if (bad == null) return bytes
    res.chain = await signChainPage(key, { task: page.task, head: bad.head, links: bad.links })
    res.headRound = bad.head.round
    res.headModel = fromHex(bad.head.model) as Uint8Array<ArrayBuffer>
    return SyncResponse.encode(res)
  })
  return channel
}

test('peers serving tampered chains are rejected by name and the joiner syncs from an honest peer', { timeout: 300_000 }, async () => {
  const task = smallTask({ rounds: 2, cohort: { size: 4, minSurvivors: 2 } })
  const sw = await makeSwarm(task, 5, 'liars')
  const channels: SwarmChannel[] = []
  const fake = toHex(sha256(new TextEncoder().encode('a model nobody has')))
  try {
    // Node 0 is honest. Liars, all of which train honestly but answer chain requests with:
    //   1: a round-2 link whose baseHash is not round 1's resultHash;
    //   2: a round-2 link whose resultHash is not the model it serves (its head);
    //   3: an extra round-3 link (and head) for a model nobody has: it verifies, so it is tried first
    //      (as many votes as the honest chain, and a later head) and rejected when the model cannot be had.
    const edits: Array<((a: ChainAnswer) => ChainAnswer | undefined) | undefined> = [
      undefined,
      (a) => a.links.length < 2 ? undefined : { ...a, links: [a.links[0], { ...a.links[1], baseHash: fake }] },
      (a) => a.links.length < 2 ? undefined : { ...a, links: [a.links[0], { ...a.links[1], resultHash: fake }] },
      (a) => a.links.length < 2 ? undefined : { ...a, head: { round: 3, model: fake }, links: [...a.links, { ...a.links[1], round: 3, baseHash: a.links[1].resultHash, resultHash: fake }] }
    ]
    const drivers: RoundDriver[] = []
    for (let i = 0; i < 4; i++) {
      const ch = createSwarmChannel(sw.nodes[i], { taskId: sw.id })
      channels[i] = edits[i] == null ? ch : lyingChannel(ch, sw.keys[i], edits[i]!)
      drivers.push(new RoundDriver({
        task, taskId: sw.id, key: sw.keys[i], channel: channels[i], updates: sw.source(i),
        model: { round: 0, params: sw.m0 }, meshPeers: 3
      }))
    }
    await runAll(drivers, 150_000)
    for (let i = 0; i < 4; i++) assert.equal(drivers[i].model.round, 2, `peer ${i} did not finish`)
    const honest = drivers[0]

    const logs: string[] = []
    const records: RoundRecord[] = []
    channels[4] = createSwarmChannel(sw.nodes[4], { taskId: sw.id })
    const joiner = new RoundDriver({
      task, taskId: sw.id, key: sw.keys[4], channel: channels[4], updates: sw.source(4),
      model: { round: 0, params: sw.m0 }, meshPeers: 4, syncFanout: 4,
      log: (line) => logs.push(line),
      onRound: (rec) => { records.push(rec) }
    })
    await runAll([joiner], 60_000)
    const all = logs.join('\n')
    const peer = (i: number): string => sw.nodes[i].peerId.toString()
    const rejections = logs.filter(l => l.startsWith('chain sync: rejected'))
    assert.equal(joiner.model.round, 2, all)
    assert.equal(joiner.model.hash, honest.model.hash)
    assert.deepEqual(joiner.chain, honest.chain)
    assert.deepEqual(records.map(r => [r.round, r.via]), [[2, 'sync']])
    for (const l of rejections) {
      const who = [1, 2, 3].filter(i => l.includes(peer(i)))
      assert.equal(who.length, 1, `a rejection must name one liar: ${l}`)
      assert.ok(!l.includes(peer(0)), `the honest peer was rejected: ${l}`)
    }
    // Each liar is rejected once, on one line that names it and its broken link.
    assert.equal(rejections.length, 3, all)
    const line = (i: number): string => rejections.find(l => l.includes(peer(i))) ?? assert.fail(`liar ${i} not rejected:\n${all}`)
    assert.match(line(1), /round 2: baseHash .* is not the resultHash .* of round 1$/)
    assert.match(line(2), /round 2: resultHash .* is not the head model/)
    assert.match(line(3), new RegExp(`round 3: its model ${fake.slice(0, 16)} cannot be used`))
    assert.ok(logs.some(l => /^synced to round 2 .*vouched for by 2 peer\(s\)$/.test(l)), all)
  } finally {
    await Promise.all(channels.map(async c => await c?.close().catch(() => {})))
    await sw.close()
  }
})
