/**
 * Task definitions as parameter sets: `defaultTask()` (the embedded MNIST 2NN task),
 * `createTask(partial)` (defaults merged field by field, then validated) and `validateTask()`
 * (strict: every field present, no unknown fields, types and ranges checked).
 *
 * `validateTask` returns a fresh object and normalizes `partition` (`dirichlet:0.50` becomes
 * `dirichlet:0.5`), so equal tasks always have equal canonical JSON and task ids. The optional fields
 * `dataset.normalize`, `dataset.transform` and `training.lrSchedule` are left out when they hold their
 * defaults (`none`, `none`, `constant`): a task that does not use them has the canonical JSON and id it had
 * before they existed.
 */

import {
  DP_SGD_PRESETS,
  ACTIVATIONS, DATASET_KINDS, DEFAULT_ACTIVATION, DEFAULT_AGGREGATION, DEFAULT_CNN_DENSE, DEFAULT_CNN_FILTERS,
  DEFAULT_COHORT, DEFAULT_CSV_HEADER, DEFAULT_LR_SCHEDULE, DEFAULT_SLICE_FROM, DEFAULT_MLP_HIDDEN, DEFAULT_PARTITION, DEFAULT_ROUNDS,
  DEFAULT_PRIVACY, DEFAULT_SECURE_AGGREGATION, DEFAULT_SEED, DEFAULT_TASK_NAME, DEFAULT_TASK_SOURCE, DEFAULT_TIMEOUTS,
  DEFAULT_TRAINING, LR_SCHEDULES, MAX_LAYER_UNITS, MAX_NAME_LENGTH, MAX_SEED, MAX_TIMEOUT_MS, MIN_CLASSES, MIN_TIMEOUT_MS,
  MODEL_KINDS, NORMALIZE_MODES, OPTIMIZERS, TASK_VERSION, TRANSFORMS, WEIGHTINGS
} from './constants.ts'
import { MAX_COHORT } from '../wire/constants.ts'
import { didYouMean } from './did-you-mean.ts'
import { TaskError, describeValue } from './errors.ts'
import { formatPartition, parsePartition } from './partition.ts'
import type {
  AggregationSpec, CohortSpec, DatasetSpec, ModelSpec, Normalize, PrivacySpec, Task, TimeoutSpec, TrainingSpec, Transform
} from './types.ts'

export interface TaskOptions {
  /** Names where the task came from in error messages, e.g. the task file path (default `task`). */
  source?: string
}

type Obj = Record<string, unknown>

/** Top-level fields of a task, in the order they are checked and written. */
export const TASK_FIELDS = Object.freeze([
  'version', 'name', 'seed', 'model', 'dataset', 'partition', 'training', 'rounds', 'cohort',
  'aggregation', 'timeouts', 'secureAggregation', 'privacy'
] as const)

const MODEL_FIELDS: Readonly<Record<ModelSpec['kind'], readonly string[]>> = {
  mlp: ['kind', 'hidden', 'activation'],
  cnn: ['kind', 'filters', 'dense', 'activation'],
  logreg: ['kind']
}

const DATASET_FIELDS: Readonly<Record<DatasetSpec['kind'], readonly string[]>> = {
  mnist: ['kind', 'normalize', 'transform'],
  'fashion-mnist': ['kind', 'normalize', 'transform'],
  idx: ['kind', 'trainImages', 'trainLabels', 'testImages', 'testLabels', 'classes', 'normalize', 'transform'],
  csv: ['kind', 'train', 'test', 'labelColumn', 'classes', 'header', 'normalize']
}

/** Fields of an explicit `dataset.normalize` object. */
const NORMALIZE_FIELDS = ['mean', 'std'] as const

const TRAINING_FIELDS = ['epochs', 'batchSize', 'learningRate', 'optimizer', 'momentum', 'lrSchedule'] as const
const COHORT_FIELDS = ['size', 'minSurvivors', 'threshold'] as const
const AGGREGATION_FIELDS = ['weighting', 'serverLearningRate', 'clipNorm', 'weightCap', 'sliceFrom'] as const
const TIMEOUT_FIELDS = ['joinMs', 'cohortMs', 'updateMs', 'survivorsMs'] as const
const PRIVACY_FIELDS = ['delta', 'targetEpsilon', 'dpFedAvg', 'fedAvgNoise', 'dpSgd', 'noiseMultiplier', 'l2NormClip', 'microbatches'] as const

/** Fields of a model kind that `createTask` fills in when they are left out. */
function modelDefaults (kind: string): Obj | undefined {
  switch (kind) {
    case 'mlp': return { kind, hidden: [...DEFAULT_MLP_HIDDEN], activation: DEFAULT_ACTIVATION }
    case 'cnn': return { kind, filters: [...DEFAULT_CNN_FILTERS], dense: DEFAULT_CNN_DENSE, activation: DEFAULT_ACTIVATION }
    case 'logreg': return { kind }
    default: return undefined
  }
}

/** Fields of a dataset kind that `createTask` fills in (paths and class counts have no default). */
function datasetDefaults (kind: string): Obj | undefined {
  switch (kind) {
    case 'mnist': case 'fashion-mnist': case 'idx': return { kind }
    case 'csv': return { kind, header: DEFAULT_CSV_HEADER }
    default: return undefined
  }
}

/** The embedded default task: MNIST, McMahan's 2NN, IID partition. A fresh copy on every call. */
export function defaultTask (): Task {
  return {
    version: TASK_VERSION,
    name: DEFAULT_TASK_NAME,
    seed: DEFAULT_SEED,
    model: { kind: 'mlp', hidden: [...DEFAULT_MLP_HIDDEN], activation: DEFAULT_ACTIVATION },
    dataset: { kind: 'mnist' },
    partition: DEFAULT_PARTITION,
    training: { ...DEFAULT_TRAINING },
    rounds: DEFAULT_ROUNDS,
    cohort: { ...DEFAULT_COHORT },
    aggregation: { ...DEFAULT_AGGREGATION },
    timeouts: { ...DEFAULT_TIMEOUTS },
    secureAggregation: DEFAULT_SECURE_AGGREGATION,
    privacy: { ...DEFAULT_PRIVACY }
  }
}

/**
 * Builds a task from a partial definition (e.g. parsed JSON, or CLI flags mapped onto it): fields left
 * out (or `undefined`) take their defaults; `training`, `cohort`, `aggregation` and `timeouts` are merged
 * field by field; `model` and `dataset` take the defaults of their `kind` (the default task's kind when
 * `kind` is left out). Arrays are replaced, not merged. The result is validated with `validateTask`.
 */
/** With `privacy.dpSgd` on, the fields `init` leaves out take `DP_SGD_PRESETS` instead of the plain defaults. */
function applyDpSgdPresets (merged: Obj, init: Obj): void {
  const privacy = merged.privacy
  if (!isPlainObject(privacy) || privacy.dpSgd !== true) return
  const given = (section: string, field: string): boolean => {
    const v = init[section]
    return isPlainObject(v) && v[field] !== undefined
  }
  const training = merged.training
  if (isPlainObject(training)) {
    if (!given('training', 'learningRate')) training.learningRate = DP_SGD_PRESETS.learningRate
    if (!given('training', 'lrSchedule')) training.lrSchedule = DP_SGD_PRESETS.lrSchedule
  }
  const aggregation = merged.aggregation
  // (with DP-FedAvg on too, clipNorm is that mechanism's sensitivity: keep the plain default)
  if (isPlainObject(aggregation) && privacy.dpFedAvg !== true && !given('aggregation', 'clipNorm')) aggregation.clipNorm = DP_SGD_PRESETS.clipNorm
  const dataset = merged.dataset
  if (isPlainObject(dataset) && (dataset.kind === 'mnist' || dataset.kind === 'fashion-mnist')) {
    if (!given('dataset', 'transform')) dataset.transform = DP_SGD_PRESETS.transform
    // (the scattering features are normalized per example: standardizing the pixels first adds nothing)
    if (!given('dataset', 'normalize') && dataset.transform !== 'scattering') dataset.normalize = DP_SGD_PRESETS.normalize
  }
}

export function createTask (init: unknown = {}, options: TaskOptions = {}): Task {
  const source = options.source ?? DEFAULT_TASK_SOURCE
  if (init === undefined) init = {}
  if (!isPlainObject(init)) {
    throw new TaskError(`${source}: the task must be a JSON object (got ${describeValue(init)})`, { field: '', source })
  }
  const base = defaultTask() as unknown as Obj
  const merged: Obj = { ...base }
  for (const [key, value] of Object.entries(init)) {
    if (value === undefined) continue
    if ((key === 'model' || key === 'dataset') && isPlainObject(value)) {
      const kind = value.kind ?? (base[key] as Obj).kind
      const defaults = typeof kind === 'string' ? (key === 'model' ? modelDefaults(kind) : datasetDefaults(kind)) : undefined
      setField(merged, key, mergeDefined({ ...defaults, kind }, value))
    } else if (isPlainObject(value) && Object.hasOwn(base, key) && isPlainObject(base[key])) {
      setField(merged, key, mergeDefined(base[key], value))
    } else {
      setField(merged, key, value)
    }
  }
  applyDpSgdPresets(merged, init)
  return validateTask(merged, { source })
}

/**
 * Checks a complete task strictly and returns a fresh, normalized copy. Throws a `TaskError` whose
 * `field` is the dotted path of the first problem and whose one-line message names the source, the field,
 * the allowed values or range, and what was found.
 */
export function validateTask (task: unknown, options: TaskOptions = {}): Task {
  const v = new Validator(options.source ?? DEFAULT_TASK_SOURCE)
  if (!isPlainObject(task)) {
    throw new TaskError(`${v.source}: the task must be a JSON object (got ${describeValue(task)})`, { field: '', source: v.source })
  }
  v.onlyKnown(task, '', TASK_FIELDS)

  const version = task.version
  if (version !== TASK_VERSION) v.fail('version', `${TASK_VERSION} (the only task format version so far)`, version)
  const name = v.string(task, '', 'name', `a non-empty string of at most ${MAX_NAME_LENGTH} characters, no control characters`, MAX_NAME_LENGTH)
  const seed = v.integer(task, '', 'seed', 0, MAX_SEED)
  const model = validateModel(v, task.model)
  const dataset = validateDataset(v, task.dataset)
  const partition = formatPartition(parsePartition(task.partition, { source: v.source, field: 'partition' }))
  const training = validateTraining(v, task.training)
  const rounds = v.integer(task, '', 'rounds', 1)
  const cohort = validateCohort(v, task.cohort)
  const aggregation = validateAggregation(v, task.aggregation)
  const timeouts = validateTimeouts(v, task.timeouts)
  const secureAggregation = v.boolean(task, '', 'secureAggregation')
  const privacy = validatePrivacy(v, task.privacy)
  if (privacy.dpSgd) {
    if (model.kind === 'cnn') v.fail('privacy.dpSgd', 'false with model.kind cnn (DP-SGD supports the dense models mlp and logreg)', true)
    if (training.optimizer === 'adam') v.fail('privacy.dpSgd', 'false with training.optimizer adam (DP-SGD runs sgd or momentum)', true)
    if (privacy.microbatches > 0 && training.batchSize % privacy.microbatches !== 0) {
      v.fail('privacy.microbatches', `0 or a divisor of training.batchSize (${training.batchSize})`, privacy.microbatches)
    }
  }
  if (privacy.dpFedAvg && !secureAggregation) {
    v.fail('privacy.dpFedAvg', 'false while secureAggregation is false (DP-FedAvg splits the noise among the members; only their masked sum may be seen)', true)
  }

  return {
    version: TASK_VERSION,
    name,
    seed,
    model,
    dataset,
    partition,
    training,
    rounds,
    cohort,
    aggregation,
    timeouts,
    secureAggregation,
    privacy
  }
}

function validateModel (v: Validator, model: unknown): ModelSpec {
  const m = v.object(model, 'model')
  const kind = v.oneOf(m, 'model', 'kind', MODEL_KINDS)
  v.onlyKnown(m, 'model', MODEL_FIELDS[kind], `model.kind ${kind}`)
  switch (kind) {
    case 'mlp':
      return {
        kind,
        hidden: v.layers(m, 'model', 'hidden'),
        activation: v.oneOf(m, 'model', 'activation', ACTIVATIONS)
      }
    case 'cnn':
      return {
        kind,
        filters: v.layers(m, 'model', 'filters'),
        dense: v.integer(m, 'model', 'dense', 1, MAX_LAYER_UNITS),
        activation: v.oneOf(m, 'model', 'activation', ACTIVATIONS)
      }
    case 'logreg':
      return { kind }
  }
}

/** The dataset spec of its kind, plus `normalize` and `transform` unless they are the default `none` (left out). */
function validateDataset (v: Validator, dataset: unknown): DatasetSpec {
  const d = v.object(dataset, 'dataset')
  const spec: DatasetSpec = validateDatasetKind(v, d)
  const normalize = validateNormalize(v, d)
  const transform = validateTransform(v, d)
  return {
    ...spec,
    ...(normalize === undefined ? {} : { normalize }),
    ...(transform === undefined ? {} : { transform })
  }
}

/** `dataset.transform`: `none` (returned as `undefined`, left out of the task) or `scattering` (image datasets). */
function validateTransform (v: Validator, d: Obj): Transform | undefined {
  const value = d.transform
  if (value === undefined || value === 'none') return undefined
  if (value !== 'scattering') v.fail('dataset.transform', `one of ${TRANSFORMS.join(', ')}`, value)
  return value
}

/**
 * `dataset.normalize`: `none` (returned as `undefined`, i.e. left out of the task), `standard`, or an
 * explicit `{ mean, std }` (finite mean, std > 0).
 */
function validateNormalize (v: Validator, d: Obj): Normalize | undefined {
  const value = d.normalize
  if (value === undefined || value === 'none') return undefined
  if (value === 'standard') return value
  const expected = `one of ${NORMALIZE_MODES.join(', ')}, or an object { "mean": m, "std": s } (s > 0)`
  if (!isPlainObject(value)) v.fail('dataset.normalize', expected, value)
  v.onlyKnown(value, 'dataset.normalize', NORMALIZE_FIELDS)
  const mean = value.mean
  if (typeof mean !== 'number' || !Number.isFinite(mean)) v.fail('dataset.normalize.mean', 'a finite number', mean)
  return { mean: mean === 0 ? 0 : mean, std: v.positive(value, 'dataset.normalize', 'std') }
}

function validateDatasetKind (v: Validator, d: Obj): DatasetSpec {
  const kind = v.oneOf(d, 'dataset', 'kind', DATASET_KINDS)
  v.onlyKnown(d, 'dataset', DATASET_FIELDS[kind], `dataset.kind ${kind}`)
  const path = (key: string): string => v.string(d, 'dataset', key, `a non-empty path string (relative to the task file), required for dataset.kind ${kind}`)
  switch (kind) {
    case 'mnist':
    case 'fashion-mnist':
      return { kind }
    case 'idx':
      return {
        kind,
        trainImages: path('trainImages'),
        trainLabels: path('trainLabels'),
        testImages: path('testImages'),
        testLabels: path('testLabels'),
        classes: v.integer(d, 'dataset', 'classes', MIN_CLASSES, MAX_LAYER_UNITS)
      }
    case 'csv':
      return {
        kind,
        train: path('train'),
        test: path('test'),
        labelColumn: v.integer(d, 'dataset', 'labelColumn', 0),
        classes: v.integer(d, 'dataset', 'classes', MIN_CLASSES, MAX_LAYER_UNITS),
        header: v.boolean(d, 'dataset', 'header')
      }
  }
}

function validateTraining (v: Validator, training: unknown): TrainingSpec {
  const t = v.object(training, 'training')
  v.onlyKnown(t, 'training', TRAINING_FIELDS)
  const spec: TrainingSpec = {
    epochs: v.integer(t, 'training', 'epochs', 1),
    batchSize: v.integer(t, 'training', 'batchSize', 1),
    learningRate: v.positive(t, 'training', 'learningRate'),
    optimizer: v.oneOf(t, 'training', 'optimizer', OPTIMIZERS),
    momentum: v.momentum(t, 'training', 'momentum')
  }
  // `constant` (the default) is left out, so tasks written before the field existed keep their ids.
  const schedule = t.lrSchedule === undefined ? DEFAULT_LR_SCHEDULE : v.oneOf(t, 'training', 'lrSchedule', LR_SCHEDULES)
  return schedule === DEFAULT_LR_SCHEDULE ? spec : { ...spec, lrSchedule: schedule }
}

function validateCohort (v: Validator, cohort: unknown): CohortSpec {
  const c = v.object(cohort, 'cohort')
  v.onlyKnown(c, 'cohort', COHORT_FIELDS)
  const size = v.integer(c, 'cohort', 'size', 1)
  const minSurvivors = v.integer(c, 'cohort', 'minSurvivors', 1)
  if (minSurvivors > size) v.fail('cohort.minSurvivors', `an integer from 1 to cohort.size (${size})`, minSurvivors)
  const threshold = v.integer(c, 'cohort', 'threshold', 0, size)
  return { size, minSurvivors, threshold }
}

function validateAggregation (v: Validator, aggregation: unknown): AggregationSpec {
  const a = v.object(aggregation, 'aggregation')
  v.onlyKnown(a, 'aggregation', AGGREGATION_FIELDS)
  const spec: AggregationSpec = {
    weighting: v.oneOf(a, 'aggregation', 'weighting', WEIGHTINGS),
    serverLearningRate: v.positive(a, 'aggregation', 'serverLearningRate'),
    clipNorm: v.positive(a, 'aggregation', 'clipNorm'),
    weightCap: v.integer(a, 'aggregation', 'weightCap', 1)
  }
  // The default is left out, so tasks written before the field existed keep their ids.
  const sliceFrom = a.sliceFrom === undefined ? DEFAULT_SLICE_FROM : v.integer(a, 'aggregation', 'sliceFrom', 0, MAX_COHORT)
  return sliceFrom === DEFAULT_SLICE_FROM ? spec : { ...spec, sliceFrom }
}

function validatePrivacy (v: Validator, privacy: unknown): PrivacySpec {
  const p = v.object(privacy, 'privacy')
  v.onlyKnown(p, 'privacy', PRIVACY_FIELDS)
  const delta = p.delta
  if (typeof delta !== 'number' || !(delta > 0 && delta < 1)) v.fail('privacy.delta', 'a number > 0 and < 1', delta)
  const targetEpsilon = p.targetEpsilon
  if (typeof targetEpsilon !== 'number' || !Number.isFinite(targetEpsilon) || targetEpsilon < 0) v.fail('privacy.targetEpsilon', 'a number >= 0 (0 = no budget)', targetEpsilon)
  return {
    delta,
    targetEpsilon: targetEpsilon === 0 ? 0 : targetEpsilon,
    dpFedAvg: v.boolean(p, 'privacy', 'dpFedAvg'),
    fedAvgNoise: v.positive(p, 'privacy', 'fedAvgNoise'),
    dpSgd: v.boolean(p, 'privacy', 'dpSgd'),
    noiseMultiplier: v.positive(p, 'privacy', 'noiseMultiplier'),
    l2NormClip: v.positive(p, 'privacy', 'l2NormClip'),
    microbatches: v.integer(p, 'privacy', 'microbatches', 0)
  }
}

function validateTimeouts (v: Validator, timeouts: unknown): TimeoutSpec {
  const t = v.object(timeouts, 'timeouts')
  v.onlyKnown(t, 'timeouts', TIMEOUT_FIELDS)
  const ms = (key: string): number => v.integer(t, 'timeouts', key, MIN_TIMEOUT_MS, MAX_TIMEOUT_MS, ' ms')
  return {
    joinMs: ms('joinMs'),
    cohortMs: ms('cohortMs'),
    updateMs: ms('updateMs'),
    survivorsMs: ms('survivorsMs')
  }
}

/** Field checks that throw one-line `TaskError`s naming the source and the field path. */
class Validator {
  constructor (readonly source: string) {}

  fail (field: string, expected: string, got: unknown): never {
    const found = got === undefined ? 'missing' : `got ${describeValue(got)}`
    throw new TaskError(`${this.source}: ${field} must be ${expected} (${found})`, { field, source: this.source })
  }

  object (value: unknown, field: string): Obj {
    if (!isPlainObject(value)) this.fail(field, 'an object', value)
    return value
  }

  onlyKnown (obj: Obj, parent: string, allowed: readonly string[], context?: string): void {
    for (const key of Object.keys(obj)) {
      if (allowed.includes(key) || obj[key] === undefined) continue
      const field = parent === '' ? key : `${parent}.${key}`
      const guess = didYouMean(key, allowed)
      const hint = guess !== undefined
        ? `did you mean ${guess}?`
        : `allowed${context === undefined ? '' : ` for ${context}`}: ${allowed.join(', ')}`
      throw new TaskError(`${this.source}: unknown field ${field} (${hint})`, { field, source: this.source })
    }
  }

  integer (obj: Obj, parent: string, key: string, min: number, max?: number, unit = ''): number {
    const value = obj[key]
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || (max !== undefined && value > max)) {
      const range = max === undefined ? `an integer >= ${min}${unit}` : `an integer from ${min} to ${max}${unit}`
      this.fail(join(parent, key), range, value)
    }
    return value
  }

  positive (obj: Obj, parent: string, key: string): number {
    const value = obj[key]
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) this.fail(join(parent, key), 'a number > 0', value)
    return value
  }

  momentum (obj: Obj, parent: string, key: string): number {
    const value = obj[key]
    if (typeof value !== 'number' || !(value >= 0 && value < 1)) this.fail(join(parent, key), 'a number >= 0 and < 1', value)
    return value === 0 ? 0 : value // no -0 in a task
  }

  boolean (obj: Obj, parent: string, key: string): boolean {
    const value = obj[key]
    if (typeof value !== 'boolean') this.fail(join(parent, key), 'true or false', value)
    return value
  }

  string (obj: Obj, parent: string, key: string, expected: string, maxLength = Infinity): string {
    const value = obj[key]
    // eslint-disable-next-line no-control-regex
    if (typeof value !== 'string' || value.length === 0 || value.length > maxLength || /[\u0000-\u001f\u007f]/.test(value)) {
      this.fail(join(parent, key), expected, value)
    }
    return value
  }

  oneOf<T extends string> (obj: Obj, parent: string, key: string, allowed: readonly T[]): T {
    const value = obj[key]
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      this.fail(join(parent, key), `one of ${allowed.join(', ')}`, value)
    }
    return value as T
  }

  layers (obj: Obj, parent: string, key: string): number[] {
    const field = join(parent, key)
    const value = obj[key]
    const units = `integers from 1 to ${MAX_LAYER_UNITS}`
    if (!Array.isArray(value) || value.length === 0) this.fail(field, `a non-empty array of ${units}`, value)
    value.forEach((n: unknown, i: number) => {
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1 || n > MAX_LAYER_UNITS) {
        this.fail(`${field}[${i}]`, `an integer from 1 to ${MAX_LAYER_UNITS}`, n)
      }
    })
    return [...value] as number[]
  }
}

function join (parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`
}

/** A plain object (from JSON or a literal), not an array, class instance or null. */
export function isPlainObject (value: unknown): value is Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

/** `base` overlaid with the fields of `over` that are not `undefined`. */
function mergeDefined (base: unknown, over: Obj): Obj {
  const out: Obj = isPlainObject(base) ? { ...base } : {}
  for (const [key, value] of Object.entries(over)) {
    if (value !== undefined) setField(out, key, value)
  }
  return out
}

/** Sets an own data property, even for a key like `__proto__` (which then fails as an unknown field). */
function setField (obj: Obj, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true })
}
