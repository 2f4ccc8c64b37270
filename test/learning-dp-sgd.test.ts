// Example-level DP-SGD (src/learning/dp-sgd.ts): the batched manual backprop against tfjs's own
// gradients, per-example and per-microbatch norms against one-at-a-time tfjs gradients, clipping,
// the noise scale (statistical, can fail), learning on MNIST under σ = 1.1, C = 1.5, and a printed
// speed comparison with plain training.
import { test, before } from 'node:test'
import assert from 'node:assert/strict'
import * as tf from '@tensorflow/tfjs'
import type { ModelSpec, TrainingSpec } from '../src/config/types.ts'
import { useBackend } from '../src/learning/backend.ts'
import { LOSS_EPSILON } from '../src/learning/constants.ts'
import { loadDataset } from '../src/learning/datasets.ts'
import { checkDpSgd, clippedGradients, denseLayers, dpSgdTrain, dpTrainLocal, gaussianNoise } from '../src/learning/dp-sgd.ts'
import { TrainerError } from '../src/learning/errors.ts'
import { initialParams, modelLayout } from '../src/learning/layout.ts'
import { evaluateLocal, trainLocal } from '../src/learning/local-train.ts'
import { buildModel, setParams } from '../src/learning/models.ts'
import { createRng } from '../src/learning/prng.ts'

const FEATURES = 20
const CLASSES = 5
const relu: ModelSpec = { kind: 'mlp', hidden: [16, 12], activation: 'relu' }
const tanh: ModelSpec = { kind: 'mlp', hidden: [16, 12], activation: 'tanh' }
const logreg: ModelSpec = { kind: 'logreg' }

before(async () => { await useBackend((process.env.DP_BACKEND ?? 'wasm') as 'wasm') })

/** A random batch of `b` examples (inputs in [0, 1)) and params with non-zero biases. */
function fixture (spec: ModelSpec, b: number, seed: number): { params: Float32Array, x: Float32Array, y: Uint8Array } {
  const rng = createRng('dp-sgd-test', seed)
  const params = initialParams(spec, [FEATURES], CLASSES, seed)
  for (let i = 0; i < params.length; i++) params[i] += 0.05 * rng.normal() // biases too
  const x = Float32Array.from({ length: b * FEATURES }, () => rng.float())
  const y = Uint8Array.from({ length: b }, () => rng.int(CLASSES))
  return { params, x, y }
}

function weightsOf (spec: ModelSpec, params: Float32Array): tf.Tensor[] {
  let o = 0
  return modelLayout(spec, [FEATURES], CLASSES).shapes.map(shape => {
    const k = shape.reduce((a, c) => a * c, 1)
    o += k
    return tf.tensor(params.slice(o - k, o), shape)
  })
}

/** tfjs's gradient (flat, layout order) of the mean clipped cross-entropy of the tfjs-layers model on examples `rows`. */
function tfjsGradient (spec: ModelSpec, params: Float32Array, x: Float32Array, y: Uint8Array, rows: number[]): Float32Array {
  const built = buildModel(spec, [FEATURES], CLASSES)
  setParams(built, params)
  const xs = tf.tensor2d(rows.flatMap(r => Array.from(x.subarray(r * FEATURES, (r + 1) * FEATURES))), [rows.length, FEATURES])
  const ys = tf.oneHot(tf.tensor1d(rows.map(r => y[r]), 'int32'), CLASSES).toFloat()
  const vars = built.model.trainableWeights.map(w => w.read() as tf.Variable)
  const { grads, value } = tf.variableGrads(() => {
    const probs = built.model.apply(xs, { training: true }) as tf.Tensor
    return tf.neg(tf.mean(tf.sum(tf.mul(ys, tf.log(tf.clipByValue(probs, LOSS_EPSILON, 1))), -1))) as tf.Scalar
  }, vars)
  const out = new Float32Array(params.length)
  let o = 0
  for (const v of vars) {
    const d = grads[v.name].dataSync()
    out.set(d, o)
    o += d.length
  }
  tf.dispose([xs, ys, value, ...Object.values(grads)])
  built.model.dispose()
  return out
}

function run (spec: ModelSpec, params: Float32Array, x: Float32Array, y: Uint8Array, m: number, clip: number): { grad: Float32Array, norms: Float32Array, loss: number } {
  const layers = denseLayers(spec, [FEATURES], CLASSES)
  const weights = weightsOf(spec, params)
  const b = y.length
  const xs = tf.tensor2d(x, [b, FEATURES])
  const labels = tf.tensor1d(Int32Array.from(y), 'int32')
  const r = clippedGradients(layers, weights, xs, labels, m, clip)
  const grad = new Float32Array(params.length)
  let o = 0
  for (const g of r.grads) {
    const d = g.dataSync()
    grad.set(d, o)
    o += d.length
  }
  const out = { grad, norms: r.norms.dataSync() as Float32Array, loss: r.lossSum.dataSync()[0] }
  tf.dispose([xs, labels, ...weights, ...r.grads, r.norms, r.lossSum])
  return out
}

function norm (v: ArrayLike<number>): number {
  let s = 0
  for (let i = 0; i < v.length; i++) s += v[i] * v[i]
  return Math.sqrt(s)
}

function assertClose (actual: Float32Array, expected: Float32Array, rel: number, what: string): void {
  assert.equal(actual.length, expected.length)
  const scale = Math.max(1e-6, ...Array.from(expected, Math.abs))
  let worst = 0
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]))
  assert.ok(worst <= rel * scale, `${what}: max abs difference ${worst} > ${rel} × max |expected| ${scale}`)
}

test('σ = 0, huge clip: the batched manual backprop is tfjs\'s gradient (relu, tanh, logreg; per example and microbatches)', () => {
  for (const spec of [relu, tanh, logreg]) {
    const B = 24
    const { params, x, y } = fixture(spec, B, 1)
    const expected = tfjsGradient(spec, params, x, y, Array.from({ length: B }, (_, i) => i)) // mean over B
    for (const m of [B, 6, 1]) {
      const { grad } = run(spec, params, x, y, m, 1e9)
      // Σ_microbatches mean_j = (B / g)/B · Σ_i g_i = (m / B) · B · mean = m · mean
      const scaled = Float32Array.from(grad, v => v / m)
      assertClose(scaled, expected, 2e-4, `${spec.kind}/${'activation' in spec ? spec.activation : ''} m=${m}`)
    }
  }
})

test('per-example and per-microbatch norms equal norms of tfjs gradients taken one example (microbatch) at a time', () => {
  for (const spec of [relu, tanh]) {
    const B = 12
    const { params, x, y } = fixture(spec, B, 2)
    const { norms } = run(spec, params, x, y, B, 1e9)
    for (const i of [0, 5, 11]) {
      const expected = norm(tfjsGradient(spec, params, x, y, [i]))
      assert.ok(Math.abs(norms[i] - expected) <= 1e-4 * expected, `example ${i}: ${norms[i]} vs ${expected}`)
    }
    const g = 4
    const micro = run(spec, params, x, y, B / g, 1e9).norms
    for (let j = 0; j < B / g; j++) {
      const expected = norm(tfjsGradient(spec, params, x, y, [0, 1, 2, 3].map(k => j * g + k))) // mean loss of the microbatch
      assert.ok(Math.abs(micro[j] - expected) <= 1e-4 * expected, `microbatch ${j}: ${micro[j]} vs ${expected}`)
    }
    // m = 1 (its own code path): the norm of the batch mean gradient, and clipping it to C
    const whole = norm(tfjsGradient(spec, params, x, y, Array.from({ length: B }, (_, i) => i)))
    const one = run(spec, params, x, y, 1, 1e9).norms[0]
    assert.ok(Math.abs(one - whole) <= 1e-4 * whole, `m=1: ${one} vs ${whole}`)
    const clipped = run(spec, params, x, y, 1, whole / 3).grad
    assert.ok(Math.abs(norm(clipped) - whole / 3) <= 1e-4 * whole, `m=1 clipped to ${whole / 3}: ${norm(clipped)}`)
  }
})

test('clipping: each example\'s (microbatch\'s) contribution has norm <= C, and the batch sum is the sum of the clipped contributions', () => {
  const B = 16
  const { params, x, y } = fixture(relu, B, 3)
  const all = run(relu, params, x, y, B, 1e9).norms
  const C = 0.5 * Math.min(...all) + 0.5 * Math.max(...all) // some above, some below C
  assert.ok(all.some(v => v > C) && all.some(v => v < C))
  const sum = new Float32Array(params.length)
  for (let i = 0; i < B; i++) {
    const one = run(relu, params, x.slice(i * FEATURES, (i + 1) * FEATURES), y.slice(i, i + 1), 1, C)
    const n = norm(one.grad)
    assert.ok(n <= C * (1 + 1e-5), `example ${i}: clipped norm ${n} > C = ${C}`)
    if (all[i] > C) assert.ok(Math.abs(n - C) <= 1e-4 * C, `example ${i} above C should be scaled to C, got ${n}`)
    else assert.ok(Math.abs(n - all[i]) <= 1e-4 * all[i], `example ${i} below C should be unchanged`)
    for (let k = 0; k < sum.length; k++) sum[k] += one.grad[k]
  }
  assertClose(run(relu, params, x, y, B, C).grad, sum, 1e-4, 'batch clipped sum')
  // microbatches of 4: each microbatch's clipped mean gradient has norm <= C
  const sumMicro = new Float32Array(params.length)
  for (let j = 0; j < 4; j++) {
    const one = run(relu, params, x.slice(j * 4 * FEATURES, (j + 1) * 4 * FEATURES), y.slice(j * 4, (j + 1) * 4), 1, C)
    assert.ok(norm(one.grad) <= C * (1 + 1e-5))
    for (let k = 0; k < sumMicro.length; k++) sumMicro[k] += one.grad[k]
  }
  assertClose(run(relu, params, x, y, 4, C).grad, sumMicro, 1e-4, 'microbatch clipped sum')
})

test('gaussianNoise: mean 0, std, P(|z| < 1), P(|z| < 2) and kurtosis of 10^6 draws', () => {
  const n = 1_000_000
  const z = new Float32Array(n)
  gaussianNoise(z, 2.5)
  let s1 = 0; let s2 = 0; let s4 = 0; let in1 = 0; let in2 = 0
  for (const v of z) {
    const u = v / 2.5
    s1 += u; s2 += u * u; s4 += u ** 4
    if (Math.abs(u) < 1) in1++
    if (Math.abs(u) < 2) in2++
  }
  // tolerances ≈ 6 standard errors
  assert.ok(Math.abs(s1 / n) < 6 / Math.sqrt(n), `mean ${s1 / n}`)
  assert.ok(Math.abs(s2 / n - 1) < 6 * Math.sqrt(2 / n), `variance ${s2 / n}`)
  assert.ok(Math.abs(s4 / n - 3) < 6 * Math.sqrt(96 / n), `fourth moment ${s4 / n}`)
  assert.ok(Math.abs(in1 / n - 0.682689) < 6 * Math.sqrt(0.22 / n), `P(|z|<1) = ${in1 / n}`)
  assert.ok(Math.abs(in2 / n - 0.954500) < 6 * Math.sqrt(0.044 / n), `P(|z|<2) = ${in2 / n}`)
  const again = new Float32Array(8)
  gaussianNoise(again, 1)
  assert.notDeepEqual(Array.from(again), Array.from(z.subarray(0, 8)))
})

test('noise end to end: one step with σ > 0 minus the same step with σ = 0 is lr · N(0, (σC)²) / m per coordinate', async () => {
  const N = 40
  const rng = createRng('dp-sgd-noise', 1)
  const x = Float32Array.from({ length: N * FEATURES }, () => rng.float())
  const y = Uint8Array.from({ length: N }, () => rng.int(CLASSES))
  const params = new Float32Array(modelLayout(logreg, [FEATURES], CLASSES).size)
  const training: TrainingSpec = { epochs: 1, batchSize: 40, learningRate: 0.5, optimizer: 'sgd', momentum: 0 }
  const base = { model: logreg, inputShape: [FEATURES], classes: CLASSES, params, x, y, training, seed: 4 }
  for (const microbatches of [0, 8]) {
    const m = microbatches === 0 ? 40 : microbatches
    const sigma = 3
    const C = 0.7
    const quiet = await dpSgdTrain({ ...base, dp: { noiseMultiplier: 0, l2NormClip: C, microbatches } })
    const noisy = await dpSgdTrain({ ...base, dp: { noiseMultiplier: sigma, l2NormClip: C, microbatches } })
    assert.equal(noisy.steps, 1)
    assert.equal(noisy.microbatches, m)
    const diff = Float64Array.from(noisy.delta, (v, i) => -(v - quiet.delta[i]) / training.learningRate)
    const std = Math.sqrt(diff.reduce((s, v) => s + v * v, 0) / diff.length)
    const expected = sigma * C / m
    // 105 coordinates: the std estimate's relative standard error is ≈ 1/sqrt(2·105) ≈ 7%
    assert.ok(Math.abs(std / expected - 1) < 0.3, `m=${m}: noise std ${std}, expected ${expected}`)
  }
  // and with 8k coordinates (logreg on 784 features) the tolerance is much tighter
  const F = 784
  const x2 = Float32Array.from({ length: 10 * F }, () => rng.float())
  const y2 = Uint8Array.from({ length: 10 }, () => rng.int(10))
  const p2 = new Float32Array(modelLayout(logreg, [F], 10).size)
  const job = { model: logreg, inputShape: [F], classes: 10, params: p2, x: x2, y: y2, training: { ...training, batchSize: 10 }, seed: 5 }
  const quiet = await dpSgdTrain({ ...job, dp: { noiseMultiplier: 0, l2NormClip: 1 } })
  const noisy = await dpSgdTrain({ ...job, dp: { noiseMultiplier: 2, l2NormClip: 1 } })
  const diff = Float64Array.from(noisy.delta, (v, i) => -(v - quiet.delta[i]) / 0.5)
  const std = Math.sqrt(diff.reduce((s, v) => s + v * v, 0) / diff.length)
  assert.ok(Math.abs(std / (2 * 1 / 10) - 1) < 0.05, `noise std ${std}, expected 0.2`) // ≈ 6 standard errors
})

test('checks: microbatches must divide the batch, adam and convolutions are refused, short peers and dropped remainders', async () => {
  const t: TrainingSpec = { epochs: 1, batchSize: 10, learningRate: 0.1, optimizer: 'sgd', momentum: 0 }
  assert.throws(() => checkDpSgd({ noiseMultiplier: 1, l2NormClip: 1, microbatches: 3 }, t), TrainerError)
  assert.throws(() => checkDpSgd({ noiseMultiplier: -1, l2NormClip: 1 }, t), TrainerError)
  assert.throws(() => checkDpSgd({ noiseMultiplier: 1, l2NormClip: 0 }, t), TrainerError)
  assert.throws(() => checkDpSgd({ noiseMultiplier: 1, l2NormClip: 1 }, { ...t, optimizer: 'adam' }), TrainerError)
  assert.throws(() => denseLayers({ kind: 'cnn', filters: [2], dense: 4, activation: 'relu' }, [8, 8, 1], 3), TrainerError)
  const { params, x, y } = fixture(relu, 25, 6)
  const base = { model: relu, inputShape: [FEATURES], classes: CLASSES, params, x, y, seed: 1, dp: { noiseMultiplier: 1, l2NormClip: 1, microbatches: 5 } }
  const r = await dpSgdTrain({ ...base, training: { ...t, epochs: 2 } }) // 25 examples, batches of 10: 2 steps per epoch, 5 dropped
  assert.deepEqual([r.steps, r.batchSize, r.microbatches, r.samplingRate], [4, 10, 5, 10 / 25])
  const short = await dpSgdTrain({ ...base, indices: Uint32Array.from([0, 1, 2, 3, 4, 5, 6]), training: { ...t, batchSize: 40 }, dp: { ...base.dp, microbatches: 10 } })
  assert.deepEqual([short.steps, short.batchSize, short.microbatches], [1, 4, 1]) // microbatches of 4, one fits
  const tensors = tf.memory().numTensors
  const mom = await dpSgdTrain({ ...base, training: { ...t, optimizer: 'momentum', momentum: 0.9 } })
  assert.ok(mom.delta.every(Number.isFinite) && mom.delta.some(v => v !== 0))
  assert.equal(tf.memory().numTensors, tensors, 'no tensor leaks')
  const ac = new AbortController()
  ac.abort()
  await assert.rejects(dpSgdTrain({ ...base, training: t }, { signal: ac.signal }), { name: 'AbortError' })
  assert.equal(tf.memory().numTensors, tensors, 'no tensor leaks after an abort')
})

const mnist = { kind: 'mnist' } as const

test('learning: DP-SGD (σ = 1.1, C = 1.5, batch 250, per-example) trains an MLP on MNIST well above chance', async () => {
  const model: ModelSpec = { kind: 'mlp', hidden: [128], activation: 'relu' }
  const ds = await loadDataset(mnist)
  const params = initialParams(model, ds.inputShape, ds.classes, 7)
  const indices = Uint32Array.from({ length: 50_000 }, (_, i) => i) // 200 steps per epoch
  const training: TrainingSpec = { epochs: 2, batchSize: 250, learningRate: 0.25, optimizer: 'momentum', momentum: 0.5 }
  const r = await dpTrainLocal({ model, dataset: mnist, indices, params, training, seed: 3, dp: { noiseMultiplier: 1.1, l2NormClip: 1.5, microbatches: 250 } })
  const next = Float32Array.from(params, (v, i) => v + r.delta[i])
  const ev = await evaluateLocal({ model, dataset: mnist, params: next, limit: 2000 })
  console.log(`# DP-SGD MNIST 784-128-10 relu, σ=1.1 C=1.5 B=250 m=250, ${r.steps} steps (q=${r.samplingRate.toFixed(4)}) in ${r.seconds.toFixed(1)} s on ${r.backend}: test accuracy ${(ev.accuracy * 100).toFixed(1)}% (2000 examples), train loss ${r.loss.toFixed(3)}`)
  assert.equal(r.steps, 400)
  assert.ok(ev.accuracy > 0.8, `accuracy ${ev.accuracy}`)
})

test('speed (printed, not asserted): DP-SGD vs plain SGD on the 2NN, batch 250', async () => {
  const model: ModelSpec = { kind: 'mlp', hidden: [200, 200], activation: 'relu' }
  const ds = await loadDataset(mnist)
  const params = initialParams(model, ds.inputShape, ds.classes, 1)
  const indices = Uint32Array.from({ length: 5000 }, (_, i) => i)
  const training: TrainingSpec = { epochs: 1, batchSize: 250, learningRate: 0.1, optimizer: 'sgd', momentum: 0 }
  const warm = indices.subarray(0, 500)
  await trainLocal({ model, dataset: mnist, indices: warm, params, training, seed: 0 })
  await dpTrainLocal({ model, dataset: mnist, indices: warm, params, training, seed: 0, dp: { noiseMultiplier: 1.1, l2NormClip: 1.5 } })
  const plain = await trainLocal({ model, dataset: mnist, indices, params, training, seed: 1 })
  const dp = await dpTrainLocal({ model, dataset: mnist, indices, params, training, seed: 1, dp: { noiseMultiplier: 1.1, l2NormClip: 1.5 } })
  const a = plain.examples / plain.seconds
  const b = dp.steps * dp.batchSize / dp.seconds
  console.log(`# 2NN batch 250 on ${dp.backend}: plain ${Math.round(a)} samples/s, DP-SGD per-example ${Math.round(b)} samples/s (${(a / b).toFixed(2)}x slower)`)
})
