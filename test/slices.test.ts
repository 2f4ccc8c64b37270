// In-network aggregation (src/round/slices.ts): slicing covers the vector exactly, masks removed slice by
// slice equal the whole-vector unmasking (seekable mask streams), and real libp2p peers summing real
// masked vectors in slices get the exact sum — with every owner working, with a slow owner whose slice a
// backup computes, and with a peer announcing a wrong sum — while receiving far less than n · 4d.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { MaskStream, expandMask, maskInput, unmaskSum } from '../src/secagg/index.ts'
import type { UnmaskInit } from '../src/secagg/index.ts'
import { SliceAggregation, backupStep, sliceBounds } from '../src/round/slices.ts'
import { createPeerNode, linkPeers, memoryAddress } from '../src/net/index.ts'
import type { PeerNode } from '../src/net/index.ts'
import { createSwarmChannel } from '../src/net/swarm-channel.ts'
import type { SwarmChannel } from '../src/round/channel.ts'
import { compareBytes, uint32Bytes } from '../src/wire/hash.ts'

test('slices cover [0, d) in order, without gaps or overlaps', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 1_000_000 }), fc.integer({ min: 1, max: 1024 }), (d, n) => {
    let at = 0
    for (let k = 0; k < n; k++) {
      const { start, end } = sliceBounds(d, n, k)
      assert.equal(start, at)
      assert.ok(end >= start && end - start <= Math.ceil(d / n))
      at = end
    }
    assert.equal(at, d)
  }))
  assert.throws(() => sliceBounds(10, 3, 3), RangeError)
  // every slice has exactly one survivor at each backup step
  fc.assert(fc.property(fc.integer({ min: 1, max: 64 }), (n) => {
    for (let k = 0; k < n; k++) {
      const steps = Array.from({ length: n }, (_, p) => backupStep(p, k, n)).sort((a, b) => a - b)
      assert.deepEqual(steps, Array.from({ length: n }, (_, i) => i))
    }
  }))
})

test('a mask stream started at any word equals the whole stream from that word', () => {
  fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 0, max: 3000 }), fc.integer({ min: 0, max: 200 }), (seed, offset, len) => {
    const whole = expandMask(seed, offset + len)
    const part = new MaskStream(seed, offset).fill(new Uint32Array(len))
    assert.deepEqual(part, whole.subarray(offset))
  }), { numRuns: 200 })
})

/** n members' masked inputs of length d (Bonawitz masks), the last `dropped` of them left out of the sum. */
function maskedRound (n: number, d: number, dropped: number): { ids: Uint8Array[], masked: Uint32Array[], inputs: Uint32Array[], masks: UnmaskInit } {
  const ids = Array.from({ length: n }, () => Uint8Array.from(randomBytes(34))).sort(compareBytes)
  const selfSeeds = ids.map(() => Uint8Array.from(randomBytes(32)))
  const pair = new Map<string, Uint8Array>()
  const seedOf = (i: number, j: number): Uint8Array => {
    const key = i < j ? `${i}-${j}` : `${j}-${i}`
    let s = pair.get(key)
    if (s == null) { s = Uint8Array.from(randomBytes(32)); pair.set(key, s) }
    return s
  }
  const inputs = ids.map(() => Uint32Array.from({ length: d }, () => Math.floor(Math.random() * 2 ** 32)))
  const masked = inputs.map((x, i) => maskInput(x, {
    self: ids[i],
    selfSeed: selfSeeds[i],
    pairwise: ids.flatMap((peer, j) => j === i ? [] : [{ peer, seed: seedOf(i, j) }])
  }))
  const live = n - dropped
  const masks: UnmaskInit = {
    survivorSelfSeeds: selfSeeds.slice(0, live),
    droppedPairwise: ids.slice(0, live).flatMap((s, i) => ids.slice(live).map((dp, k) => ({ survivor: s, dropped: dp, seed: seedOf(i, live + k) })))
  }
  return { ids, masked: masked.slice(0, live), inputs: inputs.slice(0, live), masks }
}

function ringTotal (vs: Uint32Array[], d: number): Uint32Array {
  const out = new Uint32Array(d)
  for (const v of vs) for (let i = 0; i < d; i++) out[i] = out[i] + v[i]
  return out
}

test('unmasking slice by slice gives the whole unmasked sum, with dropped members', () => {
  fc.assert(fc.property(fc.integer({ min: 3, max: 7 }), fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 9 }), (n, d, count) => {
    const { masked, inputs, masks } = maskedRound(n, d, 1)
    const maskedSum = ringTotal(masked, d)
    const whole = unmaskSum(maskedSum, masks)
    assert.deepEqual(whole, ringTotal(inputs, d))
    for (let k = 0; k < Math.min(count, d); k++) {
      const { start, end } = sliceBounds(d, Math.min(count, d), k)
      assert.deepEqual(unmaskSum(maskedSum.subarray(start, end), masks, start), whole.subarray(start, end))
    }
  }), { numRuns: 60 })
})

interface SlicePeer { node: PeerNode, channel: SwarmChannel, id: string, aggregation?: SliceAggregation, logs: string[] }

/**
 * n real libp2p peers (memory transport, a sparse graph: range fetches dial authors by the addresses
 * they announced), each holding its masked vector as a blob; `announce` delivers a SliceSum to every
 * peer's aggregation as accepted gossip would.
 */
async function slicePeers (n: number, d: number, t: test.TestContext): Promise<{ peers: SlicePeer[], sum: Uint32Array, masks: UnmaskInit, hashes: string[] }> {
  const round = maskedRound(n + 1, d, 1)
  const nodes = await Promise.all(Array.from({ length: n }, async () => await createPeerNode({ listen: [memoryAddress()], transports: ['memory'] })))
  t.after(async () => { await Promise.all(nodes.map(async nd => await nd.stop())) })
  await linkPeers(nodes, { degree: 2, seed: 3 })
  const peers: SlicePeer[] = nodes.map(node => ({ node, channel: createSwarmChannel(node, { taskId: 'ab'.repeat(32) }), id: node.peerId.toString(), logs: [] }))
  t.after(async () => { await Promise.all(peers.map(async p => await p.channel.close())) })
  // Survivors in peer order, as the driver orders them.
  peers.sort((a, b) => compareBytes(a.node.peerId.toMultihash().bytes, b.node.peerId.toMultihash().bytes))
  for (const p of peers) for (const q of peers) if (p !== q) p.channel.learnAddresses(q.id, q.channel.addresses())
  const hashes = peers.map((p, i) => p.channel.putBlob(uint32Bytes(round.masked[i])))
  return { peers, sum: ringTotal(round.inputs, d), masks: round.masks, hashes }
}

function aggregationOf (peers: SlicePeer[], i: number, d: number, hashes: string[], signal: AbortSignal, backupMs = 1500): SliceAggregation {
  const p = peers[i]
  const a = new SliceAggregation({
    channel: p.channel,
    survivors: peers.map((q, j) => ({ id: q.id, blobHash: hashes[j] })),
    length: d,
    selfId: p.id,
    announce: async (index, _count, h) => {
      p.logs.push(`announced ${index}`)
      for (const q of peers) q.aggregation?.offer(index, h, p.id)
    },
    backupMs,
    fetchTimeoutMs: 10_000,
    signal,
    log: line => p.logs.push(line),
    onBadSum: (peer, index) => p.logs.push(`bad ${peer} ${index}`)
  })
  p.aggregation = a
  return a
}

test('peers sum real masked vectors in slices over libp2p: exact, and about 2·4d bytes in per peer', async (t) => {
  const n = 6
  const d = 60_000
  const { peers, sum, masks, hashes } = await slicePeers(n, d, t)
  const before = peers.map(p => p.channel.traffic().received)
  const signal = AbortSignal.timeout(60_000)
  // owners only (backups would add bytes if an owner is slow on a busy machine; the next test has them)
  for (let i = 0; i < n; i++) aggregationOf(peers, i, d, hashes, signal, 50_000)
  // half of them fetch their slice before the masks are known (as the driver does at the survivor list)
  for (let i = 0; i < n; i += 2) peers[i].aggregation!.prefetch()
  const results = await Promise.all(peers.map(async p => await p.aggregation!.run(masks)))
  for (const r of results) assert.deepEqual(r, sum)
  const floor = 4 * d
  for (let i = 0; i < n; i++) {
    const got = peers[i].channel.traffic().received - before[i]
    // n - 1 slices of others' vectors + n - 1 slice sums ≈ 2 · 4d · (n - 1) / n; gossip-everything is (n - 1) · 4d
    assert.ok(got < 2.3 * floor, `peer ${i} received ${got} bytes, ${(got / floor).toFixed(2)} × 4d`)
    assert.ok(got > 1.5 * floor, `peer ${i} received only ${got} bytes: did it fetch the slices at all?`)
  }
})

test('a slow owner\'s slice is computed by the next survivor; a wrong announced sum is caught and named', async (t) => {
  const n = 5
  const d = 20_000
  const { peers, sum, masks, hashes } = await slicePeers(n, d, t)
  const signal = AbortSignal.timeout(60_000)
  const slow = 2
  const liar = 4
  for (let i = 0; i < n; i++) {
    if (i === slow) continue // never runs: its slice 2 has no owner
    aggregationOf(peers, i, d, hashes, signal)
  }
  // The liar also announces a wrong sum of slice 0 (a real blob, so it can be fetched).
  const bogus = peers[liar].channel.putBlob(uint32Bytes(Uint32Array.from({ length: sliceBounds(d, n, 0).end }, (_, i) => i)))
  for (const q of peers) q.aggregation?.offer(0, Buffer.from(bogus, 'hex'), peers[liar].id)
  const started = Date.now()
  const results = await Promise.all(peers.filter((_, i) => i !== slow).map(async p => await p.aggregation!.run(masks)))
  for (const r of results) assert.deepEqual(r, sum)
  assert.ok(Date.now() - started >= 1000, 'the backup waited for the owner first')
  // slice 2's first backup (survivor 3) computed it
  assert.ok(peers[3].logs.every(l => !l.includes('could not')), peers[3].logs.join('\n'))
  for (const [i, p] of peers.entries()) {
    if (i === slow) continue
    assert.ok(p.logs.some(l => l === `bad ${peers[liar].id} 0`), `peer ${i} named the liar: ${p.logs.join(' | ')}`)
  }
})

test('a backup whose own slice is not done yet leaves the missing slice to the next backup', async (t) => {
  const n = 5
  const d = 20_000
  const { peers, sum, masks, hashes } = await slicePeers(n, d, t)
  const signal = AbortSignal.timeout(60_000)
  const absent = 1 // owner of slice 1: never runs
  const busy = 2 // slice 1's first backup: every range it fetches takes 4 s more (a busy peer)
  const real = peers[busy].channel
  peers[busy].channel = {
    ...real,
    fetchBlobRange: async (...args: Parameters<typeof real.fetchBlobRange>) => {
      await new Promise(resolve => setTimeout(resolve, 4000))
      return await real.fetchBlobRange(...args)
    }
  }
  for (let i = 0; i < n; i++) if (i !== absent) aggregationOf(peers, i, d, hashes, signal, 500)
  const results = await Promise.all(peers.filter((_, i) => i !== absent).map(async p => await p.aggregation!.run(masks)))
  for (const r of results) assert.deepEqual(r, sum)
  const announcedBy = (index: number): number[] => peers.flatMap((p, i) => p.logs.includes(`announced ${index}`) ? [i] : [])
  const slice1 = announcedBy(1)
  // survivor 3 (second backup, own slice done) computed slice 1; the busy survivor 2 did not start it
  // before its own slice was done, and by then survivor 3's sum was there to fetch
  assert.ok(slice1.includes(3), `slice 1 announced by ${JSON.stringify(slice1)}`)
  assert.ok(!slice1.includes(busy), `the busy backup computed slice 1 too: ${JSON.stringify(slice1)}`)
  assert.ok(announcedBy(busy).includes(busy), 'the busy survivor computed its own slice')
})

test('an announced sum that could not be fetched is fetched again, not recomputed from every survivor\'s range', async (t) => {
  const n = 5
  const d = 20_000
  const { peers, sum, masks, hashes } = await slicePeers(n, d, t)
  const signal = AbortSignal.timeout(60_000)
  const flaky = 3 // its first fetch of every announced sum fails (a stream reset on a busy machine)
  const real = peers[flaky].channel
  const failedOnce = new Set<string>()
  let ranges = 0
  peers[flaky].channel = {
    ...real,
    fetchBlob: async (...args: Parameters<typeof real.fetchBlob>) => {
      if (!failedOnce.has(args[0])) {
        failedOnce.add(args[0])
        throw new Error('stream reset (test)')
      }
      return await real.fetchBlob(...args)
    },
    fetchBlobRange: async (...args: Parameters<typeof real.fetchBlobRange>) => {
      ranges++
      return await real.fetchBlobRange(...args)
    }
  }
  // backups and the fallback step come before the first retry (1 s): without retries the flaky peer
  // would compute the other slices from ranges
  for (let i = 0; i < n; i++) aggregationOf(peers, i, d, hashes, signal, 200)
  const results = await Promise.all(peers.map(async p => await p.aggregation!.run(masks)))
  for (const r of results) assert.deepEqual(r, sum)
  // every slice came either from a sum it fetched on the second try or from its own computation (its
  // own slice, or another as a backup when that owner was late): never recomputed after a failed fetch
  const computed = peers[flaky].logs.filter(l => l.startsWith('announced ')).length
  const firstTries = peers[flaky].logs.filter(l => l.includes('(try 1 of 3)')).length
  assert.ok(firstTries >= 1, 'some sum failed at first')
  assert.equal(firstTries, failedOnce.size)
  assert.ok(!peers[flaky].logs.some(l => l.includes('(try 2 of 3)')), peers[flaky].logs.join('\n'))
  assert.equal(computed + failedOnce.size, n, peers[flaky].logs.join('\n'))
  assert.equal(ranges, n * computed, `the flaky peer fetched ${ranges} ranges for ${computed} slice(s)`)
})

test('a sum announced in an absent owner\'s name that nobody holds is given up after its tries, and the slice computed', async (t) => {
  const n = 5
  const d = 20_000
  const { peers, sum, masks, hashes } = await slicePeers(n, d, t)
  const signal = AbortSignal.timeout(60_000)
  const absent = 1
  for (let i = 0; i < n; i++) if (i !== absent) aggregationOf(peers, i, d, hashes, signal, 300)
  const nowhere = new Uint8Array(32).fill(7)
  for (const q of peers) q.aggregation?.offer(absent, nowhere, peers[absent].id)
  const results = await Promise.all(peers.filter((_, i) => i !== absent).map(async p => await p.aggregation!.run(masks)))
  for (const r of results) assert.deepEqual(r, sum)
  for (const [i, p] of peers.entries()) {
    if (i === absent) continue
    const tries = p.logs.filter(l => l.startsWith(`slice ${absent}: could not fetch the announced sum 0707`))
    // either it gave up after 3 tries and computed the slice, or a backup's sum arrived in between
    assert.ok(tries.length <= 3 && tries.length >= 1, `peer ${i}: ${p.logs.join(' | ')}`)
  }
  const computed = peers.filter((p, i) => i !== absent && p.logs.includes(`announced ${absent}`))
  assert.ok(computed.length >= 1, 'a backup computed the absent owner\'s slice')
  assert.ok(peers.some(p => p.logs.some(l => l.includes('(try 3 of 3)'))), 'some peer tried the unheld sum three times before computing')
})

test('a peer outside the survivor list waits past the survivors\' fallback step for their sums before computing a slice', async (t) => {
  const n = 4
  const d = 20_000
  const { peers, sum, masks, hashes } = await slicePeers(n, d, t)
  const signal = AbortSignal.timeout(60_000)
  const backupMs = 300
  // every survivor is slow (a crowded machine): its ranges take 1.2 s, past the 0.9 s fallback step
  for (const p of peers) {
    const real = p.channel
    p.channel = {
      ...real,
      fetchBlobRange: async (...args: Parameters<typeof real.fetchBlobRange>) => {
        await new Promise(resolve => setTimeout(resolve, 1200))
        return await real.fetchBlobRange(...args)
      }
    }
  }
  const node = await createPeerNode({ listen: [memoryAddress()], transports: ['memory'] })
  t.after(async () => { await node.stop() })
  const real = createSwarmChannel(node, { taskId: 'ab'.repeat(32) })
  t.after(async () => { await real.close() })
  for (const q of peers) real.learnAddresses(q.id, q.channel.addresses())
  await node.dial(peers[0].node.getMultiaddrs()[0])
  let ranges = 0
  const channel: SwarmChannel = { ...real, fetchBlobRange: async (...args) => { ranges++; return await real.fetchBlobRange(...args) } }
  const logs: string[] = []
  const follower = new SliceAggregation({
    channel,
    survivors: peers.map((q, j) => ({ id: q.id, blobHash: hashes[j] })),
    length: d,
    selfId: node.peerId.toString(),
    announce: async () => { throw new Error('a follower announced') },
    backupMs,
    fetchTimeoutMs: 10_000,
    signal,
    log: line => logs.push(line)
  })
  for (let i = 0; i < n; i++) aggregationOf(peers, i, d, hashes, signal, backupMs)
  // in `peers` from here on, the follower hears every announcement (as gossip would deliver it)
  peers.push({ node, channel, id: node.peerId.toString(), aggregation: follower, logs })
  const results = await Promise.all(peers.map(async p => await p.aggregation!.run(masks)))
  for (const r of results) assert.deepEqual(r, sum)
  assert.equal(ranges, 0, `the follower computed slices itself (${ranges} ranges): ${logs.join(' | ')}`)
})
