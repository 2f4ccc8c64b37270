/**
 * Model parameters as one flat Float32Array: the layer plan of each model kind, the shapes of its
 * weights in the order of the tfjs model's `getWeights()`, and M[0] drawn in pure JS from the task seed
 * (Glorot-uniform kernels, zero biases) so that every peer starts from the bit-identical vector.
 */

import type { Activation, ModelSpec } from '../config/types.ts'
import { CNN_KERNEL_SIZE, CNN_POOL_SIZE, RNG_DOMAINS } from './constants.ts'
import { ModelError } from './errors.ts'
import { createRng } from './prng.ts'

/** Shapes of the weight tensors, in `getWeights()` order, and their total element count. */
export interface ParamLayout {
  shapes: number[][]
  size: number
}

/** One layer of a model, as both the layout and the tfjs builder read it. */
export type LayerPlan =
  | { type: 'flatten' }
  | { type: 'dense', inputs: number, units: number, activation: Activation | 'softmax' }
  | { type: 'conv', inChannels: number, filters: number, kernel: number, activation: Activation }
  | { type: 'pool', size: number }

const ACTIVATIONS: readonly string[] = ['relu', 'tanh']
const KINDS = 'mlp, cnn or logreg'

/** The layers of `model` for inputs of `inputShape` (without the batch axis) and `classes` outputs. */
export function planModel (model: ModelSpec, inputShape: readonly number[], classes: number): LayerPlan[] {
  if (!Array.isArray(inputShape) || inputShape.length === 0 || !inputShape.every(isPositiveInt)) {
    throw new ModelError(`inputShape must be a non-empty list of positive integers, got ${JSON.stringify(inputShape)}`)
  }
  if (!Number.isInteger(classes) || classes < 2) throw new ModelError(`classes must be an integer >= 2, got ${classes}`)
  const features = inputShape.reduce((a, b) => a * b, 1)
  const plan: LayerPlan[] = []
  const kind = (model as { kind?: unknown })?.kind
  switch (kind) {
    case 'logreg':
      if (inputShape.length > 1) plan.push({ type: 'flatten' })
      plan.push({ type: 'dense', inputs: features, units: classes, activation: 'softmax' })
      return plan
    case 'mlp': {
      const m = model as Extract<ModelSpec, { kind: 'mlp' }>
      checkActivation(m.activation, 'mlp')
      if (!Array.isArray(m.hidden) || !m.hidden.every(isPositiveInt)) {
        throw new ModelError(`mlp.hidden must be a list of positive integers, got ${JSON.stringify(m.hidden)}`)
      }
      if (inputShape.length > 1) plan.push({ type: 'flatten' })
      let inputs = features
      for (const units of m.hidden) {
        plan.push({ type: 'dense', inputs, units, activation: m.activation })
        inputs = units
      }
      plan.push({ type: 'dense', inputs, units: classes, activation: 'softmax' })
      return plan
    }
    case 'cnn': {
      const m = model as Extract<ModelSpec, { kind: 'cnn' }>
      checkActivation(m.activation, 'cnn')
      if (!Array.isArray(m.filters) || m.filters.length === 0 || !m.filters.every(isPositiveInt)) {
        throw new ModelError(`cnn.filters must be a non-empty list of positive integers, got ${JSON.stringify(m.filters)}`)
      }
      if (!isPositiveInt(m.dense)) throw new ModelError(`cnn.dense must be a positive integer, got ${JSON.stringify(m.dense)}`)
      if (inputShape.length !== 3) {
        throw new ModelError(`cnn needs images, an inputShape [height, width, channels], got ${JSON.stringify(inputShape)} (use mlp or logreg for tabular data)`)
      }
      let [h, w, c] = inputShape
      for (const filters of m.filters) {
        if (h < CNN_POOL_SIZE || w < CNN_POOL_SIZE) {
          throw new ModelError(`cnn with ${m.filters.length} conv+pool layers is too deep for ${inputShape[0]}x${inputShape[1]} images`)
        }
        plan.push({ type: 'conv', inChannels: c, filters, kernel: CNN_KERNEL_SIZE, activation: m.activation })
        plan.push({ type: 'pool', size: CNN_POOL_SIZE })
        h = Math.floor(h / CNN_POOL_SIZE)
        w = Math.floor(w / CNN_POOL_SIZE)
        c = filters
      }
      plan.push({ type: 'flatten' })
      plan.push({ type: 'dense', inputs: h * w * c, units: m.dense, activation: m.activation })
      plan.push({ type: 'dense', inputs: m.dense, units: classes, activation: 'softmax' })
      return plan
    }
    default:
      throw new ModelError(`model.kind must be ${KINDS}, got ${JSON.stringify(kind)}`)
  }
}

/** Weight shapes of a layer plan: kernel then bias for each dense and conv layer. */
export function planLayout (plan: readonly LayerPlan[]): ParamLayout {
  const shapes: number[][] = []
  for (const l of plan) {
    if (l.type === 'dense') shapes.push([l.inputs, l.units], [l.units])
    else if (l.type === 'conv') shapes.push([l.kernel, l.kernel, l.inChannels, l.filters], [l.filters])
  }
  return { shapes, size: shapes.reduce((s, sh) => s + sh.reduce((a, b) => a * b, 1), 0) }
}

/** The shapes of the tfjs model's weights in `getWeights()` order and the flat vector's length. */
export function modelLayout (model: ModelSpec, inputShape: readonly number[], classes: number): ParamLayout {
  return planLayout(planModel(model, inputShape, classes))
}

/**
 * M[0]: Glorot-uniform kernels (U(-l, l), l = sqrt(6 / (fanIn + fanOut)), fans times the receptive
 * field for convolutions, as Keras) and zero biases, drawn in layout order from `createRng` seeded with
 * `seed`. Pure JS with correctly rounded operations only, so every peer gets the same bits.
 */
export function initialParams (model: ModelSpec, inputShape: readonly number[], classes: number, seed: number): Float32Array {
  const plan = planModel(model, inputShape, classes)
  const { size } = planLayout(plan)
  const out = new Float32Array(size)
  const rng = createRng(RNG_DOMAINS.init, seed)
  let offset = 0
  const fill = (n: number, fanIn: number, fanOut: number): void => {
    const limit = Math.sqrt(6 / (fanIn + fanOut))
    for (let i = 0; i < n; i++) out[offset + i] = (2 * rng.float() - 1) * limit
    offset += n
  }
  for (const l of plan) {
    if (l.type === 'dense') {
      fill(l.inputs * l.units, l.inputs, l.units)
      offset += l.units // zero bias
    } else if (l.type === 'conv') {
      const field = l.kernel * l.kernel
      fill(field * l.inChannels * l.filters, field * l.inChannels, field * l.filters)
      offset += l.filters
    }
  }
  return out
}

function checkActivation (a: unknown, kind: string): void {
  if (typeof a !== 'string' || !ACTIVATIONS.includes(a)) {
    throw new ModelError(`${kind}.activation must be relu or tanh, got ${JSON.stringify(a)}`)
  }
}

function isPositiveInt (x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x > 0
}
