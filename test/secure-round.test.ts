// Secure aggregation inside the round protocol, end to end at machine level: RoundMachines with
// `secure: true` driven by test/secure-round-harness.ts, which carries out every effect as the driver
// does with real keys, real share boxes, real masks and recoverSum, on a virtual clock.
//
// 1. Invariant 3 (dropouts), property: whoever drops in whichever phase (before its Shares, before its
//    update, before acking the survivor list, after acking but before its Unmask), the attempt either gives
//    every live peer the exact ring sum of the survivors' quantized inputs, or aborts cleanly on every
//    live peer, after which a fresh attempt of the live peers completes.
// 2. A masked update on the wire is uniform (chi-square on its bytes); the unmasked input is not.
// 3. An observer holding every message recovers the sum and, for each survivor, only something
//    uniform and far from its input.
// 4. An equivocating leader (a second survivor list) never gets t shares of both secrets of a member.
// 5. The positional wire form of Shares boxes and Unmask shares is checked (slots, sizes, kinds), and
//    direct shares (boxes kept by their author as one blob): the message forms, a crash right after the
//    Shares message (in the dropout property), a secret left short of t shares.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  agree, combineShares, pairwiseMaskSeed, publicKeyOf, ringSum, unmaskSum
} from '../src/secagg/index.ts'
import { Phase, survivorsHash, unmaskersWanted } from '../src/round/index.ts'
import { SHARE_MASK_KEY, SHARE_SELF_SEED, SecureMember, boxSlot, seedCommitment, unmaskEntries } from '../src/round/secure.ts'
import { bytesEqual, compareBytes, openMessage, sealMessage, sha256, toHex, uint32FromBytes } from '../src/wire/index.ts'
import type { Member, RoundMessage, Survivors } from '../src/wire/index.ts'
import {
  ROUND, TASK, SecureNet, byRank, expectedThreshold, makeIdentities, makePeer, randomDelta, sameBytes,
  seededRng, unmasksIn
} from './secure-round-harness.ts'
import type { DropPhase, Identity, Peer, Published, RoundConfig } from './secure-round-harness.ts'

/** Chi-square critical value, 255 degrees of freedom, p = 0.001. */
const CHI2_255_P001 = 330.52
/** ... at p = 0.001 / 8: the same family-wise level when up to 8 vectors of one round are tested. */
const CHI2_255_P001_OVER_8 = 346.08

let pool: Promise<Identity[]> | undefined
/** 22 Ed25519 identities, made once (a peer's keys for an attempt are fresh SecureMember keys). */
async function identities (): Promise<Identity[]> {
  pool ??= makeIdentities(22)
  return await pool
}

function chiSquareBytes (bytes: Uint8Array): number {
  const counts = new Float64Array(256)
  for (const b of bytes) counts[b]++
  const expected = bytes.byteLength / 256
  let chi = 0
  for (const c of counts) chi += (c - expected) ** 2 / expected
  return chi
}

function u32bytes (v: Uint32Array): Uint8Array {
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
}

const ids = (ps: Array<{ bytes: Uint8Array } | { peer: Uint8Array }>): string[] =>
  ps.map(p => toHex('bytes' in p ? p.bytes : p.peer)).sort()

/** No author ever released both kinds of share of one member (over all its Unmask messages). */
function assertNeverBothKinds (log: Published[], honest: Set<string>): void {
  const kinds = new Map<string, Map<string, Set<number>>>()
  for (const u of unmasksIn(log)) {
    if (!honest.has(u.from)) continue
    let m = kinds.get(u.from)
    if (m == null) { m = new Map(); kinds.set(u.from, m) }
    for (const s of u.shares) {
      const k = toHex(s.peer)
      let set = m.get(k)
      if (set == null) { set = new Set(); m.set(k, set) }
      set.add(s.kind)
    }
  }
  for (const [from, m] of kinds) {
    for (const [peer, set] of m) assert.ok(set.size === 1, `${from} released both secrets of ${peer.slice(0, 16)}`)
  }
}

/** Runs one attempt to the end and returns the net. */
async function runAttempt (peers: Peer[], rng?: () => number): Promise<SecureNet> {
  const net = new SecureNet(peers, rng)
  await net.start()
  await net.settle()
  return net
}

/** Every live peer aggregated the same sum, equal bit for bit to the ring sum of `survivors`' inputs. */
function assertExactSum (net: SecureNet, survivors: Peer[], label: string): Uint32Array {
  const expected = ringSum(survivors.map(p => {
    assert.ok(p.input != null, `${label}: survivor without an input`)
    return p.input
  }), survivors[0].machine.params.modelLength)
  for (const p of net.live) {
    assert.equal(p.aggregates.length, 1, `${label}: ${p.id} has ${p.aggregates.length} aggregates (phase ${p.machine.phase}, aborts ${JSON.stringify(p.aborts)})`)
    const agg = p.aggregates[0]
    assert.equal(agg.error, undefined, `${label}: recoverSum failed on ${p.id}: ${agg.error}`)
    assert.deepEqual(ids(agg.survivors), ids(survivors), `${label}: survivor list`)
    assert.ok(agg.sum != null && sameBytes(agg.sum, expected), `${label}: recovered sum differs from the ring sum of the survivors' inputs`)
    assert.equal(p.machine.phase, Phase.Done, `${label}: ${p.id} ends in ${p.machine.phase}`)
    assert.equal(p.aborts.length, 0)
  }
  return expected
}

// ------------------------------------------------------------------------------------------------
// 1. Dropouts

interface Scenario {
  n: number
  thr: number
  minSurvivors: number
  drops: DropPhase[]
  leaderDrop: DropPhase
  len: number
  seed: number
  randomOrder: boolean
  /** Direct shares: boxes kept by their author and fetched from it (default false: inline). */
  direct?: boolean
}

const dropArb = fc.oneof(
  { arbitrary: fc.constant<DropPhase>('none'), weight: 4 },
  { arbitrary: fc.constant<DropPhase>('shares'), weight: 1 },
  { arbitrary: fc.constant<DropPhase>('serve'), weight: 1 },
  { arbitrary: fc.constant<DropPhase>('update'), weight: 1 },
  { arbitrary: fc.constant<DropPhase>('unmask'), weight: 1 },
  { arbitrary: fc.constant<DropPhase>('ack'), weight: 1 }
)

const scenarioArb: fc.Arbitrary<Scenario> = fc.integer({ min: 2, max: 20 }).chain(n => fc.record({
  n: fc.constant(n),
  thr: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: n })),
  minSurvivors: fc.constantFrom(1, 2),
  drops: fc.array(dropArb, { minLength: n, maxLength: n }),
  leaderDrop: fc.oneof({ arbitrary: fc.constant<DropPhase>('none'), weight: 5 }, { arbitrary: fc.constantFrom<DropPhase>('shares', 'serve', 'update', 'unmask', 'ack'), weight: 1 }),
  len: fc.integer({ min: 16, max: 64 }),
  seed: fc.integer({ min: 0, max: 0x7fffffff }),
  randomOrder: fc.boolean(),
  direct: fc.boolean()
}))

const outcomes = { completed: 0, aborted: 0, retried: 0, direct: 0, shortOfShares: 0 }

async function dropoutScenario (sc: Scenario): Promise<void> {
  const all = await identities()
  const idents = all.slice(0, sc.n)
  const ranked = byRank(idents, 0)
  const dropOf = new Map(ranked.map((id, i) => [id.id, i === 0 ? sc.leaderDrop : sc.drops[i]]))
  const cfg: RoundConfig = { attempt: 0, cohortSize: sc.n, minSurvivors: sc.minSurvivors, modelLength: sc.len, secureThreshold: sc.thr, clipNorm: 1, weightCap: 100, direct: sc.direct === true }
  const rng = seededRng(sc.seed)
  const local = new Map(idents.map(id => [id.id, { delta: randomDelta(sc.len, 0.02 + rng(), rng), examples: 1 + Math.floor(rng() * 150) }]))
  const peers = idents.map(id => makePeer(id, cfg, { drop: dropOf.get(id.id), ...local.get(id.id) }))
  const net = await runAttempt(peers, sc.randomOrder ? rng : undefined)

  const leader = peers.find(p => p.id === ranked[0].id)!
  const t = expectedThreshold(cfg, sc.n)
  // Inline boxes travel with the Shares message, so a member that dies right after it ('serve') is in
  // U1 and dropped; with direct shares the leader cannot fetch its box and leaves it out of U1.
  const U1 = peers.filter(p => p.drop !== 'shares' && !(sc.direct === true && p.drop === 'serve'))
  const U2 = U1.filter(p => p.drop !== 'update' && p.drop !== 'serve')
  const releasers = U2.filter(p => p.drop === 'none')
  // Shares are released once members of U1 other than the leader (who writes the list) acked it:
  // min(t, |U1 \ {leader}|) of them (UnmaskGuard rule (a)).
  const quorum = Math.min(t, U1.filter(p => p !== leader).length)
  const nonLeaderAckers = U2.filter(p => p !== leader && (p.drop === 'none' || p.drop === 'ack'))
  // Every secret of U1 needs t releasers holding a share of it. Inline, every member holds a share of
  // everyone's; direct, a member that got a Shares message only after its author died holds none of it.
  const held = U1.every(m => releasers.filter(r => r.secure.holds(m.bytes)).length >= t)
  if (sc.direct !== true) assert.ok(releasers.every(r => U1.every(m => r.secure.holds(m.bytes))), 'inline boxes: every releaser holds a share of every secret')
  const leaderGone = leader.drop === 'shares' || leader.drop === 'serve' || leader.drop === 'update'
  const success = !leaderGone && releasers.length >= t && nonLeaderAckers.length >= quorum && held
  if (sc.direct === true) outcomes.direct++
  if (!held && !leaderGone && releasers.length >= t && nonLeaderAckers.length >= quorum) outcomes.shortOfShares++
  const honest = new Set(peers.map(p => p.id))
  assertNeverBothKinds(net.log, honest)
  for (const p of peers) assert.deepEqual(p.openErrors, [], `${p.id}: share boxes did not open`)

  if (success) {
    outcomes.completed++
    for (const p of peers) assert.equal(p.alive, p.drop === 'none', `${p.id} (drop ${p.drop}) alive=${String(p.alive)}`)
    for (const p of net.live) {
      assert.deepEqual(ids(p.machine.maskSet!.members), ids(U1), 'mask set = members that shared')
      assert.equal(p.aggregates[0]?.secure?.threshold, t, 'threshold')
    }
    assertExactSum(net, U2, 'attempt 0')
    return
  }

  outcomes.aborted++
  const live = net.live
  for (const p of live) {
    assert.equal(p.machine.phase, Phase.Aborted, `${p.id} (leader=${String(p === leader)}) ends in ${p.machine.phase}; aggregates ${p.aggregates.length}`)
    assert.equal(p.aggregates.length, 0, `${p.id} aggregated in an attempt that cannot unmask`)
    assert.equal(p.aborts.length, 1)
    assert.ok(p.aborts[0].reason.length > 0)
    // (direct shares: the leader may know before its deadline, once its last box fetch failed)
    if (p === leader) assert.match(p.aborts[0].trigger, /^(timer:|box$)/, `leader aborted on ${p.aborts[0].trigger}: ${p.aborts[0].reason}`)
    else assert.equal(p.aborts[0].trigger, 'timer:survivors-deadline', `${p.id} aborted on ${p.aborts[0].trigger}: ${p.aborts[0].reason}`)
  }
  // Fewer than t members released shares (members that acked and then died may let some release):
  // no secret of anyone can be rebuilt from an attempt that aborted.
  const ackers = U2.filter(p => p.drop === 'none' || p.drop === 'ack')
  const released = new Set(unmasksIn(net.log).map(u => u.from))
  // (With direct shares, t members may release and still leave a secret of U1 short of t shares: then
  // no sum can be unmasked either, and what they released, b_s of survivors, exposes no input.)
  if (held) assert.ok(released.size < t, `${released.size} members released shares in an attempt that aborted (t=${t})`)
  if (nonLeaderAckers.length < quorum || leaderGone) assert.equal(released.size, 0, 'shares released without a quorum of acks')

  // A fresh attempt of the live peers only (new machines, new SecureMembers) completes.
  outcomes.retried++
  const cfg1: RoundConfig = { ...cfg, attempt: 1 }
  const peers1 = live.map(p => makePeer(p.ident, cfg1, local.get(p.id)))
  const net1 = await runAttempt(peers1, sc.randomOrder ? rng : undefined)
  assertNeverBothKinds(net1.log, honest)
  if (live.length >= sc.minSurvivors) {
    assertExactSum(net1, peers1, 'attempt 1')
  } else {
    for (const p of peers1) {
      assert.equal(p.machine.phase, Phase.Aborted)
      assert.equal(p.aggregates.length, 0)
    }
  }
}

test('Invariant 3, property: with dropouts in any phase the round unmasks the survivors\' exact sum, or aborts cleanly and the next attempt completes', { timeout: 240_000 }, async (t) => {
  const seed = process.env.FC_SEED != null ? Number(process.env.FC_SEED) : Date.now() % 0x7fffffff
  t.diagnostic(`fast-check seed ${seed} (FC_SEED=${seed} to replay)`)
  await fc.assert(fc.asyncProperty(scenarioArb, dropoutScenario), { numRuns: Number(process.env.FC_RUNS ?? 80), seed })
  t.diagnostic(`runs: ${outcomes.completed} completed, ${outcomes.aborted} aborted (then ${outcomes.retried} retried); ${outcomes.direct} with direct shares, ${outcomes.shortOfShares} of them aborted only because a secret had fewer than t shares among the releasers`)
})

test('dropouts, fixed cases: one per phase, threshold met and missed', async () => {
  const cases: Scenario[] = [
    // n=5, t=3: one drop in each phase leaves 2 releasers (the leader and one more): abort, then the 2 live peers complete attempt 1.
    { n: 5, thr: 0, minSurvivors: 2, drops: ['none', 'shares', 'update', 'unmask', 'none'], leaderDrop: 'none', len: 32, seed: 1, randomOrder: false },
    // n=7, t=4: same drops, 4 releasers: completes with U2 = 5.
    { n: 7, thr: 0, minSurvivors: 2, drops: ['none', 'shares', 'update', 'unmask', 'none', 'none', 'none'], leaderDrop: 'none', len: 32, seed: 2, randomOrder: true },
    // t = n: any drop aborts.
    { n: 4, thr: 4, minSurvivors: 2, drops: ['none', 'none', 'unmask', 'none'], leaderDrop: 'none', len: 16, seed: 3, randomOrder: false },
    // t = 1.
    { n: 3, thr: 1, minSurvivors: 1, drops: ['none', 'update', 'unmask'], leaderDrop: 'none', len: 16, seed: 4, randomOrder: true },
    // the leader dies after it published the survivor list
    { n: 6, thr: 0, minSurvivors: 2, drops: ['none', 'none', 'none', 'none', 'none', 'update'], leaderDrop: 'unmask', len: 16, seed: 5, randomOrder: true },
    // the leader dies before the mask set
    { n: 6, thr: 0, minSurvivors: 2, drops: ['none', 'none', 'none', 'none', 'none', 'none'], leaderDrop: 'shares', len: 16, seed: 6, randomOrder: false },
    // n=6, t=4: 5 members ack, 2 of them die before their Unmask: 3 < t shares arrive, abort in the Unmask phase
    { n: 6, thr: 0, minSurvivors: 2, drops: ['none', 'ack', 'ack', 'none', 'none', 'update'], leaderDrop: 'none', len: 16, seed: 7, randomOrder: true },
    // a member dies right after its Shares went out: inline, it is in U1 and dropped (its mask key is
    // rebuilt); direct, the leader cannot fetch its box and leaves it out of U1 (nobody masks with it)
    { n: 6, thr: 0, minSurvivors: 2, drops: ['none', 'serve', 'none', 'none', 'none', 'none'], leaderDrop: 'none', len: 16, seed: 8, randomOrder: false },
    { n: 6, thr: 0, minSurvivors: 2, drops: ['none', 'serve', 'none', 'none', 'none', 'none'], leaderDrop: 'none', len: 16, seed: 8, randomOrder: false, direct: true },
    // direct, with a drop in every phase
    { n: 9, thr: 0, minSurvivors: 2, drops: ['none', 'shares', 'serve', 'update', 'unmask', 'ack', 'none', 'none', 'none'], leaderDrop: 'none', len: 16, seed: 9, randomOrder: true, direct: true },
    // direct, the leader dies right after its own Shares: no mask set, abort, the rest complete attempt 1
    { n: 5, thr: 0, minSurvivors: 2, drops: ['none', 'none', 'none', 'none', 'none'], leaderDrop: 'serve', len: 16, seed: 10, randomOrder: false, direct: true }
  ]
  for (const sc of cases) await dropoutScenario(sc)
})

test('direct shares: t members unmask, but a dead member\'s mask key is short of t shares among them: nobody aggregates, every live peer aborts at the deadline, a fresh attempt completes', async () => {
  const idents = byRank((await identities()).slice(0, 5), 0)
  const cfg: RoundConfig = { attempt: 0, cohortSize: 5, minSurvivors: 2, modelLength: 16, secureThreshold: 0, clipNorm: 1, weightCap: 100, direct: true }
  const rng = seededRng(11)
  const local = new Map(idents.map(id => [id.id, { delta: randomDelta(16, 0.5, rng), examples: 10 }]))
  const x = idents[4]
  const peers = idents.map(id => makePeer(id, cfg, { drop: id === x ? 'update' : 'none', ...local.get(id.id) }))
  const [leader, a, b, c] = peers
  const px = peers[4]
  const t = expectedThreshold(cfg, 5)
  const net = new SecureNet(peers)
  // x's Shares reaches only the leader until x has died (on receiving the mask set): a, b and c get it
  // too late to fetch their boxes from x.
  const late = new Set([a.id, b.id, c.id])
  net.filter = (item, to) => !(item.from === x.id && item.vm.message.shares != null && late.has(to.id))
  await net.start()
  await net.settle({ stop: () => !px.alive })
  assert.equal(px.diedAt, 'drop:update')
  net.heal()
  await net.settle()

  assert.ok(leader.secure.holds(x.bytes))
  for (const p of [a, b, c]) assert.ok(!p.secure.holds(x.bytes), `${p.id} holds a share of x`)
  // four members released for the list (t = 3 Unmask messages would once have started the aggregation) ...
  const released = new Set(unmasksIn(net.log).map(u => u.from))
  assert.equal(released.size, 4)
  assert.ok(released.size >= t)
  // ... but only the leader's Unmask has a share of x's mask key: no sum, no aggregation error, an abort
  for (const p of net.live) {
    assert.equal(p.aggregates.length, 0, `${p.id} aggregated`)
    assert.equal(p.machine.phase, Phase.Aborted)
    assert.equal(p.aborts[0]?.trigger, 'timer:survivors-deadline')
    assert.match(p.aborts[0].reason, new RegExp(`only 1 of them hold a share of the secret of ${x.id} \\(need ${t}\\)`))
  }
  const peers1 = net.live.map(p => makePeer(p.ident, { ...cfg, attempt: 1 }, local.get(p.id)))
  const net1 = await runAttempt(peers1)
  assertExactSum(net1, peers1, 'attempt 1')
})

test('spare unmaskers: of a mask set of 12 (t = 7) the 9 first by sha256(list, peer) unmask at once, the 3 others stay quiet; if 4 of the 9 die before their Unmask, spares step in until t have unmasked, and the round completes', async () => {
  const idents = byRank((await identities()).slice(0, 12), 0)
  const cfg: RoundConfig = { attempt: 0, cohortSize: 12, minSurvivors: 2, modelLength: 16, secureThreshold: 0, clipNorm: 1, weightCap: 100 }
  const t = expectedThreshold(cfg, 12)
  assert.equal(t, 7)
  assert.equal(unmaskersWanted(t, 12), 9)
  const rng = seededRng(12)
  const local = new Map(idents.map(id => [id.id, { delta: randomDelta(16, 0.5, rng), examples: 10 }]))
  const rankOf = (hash: Uint8Array, ps: Peer[]): Peer[] => [...ps].sort((a, b) => compareBytes(sha256(hash, a.bytes), sha256(hash, b.bytes)))

  // Nobody drops: exactly the first 9 publish.
  const peers = idents.map(id => makePeer(id, cfg, local.get(id.id)))
  const net = await runAttempt(peers)
  assertExactSum(net, peers, 'no drops')
  const list = peers[0].machine.survivors!.hash
  const first9 = rankOf(list, peers).slice(0, 9).map(p => p.id).sort()
  assert.deepEqual([...new Set(unmasksIn(net.log).map(u => u.from))].sort(), first9)

  // Four of the first nine die when they would unmask: the three spares publish after their delay.
  const peers2 = idents.map(id => makePeer(id, { ...cfg, attempt: 0 }, local.get(id.id)))
  const net2 = new SecureNet(peers2)
  net2.filter = (item) => item.vm.message.ack == null // hold the acks until the drops are set
  await net2.start()
  await net2.settle({ stop: () => peers2.every(p => p.machine.survivors != null) })
  const ranked = rankOf(peers2[0].machine.survivors!.hash, peers2)
  for (const p of ranked.slice(0, 4)) p.drop = 'ack'
  net2.heal()
  await net2.settle()
  assertExactSum(net2, peers2, 'four urgent unmaskers dead')
  const published = new Set(unmasksIn(net2.log).map(u => u.from))
  for (const p of ranked.slice(4, 9)) assert.ok(published.has(p.id), `live urgent member ${p.id} did not unmask`)
  // the spares' timers fire one after the other: each publishes only while the Unmasks in are short of t
  const spares = ranked.slice(9).filter(p => published.has(p.id))
  assert.equal(published.size, t, `${published.size} Unmasks: 5 urgent + ${spares.length} spares`)
  for (const p of spares) {
    const at = p.effects.find(e => e.effect.type === 'publish-unmask')
    assert.equal(at?.trigger, 'timer:spare-unmask', `${p.id} published on ${at?.trigger}`)
  }
  for (const p of ranked.slice(0, 4)) assert.ok(!published.has(p.id) && !p.alive)
})

// ------------------------------------------------------------------------------------------------
// 2. Chi-square

test('chi-square: a masked update on the wire (64 Ki coordinates, zero / constant input, mask set of 3) is uniform; the unmasked input is not', async () => {
  const all = await identities()
  const L = 65536
  const cfg: RoundConfig = { attempt: 0, cohortSize: 3, minSurvivors: 2, modelLength: L, secureThreshold: 0, clipNorm: 1, weightCap: 1 }
  const constant = new Float32Array(L).fill(0.003) // norm 0.77 < clip: stays constant
  const peers = all.slice(0, 3).map((id, i) => makePeer(id, cfg, { delta: i === 0 ? new Float32Array(L) : i === 1 ? constant : randomDelta(L, 0.001, Math.random), examples: 1 }))
  const net = await runAttempt(peers)
  assertExactSum(net, peers, 'chi-square round')
  for (const p of peers.slice(0, 2)) {
    assert.equal(p.machine.maskSet?.members.length, 3)
    const sent = net.log.find(i => i.from === p.id && i.vm.message.update != null)!.vm.message.update!.vector
    assert.equal(sent.byteLength, L * 4)
    const chiMasked = chiSquareBytes(sent)
    const chiInput = chiSquareBytes(u32bytes(p.input!))
    assert.ok(chiMasked < CHI2_255_P001, `masked ${p === peers[0] ? 'zeros' : 'constant'}: chi2 = ${chiMasked.toFixed(1)}`)
    // control: the same statistic rejects the quantized input itself
    assert.ok(chiInput > CHI2_255_P001, `unmasked input: chi2 = ${chiInput.toFixed(1)}`)
  }
})

// ------------------------------------------------------------------------------------------------
// 3. Observer

test('observer: a non-member holding every message recovers the sum, and for each survivor only a uniform vector far from its input', async () => {
  const all = await identities()
  const n = 7
  const L = 16384
  const cfg: RoundConfig = { attempt: 0, cohortSize: n, minSurvivors: 2, modelLength: L, secureThreshold: 0, clipNorm: 1, weightCap: 100 }
  const members = byRank(all.slice(0, n), 0)
  // t = 4: the leader and four others release; the four non-leaders' acks are the quorum.
  const plan: DropPhase[] = ['none', 'shares', 'update', 'none', 'none', 'none', 'none']
  const rng = seededRng(7)
  const peers = members.map((id, i) => makePeer(id, cfg, { drop: plan[i], delta: randomDelta(L, 0.01, rng), examples: 10 + i * 10 }))
  const observer = makePeer(all[n], cfg, { eligible: false })
  const net = await runAttempt([...peers, observer], rng)
  const t = expectedThreshold(cfg, n)
  const U1 = peers.filter(p => p.drop !== 'shares')
  const U2 = U1.filter(p => p.drop !== 'update')
  const dropped = U1.filter(p => p.drop === 'update')
  assert.equal(dropped.length, 1)
  assert.equal(observer.machine.isMember, false)
  const sum = assertExactSum(net, U2, 'observer round') // the observer is live: it got the same sum
  assert.ok(observer.aggregates[0]?.sum != null && sameBytes(observer.aggregates[0].sum, sum))

  // Everything public: the mask set with keys, the Shares commitments, the updates, the Unmask shares.
  const maskSet: Member[] = observer.machine.maskSet!.members
  const sHash = observer.machine.survivors!.hash
  const ctx = { task: TASK, round: ROUND, attempt: 0 }
  const unmasks = unmasksIn(net.log)
  assert.ok(unmasks.length >= t)
  for (const u of unmasks) assert.ok(bytesEqual(u.survivorsHash, sHash))
  const sharesOf = (peer: Uint8Array, kind: number): Uint8Array[] =>
    unmasks.flatMap(u => u.shares.filter(s => s.kind === kind && bytesEqual(s.peer, peer)).map(s => s.share))
  // Only one secret of each member of U1 is out: b_s of survivors, the mask key of the dropped.
  for (const p of U2) assert.equal(sharesOf(p.bytes, SHARE_MASK_KEY).length, 0)
  for (const p of dropped) assert.equal(sharesOf(p.bytes, SHARE_SELF_SEED).length, 0)
  for (const p of peers.filter(p => p.drop === 'shares')) assert.equal(sharesOf(p.bytes, SHARE_SELF_SEED).length + sharesOf(p.bytes, SHARE_MASK_KEY).length, 0)

  const droppedKeys = new Map<string, Uint8Array>()
  for (const d of dropped) {
    const shares = sharesOf(d.bytes, SHARE_MASK_KEY)
    assert.ok(shares.length >= t)
    const key = await combineShares(shares.slice(0, t))
    assert.ok(bytesEqual(publicKeyOf(key), d.secure.keys.mask.publicKey), 'rebuilt mask key of the dropped member')
    droppedKeys.set(toHex(d.bytes), key)
  }
  const leftovers: Uint32Array[] = []
  for (const s of U2) {
    const upd = net.log.find(i => i.from === s.id && i.vm.message.update != null)!.vm.message.update!
    const y = uint32FromBytes(upd.vector)
    const commit = net.log.find(i => i.from === s.id && i.vm.message.shares != null)!.vm.message.shares!.seedCommit
    const b = await combineShares(sharesOf(s.bytes, SHARE_SELF_SEED).slice(0, t))
    assert.ok(bytesEqual(seedCommitment(ctx, s.bytes, b), commit), 'rebuilt self seed matches its commitment')
    const droppedPairwise = dropped.map(d => {
      const dMember = maskSet.find(m => bytesEqual(m.peer, d.bytes))!
      const sMember = maskSet.find(m => bytesEqual(m.peer, s.bytes))!
      return { survivor: s.bytes, dropped: d.bytes, seed: pairwiseMaskSeed(agree(droppedKeys.get(toHex(dMember.peer))!, sMember.maskPub), { ...ctx, peers: [s.bytes, d.bytes] as const }) }
    })
    const left = unmaskSum(y, { survivorSelfSeeds: [b], droppedPairwise })
    leftovers.push(left)
    let equal = 0
    for (let k = 0; k < L; k++) if (left[k] === s.input![k]) equal++
    assert.ok(equal < L / 100, `survivor ${s.id}: ${equal} of ${L} coordinates of its input exposed`)
    const chi = chiSquareBytes(u32bytes(left))
    assert.ok(chi < CHI2_255_P001_OVER_8, `survivor ${s.id}: what is left after removing every public mask is not uniform (chi2 = ${chi.toFixed(1)})`)
  }
  // The stripping above is right: the leftovers' pairwise masks cancel in the sum.
  assert.ok(sameBytes(ringSum(leftovers, L), sum), 'leftovers sum to the survivors\' sum')
})

// ------------------------------------------------------------------------------------------------
// 4. Equivocating leader

interface Equivocation {
  net: SecureNet
  peers: Peer[]
  leader: Peer
  honest: Peer[]
  t: number
  l1: Survivors
  msg: (body: Partial<RoundMessage>) => RoundMessage
  hash: (s: Survivors) => Uint8Array
  /** A second list without `m` (m moved to the dropped set). */
  l2Without: (m: Peer) => Survivors
  maskSet: Member[]
}

/** Runs an honest attempt up to the leader's survivor list, which is captured and not sent; from then on the leader is the adversary. */
async function upToSurvivors (n: number, thr: number, len = 32): Promise<Equivocation> {
  const all = await identities()
  const cfg: RoundConfig = { attempt: 0, cohortSize: n, minSurvivors: 2, modelLength: len, secureThreshold: thr, clipNorm: 1, weightCap: 100 }
  const rng = seededRng(n * 31 + thr)
  const ranked = byRank(all.slice(0, n), 0)
  const peers = ranked.map(id => makePeer(id, cfg, { delta: randomDelta(len, 0.05, rng), examples: 50 }))
  const leader = peers[0]
  const net = new SecureNet(peers)
  let l1: Survivors | undefined
  net.intercept = (from, m) => {
    if (from === leader && m.survivors != null) { l1 = m.survivors; return false }
    return true
  }
  await net.start()
  await net.settle({ stop: () => l1 != null })
  assert.ok(l1 != null, 'the leader fixed a survivor list')
  assert.equal(l1.survivors.length, n, 'every update arrived')
  net.intercept = undefined
  net.kill(leader, 'adversary') // its further messages are written by the test
  const p0 = leader.machine.params
  const msg = (body: Partial<RoundMessage>): RoundMessage => ({ task: p0.task as any, round: p0.round, attempt: p0.attempt, base: p0.base as any, ...body })
  const hash = (s: Survivors): Uint8Array => survivorsHash(s, leader.bytes)
  const l2Without = (m: Peer): Survivors => ({ cohortHash: l1!.cohortHash, survivors: l1!.survivors.filter(e => !bytesEqual(e.peer, m.bytes)) })
  return { net, peers, leader, honest: peers.slice(1), t: expectedThreshold(cfg, n), l1, msg, hash, l2Without, maskSet: leader.machine.maskSet!.members }
}

/** The leader's own Unmask for a list: its shares of the survivors' self seeds and of the dropped members' mask keys. */
function leaderUnmask (e: Equivocation, s: Survivors): RoundMessage {
  const inList = new Set(s.survivors.map(x => toHex(x.peer)))
  const dropped = e.maskSet.filter(m => !inList.has(toHex(m.peer))).map(m => m.peer)
  const shares = e.leader.secure.unmaskShares({ selfSeedSharesOf: s.survivors.map(x => x.peer), maskKeySharesOf: dropped }, e.maskSet.map(m => m.peer))
  return e.msg({ unmask: { survivorsHash: e.hash(s) as any, shares, sharesHash: new Uint8Array(0) } })
}

/**
 * What someone holding every Unmask message (any list) learns about member m: how many distinct
 * members released a share of its self seed / of its mask key, and, if both reach t, m's input
 * rebuilt from its masked update.
 */
async function observerOf (e: Equivocation, m: Peer): Promise<{ selfSeed: number, maskKey: number, exposed?: Uint32Array }> {
  const seed = new Map<string, Uint8Array>()
  const key = new Map<string, Uint8Array>()
  for (const u of unmasksIn(e.net.log)) {
    for (const s of u.shares) {
      if (!bytesEqual(s.peer, m.bytes)) continue
      if (s.kind === SHARE_SELF_SEED) seed.set(u.from, s.share)
      if (s.kind === SHARE_MASK_KEY) key.set(u.from, s.share)
    }
  }
  const out: { selfSeed: number, maskKey: number, exposed?: Uint32Array } = { selfSeed: seed.size, maskKey: key.size }
  if (seed.size >= e.t && key.size >= e.t) {
    const ctx = { task: TASK, round: ROUND, attempt: 0 }
    const b = await combineShares([...seed.values()].slice(0, e.t))
    const sk = await combineShares([...key.values()].slice(0, e.t))
    const y = uint32FromBytes(e.net.log.find(i => i.from === m.id && i.vm.message.update != null)!.vm.message.update!.vector)
    const droppedPairwise = e.maskSet.filter(j => !bytesEqual(j.peer, m.bytes))
      .map(j => ({ survivor: m.bytes, dropped: j.peer, seed: pairwiseMaskSeed(agree(sk, j.maskPub), { ...ctx, peers: [m.bytes, j.peer] as const }) }))
    out.exposed = unmaskSum(y, { survivorSelfSeeds: [b], droppedPairwise })
  }
  return out
}

function releasedFor (p: Peer): string[] {
  return p.effects.filter(x => x.effect.type === 'publish-unmask').map(x => toHex((x.effect as { survivorsHash: Uint8Array }).survivorsHash))
}

function honestAcks (e: Equivocation, h: Uint8Array): number {
  const by = new Set<string>()
  for (const i of e.net.log) {
    if (i.from === e.leader.id) continue
    const a = i.vm.message.ack?.survivorsHash ?? i.vm.message.unmask?.survivorsHash
    if (a != null && bytesEqual(a, h)) by.add(i.from)
  }
  return by.size
}

for (const n of [5, 6]) {
  test(`equivocating leader, L2 after L1 was acked (n=${n}): nobody unmasks for L2, the rest complete L1 without releasing, m's secrets never both reach t`, async () => {
    const e = await upToSurvivors(n, 0)
    const { net, honest, t } = e
    const S = honest.slice(0, t) // t acks from members other than the leader: they release for L1
    const R = honest.slice(t)
    const m = R[R.length - 1]
    const group = new Map<string, string>([...S.map(p => [p.id, 'S'] as const), ...R.map(p => [p.id, 'R'] as const)])
    const addressed = new Map<string, Set<string>>()
    const send = async (body: Partial<RoundMessage>, to: Peer[]): Promise<void> => {
      const item = await net.publishAs(e.leader.ident, e.msg(body), to)
      addressed.set(item.hex, new Set(to.map(p => p.id)))
    }
    // R's acks are delayed (not lost): members of R cannot reach t acks before L2 comes.
    net.filter = (item, to) => addressed.get(item.hex)?.has(to.id) ?? (group.get(item.from) === 'S' && group.get(to.id) === 'S')
    const l2 = e.l2Without(m)
    await send({ survivors: e.l1 }, honest)
    await send({ ack: { survivorsHash: e.hash(e.l1) as any } }, honest)
    await send(leaderUnmask(e, e.l1), honest)
    await net.pump()
    for (const p of S) assert.deepEqual(releasedFor(p), [toHex(e.hash(e.l1))], `${p.id} released for L1`)
    for (const p of R) assert.deepEqual(releasedFor(p), [], `${p.id} has not released yet`)
    // The second list, with m moved to the dropped set, the leader's ack of it and its own shares for it.
    await send({ survivors: l2 }, honest)
    await send({ ack: { survivorsHash: e.hash(l2) as any } }, honest)
    await send(leaderUnmask(e, l2), honest)
    net.heal()
    await net.settle()

    const h2 = toHex(e.hash(l2))
    for (const p of honest) assert.ok(!releasedFor(p).includes(h2), `${p.id} released shares for L2`)
    for (const u of unmasksIn(net.log)) if (u.from !== e.leader.id) assert.notEqual(toHex(u.survivorsHash), h2)
    // L1's sum is public (t members unmasked it): R never releases, but completes L1 with the others
    // rather than abort (a retry would expose a second sum of the same updates).
    for (const p of R) {
      assert.deepEqual(releasedFor(p), [], `${p.id} released after the conflict`)
      assert.equal(p.machine.phase, Phase.Done, `${p.id} in ${p.machine.phase}`)
      assert.equal(toHex(p.machine.survivors!.hash), toHex(e.hash(e.l1)), `${p.id} aggregated another list than L1`)
    }
    assertNeverBothKinds(net.log, new Set(honest.map(p => p.id)))
    const seen = await observerOf(e, m)
    assert.ok(seen.selfSeed < t || seen.maskKey < t, `observer holds ${seen.selfSeed} self-seed and ${seen.maskKey} mask-key shares of m (t=${t})`)
  })
}

// L2 reaches some members before L1. Group A (t-1 honest members) sees only L1, group B (the other
// honest members, m among them) sees only L2, the leader acks both and sends each group its own
// Unmask; the groups' messages reach each other only later (an adversarial, not a lossy, schedule).
for (const [n, thr] of [[4, 0], [5, 0], [6, 0], [7, 0], [5, 4]] as const) {
  test(`equivocating leader, L2 reaches some members before L1 (n=${n}, t=${thr === 0 ? 'majority' : thr}): m's input is never exposed`, async () => {
    const e = await upToSurvivors(n, thr)
    const { net, honest, t } = e
    const m = honest[honest.length - 1]
    const A = honest.slice(0, t - 1)
    const B = honest.slice(t - 1)
    assert.ok(B.includes(m) && B.length >= 1)
    const l2 = e.l2Without(m)
    const group = new Map<string, string>([...A.map(p => [p.id, 'A'] as const), ...B.map(p => [p.id, 'B'] as const)])
    const addressed = new Map<string, Set<string>>()
    const send = async (body: Partial<RoundMessage>, to: Peer[]): Promise<void> => {
      const item = await net.publishAs(e.leader.ident, e.msg(body), to)
      addressed.set(item.hex, new Set(to.map(p => p.id)))
    }
    net.filter = (item, to) => addressed.get(item.hex)?.has(to.id) ?? (group.get(item.from) === group.get(to.id))
    await send({ survivors: l2 }, B)
    await send({ ack: { survivorsHash: e.hash(l2) as any } }, B)
    await send(leaderUnmask(e, l2), B)
    await send({ survivors: e.l1 }, A)
    await send({ ack: { survivorsHash: e.hash(e.l1) as any } }, A)
    await send(leaderUnmask(e, e.l1), A)
    await net.pump()
    net.heal()
    await net.settle()

    const h1 = e.hash(e.l1)
    const h2 = e.hash(l2)
    const acks = { l1: honestAcks(e, h1), l2: honestAcks(e, h2) }
    const released = {
      l1: honest.filter(p => releasedFor(p).includes(toHex(h1))).length,
      l2: honest.filter(p => releasedFor(p).includes(toHex(h2))).length
    }
    const diag = `n=${n} t=${t}: honest acks L1=${acks.l1} L2=${acks.l2}; honest releases L1=${released.l1} L2=${released.l2}`
    // With t > n/2 no two lists both get t acks from honest members ...
    assert.ok(acks.l1 < t || acks.l2 < t, `both lists reached t honest acks (${diag})`)
    for (const p of honest) assert.ok(releasedFor(p).length <= 1, `${p.id} released for two lists`)
    assertNeverBothKinds(net.log, new Set(honest.map(p => p.id)))
    for (const p of honest) {
      if (releasedFor(p).length === 0) {
        assert.equal(p.machine.phase, Phase.Aborted, `${p.id} in ${p.machine.phase}`)
        assert.match(p.aborts[0]?.reason ?? '', /conflict/, `${p.id}: ${p.aborts[0]?.reason}`)
      }
    }
    // ... and whatever was released, m's self seed and m's mask key are never both recoverable.
    const seen = await observerOf(e, m)
    const exposed = seen.exposed != null && sameBytes(seen.exposed, m.input!)
    assert.ok(seen.selfSeed < t || seen.maskKey < t,
      `${diag}; an observer of the Unmask messages holds ${seen.selfSeed} shares of m's self seed and ${seen.maskKey} of its mask key` +
      (exposed ? ' and rebuilt m\'s quantized input exactly from its masked update' : ''))
  })
}

test('positional shares (wire version 3): an Unmask needs one slot per mask-set member, each 33 bytes or empty, its kinds set by the list; a bundle\'s box opens only in its recipient\'s slot', async () => {
  const e = await upToSurvivors(5, 0)
  const p = e.honest[0]
  await e.net.publishAs(e.leader.ident, e.msg({ survivors: e.l1 }), e.honest)
  await e.net.pump()
  const n = e.maskSet.length
  const unmask = async (shares: Uint8Array[]): Promise<{ action: string, reason?: string }> =>
    p.machine.validate(await openMessage(await sealMessage(e.leader.ident.key, e.msg({ unmask: { survivorsHash: e.hash(e.l1) as any, shares: shares as any, sharesHash: new Uint8Array(0) } })))) as any
  const share = (k: number): Uint8Array => new Uint8Array(33).fill(k + 1)
  const short = await unmask(Array.from({ length: n - 1 }, (_, k) => share(k)))
  assert.equal(short.action, 'reject')
  assert.match(short.reason ?? '', new RegExp(`carries ${n - 1} shares for a mask set of ${n}`))
  const long = await unmask(Array.from({ length: n + 1 }, (_, k) => share(k)))
  assert.equal(long.action, 'reject')
  const badSize = await unmask(Array.from({ length: n }, (_, k) => k === 2 ? new Uint8Array(32) : share(k)))
  assert.equal(badSize.action, 'reject')
  assert.match(badSize.reason ?? '', /33 bytes/)
  assert.equal((await unmask(Array.from({ length: n }, (_, k) => k === 1 ? new Uint8Array(0) : share(k)))).action, 'accept')

  // Kinds come from the list: b_s for its survivors, the mask key for the rest of the mask set.
  const peers = e.maskSet.map(m => m.peer)
  const m = e.honest[e.honest.length - 1]
  const l2 = e.l2Without(m).survivors.map(x => x.peer)
  const empty = peers.findIndex(q => !bytesEqual(q, m.bytes)) // an empty slot that is not m's
  const slots = peers.map((_, k) => k === empty ? new Uint8Array(0) : share(k))
  const entries = unmaskEntries(peers, l2, slots)
  assert.equal(entries.length, n - 1, 'empty slots carry nothing')
  for (const x of entries) assert.equal(x.kind, bytesEqual(x.peer, m.bytes) ? SHARE_MASK_KEY : SHARE_SELF_SEED)
  const mine = entries.find(x => bytesEqual(x.peer, m.bytes))
  assert.ok(mine != null && bytesEqual(mine.share, slots[peers.findIndex(q => bytesEqual(q, m.bytes))]), 'the dropped member\'s slot is read as its mask-key share')

  // A member's own Shares bundle: its box for the k-th other member opens for that member only.
  const author = e.honest[1]
  const bundle = e.net.log.find(i => i.from === author.id && i.vm.message.shares != null)!.vm.message.shares!
  const cohort = p.machine.cohort!.members
  const from = cohort.find(x => bytesEqual(x.peer, author.bytes))!
  const others = cohort.filter(x => !bytesEqual(x.peer, author.bytes))
  const k = others.findIndex(x => bytesEqual(x.peer, p.bytes))
  const swapped = bundle.boxes.slice()
  const j = k === 0 ? 1 : 0
  ;[swapped[k], swapped[j]] = [swapped[j], swapped[k]]
  const fresh = new SecureMember({ ctx: { task: TASK, round: ROUND, attempt: 0 }, self: p.bytes, keys: p.secure.keys })
  assert.throws(() => fresh.openBundle(from, swapped, cohort), 'a box in another member\'s slot does not open')
  assert.equal(fresh.holds(author.bytes), false)
  fresh.openBundle(from, bundle.boxes, cohort)
  assert.equal(fresh.holds(author.bytes), true)
})

test('direct shares (wire version 4): a Shares message carries inline boxes or a bundle hash and box size, never both; a box cut from the bundle blob opens only in its recipient\'s slot', async () => {
  const idents = byRank((await identities()).slice(0, 5), 0)
  const cfg: RoundConfig = { attempt: 0, cohortSize: 5, minSurvivors: 2, modelLength: 16, secureThreshold: 0, clipNorm: 1, weightCap: 100, direct: true }
  const peers = idents.map(id => makePeer(id, cfg))
  const [, p, , , x] = peers
  const net = new SecureNet(peers)
  net.intercept = (from, m) => !(from === x && m.shares != null) // x makes its bundle but its Shares never goes out
  await net.start()
  await net.settle({ stop: () => p.machine.cohort != null && x.bundle != null })
  const cohort = p.machine.cohort!
  const q = p.machine.params
  const verdict = async (shares: Record<string, unknown>): Promise<{ action: string, reason?: string }> => {
    const body = { cohortHash: cohort.hash, seedCommit: new Uint8Array(32).fill(7), boxes: [], bundleHash: new Uint8Array(0), boxBytes: 0, ...shares }
    return p.machine.validate(await openMessage(await sealMessage(x.ident.key, { task: q.task as any, round: q.round, attempt: q.attempt, base: q.base as any, shares: body as any }))) as any
  }
  const box = (): Uint8Array => new Uint8Array(99).fill(3)
  const hash = new Uint8Array(32).fill(9)
  assert.equal((await verdict({ bundleHash: hash, boxBytes: 99 })).action, 'accept')
  assert.equal((await verdict({ boxes: [box(), box(), box(), box()] })).action, 'accept', 'inline form')
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ boxes: [box(), box(), box(), box()], bundleHash: hash, boxBytes: 99 }, /both inline boxes and a bundle hash/],
    [{ bundleHash: hash.subarray(0, 31), boxBytes: 99 }, /bundle hash must be 32 bytes/],
    [{ boxBytes: 99 }, /bundle hash must be 32 bytes/],
    [{ bundleHash: hash, boxBytes: 28 }, /share box of a bad size/],
    [{ bundleHash: hash, boxBytes: 5000 }, /share box of a bad size/],
    [{ boxes: [box(), box(), box()] }, /carry 3 boxes for 4 other members/]
  ]
  for (const [shares, reason] of cases) {
    const v = await verdict(shares)
    assert.equal(v.action, 'reject', JSON.stringify(Object.keys(shares)))
    assert.match(v.reason ?? '', reason)
  }

  // The bundle blob x keeps: p's box is at p's slot among the members other than x, and only there opens.
  const bundle = x.bundle!
  const from = cohort.members.find(m => bytesEqual(m.peer, x.bytes))!
  const slot = boxSlot(x.bytes, p.bytes, cohort.members)
  assert.equal(bundle.byteLength, 4 * 99)
  const cut = (k: number): Uint8Array => bundle.subarray(k * 99, (k + 1) * 99)
  const fresh = new SecureMember({ ctx: { task: TASK, round: ROUND, attempt: 0 }, self: p.bytes, keys: p.secure.keys })
  assert.throws(() => fresh.openBox(from, cut(slot === 0 ? 1 : 0)), 'another member\'s box does not open')
  assert.equal(fresh.holds(x.bytes), false)
  fresh.openBox(from, cut(slot))
  assert.equal(fresh.holds(x.bytes), true)
  assert.equal(boxSlot(x.bytes, x.bytes, cohort.members), -1, 'an author has no box of its own')
})

test('direct Unmask (wire version 5): shares travel as a blob named by a signed hash; inline or hash, never both; a blob that does not fit the mask set is not counted', async () => {
  const idents = byRank((await identities()).slice(0, 7), 0)
  const cfg: RoundConfig = { attempt: 0, cohortSize: 7, minSurvivors: 2, modelLength: 16, secureThreshold: 0, clipNorm: 1, weightCap: 100, direct: true }
  const rng = seededRng(21)
  const peers = idents.map(id => makePeer(id, cfg, { delta: randomDelta(16, 0.05, rng), examples: 10 }))
  const p = peers[1]
  // p gets a short blob for the first Unmask it fetches (as if its author served garbage under that hash)
  let spoiled: string | undefined
  const net = new SecureNet(peers)
  net.unmaskFetch = (to, author, shares) => {
    if (to !== p || (spoiled != null && spoiled !== author)) return shares
    spoiled = author
    return shares.slice(1)
  }
  await net.start()
  await net.settle()
  assert.ok(spoiled != null, 'p fetched an Unmask')
  assertExactSum(net, peers, 'direct unmask')
  const t = expectedThreshold(cfg, 7)
  const unmasks = net.log.filter(i => i.vm.message.unmask != null).map(i => i.vm.message.unmask!)
  assert.ok(unmasks.length >= t, `${unmasks.length} Unmask messages`)
  for (const u of unmasks) {
    assert.equal(u.shares.length, 0, 'no inline shares')
    assert.equal(u.sharesHash.byteLength, 32)
  }
  // what the blobs carry is what an inline Unmask would: one slot per mask-set member, never both kinds
  assertNeverBothKinds(net.log, new Set(peers.map(q => q.id)))
  for (const u of unmasksIn(net.log)) assert.ok(u.shares.length > 0, `${u.from} released shares`)
  // p did not count the short blob and named its author; it aggregated from the others
  const list = p.machine.survivors!
  assert.equal(p.machine.unmasks.get(toHex(list.hash))?.has(spoiled) ?? false, false)
  assert.ok(p.effects.some(e => e.trigger === 'unmask-shares' && e.effect.type === 'penalize' && e.effect.peer === spoiled), 'p named the author of the short blob')
  // shares for an author p never saw a hash from are ignored
  assert.deepEqual(p.machine.handle({ type: 'unmask-shares', peer: 'nobody', survivorsHash: list.hash, shares: [] }, net.now), [])

  // validation of the two forms, against a machine that holds the list, from a member that sent no Unmask
  // (7 members, t = 4: 6 unmask at once, the 7th is a spare that was not needed)
  const author = peers.find(m => m !== p && !net.log.some(i => i.from === m.id && i.vm.message.unmask != null))
  assert.ok(author != null, 'a member that sent no Unmask')
  const q = p.machine.params
  const verdict = async (body: Record<string, unknown>): Promise<{ action: string, reason?: string }> =>
    p.machine.validate(await openMessage(await sealMessage(author.ident.key, { task: q.task as any, round: q.round, attempt: q.attempt, base: q.base as any, unmask: { survivorsHash: list.hash, shares: [], sharesHash: new Uint8Array(0), ...body } as any }))) as any
  const share = new Uint8Array(33).fill(5)
  assert.equal((await verdict({ shares: Array.from({ length: 7 }, () => share) })).action, 'accept', 'inline form')
  const refused: Array<[Record<string, unknown>, RegExp]> = [
    [{ shares: Array.from({ length: 7 }, () => share), sharesHash: new Uint8Array(32) }, /both inline shares and a shares hash/],
    [{ sharesHash: new Uint8Array(31) }, /shares hash must be 32 bytes/]
  ]
  for (const [body, reason] of refused) {
    const v = await verdict(body)
    assert.equal(v.action, 'reject')
    assert.match(v.reason ?? '', reason)
  }
})
