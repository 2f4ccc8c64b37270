/**
 * Defaults and limits of task definitions: the embedded default task (MNIST, McMahan's 2NN),
 * the per-kind defaults that `createTask` fills in, and the bounds that `validateTask` enforces.
 * Everything here is frozen; `defaultTask()` hands out deep copies.
 */

import type { Activation, AggregationSpec, CohortSpec, Optimizer, PrivacySpec, TimeoutSpec, TrainingSpec } from './types.ts'

/** The only task format version so far. */
export const TASK_VERSION = 1

export const DEFAULT_TASK_NAME = 'mnist-2nn'
export const DEFAULT_SEED = 1
export const DEFAULT_ROUNDS = 20
export const DEFAULT_PARTITION = 'iid'
export const DEFAULT_SECURE_AGGREGATION = true

/** Default activation of `mlp` and `cnn` models. */
export const DEFAULT_ACTIVATION: Activation = 'relu'
/** `mlp` hidden layers: McMahan et al.'s "2NN" (two hidden layers of 200 units). */
export const DEFAULT_MLP_HIDDEN: readonly number[] = Object.freeze([200, 200])
/** `cnn` convolution filters per layer and dense units (McMahan et al.'s "CNN"). */
export const DEFAULT_CNN_FILTERS: readonly number[] = Object.freeze([32, 64])
export const DEFAULT_CNN_DENSE = 512

/** `csv` datasets have a header row unless told otherwise. */
export const DEFAULT_CSV_HEADER = true

/**
 * Local training: one epoch of SGD with momentum 0.9 at lr 0.02, batch 32. Measured on the default sim
 * (10 peers, MNIST IID, 2NN): 96.3% after 5 rounds, against 95.3% for plain SGD at lr 0.1.
 */
export const DEFAULT_TRAINING: Readonly<TrainingSpec> = Object.freeze({
  epochs: 1,
  batchSize: 32,
  learningRate: 0.02,
  optimizer: 'momentum' as Optimizer,
  momentum: 0.9
})

export const DEFAULT_COHORT: Readonly<CohortSpec> = Object.freeze({
  size: 10,
  minSurvivors: 2,
  threshold: 0
})

/**
 * Aggregation. clipNorm 10: the default task's updates measured 5.8 (round 1), 2.4 and 2.0 (rounds 2-3)
 * in L2 norm on one tenth of MNIST, so the clip bounds the ring without touching honest updates.
 * weightCap 60000 is MNIST's whole training set: no MNIST peer is capped.
 */
export const DEFAULT_AGGREGATION: Readonly<AggregationSpec> = Object.freeze({
  weighting: 'examples',
  serverLearningRate: 1,
  clipNorm: 10,
  weightCap: 60_000
})

export const DEFAULT_TIMEOUTS: Readonly<TimeoutSpec> = Object.freeze({
  joinMs: 5000,
  cohortMs: 3000,
  updateMs: 120_000,
  survivorsMs: 15_000
})

/** Privacy: off by default; δ = 1e-5 as in TF Privacy's examples (below 1/N for MNIST's 60 000). */
export const DEFAULT_PRIVACY: Readonly<PrivacySpec> = Object.freeze({
  delta: 1e-5,
  targetEpsilon: 0,
  dpFedAvg: false,
  fedAvgNoise: 1,
  // TF Privacy's tutorial values (the project's seed): noise_multiplier 1.1, l2_norm_clip 1.5.
  dpSgd: false,
  noiseMultiplier: 1.1,
  l2NormClip: 1.5,
  microbatches: 0
})

/** Allowed values of the enumerated fields, in the order error messages list them. */
export const MODEL_KINDS = Object.freeze(['mlp', 'cnn', 'logreg'] as const)
export const DATASET_KINDS = Object.freeze(['mnist', 'fashion-mnist', 'idx', 'csv'] as const)
export const ACTIVATIONS = Object.freeze(['relu', 'tanh'] as const)
export const OPTIMIZERS = Object.freeze(['sgd', 'momentum', 'adam'] as const)
export const WEIGHTINGS = Object.freeze(['examples', 'uniform'] as const)

/** Bounds checked by `validateTask`. */
export const MAX_NAME_LENGTH = 128
/** Seeds are unsigned 32-bit integers so that every PRNG can take them as they are. */
export const MAX_SEED = 0xffff_ffff
/** Smallest allowed value of every `timeouts.*Ms` field. */
export const MIN_TIMEOUT_MS = 100
/** Largest allowed value of every `timeouts.*Ms` field (one day). */
export const MAX_TIMEOUT_MS = 86_400_000
/** Upper bound on layer widths and filter counts, to catch typos before allocating a model. */
export const MAX_LAYER_UNITS = 65_536
/** Smallest number of classes of a user-supplied dataset. */
export const MIN_CLASSES = 2

/** Hex characters of a task id kept by `shortTaskId` (64 bits), e.g. for topic names. */
export const SHORT_TASK_ID_LENGTH = 16

/** Conventional file name of a task definition, and the `source` used in messages when none is given. */
export const TASK_FILE_NAME = 'task.json'
export const DEFAULT_TASK_SOURCE = 'task'

/** The only network file format version so far. */
export const NETWORK_VERSION = 1
/** The protocol this build speaks; a network file must name it in `protocolVersion`. */
export const PROTOCOL_VERSION = 'fedswarm/1'
/** Network names (and so directory names under `~/.fedswarm/`): letters, digits, `.`, `_`, `-`. */
export const NETWORK_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
