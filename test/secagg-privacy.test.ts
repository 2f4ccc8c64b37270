// Invariant 2 for the secure-aggregation primitives: a masked vector alone is uniform in the ring
// (chi-square on its bytes), an observer holding every masked input and every share released in an
// honest round rebuilds the sum and nothing else, and the UnmaskGuard never lets a leader collect
// both secrets of one member (conflicting survivor lists, split views, malformed lists).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import {
  addInto, agree, combineShares, comparePeers, expandMask, maskInput, pairwiseMaskSeed, publicKeyOf,
  quantizationScale, quantize, ringSum, seededRandom, subInto, UnmaskGuard, unmaskSum
} from '../src/secagg/index.ts'
import type { SharePair, UnmaskDecision, UnmaskRefusalCode } from '../src/secagg/index.ts'
import { choose, hashList, runRound, shareAndMask, TASK } from './secagg-harness.ts'
import type { DropPhase } from './secagg-harness.ts'

/** Chi-square critical value for 255 degrees of freedom at p = 0.001 (fixed seeds: reproducible). */
const CHI2_255_P001 = 330.5
/** ... and at p = 1e-6, for vectors masked with fresh random keys (keeps the false-alarm rate negligible). */
const CHI2_255_P1E6 = 377.1

const label = (s: string): Uint8Array => new Uint8Array(createHash('sha256').update(s).digest())
const peer = (i: number): Uint8Array => Uint8Array.of(0x00, 0x24, 0x08, 0x01, 0x12, 0x20, i)

function chiSquareBytes (v: Uint32Array): number {
  const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
  const counts = new Float64Array(256)
  for (const b of bytes) counts[b]++
  const expected = bytes.byteLength / 256
  let chi = 0
  for (const c of counts) chi += (c - expected) ** 2 / expected
  return chi
}

/** A member's masked input in a cohort of 5, with fixed seeds (the statistic is reproducible). */
function maskedOf (input: Uint32Array): Uint32Array {
  const pairwise = [1, 2, 3, 4].map(j => ({ peer: peer(j), seed: label(`pairwise 0-${j}`) }))
  return maskInput(input, { self: peer(0), selfSeed: label('self seed 0'), pairwise })
}

test('chi-square: one masked vector\'s bytes are uniform (masked zeros, masked constant); the unmasked input is not', () => {
  const n = 100_000 // 400 kB, about 1,560 per bin
  const zeros = new Uint32Array(n)
  const scale = quantizationScale({ bound: 1, summands: 5 })
  const constant = quantize(new Float64Array(n).fill(0.25), scale, { bound: 1, rng: seededRandom(label('rng')) })
  const chiZero = chiSquareBytes(maskedOf(zeros))
  const chiConst = chiSquareBytes(maskedOf(constant))
  assert.ok(chiZero < CHI2_255_P001, `masked zeros: chi2 = ${chiZero.toFixed(1)}`)
  assert.ok(chiConst < CHI2_255_P001, `masked constant: chi2 = ${chiConst.toFixed(1)}`)
  // control: the same test rejects the quantized input itself, and a vector with only cancelled masks
  assert.ok(chiSquareBytes(constant) > CHI2_255_P001)
  const a = maskInput(constant, { self: peer(0), selfSeed: label('a'), pairwise: [{ peer: peer(1), seed: label('s01') }] })
  const b = maskInput(zeros, { self: peer(1), selfSeed: label('b'), pairwise: [{ peer: peer(0), seed: label('s01') }] })
  const sumNoSelf = subInto(subInto(addInto(a, b), expandMask(label('a'), n)), expandMask(label('b'), n))
  assert.ok(chiSquareBytes(sumNoSelf) > CHI2_255_P001)
})

test('observer of an honest round: rebuilds exactly the sum, and no single input', async () => {
  const n = 7
  const t = 4
  const ids = Array.from({ length: n }, (_, i) => peer(10 + i))
  // member 5 drops after masking (its pairwise masks are in the sum), member 6 before sharing
  const drops: DropPhase[] = ['none', 'none', 'none', 'none', 'unmask', 'masked', 'shares']
  const length = 20_000
  const scale = quantizationScale({ bound: 1, summands: n })
  const rng = seededRandom(label('inputs'))
  const inputs = ids.map((_, i) => quantize(new Float64Array(length).fill((i + 1) / 10), scale, { bound: 1, rng }))
  let c = 0
  const out = await runRound({ ids, inputs, drops, threshold: t, pick: k => (c++ * 5 + 1) % k })
  const { members, survivors, dropped, releasers, decisions } = out
  assert.deepEqual(out.unmasked, out.expectedSum)

  // What the observer holds: every masked input that was published (the dropped member's too, to make
  // it harder), every public key, and every share the releasers sent in the Unmask phase.
  const released = new Map<number, { selfSeed: Uint8Array[], maskKey: Uint8Array[] }>()
  for (const r of releasers) {
    const d = decisions.get(r) as UnmaskDecision
    assert.ok(d.ok)
    for (const [list, kind] of [[d.selfSeedSharesOf, 'selfSeed'], [d.maskKeySharesOf, 'maskKey']] as const) {
      for (const p of list) {
        const i = ids.findIndex(id => comparePeers(id, p) === 0)
        const held = members[r].held.get(i)
        if (held === undefined) continue // member 6 never shared
        const e = released.get(i) ?? { selfSeed: [], maskKey: [] }
        e[kind].push(kind === 'selfSeed' ? held.selfSeedShare : held.maskKeyShare)
        released.set(i, e)
      }
    }
  }
  // No member has both kinds of its shares out
  for (const [i, e] of released) assert.ok(e.selfSeed.length === 0 || e.maskKey.length === 0, `both secrets of ${i} released`)

  const ctx = { task: TASK, round: 1, attempt: 0 }
  const rebuiltSeeds = new Map<number, Uint8Array>()
  for (const s of survivors) rebuiltSeeds.set(s, await combineShares(released.get(s)?.selfSeed ?? []))
  const rebuiltKeys = new Map<number, Uint8Array>()
  for (const d of dropped) if (members[d].drop === 'masked') rebuiltKeys.set(d, await combineShares(released.get(d)?.maskKey ?? []))
  const pairwiseWithDropped = (s: number): Array<{ survivor: Uint8Array, dropped: Uint8Array, seed: Uint8Array }> =>
    [...rebuiltKeys].map(([d, priv]) => ({ survivor: ids[s], dropped: ids[d], seed: pairwiseMaskSeed(agree(priv, members[s].keys.mask.publicKey), { ...ctx, peers: [ids[s], ids[d]] }) }))

  // (1) the sum, exactly
  const sum = unmaskSum(ringSum(survivors.map(s => members[s].masked as Uint32Array)), {
    survivorSelfSeeds: survivors.map(s => rebuiltSeeds.get(s) as Uint8Array),
    droppedPairwise: survivors.flatMap(pairwiseWithDropped)
  })
  assert.deepEqual(sum, out.expectedSum)

  // (2) no survivor's input: removing its self mask and its masks with dropped members leaves the
  // pairwise masks with the other survivors, which look uniform
  for (const s of survivors) {
    const guess = unmaskSum(members[s].masked as Uint32Array, { survivorSelfSeeds: [rebuiltSeeds.get(s) as Uint8Array], droppedPairwise: pairwiseWithDropped(s) })
    assert.notDeepEqual(guess, members[s].input)
    assert.ok(chiSquareBytes(guess) < CHI2_255_P1E6, `survivor ${s}: leftover is not uniform`)
  }

  // (3) not the dropped member's input either: its mask key is out (so all its pairwise masks), but its
  // self seed is not; even with t - 1 colluding members' own shares the rebuilt seed is wrong
  const d = 5
  const priv = rebuiltKeys.get(d) as Uint8Array
  assert.deepEqual(publicKeyOf(priv), members[d].keys.mask.publicKey)
  assert.equal(released.get(d)?.selfSeed.length ?? 0, 0)
  const colluders = choose(ids.map((_, i) => i).filter(i => i !== d), t - 1, k => (c++ * 3) % k)
  const wrongSeed = await combineShares(colluders.map(i => (members[i].held.get(d) as SharePair).selfSeedShare))
  assert.notDeepEqual(wrongSeed, members[d].selfSeed)
  const pairwise = ids.map((id, j) => j).filter(j => j !== d && members[j].drop !== 'shares')
    .map(j => ({ peer: ids[j], seed: pairwiseMaskSeed(agree(priv, members[j].keys.mask.publicKey), { ...ctx, peers: [ids[d], ids[j]] }) }))
  const zero = new Uint32Array(length)
  const withoutPairwise = subInto((members[d].masked as Uint32Array).slice(), maskInput(zero, { self: ids[d], selfSeed: wrongSeed, pairwise }))
  assert.notDeepEqual(withoutPairwise, members[d].input)
  // with the right seed it would have worked: the test can see a leak
  const leak = subInto((members[d].masked as Uint32Array).slice(), maskInput(zero, { self: ids[d], selfSeed: members[d].selfSeed, pairwise }))
  assert.deepEqual(leak, members[d].input)

  // (4) one survivor's self-seed shares cut below t: its seed, and so the sum, cannot be rebuilt
  const s0 = survivors[0]
  const fewer = (released.get(s0)?.selfSeed ?? []).slice(0, t - 1)
  const badSeed = await combineShares(fewer)
  assert.notDeepEqual(badSeed, members[s0].selfSeed)
  const badSum = unmaskSum(ringSum(survivors.map(s => members[s].masked as Uint32Array)), {
    survivorSelfSeeds: survivors.map(s => s === s0 ? badSeed : rebuiltSeeds.get(s) as Uint8Array),
    droppedPairwise: survivors.flatMap(pairwiseWithDropped)
  })
  assert.notDeepEqual(badSum, out.expectedSum)
})

function codes (d: UnmaskDecision): UnmaskRefusalCode[] {
  return d.ok ? [] : d.reasons.map(r => r.code)
}

test('guard: releases only with t acks for a known list, idempotently', () => {
  const cohort = [0, 1, 2, 3, 4].map(peer)
  const g = new UnmaskGuard({ cohort, threshold: 3 })
  const h = hashList(cohort.slice(0, 4), cohort.slice(4))
  assert.deepEqual(codes(g.release(h)), ['unknown-list', 'not-enough-acks'])
  g.recordSurvivorList(h, cohort.slice(0, 4), cohort.slice(4))
  assert.equal(g.recordAck(peer(99), h), false, 'a non-member ack does not count')
  g.recordAck(cohort[0], h)
  g.recordAck(cohort[0], h)
  g.recordAck(cohort[1], h)
  assert.equal(g.ackCount(h), 2)
  assert.deepEqual(codes(g.release(h)), ['not-enough-acks'])
  g.recordAck(cohort[2], Buffer.from(h).toString('hex')) // hex strings and bytes are the same hash
  const d = g.release(h)
  assert.ok(d.ok)
  assert.deepEqual(d.selfSeedSharesOf, cohort.slice(0, 4))
  assert.deepEqual(d.maskKeySharesOf, cohort.slice(4))
  assert.deepEqual(g.release(h), d, 'asking again for the same list gives the same answer')
})

test('guard: refuses lists that are not a partition of the cohort (Flower SecAgg+ does not check this)', () => {
  const cohort = [0, 1, 2, 3, 4].map(peer)
  const cases: Array<[string, Uint8Array[], Uint8Array[]]> = [
    ['overlap', cohort.slice(0, 4), cohort.slice(3)],
    ['missing member', cohort.slice(0, 3), cohort.slice(4)],
    ['non-member', cohort.slice(0, 4), [peer(99)]],
    ['duplicate', [...cohort.slice(0, 4), cohort[0]], cohort.slice(4)],
    ['member in both lists twice', cohort, [cohort[0]]]
  ]
  for (const [name, survivors, dropped] of cases) {
    const g = new UnmaskGuard({ cohort, threshold: 3 })
    const h = hashList(survivors, dropped)
    g.recordSurvivorList(h, survivors, dropped)
    for (const p of cohort) g.recordAck(p, h)
    assert.deepEqual(codes(g.release(h)), ['not-a-partition'], name)
  }
  const g = new UnmaskGuard({ cohort, threshold: 3 })
  const h = hashList(cohort.slice(0, 2), cohort.slice(2))
  g.recordSurvivorList(h, cohort.slice(0, 2), cohort.slice(2))
  for (const p of cohort) g.recordAck(p, h)
  assert.deepEqual(codes(g.release(h)), ['too-few-survivors'])
})

test('guard: a second list, a second content under one hash, or an ack for another list is a conflict', () => {
  const cohort = [0, 1, 2, 3, 4].map(peer)
  const h1 = hashList(cohort.slice(0, 4), cohort.slice(4))
  const h2 = hashList(cohort.slice(1), cohort.slice(0, 1))
  {
    const g = new UnmaskGuard({ cohort, threshold: 3 })
    g.recordSurvivorList(h1, cohort.slice(0, 4), cohort.slice(4))
    for (const p of cohort) g.recordAck(p, h1)
    g.recordAck(cohort[4], h2) // someone acked another list: the leader showed it to someone
    assert.ok(g.conflicted)
    assert.deepEqual(codes(g.release(h1)), ['conflicting-list'])
  }
  {
    const g = new UnmaskGuard({ cohort, threshold: 3 })
    g.recordSurvivorList(h1, cohort.slice(0, 4), cohort.slice(4))
    g.recordSurvivorList(h1, cohort.slice(1), cohort.slice(0, 1)) // same hash, other content
    for (const p of cohort) g.recordAck(p, h1)
    assert.deepEqual(codes(g.release(h1)), ['conflicting-list'])
  }
})

test('adversarial leader: moving a received member into "dropped" in a second list gets no second set of shares', async () => {
  const n = 5
  const t = 3 // strict majority
  const ids = Array.from({ length: n }, (_, i) => peer(40 + i))
  const length = 5_000
  const inputs = ids.map((_, i) => Uint32Array.from({ length }, (_, k) => (i * 977 + k) >>> 0))
  const members = await shareAndMask({ ids, inputs, drops: Array(n).fill('none'), threshold: t, pick: () => 0 })
  const victim = 2
  const guards = ids.map(() => new UnmaskGuard({ cohort: ids, threshold: t }))

  // List 1: everybody survived. Everybody acks, everybody releases self-seed shares of everybody.
  const l1 = hashList(ids, [])
  for (const g of guards) { g.recordSurvivorList(l1, ids, []); for (const p of ids) g.recordAck(p, l1) }
  const first = guards.map(g => g.release(l1))
  for (const d of first) assert.ok(d.ok)

  // List 2: the leader now claims the victim dropped, and even gathers t acks for it (from members
  // it fooled or controls). Every honest guard refuses, for the list and for the member.
  const l2 = hashList(ids.filter((_, i) => i !== victim), [ids[victim]])
  for (const g of guards) {
    g.recordSurvivorList(l2, ids.filter((_, i) => i !== victim), [ids[victim]])
    for (const p of ids.slice(0, t)) g.recordAck(p, l2)
    const d = g.release(l2)
    assert.equal(d.ok, false)
    const cs = codes(d)
    assert.ok(cs.includes('conflicting-list'), cs.join())
    assert.ok(cs.includes('released-other-list'), cs.join())
    const both = d.ok ? [] : d.reasons.filter(r => r.code === 'both-secrets')
    assert.equal(both.length, 1)
    assert.deepEqual(both[0].member, ids[victim])
    // and list 1 is not answered any more either, now that a conflict is known
    assert.equal(g.release(l1).ok, false)
  }

  // What the leader now holds of the victim: t self-seed shares (so b_v), but only its own mask-key share
  const leader = 0
  const seedShares = first.map((d, r) => d.ok ? (members[r].held.get(victim) as SharePair).selfSeedShare : undefined).filter((s): s is Uint8Array => s !== undefined)
  const bv = await combineShares(seedShares.slice(0, t))
  assert.deepEqual(bv, members[victim].selfSeed)
  const keyGuess = await combineShares([(members[leader].held.get(victim) as SharePair).maskKeyShare])
  assert.notDeepEqual(keyGuess, members[victim].keys.mask.privateKey)
  assert.notDeepEqual(publicKeyOf(keyGuess), members[victim].keys.mask.publicKey)
  // so the victim's input stays hidden behind its pairwise masks
  const guess = unmaskSum(members[victim].masked as Uint32Array, { survivorSelfSeeds: [bv], droppedPairwise: [] })
  assert.notDeepEqual(guess, members[victim].input)
  assert.ok(chiSquareBytes(guess) < CHI2_255_P1E6)
})

test('split view: a leader showing two lists to two groups gets at most one list answered (t > n/2)', () => {
  const n = 5
  const t = 3
  const ids = Array.from({ length: n }, (_, i) => peer(60 + i))
  const victim = 4
  const l1 = { s: ids, d: [] as Uint8Array[] }
  const l2 = { s: ids.filter((_, i) => i !== victim), d: [ids[victim]] }
  const h1 = hashList(l1.s, l1.d)
  const h2 = hashList(l2.s, l2.d)
  // group X = {0,1,2} sees list 1 and acks it; group Y = {3,4} sees list 2 and acks it;
  // the leader withholds each group's acks from the other group
  const groups = [[0, 1, 2], [3, 4]]
  const results: Array<{ member: number, decision: UnmaskDecision }> = []
  for (const [gi, group] of groups.entries()) {
    const [h, l] = gi === 0 ? [h1, l1] : [h2, l2]
    for (const m of group) {
      const g = new UnmaskGuard({ cohort: ids, threshold: t })
      g.recordSurvivorList(h, l.s, l.d)
      for (const a of group) g.recordAck(ids[a], h)
      results.push({ member: m, decision: g.release(h) })
    }
  }
  const maskKeyHolders = results.filter(r => r.decision.ok && r.decision.maskKeySharesOf.some(p => comparePeers(p, ids[victim]) === 0))
  const seedHolders = results.filter(r => r.decision.ok && r.decision.selfSeedSharesOf.some(p => comparePeers(p, ids[victim]) === 0))
  assert.equal(maskKeyHolders.length, 0, 'group Y has fewer than t acks, so it releases nothing')
  assert.equal(seedHolders.length, 3)
  for (const r of results.filter(r => r.member >= 3)) assert.deepEqual(codes(r.decision), ['not-enough-acks'])
})
