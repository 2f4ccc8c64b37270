/**
 * Types of a task definition: everything peers must agree on to train one model together.
 * The canonical JSON of a validated `Task` is hashed into the task id (see `task-id.ts`).
 */

export type Activation = 'relu' | 'tanh'

export type ModelSpec =
  | { kind: 'mlp', hidden: number[], activation: Activation }
  | { kind: 'cnn', filters: number[], dense: number, activation: Activation }
  | { kind: 'logreg' }

/** `none` (inputs as loaded) or `standard` (x becomes (x − mean) / std with one scalar mean and std). */
export type NormalizeMode = 'none' | 'standard'

/**
 * `dataset.normalize`: every input value x of the training AND test sets becomes (x − mean) / std, with
 * ONE scalar mean and std per dataset. `standard`: the published constants for `mnist` and
 * `fashion-mnist` (DATASET_STATS), the scalar mean and std of the training inputs for `idx` and `csv`
 * (data-dependent: they reveal two scalars of the training data). `{ mean, std }`: these values.
 * `none` or absent = inputs as loaded (a validated task drops `none`, so old task ids stay as they were).
 */
export type Normalize = NormalizeMode | { mean: number, std: number }

/**
 * `dataset.transform`: fixed features computed from each (normalized) image before training and evaluation.
 * `scattering`: the scattering transform (src/learning/scattering.ts; Tramèr & Boneh 2021's ScatterNet
 * features, 8×8×81 for MNIST), group-normalized per example. Needs images. `none` or absent = the inputs
 * themselves (a validated task drops `none`).
 */
export type Transform = 'none' | 'scattering'

/** Fields every dataset kind may carry. */
interface DatasetCommon {
  normalize?: Normalize
  transform?: Transform
}

export type DatasetSpec =
  | ({ kind: 'mnist' } & DatasetCommon)
  | ({ kind: 'fashion-mnist' } & DatasetCommon)
  /** The user's own data as IDX files (the MNIST format); paths relative to the task file. */
  | ({ kind: 'idx', trainImages: string, trainLabels: string, testImages: string, testLabels: string, classes: number } & DatasetCommon)
  /** The user's own data as CSV: one example per row, numeric features, the label in `labelColumn`. */
  | ({ kind: 'csv', train: string, test: string, labelColumn: number, classes: number, header: boolean } & DatasetCommon)

export type Optimizer = 'sgd' | 'momentum' | 'adam'

/**
 * How the learning rate changes over the rounds (see src/learning/lr-schedule.ts): `constant`; `step`
 * (×1 for the first half of the horizon, ×0.5 until 3/4, ×0.25 after); `cosine` (×½(1 + cos(π·f))).
 * The horizon is `rounds`, or fewer when a DP-SGD privacy budget stops the peer earlier.
 */
export type LrSchedule = 'constant' | 'step' | 'cosine'

export interface TrainingSpec {
  /** Local epochs per round. */
  epochs: number
  batchSize: number
  learningRate: number
  optimizer: Optimizer
  /** Momentum for `momentum` (ignored otherwise). */
  momentum: number
  /** Learning-rate schedule over rounds; absent = `constant` (a validated task drops `constant`). */
  lrSchedule?: LrSchedule
}

export interface CohortSpec {
  /** Largest number of members the leader picks for a round. */
  size: number
  /** A round completes only if at least this many members' updates reach the survivor list. */
  minSurvivors: number
  /**
   * Secure aggregation's Shamir threshold t: how many members must take part in unmasking. 0 (the
   * default) = a strict majority of the cohort, floor(n/2) + 1; a larger value is capped at n. The
   * survivor list must also hold at least max(t, minSurvivors) members.
   */
  threshold: number
}

export interface AggregationSpec {
  /** `examples`: FedAvg weighted by local example count; `uniform`: plain mean. */
  weighting: 'examples' | 'uniform'
  /** Server (global) learning rate applied to the averaged delta. */
  serverLearningRate: number
  /** Every member clips its update to this L2 norm before it is sent (and, masked, quantized). */
  clipNorm: number
  /**
   * Example counts above this are capped (`examples` weighting): a member's weight is
   * min(examples, weightCap). With secure aggregation each member masks (weight / weightCap) · Δ, so
   * every coordinate stays within clipNorm (McMahan et al. 2018's bounded weights).
   */
  weightCap: number
  /**
   * In-network aggregation: with secure aggregation, a mask set of at least this many members sums its
   * masked vectors in slices (each survivor sums and unmasks one slice of everyone's vector and serves
   * the result; every peer fetches the slices), so a member receives about 2·4d bytes instead of 4d per
   * member. Smaller mask sets gossip whole vectors. 0 = never. Left out of a validated task when it is
   * DEFAULT_SLICE_FROM. The model is the same bit for bit either way.
   */
  sliceFrom?: number
}

export interface TimeoutSpec {
  /** How long joins are collected before the leader picks the cohort. */
  joinMs: number
  /** How long each fallback leader waits for a better-ranked one to publish a cohort. */
  cohortMs: number
  /** How long after the cohort the leader waits for members' updates (local training included). */
  updateMs: number
  /** How long members wait for the survivor list, and then for the updates it names. */
  survivorsMs: number
}

/** Differential privacy (see docs/differential-privacy.md). */
export interface PrivacySpec {
  /** δ of every (ε, δ) a peer reports. */
  delta: number
  /** A peer stops joining rounds once one more round would take its ε above this; 0 = no budget. */
  targetEpsilon: number
  /**
   * Peer-level DP-FedAvg: every member adds discrete Gaussian noise in the secure-aggregation ring so
   * that the sum of any t or more members carries noise of standard deviation
   * fedAvgNoise · aggregation.clipNorm. Needs secureAggregation.
   */
  dpFedAvg: boolean
  /** DP-FedAvg's noise multiplier σ (noise standard deviation over the clip norm). */
  fedAvgNoise: number
  /**
   * Example-level DP-SGD in local training (TF Privacy's DPKerasSGDOptimizer; dense models, sgd or
   * momentum): every microbatch's gradient is clipped to l2NormClip and the summed gradient gets
   * Gaussian noise of standard deviation noiseMultiplier · l2NormClip.
   */
  dpSgd: boolean
  noiseMultiplier: number
  l2NormClip: number
  /** Microbatches per batch (must divide training.batchSize); 0 = one per example. */
  microbatches: number
}

export interface Task {
  version: 1
  name: string
  /** Seeds M[0], partitioning in simulations and any other shared randomness. */
  seed: number
  model: ModelSpec
  dataset: DatasetSpec
  /** `iid`, `dirichlet:<alpha>` or `shards:<per-peer>` (used by simulations and `--data <dataset>:...`). */
  partition: string
  training: TrainingSpec
  rounds: number
  cohort: CohortSpec
  aggregation: AggregationSpec
  timeouts: TimeoutSpec
  /**
   * Secure aggregation: members mask their updates (pairwise + self masks in Z_2^32, Shamir dropout
   * recovery) so that no peer sees a single update, only the sum. Off: updates travel in the clear.
   */
  secureAggregation: boolean
  privacy: PrivacySpec
}

/** A partial task, as read from a file: any field may be left out and takes its default. */
export type TaskInit = {
  [K in keyof Task]?: Task[K] extends object ? (Task[K] extends unknown[] ? Task[K] : Partial<Task[K]>) : Task[K]
}
