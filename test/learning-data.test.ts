// Datasets and the --data flag: MNIST from its IDX files, Fashion-MNIST's split, user IDX and CSV
// data, DatasetErrors that name the file, and the forms and errors of parseDataSpec.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { DataSpecError, DatasetError, loadDataset, parseDataSpec, parseIdx, selectIndices } from '../src/learning/index.ts'
import type { DatasetSpec } from '../src/config/types.ts'

const dir = mkdtempSync(join(tmpdir(), 'fedswarm-learning-'))

/** An IDX file of uint8 values. */
function idx (dims: number[], values: ArrayLike<number>, type = 0x08): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length)
  const view = new DataView(header.buffer)
  header[2] = type
  header[3] = dims.length
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false))
  return new Uint8Array([...header, ...Array.from(values)])
}

const isDatasetError = (path: string, pattern: RegExp) => (e: Error): boolean => {
  assert.ok(e instanceof DatasetError, `expected DatasetError, got ${e.name}: ${e.message}`)
  assert.ok(e.message.includes(path), `message names ${path}: ${e.message}`)
  assert.match(e.message, pattern)
  assert.ok(!e.message.includes('\n'))
  return true
}

test('MNIST: 60,000 train and 10,000 test images of 28x28, labels 0-9, pixels in [0, 1]', async () => {
  const ds = await loadDataset({ kind: 'mnist' })
  assert.equal(ds.trainY.length, 60_000)
  assert.equal(ds.testY.length, 10_000)
  assert.equal(ds.trainX.length, 60_000 * 784)
  assert.equal(ds.testX.length, 10_000 * 784)
  assert.deepEqual(ds.inputShape, [28, 28, 1])
  assert.equal(ds.features, 784)
  assert.equal(ds.classes, 10)
  assert.equal(ds.trainY[0], 5) // the first MNIST training digit is a 5, the first test digit a 7
  assert.equal(ds.testY[0], 7)
  const counts = new Array(10).fill(0)
  for (const y of ds.trainY) counts[y]++
  assert.ok(counts.every(c => c > 5000))
  let min = Infinity
  let max = -Infinity
  for (let i = 0; i < 784 * 100; i++) { min = Math.min(min, ds.trainX[i]); max = Math.max(max, ds.trainX[i]) }
  assert.equal(min, 0)
  assert.equal(max, 1)
  assert.equal(await loadDataset({ kind: 'mnist' }), ds, 'cached per process')
})

test('Fashion-MNIST: deterministic 6,000/1,000 split per class, classes interleaved', async () => {
  const ds = await loadDataset({ kind: 'fashion-mnist' })
  assert.equal(ds.trainY.length, 60_000)
  assert.equal(ds.testY.length, 10_000)
  const train = new Array(10).fill(0)
  for (const y of ds.trainY) train[y]++
  assert.deepEqual(train, new Array(10).fill(6000))
  const head = new Set(ds.testY.subarray(0, 200))
  assert.equal(head.size, 10, 'a prefix of the test set has every class')
  assert.ok(ds.trainX.every(v => v >= 0 && v <= 1))
})

test('IDX parser: types, gzip, and errors naming the file', () => {
  const t = parseIdx(idx([2, 3], [1, 2, 3, 4, 5, 6]), 'x.idx')
  assert.deepEqual(t.dims, [2, 3])
  assert.deepEqual([...t.data], [1, 2, 3, 4, 5, 6])
  assert.deepEqual(parseIdx(gzipSync(idx([2], [7, 8])), 'x.gz').dims, [2])
  const f32 = new Uint8Array(4 + 4 + 8)
  f32[2] = 0x0D; f32[3] = 1
  new DataView(f32.buffer).setUint32(4, 2)
  new DataView(f32.buffer).setFloat32(8, 1.5)
  new DataView(f32.buffer).setFloat32(12, -2)
  assert.deepEqual([...parseIdx(f32, 'f').data], [1.5, -2])
  assert.throws(() => parseIdx(new Uint8Array([8, 0, 8, 1, 0, 0, 0, 0]), 'bad.idx'), isDatasetError('bad.idx', /bad IDX magic number 0x08000801/))
  assert.throws(() => parseIdx(idx([10], [1, 2]), 'short.idx'), isDatasetError('short.idx', /IDX uint8 of dimensions \[10\] needs 18 bytes, file has 10/))
  assert.throws(() => parseIdx(new Uint8Array([0, 0]), 'tiny.idx'), isDatasetError('tiny.idx', /too short/))
})

test('user IDX data: a directory found by parseDataSpec, loaded and validated', async () => {
  const d = join(dir, 'idx')
  mkdirSync(d)
  const imgs = (n: number): Uint8Array => idx([n, 4, 4], Array.from({ length: n * 16 }, (_, i) => (i * 37) % 256))
  writeFileSync(join(d, 'train-images-idx3-ubyte'), imgs(6))
  writeFileSync(join(d, 'train-labels-idx1-ubyte'), idx([6], [0, 1, 2, 0, 1, 2]))
  writeFileSync(join(d, 't10k-images-idx3-ubyte.gz'), gzipSync(imgs(3)))
  writeFileSync(join(d, 't10k-labels-idx1-ubyte'), idx([3], [2, 1, 0]))
  const sel = parseDataSpec(d, { template: { kind: 'idx', trainImages: '', trainLabels: '', testImages: '', testLabels: '', classes: 3 } })
  assert.equal(sel.dataset.kind, 'idx')
  const ds = await loadDataset(sel.dataset)
  assert.deepEqual(ds.inputShape, [4, 4, 1])
  assert.equal(ds.classes, 3)
  assert.equal(ds.trainY.length, 6)
  assert.equal(ds.testY.length, 3)
  assert.equal(ds.trainX[1], Math.fround(37 / 255))

  const spec = (over: Partial<Extract<DatasetSpec, { kind: 'idx' }>>): DatasetSpec => ({ ...(sel.dataset as Extract<DatasetSpec, { kind: 'idx' }>), ...over })
  const missing = join(d, 'nope-idx3-ubyte')
  await assert.rejects(loadDataset(spec({ trainImages: missing })), isDatasetError(missing, /no such file/))
  await assert.rejects(loadDataset(spec({ classes: 2 })), isDatasetError('train-labels-idx1-ubyte', /label 2 is 2, expected an integer in \[0, 2\)/))
  writeFileSync(join(d, 'few-labels'), idx([5], [0, 0, 0, 0, 0]))
  await assert.rejects(loadDataset(spec({ trainLabels: join(d, 'few-labels') })), isDatasetError('few-labels', /has 5 labels for 6 examples/))
  await assert.rejects(loadDataset(spec({ trainImages: 'rel/x' }), { baseDir: d }), isDatasetError(join(d, 'rel/x'), /no such file/))
})

test('user CSV data: header, label column, and row errors with line numbers', async () => {
  const train = join(dir, 'train.csv')
  const test = join(dir, 'test.csv')
  writeFileSync(train, 'a,b,label,c\n0.5,1,2,3\n1,2,0,4\n\n-1,0,1,2e3\n')
  writeFileSync(test, 'a,b,label,c\r\n1,1,1,1\r\n')
  const spec: DatasetSpec = { kind: 'csv', train: 'train.csv', test: 'test.csv', labelColumn: 2, classes: 3, header: true }
  const ds = await loadDataset(spec, { baseDir: dir })
  assert.deepEqual(ds.inputShape, [3])
  assert.deepEqual([...ds.trainY], [2, 0, 1])
  assert.deepEqual([...ds.trainX], [0.5, 1, 3, 1, 2, 4, -1, 0, 2000])
  assert.deepEqual([...ds.testY], [1])

  const bad = (name: string, text: string): string => { const p = join(dir, name); writeFileSync(p, text); return p }
  const p1 = bad('cols.csv', 'a,b,label,c\n1,2,0,3\n1,2,0\n')
  await assert.rejects(loadDataset({ ...spec, train: p1 }, { baseDir: dir }), isDatasetError(p1, /line 3 has 3 columns, expected 4/))
  const p2 = bad('label.csv', 'a,b,label,c\n1,2,7,3\n')
  await assert.rejects(loadDataset({ ...spec, train: p2 }, { baseDir: dir }), isDatasetError(p2, /line 2 has label "7" in column 2, expected an integer in \[0, 3\)/))
  const p3 = bad('nan.csv', 'a,b,label,c\n1,x,0,3\n')
  await assert.rejects(loadDataset({ ...spec, train: p3 }, { baseDir: dir }), isDatasetError(p3, /line 2 column 1 is not a number/))
  await assert.rejects(loadDataset({ ...spec, labelColumn: 9 }, { baseDir: dir }), isDatasetError('train.csv', /labelColumn 9 is outside the 4 columns/))
  await assert.rejects(loadDataset({ kind: 'parquet' } as unknown as DatasetSpec), (e: Error) => e instanceof DatasetError && /mnist, fashion-mnist, idx or csv/.test(e.message))
})

test('parseDataSpec: built-in datasets and partitions', () => {
  assert.deepEqual(parseDataSpec('mnist'), { dataset: { kind: 'mnist' } })
  assert.deepEqual(parseDataSpec('fashion-mnist'), { dataset: { kind: 'fashion-mnist' } })
  assert.deepEqual(parseDataSpec('mnist:iid:0/4'), { dataset: { kind: 'mnist' }, partition: { spec: 'iid', index: 0, of: 4 } })
  assert.deepEqual(parseDataSpec('mnist:dirichlet:0.3:2/10'), { dataset: { kind: 'mnist' }, partition: { spec: 'dirichlet:0.3', index: 2, of: 10 } })
  assert.deepEqual(parseDataSpec('fashion-mnist:shards:2:9/10'), { dataset: { kind: 'fashion-mnist' }, partition: { spec: 'shards:2', index: 9, of: 10 } })
  const labels = Uint8Array.from({ length: 100 }, (_, i) => i % 10)
  assert.equal(selectIndices(parseDataSpec('mnist:iid:1/4'), labels, 5)?.length, 25)
  assert.equal(selectIndices(parseDataSpec('mnist'), labels, 5), undefined)
})

test('parseDataSpec: CSV files and directories', () => {
  const sel = parseDataSpec('train.csv', { baseDir: dir })
  assert.deepEqual(sel.dataset, { kind: 'csv', train: join(dir, 'train.csv'), test: join(dir, 'test.csv'), labelColumn: 0, classes: 10, header: true })
  const noHeader = join(dir, 'plain.csv')
  writeFileSync(noHeader, '1,2,3\n')
  assert.deepEqual(parseDataSpec(noHeader, { template: { kind: 'csv', train: '', test: '', labelColumn: 2, classes: 4, header: true } }).dataset,
    { kind: 'csv', train: noHeader, test: noHeader, labelColumn: 2, classes: 4, header: true })
  assert.equal((parseDataSpec(noHeader).dataset as { header: boolean }).header, false)
  const csvDir = join(dir, 'csvdir')
  mkdirSync(csvDir)
  writeFileSync(join(csvDir, 'train.csv'), '0,1\n')
  writeFileSync(join(csvDir, 'test.csv'), '0,1\n')
  assert.equal(parseDataSpec(csvDir).dataset.kind, 'csv')
})

test('parseDataSpec: errors name the spec and the allowed forms', () => {
  const bad = (text: string, pattern: RegExp): void => {
    assert.throws(() => parseDataSpec(text, { baseDir: dir }), (e: Error) => {
      assert.ok(e instanceof DataSpecError, `${text}: ${e.name}`)
      assert.ok(e.message.includes(JSON.stringify(text)), e.message)
      assert.match(e.message, /use mnist, fashion-mnist, <dataset>:<partition>:<index>\/<of>/)
      assert.match(e.message, pattern)
      return true
    })
  }
  bad('', /empty/)
  bad('cifar10', /unknown dataset "cifar10"/)
  bad('mnist:iid:4/4', /peer index 4 must be in \[0, 4\)/)
  bad('mnist:iid:0/0', /must be >= 1/)
  bad('mnist:dirichlet:0:1/4', /partition "dirichlet:0" must be iid, dirichlet/)
  bad('mnist:shards:0:1/4', /partition "shards:0"/)
  bad('mnist:foo:1/4', /<dataset>:<partition>/)
  bad('./missing-dir', /no such file or directory/)
  bad('mnist:iid', /unknown dataset "mnist:iid"/)
  mkdirSync(join(dir, 'empty'))
  bad('empty', /holds neither the IDX files/)
  writeFileSync(join(dir, 'data.bin'), 'x')
  bad('data.bin', /not a \.csv file/)
})
