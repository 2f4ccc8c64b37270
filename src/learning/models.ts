/**
 * tfjs-layers models of the three model kinds (`mlp`, `cnn`, `logreg`), built from the layer plan
 * of `layout.ts` so that `getWeights()` order is the flat vector's order, and moved to and from a flat
 * Float32Array. Layers are created with zero initializers: weights always come from `setParams`.
 */

import * as tf from '@tensorflow/tfjs'
import type { ModelSpec } from '../config/types.ts'
import { ModelError } from './errors.ts'
import { planLayout, planModel } from './layout.ts'
import type { LayerPlan, ParamLayout } from './layout.ts'

export interface BuiltModel {
  model: tf.Sequential
  /** The layers `model` was built from (`backprop.ts` runs them by hand). */
  plan: LayerPlan[]
  layout: ParamLayout
  inputShape: number[]
  classes: number
}

/** A tfjs Sequential model of `spec` (softmax output), with every weight zero. */
export function buildModel (spec: ModelSpec, inputShape: readonly number[], classes: number): BuiltModel {
  const plan = planModel(spec, inputShape, classes)
  const model = tf.sequential()
  let first = true
  const input = (): { inputShape?: number[] } => {
    if (!first) return {}
    first = false
    return { inputShape: [...inputShape] }
  }
  for (const l of plan) {
    switch (l.type) {
      case 'flatten':
        model.add(tf.layers.flatten(input()))
        break
      case 'dense':
        model.add(tf.layers.dense({ ...input(), units: l.units, activation: l.activation, kernelInitializer: 'zeros', biasInitializer: 'zeros' }))
        break
      case 'conv':
        model.add(tf.layers.conv2d({ ...input(), filters: l.filters, kernelSize: l.kernel, padding: 'same', activation: l.activation, kernelInitializer: 'zeros', biasInitializer: 'zeros' }))
        break
      case 'pool':
        model.add(tf.layers.maxPooling2d({ ...input(), poolSize: l.size, strides: l.size }))
        break
    }
  }
  return { model, plan, layout: planLayout(plan), inputShape: [...inputShape], classes }
}

/** Loads a flat parameter vector (layout order) into the model's weights. */
export function setParams (built: BuiltModel, params: Float32Array): void {
  const { layout, model } = built
  if (!(params instanceof Float32Array) || params.length !== layout.size) {
    throw new ModelError(`params must be a Float32Array of ${layout.size} values for this model, got ${describe(params)}`)
  }
  let o = 0
  const tensors = layout.shapes.map(shape => {
    const n = shape.reduce((a, b) => a * b, 1)
    const t = tf.tensor(params.slice(o, o + n), shape, 'float32') // a copy: the cpu backend would keep a view
    o += n
    return t
  })
  try {
    model.setWeights(tensors)
  } finally {
    tf.dispose(tensors)
  }
}

/** The model's weights as one flat vector (layout order). */
export function getParams (built: BuiltModel): Float32Array {
  const out = new Float32Array(built.layout.size)
  let o = 0
  for (const w of built.model.getWeights()) {
    const v = w.dataSync() as Float32Array
    out.set(v, o)
    o += v.length
  }
  if (o !== out.length) throw new ModelError(`model has ${o} weights, layout says ${out.length}`)
  return out
}

function describe (x: unknown): string {
  if (x instanceof Float32Array) return `${x.length} values`
  if (ArrayBuffer.isView(x)) return `a ${x.constructor.name}`
  return typeof x
}
