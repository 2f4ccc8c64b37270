// FedAvg determinism: the same updates give the bit-identical model whatever order they arrive in,
// in another process too; weighting and the server learning rate do what the docs say.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fc from 'fast-check'
import { fedAvg, weightedSum, applyAverage, AggregationError } from '../src/aggregate/index.ts'
import type { WeightedUpdate } from '../src/aggregate/index.ts'
import { sha256, toHex, float32Bytes } from '../src/wire/index.ts'

const vec = (d: number) => fc.float32Array({ minLength: d, maxLength: d, noNaN: true, noDefaultInfinity: true, min: -1e3, max: 1e3 })
const peerBytes = fc.uint8Array({ minLength: 34, maxLength: 34 })

const updatesArb = fc.integer({ min: 1, max: 12 }).chain(d =>
  fc.tuple(vec(d), fc.uniqueArray(fc.record({ peer: peerBytes, weight: fc.integer({ min: 1, max: 60000 }), delta: vec(d) }), {
    minLength: 1, maxLength: 10, selector: u => toHex(u.peer)
  })))

test('FedAvg is independent of arrival order (bit-identical)', () => {
  fc.assert(fc.property(updatesArb, fc.integer(), ([base, updates], seed) => {
    const shuffled = [...updates].sort((a, b) => ((a.weight * 2654435761 + seed) % 97) - ((b.weight * 2654435761 + seed) % 97))
    const a = fedAvg(base, updates as WeightedUpdate[])
    const b = fedAvg(base, shuffled as WeightedUpdate[])
    assert.equal(toHex(sha256(float32Bytes(a))), toHex(sha256(float32Bytes(b))))
  }), { numRuns: 200 })
})

test('example weighting vs uniform weighting, and the server learning rate', () => {
  const base = new Float32Array([0, 0])
  const ups: WeightedUpdate[] = [
    { peer: new Uint8Array([1]), weight: 3, delta: new Float32Array([1, 0]) },
    { peer: new Uint8Array([2]), weight: 1, delta: new Float32Array([0, 1]) }
  ]
  assert.deepEqual([...fedAvg(base, ups)], [0.75, 0.25])
  assert.deepEqual([...fedAvg(base, ups, { weighting: 'uniform' })], [0.5, 0.5])
  assert.deepEqual([...fedAvg(base, ups, { weighting: 'uniform', serverLearningRate: 2 })], [1, 1])
  const { sum, totalWeight } = weightedSum(ups, 'examples')
  assert.equal(totalWeight, 4)
  assert.deepEqual([...applyAverage(new Float32Array([1, 1]), sum, totalWeight)], [1.75, 1.25])
})

test('bad updates are refused with a named error', () => {
  const base = new Float32Array(2)
  assert.throws(() => fedAvg(base, []), AggregationError)
  assert.throws(() => fedAvg(base, [{ peer: new Uint8Array([1]), weight: 1, delta: new Float32Array(3) }]), AggregationError)
  assert.throws(() => fedAvg(base, [{ peer: new Uint8Array([1]), weight: 0, delta: new Float32Array(2) }]), AggregationError)
  assert.throws(() => fedAvg(base, [
    { peer: new Uint8Array([1]), weight: 1, delta: new Float32Array(2) },
    { peer: new Uint8Array([1]), weight: 1, delta: new Float32Array(2) }
  ]), AggregationError)
})

test('another process computes the same hash as this one for the same updates', async () => {
  // One generator, run here and in a child process: a difference in FedAvg's result between processes
  // (or any order dependence) changes the hash.
  const gen = `
    let s = 12345
    const r = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648 - 0.5 }
    const d = 5000
    const base = Float32Array.from({ length: d }, r)
    const ups = Array.from({ length: 7 }, (_, i) => ({ peer: new Uint8Array([i * 37 % 11, i]), weight: 100 + i * 13, delta: Float32Array.from({ length: d }, r) }))
    return { base, ups }
  `
  const { base, ups } = new Function(gen)() as { base: Float32Array, ups: WeightedUpdate[] }
  const here = toHex(sha256(float32Bytes(fedAvg(base, ups.reverse()))))
  const script = `
    import { fedAvg } from './src/aggregate/index.ts'
    import { sha256, toHex, float32Bytes } from './src/wire/index.ts'
    const { base, ups } = (() => { ${gen} })()
    console.log(toHex(sha256(float32Bytes(fedAvg(base, ups)))))
  `
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: new URL('..', import.meta.url).pathname, encoding: 'utf8' })
  assert.equal(child.status, 0, child.stderr)
  assert.equal(child.stdout.trim(), here)
})
