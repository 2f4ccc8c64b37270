// The round state machine on its own: transitions, leader choice and fallback, validation (Invariant 4)
// and the survivor rules, driven by a small synchronous harness with real keys and real signatures.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { RoundMachine, rankKey, Phase, assertTransition, TransitionError } from '../src/round/index.ts'
import type { Effect, RoundParams } from '../src/round/index.ts'
import { openMessage, sealMessage, sha256, compareBytes, ENCODING_FLOAT32 } from '../src/wire/index.ts'
import type { RoundMessage, VerifiedMessage } from '../src/wire/index.ts'

const TASK = sha256(new TextEncoder().encode('task'))
const BASE = sha256(new TextEncoder().encode('M0'))
const LEN = 8

interface Peer { key: PrivateKey, id: string, bytes: Uint8Array, machine: RoundMachine, effects: Effect[], alive: boolean }

async function makePeers (n: number, over: Partial<RoundParams> = {}): Promise<Peer[]> {
  const peers: Peer[] = []
  for (let i = 0; i < n; i++) {
    const key = await generateKeyPair('Ed25519')
    const pid = peerIdFromPrivateKey(key)
    const params: RoundParams = {
      task: TASK, round: 1, attempt: 0, base: BASE, self: pid.toMultihash().bytes, selfId: pid.toString(),
      cohortSize: n, minSurvivors: 2, modelLength: LEN, joinMs: 1000, cohortMs: 1000, updateMs: 5000, survivorsMs: 5000,
      maxFallbacks: 3, eligible: true, encPub: new Uint8Array(32).fill(i + 1), maskPub: new Uint8Array(32).fill(i + 101), ...over
    }
    peers.push({ key, id: pid.toString(), bytes: params.self, machine: new RoundMachine(params), effects: [], alive: true })
  }
  return peers
}

/** Delivers a message to every live peer (its author included) through validate + handle. */
class Net {
  peers: Peer[]
  verdicts: Array<{ to: string, action: string, reason?: string }> = []
  constructor (peers: Peer[]) { this.peers = peers }

  async send (from: Peer, message: RoundMessage): Promise<VerifiedMessage> {
    const vm = await openMessage(await sealMessage(from.key, message))
    await this.deliver(vm)
    return vm
  }

  async deliver (vm: VerifiedMessage): Promise<void> {
    for (const p of this.peers) {
      if (!p.alive) continue
      const v = p.machine.validate(vm)
      this.verdicts.push({ to: p.id, action: v.action, reason: 'reason' in v ? v.reason : undefined })
      if (v.action === 'accept') await this.run(p, p.machine.handle({ type: 'message', message: vm, hash: sha256(vm.bytes) }, 0))
    }
  }

  /** Carries out publish effects at once; keeps the rest for the test to inspect. */
  async run (p: Peer, effects: Effect[]): Promise<void> {
    for (const e of effects) {
      p.effects.push(e)
      if (e.type === 'publish') await this.send(p, e.message)
      if (e.type === 'publish-update') await this.send(p, header({ update: { cohortHash: e.cohortHash as any, weight: 10, encoding: ENCODING_FLOAT32, length: LEN, vector: new Uint8Array(LEN * 4) as any, blobHash: sha256(new Uint8Array(LEN * 4)) as any, scale: 0 } }))
    }
  }

  async fire (p: Peer, name: any): Promise<void> { await this.run(p, p.machine.handle({ type: 'timer', name }, 0)) }
}

function header (body: Partial<RoundMessage>, over: Partial<RoundMessage> = {}): RoundMessage {
  return { task: TASK as any, round: 1, attempt: 0, base: BASE as any, ...body, ...over }
}

function byRank (peers: Peer[]): Peer[] {
  return [...peers].sort((a, b) => compareBytes(rankKey(BASE, 1, 0, a.bytes), rankKey(BASE, 1, 0, b.bytes)))
}

async function startAll (net: Net): Promise<void> {
  for (const p of net.peers) await net.run(p, p.machine.handle({ type: 'start' }, 0))
  for (const p of net.peers) await net.fire(p, 'join')
}

test('transition table rejects illegal moves', () => {
  assertTransition(Phase.Join, Phase.Cohort)
  assert.throws(() => assertTransition(Phase.Join, Phase.Done), TransitionError)
  assert.throws(() => assertTransition(Phase.Done, Phase.Join), TransitionError)
})

test('happy path: rank-0 leader, all members, same survivor list everywhere', async () => {
  const peers = await makePeers(4)
  const net = new Net(peers)
  await startAll(net)
  const ranked = byRank(peers)
  const leaderTimer = ranked[0].effects.find(e => e.type === 'set-timer' && e.name === 'leader')
  assert.deepEqual(leaderTimer, { type: 'set-timer', name: 'leader', ms: 0 })
  const fallback = ranked[2].effects.find(e => e.type === 'set-timer' && e.name === 'leader')
  assert.deepEqual(fallback, { type: 'set-timer', name: 'leader', ms: 2000 })
  await net.fire(ranked[0], 'leader')
  for (const p of peers) assert.equal(p.machine.phase, Phase.Update)
  for (const p of peers) assert.equal(p.machine.cohort?.leader, ranked[0].id)
  for (const p of peers) await net.run(p, p.machine.handle({ type: 'trained' }, 0))
  for (const p of peers) {
    // Peers that saw the survivor list before the last update asked for it, then went on when it came.
    const fetch = p.effects.find(e => e.type === 'fetch-updates')
    if (fetch != null && fetch.type === 'fetch-updates') assert.equal(fetch.updates.length, 1)
    assert.equal(p.machine.phase, Phase.Aggregate, `${p.id} in ${p.machine.phase}`)
    const agg = p.effects.find(e => e.type === 'aggregate')
    assert.ok(agg != null && agg.type === 'aggregate')
    assert.equal(agg.survivors.length, 4)
  }
  const hashes = new Set(peers.map(p => Buffer.from(p.machine.survivors!.hash).toString('hex')))
  assert.equal(hashes.size, 1)
  for (const p of peers) {
    const effects = p.machine.handle({ type: 'aggregated', modelHash: new Uint8Array(32) }, 0)
    assert.ok(effects.some(e => e.type === 'done'))
    assert.equal(p.machine.phase, Phase.Done)
  }
})

test('leader fallback: a dead rank-0 leader is replaced by rank 1 one timeout later', async () => {
  const peers = await makePeers(4)
  const net = new Net(peers)
  await startAll(net)
  const ranked = byRank(peers)
  ranked[0].alive = false // crashes after joining
  const t1 = ranked[1].effects.find(e => e.type === 'set-timer' && e.name === 'leader')
  assert.deepEqual(t1, { type: 'set-timer', name: 'leader', ms: 1000 })
  await net.fire(ranked[1], 'leader')
  for (const p of peers.filter(p => p.alive)) {
    assert.equal(p.machine.cohort?.leader, ranked[1].id)
    assert.equal(p.machine.cohort?.rank, 1)
  }
  // The cohort names the dead peer too (it joined); the leader closes the list without it.
  for (const p of peers.filter(p => p.alive)) await net.run(p, p.machine.handle({ type: 'trained' }, 0))
  assert.equal(ranked[1].machine.phase, Phase.Update)
  await net.fire(ranked[1], 'straggler')
  for (const p of peers.filter(p => p.alive)) {
    assert.equal(p.machine.survivors?.list.length, 3)
    assert.equal(p.machine.phase, Phase.Aggregate)
  }
})

test('no cohort before the deadline aborts the attempt', async () => {
  const peers = await makePeers(3)
  const net = new Net(peers)
  await startAll(net)
  const p = peers[0]
  const effects = p.machine.handle({ type: 'timer', name: 'cohort-deadline' }, 0)
  assert.ok(effects.some(e => e.type === 'abort'))
  assert.equal(p.machine.phase, Phase.Aborted)
})

test('fewer updates than the threshold abort instead of publishing survivors', async () => {
  const peers = await makePeers(4, { minSurvivors: 3 })
  const net = new Net(peers)
  await startAll(net)
  const ranked = byRank(peers)
  await net.fire(ranked[0], 'leader')
  await net.run(ranked[0], ranked[0].machine.handle({ type: 'trained' }, 0))
  await net.run(ranked[1], ranked[1].machine.handle({ type: 'trained' }, 0))
  await net.fire(ranked[0], 'update-deadline')
  assert.equal(ranked[0].machine.phase, Phase.Aborted)
  assert.match(ranked[0].machine.abortReason ?? '', /only 2 of 4 updates/)
})

test('validation: wrong task, wrong base, other round, non-member, duplicate, bad length, equivocation', async () => {
  const peers = await makePeers(4, { cohortSize: 3 })
  const outsider = (await makePeers(1))[0]
  const net = new Net(peers)
  await startAll(net)
  const ranked = byRank(peers)
  await net.fire(ranked[0], 'leader')
  const obs = peers.find(p => p.machine.cohort != null)!
  const cohortHash = obs.machine.cohort!.hash
  const member = peers.find(p => obs.machine.cohort!.memberIds.has(p.id))!
  const nonMember = peers.find(p => !obs.machine.cohort!.memberIds.has(p.id))!
  const upd = (length = LEN) => ({ update: { cohortHash: cohortHash as any, weight: 5, encoding: 1, length, vector: new Uint8Array(length * 4) as any, blobHash: sha256(new Uint8Array(4)) as any, scale: 0 } })
  const verdictOf = async (from: PrivateKey, m: RoundMessage) => obs.machine.validate(await openMessage(await sealMessage(from, m)))

  assert.deepEqual(await verdictOf(member.key, header(upd(), { task: sha256(new Uint8Array(1)) as any })), { action: 'reject', reason: 'wrong task' })
  assert.deepEqual(await verdictOf(member.key, header(upd(), { base: sha256(new Uint8Array(2)) as any })), { action: 'reject', reason: 'wrong base model' })
  assert.equal((await verdictOf(member.key, header(upd(), { round: 2 }))).action, 'ignore')
  assert.deepEqual(await verdictOf(nonMember.key, header(upd())), { action: 'reject', reason: 'update from a non-member' })
  assert.deepEqual(await verdictOf(outsider.key, header(upd())), { action: 'reject', reason: 'update from a non-member' })
  assert.match((await verdictOf(member.key, header(upd(LEN + 1)))).action, /reject/)
  assert.equal((await verdictOf(member.key, header({ update: upd().update, join: { encPub: new Uint8Array(32) as any, maskPub: new Uint8Array(32) as any, addrs: [] } }))).action, 'reject')
  await net.send(member, header(upd()))
  assert.deepEqual(await verdictOf(member.key, header(upd())), { action: 'reject', reason: 'duplicate update' })
  // Equivocation: the leader publishes a second, different cohort.
  const second = { cohort: { rank: 0, threshold: 2, members: obs.machine.cohort!.members.slice(0, 2) } }
  const v = await verdictOf(ranked[0].key, header(second))
  assert.deepEqual(v, { action: 'reject', reason: 'leader equivocation: second, different cohort' })
  // A machine that still takes it (e.g. relayed through sync) aborts the round.
  const vm = await openMessage(await sealMessage(ranked[0].key, header(second)))
  const effects = obs.machine.handle({ type: 'message', message: vm, hash: sha256(vm.bytes) }, 0)
  assert.ok(effects.some(e => e.type === 'penalize'))
  assert.equal(obs.machine.phase, Phase.Aborted)
})

test('a survivor list from anyone but the leader, or naming a non-member, is rejected', async () => {
  const peers = await makePeers(4, { cohortSize: 3 })
  const net = new Net(peers)
  await startAll(net)
  const ranked = byRank(peers)
  await net.fire(ranked[0], 'leader')
  const obs = ranked[1]
  const c = obs.machine.cohort!
  const members = c.members.map(m => ({ peer: m.peer, updateHash: sha256(m.peer) as any }))
  const notLeader = peers.find(p => p.id !== c.leader)!
  const v1 = obs.machine.validate(await openMessage(await sealMessage(notLeader.key, header({ survivors: { cohortHash: c.hash as any, survivors: members } }))))
  assert.deepEqual(v1, { action: 'reject', reason: 'survivor list not from the cohort leader' })
  const stranger = (await makePeers(1))[0]
  const withStranger = [...members, { peer: stranger.bytes as any, updateHash: sha256(stranger.bytes) as any }].sort((a, b) => compareBytes(a.peer, b.peer))
  const v2 = obs.machine.validate(await openMessage(await sealMessage(ranked[0].key, header({ survivors: { cohortHash: c.hash as any, survivors: withStranger } }))))
  assert.deepEqual(v2, { action: 'reject', reason: 'survivor list names a non-member' })
})

test('a leader that dies after the cohort costs the others one short timeout, not the update window', async () => {
  const peers = await makePeers(4)
  const net = new Net(peers)
  await startAll(net)
  const ranked = byRank(peers)
  await net.fire(ranked[0], 'leader')
  ranked[0].alive = false
  const rest = ranked.slice(1)
  for (const p of rest) await net.run(p, p.machine.handle({ type: 'trained' }, 1000))
  for (const p of rest) {
    // Every survivor saw 3 of 4 updates (>= half): each runs the straggler clock itself.
    assert.ok(p.effects.some(e => e.type === 'set-timer' && e.name === 'straggler'), 'straggler clock armed')
    await net.fire(p, 'straggler')
    const due = p.effects.filter(e => e.type === 'set-timer' && e.name === 'survivors-deadline').at(-1)
    assert.deepEqual(due, { type: 'set-timer', name: 'survivors-deadline', ms: 5000 })
    await net.fire(p, 'survivors-deadline')
    assert.equal(p.machine.phase, Phase.Aborted)
    assert.match(p.machine.abortReason ?? '', /no survivor list/)
  }
})

test('the join window stays open once more while fewer joins than expected have arrived', async () => {
  const peers = await makePeers(4, { expectedJoins: 4 })
  const net = new Net(peers)
  const late = peers[3]
  late.alive = false // its join is not delivered yet
  for (const p of peers.slice(0, 3)) await net.run(p, p.machine.handle({ type: 'start' }, 0))
  const p0 = peers[0]
  await net.fire(p0, 'join')
  assert.equal(p0.machine.phase, Phase.Join, 'window extended')
  assert.deepEqual(p0.effects.filter(e => e.type === 'set-timer' && e.name === 'join').length, 2)
  await net.fire(p0, 'join')
  assert.equal(p0.machine.phase, Phase.Cohort, 'extended only once')
})

test('only a joiner ranked within the fallbacks may publish a cohort; an unknown author is ignored', async () => {
  const peers = await makePeers(6)
  const outsider = (await makePeers(1))[0]
  const net = new Net(peers)
  await startAll(net)
  const ranked = byRank(peers)
  const obs = ranked[0].machine
  const members = [...ranked.slice(0, 3)].sort((a, b) => compareBytes(a.bytes, b.bytes))
    .map(p => ({ peer: p.bytes as any, encPub: p.machine.params.encPub as any, maskPub: p.machine.params.maskPub as any }))
  const cohort = header({ cohort: { rank: 0, threshold: 2, members } })
  const verdictOf = async (from: Peer) => obs.validate(await openMessage(await sealMessage(from.key, cohort)))
  assert.deepEqual(await verdictOf(ranked[5]), { action: 'reject', reason: 'cohort from the joiner ranked 5, beyond the 3 fallbacks' })
  assert.deepEqual(await verdictOf(ranked[4]), { action: 'reject', reason: 'cohort from the joiner ranked 4, beyond the 3 fallbacks' })
  assert.deepEqual(await verdictOf(ranked[3]), { action: 'accept' })
  assert.deepEqual(await verdictOf(outsider), { action: 'ignore', reason: 'cohort from a peer whose join this peer has not seen' })
})
