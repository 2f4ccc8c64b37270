// Model layouts, M[0] and the seeded PRNG: sizes per model kind, agreement with the tfjs models'
// getWeights(), bit-identical and seed-dependent initial parameters, and the wasm kernel replacements.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { ModelError, createRng, initialParams, modelLayout, setWasmSimdKernels, trainLocal, useBackend, wasmKernelSelfTest } from '../src/learning/index.ts'
import type { ModelSpec } from '../src/config/types.ts'

const MNIST = [28, 28, 1]
const mlp: ModelSpec = { kind: 'mlp', hidden: [200, 200], activation: 'relu' }
const cnn: ModelSpec = { kind: 'cnn', filters: [32, 64], dense: 512, activation: 'relu' }
const logreg: ModelSpec = { kind: 'logreg' }

test('layout sizes: McMahan 2NN 199,210, CNN 1,663,370, logreg 7,850', () => {
  assert.equal(modelLayout(mlp, MNIST, 10).size, 199_210)
  assert.equal(modelLayout(cnn, MNIST, 10).size, 1_663_370)
  assert.equal(modelLayout(logreg, MNIST, 10).size, 7_850)
  assert.deepEqual(modelLayout(mlp, MNIST, 10).shapes, [[784, 200], [200], [200, 200], [200], [200, 10], [10]])
  assert.deepEqual(modelLayout(cnn, MNIST, 10).shapes,
    [[5, 5, 1, 32], [32], [5, 5, 32, 64], [64], [3136, 512], [512], [512, 10], [10]])
  assert.deepEqual(modelLayout(logreg, [13], 3).shapes, [[13, 3], [3]])
  assert.deepEqual(modelLayout({ kind: 'mlp', hidden: [], activation: 'tanh' }, [5], 2).shapes, [[5, 2], [2]])
})

test('layout is the order and shapes of the tfjs model getWeights()', async () => {
  const { buildModel } = await import('../src/learning/models.ts')
  const { useBackend } = await import('../src/learning/backend.ts')
  await useBackend('cpu')
  for (const [spec, shape] of [[mlp, MNIST], [cnn, MNIST], [logreg, MNIST], [{ kind: 'mlp', hidden: [7], activation: 'tanh' }, [9]], [{ kind: 'cnn', filters: [3, 4, 5], dense: 6, activation: 'tanh' }, [17, 12, 2]]] as Array<[ModelSpec, number[]]>) {
    const built = buildModel(spec, shape, 10)
    assert.deepEqual(built.model.getWeights().map(w => w.shape), modelLayout(spec, shape, 10).shapes, JSON.stringify(spec))
    built.model.dispose()
  }
})

test('params round-trip through a tfjs model unchanged', async () => {
  const { buildModel, getParams, setParams } = await import('../src/learning/models.ts')
  const built = buildModel(mlp, MNIST, 10)
  const p = initialParams(mlp, MNIST, 10, 3)
  setParams(built, p)
  assert.deepEqual(getParams(built), p)
  assert.throws(() => setParams(built, new Float32Array(5)), ModelError)
  built.model.dispose()
})

test('initialParams: pinned bits, deterministic, seed-dependent', () => {
  const sha = (p: Float32Array): string => createHash('sha256').update(p).digest('hex')
  // Every peer must derive the same M[0]; a change here breaks agreement with older peers.
  assert.equal(sha(initialParams(mlp, MNIST, 10, 1)), '6835cca5b41a674cc2bfe1b42bdacef4870d9dcd19aa9af2ce4d97c4ec79d265')
  assert.equal(sha(initialParams(logreg, MNIST, 10, 1)), 'c7f80fd0bd7c92aa9087b5977f6d6184b9a307d02412c2bfb3a88dd65f4320df')
  assert.deepEqual(initialParams(cnn, MNIST, 10, 42), initialParams(cnn, MNIST, 10, 42))
  assert.notDeepEqual(initialParams(mlp, MNIST, 10, 1), initialParams(mlp, MNIST, 10, 2))
})

test('initialParams: Glorot-uniform kernels, zero biases', () => {
  const p = initialParams(mlp, MNIST, 10, 7)
  const limit = Math.sqrt(6 / (784 + 200))
  const k = p.subarray(0, 784 * 200)
  let sum = 0
  let sq = 0
  for (const v of k) {
    assert.ok(Math.abs(v) <= limit)
    sum += v
    sq += v * v
  }
  assert.ok(Math.abs(sum / k.length) < limit * 0.01)
  assert.ok(Math.abs(sq / k.length / (limit * limit / 3) - 1) < 0.02) // variance of U(-l, l)
  assert.ok(p.subarray(784 * 200, 784 * 200 + 200).every(v => v === 0))
  assert.ok(p.subarray(p.length - 10).every(v => v === 0))
})

test('model spec errors are ModelErrors naming the problem', () => {
  assert.throws(() => modelLayout(cnn, [784], 10), (e: Error) => e instanceof ModelError && /cnn needs images/.test(e.message))
  assert.throws(() => modelLayout({ kind: 'rnn' } as unknown as ModelSpec, MNIST, 10), (e: Error) => e instanceof ModelError && /mlp, cnn or logreg/.test(e.message))
  assert.throws(() => modelLayout({ kind: 'mlp', hidden: [0], activation: 'relu' }, MNIST, 10), ModelError)
  assert.throws(() => modelLayout({ kind: 'mlp', hidden: [5], activation: 'gelu' as 'relu' }, MNIST, 10), /relu or tanh/)
  assert.throws(() => modelLayout({ kind: 'cnn', filters: [1, 1, 1, 1, 1, 1], dense: 4, activation: 'relu' }, MNIST, 10), /too deep/)
  assert.throws(() => modelLayout(logreg, MNIST, 1), /classes/)
})

test('prng: same stream for the same seed, ints in range, shuffles are permutations', () => {
  fc.assert(fc.property(fc.integer(), fc.integer({ min: 1, max: 2 ** 32 }), (seed, n) => {
    const a = createRng('t', seed)
    const b = createRng('t', seed)
    for (let i = 0; i < 20; i++) {
      const x = a.int(n)
      assert.equal(x, b.int(n))
      assert.ok(x >= 0 && x < n && Number.isInteger(x))
    }
  }))
  fc.assert(fc.property(fc.integer(), fc.integer({ min: 0, max: 300 }), (seed, n) => {
    const s = createRng('t', seed).shuffle(Uint32Array.from({ length: n }, (_, i) => i))
    assert.deepEqual([...s].sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i))
  }))
  assert.notEqual(createRng('a', 1).u32(), createRng('b', 1).u32())
  const d = createRng('t', 1).dirichlet(0.01, 50)
  assert.ok(Math.abs(d.reduce((s, x) => s + x, 0) - 1) < 1e-9 && d.every(Number.isFinite))
})

test('wasm kernel replacements match the cpu backend, with and without the SIMD loops', async () => {
  assert.ok(await wasmKernelSelfTest() < 1e-4)
  assert.ok(await wasmKernelSelfTest({ simd: false }) < 1e-4)
})

test('the SIMD loops are on for wasm, and a CNN trains to the same weights with them as without', async () => {
  await useBackend('wasm')
  const spec: ModelSpec = { kind: 'cnn', filters: [8], dense: 10, activation: 'relu' }
  const params = initialParams(spec, MNIST, 10, 3)
  const job = { model: spec, dataset: { kind: 'mnist' as const }, indices: Uint32Array.from({ length: 96 }, (_, i) => i), params, seed: 1,
    training: { epochs: 1, batchSize: 32, learningRate: 0.05, optimizer: 'sgd' as const, momentum: 0 } }
  assert.equal(await setWasmSimdKernels(true), true, 'useBackend(wasm) turned the SIMD loops on')
  const fast = await trainLocal(job)
  await setWasmSimdKernels(false)
  try {
    const plain = await trainLocal(job)
    let worst = 0
    let norm = 0
    for (let i = 0; i < plain.delta.length; i++) {
      worst = Math.max(worst, Math.abs(fast.delta[i] - plain.delta[i]))
      norm = Math.max(norm, Math.abs(plain.delta[i]))
    }
    assert.ok(norm > 1e-3, 'the job changed the weights')
    assert.ok(worst < 1e-4 * norm, `largest difference ${worst} against largest change ${norm}`)
  } finally {
    await setWasmSimdKernels(true)
  }
})
