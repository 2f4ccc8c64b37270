/**
 * `dataset.transform`: fixed features in place of a dataset's inputs, computed lazily. A transformed
 * dataset's `trainX` / `testX` are allocated for every example (SharedArrayBuffers: untouched pages cost
 * no memory) but a row is computed only when a job first needs it (`ensureRows`), so a peer pays for its
 * own partition and the test examples it evaluates on, not the whole dataset. Rows are shared between the
 * threads that share the dataset: a shared flag per row says it is ready. Two threads that compute the same
 * row at once write the same bits, so no lock is needed.
 */

import type { Transform } from '../config/types.ts'
import type { Dataset } from './datasets.ts'
import { createScattering } from './scattering.ts'
import type { Scattering } from './scattering.ts'

/** What a transformed dataset keeps besides its feature rows. */
export interface LazyFeatures {
  transform: Exclude<Transform, 'none'>
  /** The inputs the features are computed from (as loaded and normalized), and their shape. */
  sourceTrainX: Float32Array
  sourceTestX: Float32Array
  sourceShape: number[]
  /** 1 once the row of `trainX` / `testX` holds its features. */
  trainReady: Uint8Array
  testReady: Uint8Array
}

/** Rows are computed in chunks of this many between checks of the abort signal. */
const CHUNK = 64

/** `ds` with `transform`'s features in place of its inputs (computed later, by `ensureRows`). */
export function transformDataset (ds: Dataset, transform: Exclude<Transform, 'none'>): Dataset {
  const t = transformerFor(transform, ds.inputShape)
  const trainCount = ds.trainY.length
  const testCount = ds.testY.length
  return {
    ...ds,
    trainX: new Float32Array(new SharedArrayBuffer(trainCount * t.features * 4)),
    testX: new Float32Array(new SharedArrayBuffer(testCount * t.features * 4)),
    inputShape: [...t.outputShape],
    features: t.features,
    lazy: {
      transform,
      sourceTrainX: ds.trainX,
      sourceTestX: ds.testX,
      sourceShape: [...ds.inputShape],
      trainReady: new Uint8Array(new SharedArrayBuffer(trainCount)),
      testReady: new Uint8Array(new SharedArrayBuffer(testCount))
    }
  }
}

export interface EnsureRowsOptions {
  signal?: AbortSignal
  /** Polled between chunks as well: true stops with an AbortError (a trainer's cancel flag). */
  shouldStop?: () => boolean
  /** Called after each chunk with the rows computed so far and the rows that were missing. */
  onProgress?: (done: number, missing: number) => void
}

/**
 * Makes sure that the rows `rows` of the split's inputs hold their features (a no-op for datasets without
 * a transform). Synchronous: run it where blocking is fine (a training worker), or on few rows.
 */
export function ensureRows (ds: Dataset, split: 'train' | 'test', rows: ArrayLike<number>, options: EnsureRowsOptions = {}): void {
  const lazy = ds.lazy
  if (lazy === undefined) return
  const ready = split === 'train' ? lazy.trainReady : lazy.testReady
  const missing: number[] = []
  for (let i = 0; i < rows.length; i++) if (Atomics.load(ready, rows[i]) === 0) missing.push(rows[i])
  if (missing.length === 0) return
  const t = transformerFor(lazy.transform, lazy.sourceShape)
  const source = split === 'train' ? lazy.sourceTrainX : lazy.sourceTestX
  const out = split === 'train' ? ds.trainX : ds.testX
  const inputs = lazy.sourceShape.reduce((a, b) => a * b, 1)
  for (let start = 0; start < missing.length; start += CHUNK) {
    options.signal?.throwIfAborted()
    if (options.shouldStop?.() === true) throw abortError()
    for (const row of missing.slice(start, start + CHUNK)) {
      if (Atomics.load(ready, row) === 1) continue
      t.apply(source, row * inputs, out, row * t.features)
      Atomics.store(ready, row, 1)
    }
    options.onProgress?.(Math.min(start + CHUNK, missing.length), missing.length)
  }
}

function abortError (): Error {
  const err = new Error('computing the dataset\'s features was aborted')
  err.name = 'AbortError'
  return err
}

/** The first `count` rows: 0, 1, …, count − 1. */
export function firstRows (count: number): Uint32Array {
  return Uint32Array.from({ length: count }, (_, i) => i)
}

/** One transformer per transform and input shape in each thread (the filter bank takes ~20 ms to build). */
const transformers = new Map<string, Scattering>()

function transformerFor (transform: Exclude<Transform, 'none'>, inputShape: readonly number[]): Scattering {
  const key = `${transform}:${inputShape.join('x')}`
  let t = transformers.get(key)
  if (t === undefined) {
    // (the loader's checkTransform admits `scattering` only, the one transform there is)
    t = createScattering(inputShape)
    transformers.set(key, t)
  }
  return t
}
