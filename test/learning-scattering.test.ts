/**
 * The scattering transform (src/learning/scattering.ts) and lazily transformed datasets (features.ts):
 * values against an independent implementation, the per-example group normalization, multi-channel
 * images, errors, rows computed on demand and shared, and the task field with the DP-SGD preset.
 */

import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { createTask, validateTask } from '../src/config/index.ts'
import type { DatasetSpec, ModelSpec } from '../src/config/index.ts'
import { ensureRows, firstRows } from '../src/learning/features.ts'
import { clearDatasetCache, loadDataset } from '../src/learning/datasets.ts'
import { DatasetError } from '../src/learning/errors.ts'
import { evaluateLocal, trainLocal } from '../src/learning/local-train.ts'
import { initialParams } from '../src/learning/index.ts'
import { SCATTERING_CHANNELS, SCATTERING_GROUP, createScattering } from '../src/learning/scattering.ts'

/**
 * Features of MNIST training image 0 (pixels / 255) at some HWC indices, computed with numpy from
 * kymatio's filter-bank and scattering formulas (`filter_bank`, `morlet_2d`, `gabor_2d`,
 * `periodize_filter_fft`, `scattering2d`: J = 2, L = 8, reflect padding to 32×32, the 8×8 output kept
 * whole), channels ordered S0, then each S1 followed by its S2s, then group-normalized in groups of 3.
 * The four largest values of the image and six at random.
 */
const REFERENCE: Record<number, number> = {
  2962: 7.487593, 2953: 5.835926, 2971: 5.689392, 2323: 5.540182, 3912: -0.297983, 2651: -0.572459,
  4925: -0.403875, 2450: -0.143152, 747: -0.428205, 180: -0.407229
}

async function mnistImages (count: number): Promise<Float32Array> {
  const ds = await loadDataset({ kind: 'mnist' })
  return ds.trainX.slice(0, count * 784)
}

test('scattering: MNIST image 0 matches the numpy reference to float32 precision', async () => {
  const x = await mnistImages(1)
  const s = createScattering([28, 28, 1])
  assert.deepEqual(s.outputShape, [8, 8, 81])
  assert.equal(s.features, 5184)
  const out = new Float32Array(s.features)
  s.apply(x, 0, out, 0)
  for (const [i, want] of Object.entries(REFERENCE)) {
    assert.ok(Math.abs(out[Number(i)] - want) < 2e-5, `feature ${i}: ${out[Number(i)]}, reference ${want}`)
  }
  // deterministic: the same image again gives the same bits
  const again = new Float32Array(s.features)
  s.apply(x, 0, again, 0)
  assert.deepEqual(again, out)
})

test('scattering: every group of 3 channels of an example has mean 0 and variance var / (var + 1e-5) <= 1', async () => {
  const x = await mnistImages(3)
  const s = createScattering([28, 28, 1])
  const out = new Float32Array(s.features)
  for (let e = 0; e < 3; e++) {
    s.apply(x, e * 784, out, 0)
    for (let g = 0; g < SCATTERING_CHANNELS; g += SCATTERING_GROUP) {
      let sum = 0
      let sq = 0
      let n = 0
      for (let p = 0; p < 64; p++) {
        for (let c = g; c < g + SCATTERING_GROUP; c++) { const v = out[p * 81 + c]; sum += v; sq += v * v; n++ }
      }
      const mean = sum / n
      assert.ok(Math.abs(mean) < 1e-5, `example ${e} group ${g / 3}: mean ${mean}`)
      const variance = sq / n - mean * mean
      assert.ok(variance > 0 && variance < 1 + 1e-4, `example ${e} group ${g / 3}: variance ${variance}`)
      // the first group (S0 and two first-order channels) has far more energy than the epsilon
      if (g === 0) assert.ok(Math.abs(variance - 1) < 1e-2, `example ${e} group 0: variance ${variance}`)
    }
  }
})

test('scattering: each channel of a colour image gets the 81 channels of that channel alone', async () => {
  const gray = await mnistImages(3)
  const rgb = new Float32Array(28 * 28 * 3)
  for (let p = 0; p < 784; p++) for (let c = 0; c < 3; c++) rgb[p * 3 + c] = gray[c * 784 + p]
  const s3 = createScattering([28, 28, 3])
  assert.deepEqual(s3.outputShape, [8, 8, 243])
  const out3 = new Float32Array(s3.features)
  s3.apply(rgb, 0, out3, 0)
  const s1 = createScattering([28, 28])
  const out1 = new Float32Array(s1.features)
  for (let c = 0; c < 3; c++) {
    s1.apply(gray, c * 784, out1, 0)
    for (let p = 0; p < 64; p++) {
      for (let k = 0; k < 81; k++) assert.equal(out3[p * 243 + c * 81 + k], out1[p * 81 + k], `channel ${c} position ${p} feature ${k}`)
    }
  }
  // a different image gives different features (the transform is not constant)
  s1.apply(gray, 0, out1, 0)
  let diff = 0
  for (let i = 0; i < out1.length; i++) diff += Math.abs(out1[i] - out3[Math.floor(i / 81) * 243 + 81 + (i % 81)])
  assert.ok(diff > 100, `images 0 and 1 differ by ${diff} in sum`)
})

test('scattering: non-images and tiny images are refused with a clear error', () => {
  assert.throws(() => createScattering([20]), (err: Error) => err instanceof DatasetError && /needs images .*\[20\]/.test(err.message))
  assert.throws(() => createScattering([3, 28, 1]), (err: Error) => err instanceof DatasetError && /at least 4×4 pixels, got 3×28/.test(err.message))
})

test('features: a transformed dataset computes the rows a job needs, once, shared through its buffers', async () => {
  clearDatasetCache()
  const raw = await loadDataset({ kind: 'mnist' })
  const ds = await loadDataset({ kind: 'mnist', transform: 'scattering' })
  assert.deepEqual(ds.inputShape, [8, 8, 81])
  assert.equal(ds.features, 5184)
  assert.equal(ds.trainX.length, 60_000 * 5184)
  assert.ok(ds.trainX.buffer instanceof SharedArrayBuffer)
  assert.equal(Buffer.compare(ds.trainY, raw.trainY), 0, 'the labels are kept')
  const rows = Uint32Array.from([5, 7, 59_999])
  let reported = 0
  ensureRows(ds, 'train', rows, { onProgress: (done) => { reported = done } })
  assert.equal(reported, 3)
  const s = createScattering([28, 28, 1])
  const want = new Float32Array(s.features)
  for (const r of rows) {
    s.apply(raw.trainX, r * 784, want, 0)
    assert.deepEqual(ds.trainX.subarray(r * 5184, (r + 1) * 5184), want, `row ${r}`)
  }
  assert.ok(ds.trainX.subarray(6 * 5184, 7 * 5184).every(v => v === 0), 'row 6 was not asked for')
  // rows already computed are not computed again
  reported = -1
  ensureRows(ds, 'train', rows, { onProgress: (done) => { reported = done } })
  assert.equal(reported, -1)
  // test rows, and an aborted signal stops before computing anything
  const ac = new AbortController()
  ac.abort()
  assert.throws(() => ensureRows(ds, 'test', firstRows(10), { signal: ac.signal }), { name: 'AbortError' })
  assert.throws(() => ensureRows(ds, 'test', firstRows(10), { shouldStop: () => true }), { name: 'AbortError' })
  assert.ok(ds.testX.subarray(0, 10 * 5184).every(v => v === 0))
  ensureRows(ds, 'test', firstRows(2))
  s.apply(raw.testX, 784, want, 0)
  assert.deepEqual(ds.testX.subarray(5184, 2 * 5184), want)
  clearDatasetCache()
})

test('features: a CSV dataset with a transform is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedswarm-scattering-'))
  const csv = 'label,a,b\n0,1,2\n1,3,4\n'
  writeFileSync(join(dir, 'train.csv'), csv)
  writeFileSync(join(dir, 'test.csv'), csv)
  await assert.rejects(
    loadDataset({ kind: 'csv', train: join(dir, 'train.csv'), test: join(dir, 'test.csv'), labelColumn: 0, classes: 2, header: true, transform: 'scattering' }),
    (err: Error) => err instanceof DatasetError && /scattering needs images/.test(err.message)
  )
  await assert.rejects(loadDataset({ kind: 'mnist', transform: 'fourier' as 'scattering' }), /dataset.transform must be one of none, scattering, got "fourier"/)
})

test('features: an MLP learns MNIST from the scattering features (train and evaluate on them)', async () => {
  clearDatasetCache()
  const dataset: DatasetSpec = { kind: 'mnist', transform: 'scattering' }
  const model: ModelSpec = { kind: 'mlp', hidden: [32], activation: 'relu' }
  const params = initialParams(model, [8, 8, 81], 10, 1)
  const res = await trainLocal({
    model, dataset, params, indices: firstRows(1000), seed: 1,
    training: { epochs: 3, batchSize: 32, learningRate: 0.005, optimizer: 'momentum', momentum: 0.9 }
  })
  assert.equal(res.examples, 1000)
  const local = params.map((v, i) => v + res.delta[i])
  const before = await evaluateLocal({ model, dataset, params, limit: 500 })
  const after = await evaluateLocal({ model, dataset, params: local, limit: 500 })
  // 1,000 examples of 3 epochs: measured 94.6% (the same MLP on pixels: 77.2%, and 84.4% at lr 0.02)
  assert.ok(after.accuracy > 0.9, `accuracy ${after.accuracy} after training (before: ${before.accuracy})`)
  clearDatasetCache()
})

test('task: dataset.transform is validated, left out when none, and the DP-SGD preset sets scattering', () => {
  const plain = createTask({})
  assert.equal(plain.dataset.transform, undefined)
  assert.equal(createTask({ dataset: { kind: 'mnist', transform: 'none' } }).dataset.transform, undefined)
  const dp = createTask({ privacy: { dpSgd: true } })
  assert.equal(dp.dataset.transform, 'scattering')
  assert.equal(dp.dataset.normalize, undefined, 'the pixels are not standardized under the scattering preset')
  const pixels = createTask({ privacy: { dpSgd: true }, dataset: { kind: 'mnist', transform: 'none' } })
  assert.equal(pixels.dataset.transform, undefined)
  assert.equal(pixels.dataset.normalize, 'standard', 'without the transform the preset standardizes the pixels as before')
  assert.throws(() => createTask({ dataset: { kind: 'mnist', transform: 'wavelets' } }), /dataset\.transform.*none, scattering/)
  assert.throws(
    () => createTask({ dataset: { kind: 'csv', train: 'a.csv', test: 'b.csv', labelColumn: 0, classes: 2, header: true, transform: 'scattering' } }),
    /transform/
  )
  const t = validateTask(dp)
  assert.equal(t.dataset.transform, 'scattering')
})
