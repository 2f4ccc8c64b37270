// Quantization into Z_2^32: the scale formula (largest power of two with
// summands · (bound · s + 1) <= 2^31 - 1, monotone), round-trip error below one step, unbiased
// stochastic rounding (with a control showing a biased source fails the same check), and no
// wrap-around for a sum of `summands` inputs of maximal magnitude.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  dequantizeSum, fitsInRing, INT32_MAX, quantizationScale, quantize, QuantizationError, ringSum, seededRandom, systemRandom
} from '../src/secagg/index.ts'
import type { RandomSource } from '../src/secagg/index.ts'

const constantRandom = (word: number): RandomSource => ({ fillUint32: out => { out.fill(word) } })
const signed = (v: Uint32Array): number[] => Array.from(v, w => w | 0)

test('quantizationScale: the largest power of two that fits, and known values', () => {
  assert.equal(quantizationScale({ bound: 1, summands: 1 }), 2 ** 30)
  assert.equal(quantizationScale({ bound: 1, summands: 10 }), 2 ** 27)
  assert.equal(quantizationScale({ bound: 1, summands: 20 }), 2 ** 26)
  assert.equal(quantizationScale({ bound: 0.5, summands: 20 }), 2 ** 27)
  assert.equal(quantizationScale({ bound: 1e6, summands: 100 }), 2 ** 4)
  assert.equal(quantizationScale({ bound: 1e9, summands: 2 }), 1)
  assert.equal(quantizationScale({ bound: 2e9, summands: 2 }), 2 ** -1)
  fc.assert(fc.property(
    fc.double({ min: 1e-9, max: 1e12, noNaN: true }),
    fc.integer({ min: 1, max: 1_000_000 }),
    (bound, summands) => {
      const s = quantizationScale({ bound, summands })
      assert.equal(2 ** Math.round(Math.log2(s)), s, 'a power of two')
      assert.ok(summands * (bound * s + 1) <= INT32_MAX)
      assert.ok(!fitsInRing({ bound, summands }, 2 * s), 'twice the scale must not fit')
    }
  ), { numRuns: 2000 })
})

test('quantizationScale is monotone: never grows with the bound or the number of summands', () => {
  fc.assert(fc.property(
    fc.double({ min: 1e-6, max: 1e8, noNaN: true }), fc.double({ min: 1, max: 1e3, noNaN: true }),
    fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 0, max: 100_000 }),
    (bound, grow, summands, more) => {
      const s = quantizationScale({ bound, summands })
      assert.ok(quantizationScale({ bound: bound * grow, summands }) <= s)
      assert.ok(quantizationScale({ bound, summands: summands + more }) <= s)
    }
  ), { numRuns: 2000 })
})

test('quantizationScale refuses impossible parameters', () => {
  for (const init of [{ bound: 0, summands: 3 }, { bound: -1, summands: 3 }, { bound: Infinity, summands: 3 }, { bound: NaN, summands: 3 },
    { bound: 1, summands: 0 }, { bound: 1, summands: 2.5 }, { bound: 1, summands: 2 ** 31 }]) {
    assert.throws(() => quantizationScale(init), QuantizationError, JSON.stringify(init))
  }
})

test('round trip: |dequantize(quantize(x)) - clamp(x)| < 1/scale per coordinate, clamped to ±bound', () => {
  fc.assert(fc.property(
    fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
    fc.integer({ min: 1, max: 1000 }),
    fc.array(fc.double({ noNaN: true }), { minLength: 1, maxLength: 64 }),
    fc.uint8Array({ minLength: 32, maxLength: 32 }),
    (bound, summands, xs, seed) => {
      const scale = quantizationScale({ bound, summands })
      const x = Float64Array.from(xs)
      const back = dequantizeSum(quantize(x, scale, { bound, rng: seededRandom(seed) }), scale)
      for (let i = 0; i < x.length; i++) {
        const clamped = Math.min(bound, Math.max(-bound, x[i]))
        assert.ok(Math.abs(back[i] - clamped) < 1 / scale, `x=${x[i]} back=${back[i]} scale=${scale}`)
      }
    }
  ), { numRuns: 500 })
  // Float32 input, default CSPRNG, exact values stay exact, infinities clamp
  const q = quantize(Float32Array.of(0.5, -0.25, 0, Infinity, -Infinity, 3), 4, { bound: 2 })
  assert.deepEqual(signed(q), [2, -1, 0, 8, -8, 8])
  assert.throws(() => quantize(Float64Array.of(1, NaN), 4, { bound: 2 }), QuantizationError)
  assert.throws(() => quantize(Float64Array.of(1), 2 ** 31, { bound: 1 }), QuantizationError)
})

test('dequantizeSum reads two\'s complement', () => {
  assert.deepEqual(Array.from(dequantizeSum(Uint32Array.of(0xffffffff, 0x80000000, 0x7fffffff, 6), 2)), [-0.5, -(2 ** 30), (2 ** 31 - 1) / 2, 3])
})

/** Mean of q over `draws` independent roundings of the same x, minus x·scale, in units of its standard error. */
function biasInSigmas (x: number, scale: number, bound: number, draws: number, rng: RandomSource): number {
  const q = quantize(new Float64Array(draws).fill(x), scale, { bound, rng })
  let sum = 0
  for (const v of q) sum += v | 0
  const y = x * scale
  const frac = y - Math.floor(y)
  const sd = Math.sqrt(Math.max(frac * (1 - frac), 1e-12))
  return (sum / draws - y) / (sd / Math.sqrt(draws))
}

test('stochastic rounding is unbiased (5 standard errors over 200k draws), and a biased source fails', () => {
  const scale = 2 ** 10
  const values = [0.3 / scale, 1.7 / scale, -2.3 / scale, 0.123456789, -0.987654321, 1e-5 / scale, -0.5 / scale]
  const rng = seededRandom(new Uint8Array(32).fill(9))
  for (const x of values) {
    const z = biasInSigmas(x, scale, 1, 200_000, rng)
    assert.ok(Math.abs(z) < 5, `x=${x}: mean off by ${z.toFixed(2)} standard errors`)
  }
  const zSys = biasInSigmas(0.3 / scale, scale, 1, 200_000, systemRandom)
  assert.ok(Math.abs(zSys) < 5, `system CSPRNG: ${zSys.toFixed(2)} standard errors`)
  // control: the same check catches round-half-up-like bias (a source stuck at 0 always rounds up)
  assert.ok(Math.abs(biasInSigmas(0.3 / scale, scale, 1, 200_000, constantRandom(0))) > 5)
  assert.ok(Math.abs(biasInSigmas(0.3 / scale, scale, 1, 200_000, constantRandom(0xffffffff))) > 5)
})

test('the sum of `summands` maximal-magnitude inputs never wraps', () => {
  fc.assert(fc.property(
    fc.double({ min: 1e-6, max: 1e9, noNaN: true }),
    fc.integer({ min: 1, max: 2000 }),
    fc.boolean(),
    (bound, summands, negative) => {
      const scale = quantizationScale({ bound, summands })
      // worst case rounding away from zero: u ~ 0 rounds up (positive), u ~ 1 rounds down (negative)
      const rng = constantRandom(negative ? 0xffffffff : 0)
      const x = Float64Array.of(negative ? -bound : bound, negative ? -2 * bound : 2 * bound) // second is clamped
      const q = quantize(x, scale, { bound, rng })
      const one = q[0] | 0
      assert.ok(Math.abs(one) <= bound * scale + 1)
      const sum = ringSum(Array.from({ length: summands }, () => q))
      const exact = BigInt(one) * BigInt(summands)
      assert.ok(exact <= BigInt(INT32_MAX) && exact >= -BigInt(INT32_MAX), 'the integer sum fits in int32')
      assert.equal(BigInt(sum[0] | 0), exact, 'the ring sum read as int32 is the exact integer sum')
      assert.equal(sum[1] | 0, sum[0] | 0)
      const real = dequantizeSum(sum, scale)[0]
      assert.ok(Math.abs(real - (negative ? -1 : 1) * bound * summands) <= summands / scale)
    }
  ), { numRuns: 1000 })
})
