/**
 * The learning module: model layouts and M[0], datasets and the `--data` flag, partitioners, and a
 * worker-thread trainer for local training and evaluation.
 *
 * Importing this file does not load TensorFlow.js (about 0.7 s and tens of MB): tfjs runs in the
 * trainer's workers. The in-thread functions below import it on first call. The tfjs model builders
 * (`buildModel`, `setParams`, `getParams`) live in `./models.ts` for code that wants tfjs in its own thread.
 */

import type { BackendChoice, BackendName } from './constants.ts'
import type { EvalJob, EvalResult, TrainJob, TrainResult } from './jobs.ts'
import type { LocalOptions } from './local-train.ts'

export { BACKENDS, DEFAULT_BACKEND, defaultWorkers } from './constants.ts'
export type { BackendChoice, BackendName, Gradients } from './constants.ts'
export { BackendError, DataSpecError, DatasetError, ModelError, PartitionError, TrainerError } from './errors.ts'
export { createRng } from './prng.ts'
export type { Rng } from './prng.ts'
export { initialParams, modelLayout, planModel } from './layout.ts'
export type { LayerPlan, ParamLayout } from './layout.ts'
export { clearDatasetCache, datasetKey, loadDataset, normalizationStats, resolveSpec, scalarStats } from './datasets.ts'
export type { Dataset, LoadDatasetOptions, NormalizationStats } from './datasets.ts'
export { ensureRows, firstRows } from './features.ts'
export type { EnsureRowsOptions, LazyFeatures } from './features.ts'
export { SCATTERING_CHANNELS, SCATTERING_J, SCATTERING_L, createScattering } from './scattering.ts'
export type { Scattering } from './scattering.ts'
export { lrFactor, roundTraining } from './lr-schedule.ts'
export { parseIdx, readIdx } from './idx.ts'
export type { IdxTensor } from './idx.ts'
export { parseCsv } from './csv.ts'
export type { CsvData, CsvOptions } from './csv.ts'
export { DATA_SPEC_FORMS, parseDataSpec, selectIndices } from './data-spec.ts'
export type { DataSelection, ParseDataSpecOptions } from './data-spec.ts'
export { PARTITION_FORMS, parsePartition, partition } from './partition.ts'
export type { PartitionSpec } from './partition.ts'
export type { EvalJob, EvalResult, TrainJob, TrainResult } from './jobs.ts'
export type { LocalOptions } from './local-train.ts'
export { createTrainer } from './trainer.ts'
export type { Trainer, TrainerInit } from './trainer.ts'

/** Trains on the calling thread (blocks it; use a `Trainer` in a peer). Loads tfjs on first call. */
export async function trainLocal (job: TrainJob, options?: LocalOptions): Promise<TrainResult> {
  return await (await import('./local-train.ts')).trainLocal(job, options)
}

/** Evaluates on the calling thread. Loads tfjs on first call. */
export async function evaluateLocal (job: EvalJob, options?: LocalOptions): Promise<EvalResult> {
  return await (await import('./local-train.ts')).evaluateLocal(job, options)
}

/** Picks the tfjs backend of the calling thread (see `backend.ts`). Loads tfjs on first call. */
export async function useBackend (choice?: BackendChoice): Promise<BackendName> {
  return await (await import('./backend.ts')).useBackend(choice)
}

/**
 * Max relative difference of the wasm kernel replacements against the cpu backend (see
 * `wasm-kernels.ts`), with the SIMD loops (default) or without them (`simd: false`).
 */
export async function wasmKernelSelfTest (options: { simd?: boolean } = {}): Promise<number> {
  await useBackend('wasm')
  return await (await import('./wasm-kernels.ts')).wasmKernelSelfTest(options)
}

/** Why the wasm backend's SIMD loops are off on this thread (they load with it), or null if they are on. */
export async function wasmSimdProblem (): Promise<string | null> {
  await useBackend('wasm')
  return await (await import('./wasm-kernels.ts')).enableWasmSimdKernels()
}

/** Turns the wasm backend's SIMD loops on or off on this thread (tests, benchmarks); returns the previous state. */
export async function setWasmSimdKernels (on: boolean): Promise<boolean> {
  await useBackend('wasm')
  return await (await import('./wasm-kernels.ts')).setWasmSimdKernels(on)
}
