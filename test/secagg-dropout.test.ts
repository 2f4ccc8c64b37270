// Invariant 3 (dropouts) for the secure-aggregation primitives, as a fast-check property: random
// cohorts of up to 20 members, random thresholds, random quantized inputs and random drop sets in
// random phases. Whenever at least t members survive through unmasking, the sum rebuilt from only
// t shares per secret (chosen at random among the releasers) equals the exact ring sum of the
// survivors' quantized inputs; with fewer than t, fewer than t shares do not give the secret.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { combineShares, dequantizeSum, majorityThreshold, quantizationScale, quantize, seededRandom } from '../src/secagg/index.ts'
import { runRound } from './secagg-harness.ts'
import type { DropPhase } from './secagg-harness.ts'

const BOUND = 1

/** Unique PeerId-like byte strings: mostly a common multihash prefix, sometimes shorter (prefix order). */
const peerIds = (n: number): fc.Arbitrary<Uint8Array[]> => fc.uniqueArray(
  fc.oneof(
    { weight: 4, arbitrary: fc.uint8Array({ minLength: 4, maxLength: 4 }).map(tail => Uint8Array.of(0x00, 0x24, 0x08, 0x01, ...tail)) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 6 }) }
  ),
  { minLength: n, maxLength: n, selector: b => Buffer.from(b).toString('hex') }
)

const dropPhase: fc.Arbitrary<DropPhase> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<DropPhase>('none') },
  { weight: 1, arbitrary: fc.constant<DropPhase>('shares') },
  { weight: 1, arbitrary: fc.constant<DropPhase>('masked') },
  { weight: 1, arbitrary: fc.constant<DropPhase>('unmask') }
)

const scenario = fc.integer({ min: 1, max: 20 }).chain(n => fc.record({
  n: fc.constant(n),
  ids: peerIds(n),
  threshold: fc.oneof(fc.constant(majorityThreshold(n)), fc.integer({ min: 1, max: n })),
  drops: fc.array(dropPhase, { minLength: n, maxLength: n }),
  length: fc.integer({ min: 1, max: 40 }),
  seed: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  gen: fc.gen()
}))

test('unmasked sum is exact whenever at least t members survive through unmasking', async () => {
  let exact = 0
  let short = 0
  await fc.assert(fc.asyncProperty(scenario, async ({ n, ids, threshold: t, drops, length, seed, gen }) => {
    // random real inputs in [-bound, bound], quantized for a sum of n inputs
    const scale = quantizationScale({ bound: BOUND, summands: n })
    const rng = seededRandom(seed)
    const inputs: Uint32Array[] = []
    const reals: Float64Array[] = []
    for (let i = 0; i < n; i++) {
      const words = new Uint32Array(length)
      rng.fillUint32(words)
      const x = Float64Array.from(words, w => (w / 2 ** 32) * 2 * BOUND - BOUND)
      reals.push(x)
      inputs.push(quantize(x, scale, { bound: BOUND, rng }))
    }
    const pick = (k: number): number => gen(fc.integer, { min: 0, max: k - 1 })
    const out = await runRound({ ids, inputs, drops, threshold: t, pick })

    const survivorsAck = out.survivors.length >= t
    for (const d of out.decisions.values()) assert.equal(d.ok, survivorsAck, 'a guard released without t acks, or refused with them')

    if (out.releasers.length >= t) {
      exact++
      assert.ok(out.unmasked !== undefined)
      assert.deepEqual(out.unmasked, out.expectedSum)
      // and it dequantizes to the real sum within one step per summand
      const real = dequantizeSum(out.unmasked, scale)
      for (let k = 0; k < length; k++) {
        let want = 0
        for (const s of out.survivors) want += reals[s][k]
        assert.ok(Math.abs(real[k] - want) <= out.survivors.length / scale, `coordinate ${k}: ${real[k]} vs ${want}`)
      }
    } else {
      short++
      assert.equal(out.unmasked, undefined)
      // an observer with every share the releasers hold (fewer than t) cannot rebuild any secret
      for (const i of out.survivors) {
        const shares = out.releasers.map(r => out.members[r].held.get(i)?.selfSeedShare).filter((s): s is Uint8Array => s !== undefined)
        if (shares.length === 0) continue
        assert.ok(shares.length < t)
        const rebuilt = await combineShares(shares)
        assert.notDeepEqual(rebuilt, out.members[i].selfSeed, 'fewer than t shares rebuilt a self-mask seed')
      }
      for (const d of out.dropped) {
        const shares = out.releasers.map(r => out.members[r].held.get(d)?.maskKeyShare).filter((s): s is Uint8Array => s !== undefined)
        if (shares.length === 0) continue
        const rebuilt = await combineShares(shares)
        assert.notDeepEqual(rebuilt, out.members[d].keys.mask.privateKey, 'fewer than t shares rebuilt a mask key')
      }
    }
  }), { numRuns: 60 })
  assert.ok(exact > 0 && short > 0, `both outcomes must be exercised (exact ${exact}, short ${short})`)
})

test('a cohort of 20 with the majority threshold survives 9 dropouts spread over every phase', async () => {
  const n = 20
  const ids = Array.from({ length: n }, (_, i) => Uint8Array.of(0x00, 0x24, 0x08, 0x01, i * 7 % 256, i))
  const drops: DropPhase[] = Array.from({ length: n }, (_, i) => i < 3 ? 'shares' : i < 6 ? 'masked' : i < 9 ? 'unmask' : 'none')
  const t = majorityThreshold(n)
  assert.equal(t, 11)
  const inputs = ids.map((_, i) => Uint32Array.from({ length: 1000 }, (_, k) => (i * 1_000_003 + k * 7919) >>> 0))
  let c = 0
  const out = await runRound({ ids, inputs, drops, threshold: t, pick: k => (c++ * 7) % k })
  assert.equal(out.releasers.length, 11)
  assert.deepEqual(out.unmasked, out.expectedSum)
  assert.notDeepEqual(out.maskedSum, out.expectedSum)
})
