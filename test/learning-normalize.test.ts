// dataset.normalize in the loader: one scalar (x − mean) / std applied identically to the training and
// test inputs (published constants for MNIST, the training set's own for CSV / IDX, or explicit values),
// the cache key includes it, a normalized dataset reaches the trainer's workers, and errors are named.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DATASET_STATS } from '../src/config/index.ts'
import type { DatasetSpec } from '../src/config/types.ts'
import {
  DatasetError, clearDatasetCache, createTrainer, datasetKey, initialParams, loadDataset, scalarStats
} from '../src/learning/index.ts'

const dir = mkdtempSync(join(tmpdir(), 'fedswarm-normalize-'))

after(() => clearDatasetCache())

test('MNIST standard: the published constants, train mean ≈ 0 and std ≈ 1, the same map on train and test', async () => {
  const raw = await loadDataset({ kind: 'mnist' })
  const std = await loadDataset({ kind: 'mnist', normalize: 'standard' })
  assert.notEqual(std, raw, 'a separate cache entry')
  assert.deepEqual(std.normalization, DATASET_STATS.mnist)
  assert.equal(raw.normalization, undefined)
  const train = scalarStats(std.trainX)
  assert.ok(Math.abs(train.mean) < 1e-3, `train mean ${train.mean}`)
  assert.ok(Math.abs(train.std - 1) < 1e-3, `train std ${train.std}`)
  const test = scalarStats(std.testX)
  assert.ok(Math.abs(test.mean) < 0.02 && Math.abs(test.std - 1) < 0.02, `test mean ${test.mean} std ${test.std}`)
  // Identical element-wise map on both sets (float64 arithmetic, stored as float32).
  const { mean, std: sd } = DATASET_STATS.mnist
  for (const [x, y] of [[raw.trainX, std.trainX], [raw.testX, std.testX]]) {
    for (let i = 0; i < x.length; i += 997) assert.equal(y[i], Math.fround((x[i] - mean) / sd), `value ${i}`)
  }
  assert.equal(std.trainX.length, raw.trainX.length)
  assert.deepEqual(std.trainY, raw.trainY)
  assert.ok(std.trainX.buffer instanceof SharedArrayBuffer, 'shared with the trainer\'s workers')
  assert.equal(raw.trainX[0], 0, 'the raw dataset is not modified')
})

test('the cache key includes normalize; without it the key is what it was', () => {
  assert.equal(datasetKey({ kind: 'mnist' }), '{"kind":"mnist"}')
  assert.equal(datasetKey({ kind: 'mnist', normalize: 'none' }), '{"kind":"mnist"}')
  assert.equal(datasetKey({ kind: 'mnist', normalize: 'standard' }), '{"kind":"mnist","normalize":"standard"}')
  assert.notEqual(datasetKey({ kind: 'mnist', normalize: { mean: 0.1, std: 0.3 } }), datasetKey({ kind: 'mnist', normalize: 'standard' }))
})

/** A CSV dataset: label in column 0, two features. */
function writeCsv (name: string, rows: number[][]): string {
  writeFileSync(join(dir, name), rows.map(r => r.join(',')).join('\n') + '\n')
  return name
}

test('CSV standard: the training set\'s own scalar mean and std, applied to the test set too', async () => {
  const train = writeCsv('train.csv', [[0, 1, 2], [1, 3, 4], [0, 5, 6], [1, 7, 8]])
  const testFile = writeCsv('test.csv', [[0, 4.5, 100]])
  const spec: DatasetSpec = { kind: 'csv', train, test: testFile, labelColumn: 0, classes: 2, header: false, normalize: 'standard' }
  const ds = await loadDataset(spec, { baseDir: dir })
  // Values 1..8: mean 4.5, population std sqrt(5.25).
  assert.equal(ds.normalization!.mean, 4.5)
  assert.ok(Math.abs(ds.normalization!.std - Math.sqrt(5.25)) < 1e-12)
  const s = scalarStats(ds.trainX)
  assert.ok(Math.abs(s.mean) < 1e-7 && Math.abs(s.std - 1) < 1e-6, `train ${s.mean} ${s.std}`)
  assert.equal(ds.testX[0], 0)
  assert.equal(ds.testX[1], Math.fround((100 - 4.5) / Math.sqrt(5.25)))
})

test('explicit { mean, std } is used as given, for any kind', async () => {
  const train = writeCsv('train2.csv', [[0, 1, 2], [1, 3, 4]])
  const ds = await loadDataset({ kind: 'csv', train, test: train, labelColumn: 0, classes: 2, header: false, normalize: { mean: 1, std: 2 } }, { baseDir: dir })
  assert.deepEqual(ds.normalization, { mean: 1, std: 2 })
  assert.deepEqual([...ds.trainX], [0, 0.5, 1, 1.5])
  assert.deepEqual([...ds.testX], [0, 0.5, 1, 1.5])
})

test('errors: constant training inputs, a malformed normalize', async () => {
  const flat = writeCsv('flat.csv', [[0, 3, 3], [1, 3, 3]])
  await assert.rejects(loadDataset({ kind: 'csv', train: flat, test: flat, labelColumn: 0, classes: 2, header: false, normalize: 'standard' }, { baseDir: dir }),
    (e: Error) => e instanceof DatasetError && /^dataset\.normalize standard: the training inputs have standard deviation 0/.test(e.message))
  await assert.rejects(loadDataset({ kind: 'mnist', normalize: 'minmax' } as unknown as DatasetSpec),
    (e: Error) => e instanceof DatasetError && /^dataset\.normalize must be none, standard or \{ mean, std \}/.test(e.message))
  await assert.rejects(loadDataset({ kind: 'mnist', normalize: { mean: 0, std: 0 } }),
    (e: Error) => e instanceof DatasetError && /dataset\.normalize/.test(e.message))
})

test('the trainer\'s workers train on the normalized inputs', { timeout: 120_000 }, async () => {
  const model = { kind: 'logreg' as const }
  const params = initialParams(model, [28, 28, 1], 10, 1)
  const indices = Uint32Array.from({ length: 500 }, (_, i) => i)
  const training = { epochs: 1, batchSize: 50, learningRate: 0.1, optimizer: 'sgd' as const, momentum: 0 }
  const trainer = createTrainer({ workers: 1 })
  try {
    const plain = await trainer.train({ model, dataset: { kind: 'mnist' }, indices, params, training, seed: 3 })
    const std = await trainer.train({ model, dataset: { kind: 'mnist', normalize: 'standard' }, indices, params, training, seed: 3 })
    const again = await trainer.train({ model, dataset: { kind: 'mnist', normalize: 'standard' }, indices, params, training, seed: 3 })
    assert.notDeepEqual(std.delta, plain.delta)
    assert.deepEqual(again.delta, std.delta)
    const evPlain = await trainer.evaluate({ model, dataset: { kind: 'mnist' }, params, limit: 500 })
    const evStd = await trainer.evaluate({ model, dataset: { kind: 'mnist', normalize: 'standard' }, params, limit: 500 })
    assert.notEqual(evStd.loss, evPlain.loss, 'evaluation sees the normalized test set')
  } finally {
    await trainer.close()
  }
})
