/**
 * Gradients of one batch for a layer plan (`layout.ts`: dense, conv, pool, flatten), back-propagated
 * by hand instead of through tfjs's autodiff tape. The tape clones every tensor it saves and records
 * every op, and the layers model applies bias and activation as separate ops while gradients are
 * recorded: 109 kernel calls a batch for the bench's small CNN, most of them bookkeeping. Here the
 * forward pass runs fused kernels (conv or matmul + bias + relu in one call), softmax and the
 * cross-entropy of the batch's few logits are computed in JS, and each layer's backward step is the
 * one or two kernels it needs (about a third of the calls); on wasm a relu conv's pool back-propagates
 * through both in one kernel (`MAX_POOL_RELU_GRAD`).
 *
 * The loss is the project's cross-entropy: the sum over the batch of -log(clip(p_y, 1e-7, 1)). Its
 * gradient is taken as (P - Y) / B, the gradient of the mean unclipped cross-entropy, as DP-SGD does
 * (`dp-sgd.ts`); tfjs's gradient of the clipped loss is the same whenever p_y >= 1e-7 and vanishes
 * below. Activations: relu (gradient step(out), as tfjs's step of the input) and tanh (1 - out²).
 * Tests hold it against tfjs's autodiff of the layers model (`trainLocal`'s `gradients: 'autodiff'`).
 */

import * as tf from '@tensorflow/tfjs'
import { LOSS_EPSILON } from './constants.ts'
import type { LayerPlan } from './layout.ts'
import { MAX_POOL_RELU_GRAD } from './wasm-kernels.ts'

export interface BatchGradients {
  /** One per weight tensor, layout order (kernel, bias, ...): mean over the batch. */
  grads: tf.Tensor[]
  /** Sum over the batch of the clipped cross-entropy. */
  lossSum: number
}

/**
 * Gradients of the mean cross-entropy of `xs` ([B, ...inputShape]) with labels `labels[0..B)` with
 * respect to `weights` (layout order). Returns new tensors; the caller disposes them.
 */
export function planGradients (plan: readonly LayerPlan[], weights: readonly tf.Tensor[], xs: tf.Tensor, labels: ArrayLike<number>): BatchGradients {
  const batch = xs.shape[0]
  let lossSum = 0
  const grads = tf.tidy(() => {
    // forward: acts[i] is layer i's input, acts[i + 1] its output; w[i] its first weight's index
    const acts: tf.Tensor[] = [xs]
    const w: number[] = []
    let next = 0
    let firstWeighted = -1
    for (let i = 0; i < plan.length; i++) {
      const l = plan[i]
      const a = acts[i]
      w.push(next)
      if (l.type === 'dense' || l.type === 'conv') {
        if (firstWeighted < 0) firstWeighted = i
        next += 2
      }
      acts.push(forward(l, a, weights, w[i]))
    }
    const logits = acts[plan.length]
    const classes = logits.shape[1] as number
    const z = logits.dataSync()
    const dz = new Float32Array(batch * classes)
    const exps = new Float64Array(classes)
    for (let b = 0; b < batch; b++) {
      const row = b * classes
      let max = -Infinity
      for (let j = 0; j < classes; j++) max = Math.max(max, z[row + j])
      let sum = 0
      for (let j = 0; j < classes; j++) {
        exps[j] = Math.exp(z[row + j] - max)
        sum += exps[j]
      }
      const y = labels[b]
      for (let j = 0; j < classes; j++) {
        const p = exps[j] / sum
        if (j === y) lossSum -= Math.log(Math.min(1, Math.max(LOSS_EPSILON, p)))
        dz[row + j] = (p - (j === y ? 1 : 0)) / batch
      }
    }
    const out: tf.Tensor[] = new Array(weights.length)
    let d: tf.Tensor = tf.tensor(dz, [batch, classes], 'float32')
    const fused = tf.getKernel(MAX_POOL_RELU_GRAD, tf.getBackend()) != null
    let masked = false // d is already the gradient before layer i's relu
    for (let i = plan.length - 1; i >= firstWeighted; i--) {
      const l = plan[i]
      const before = plan[i - 1]
      if (fused && l.type === 'pool' && before?.type === 'conv' && before.activation === 'relu') {
        d = tf.engine().runKernel(MAX_POOL_RELU_GRAD, { dy: d, input: acts[i], output: acts[i + 1] }, poolAttrs(l.size)) as tf.Tensor
        masked = true
        continue
      }
      d = backward(l, d, acts[i], acts[i + 1], weights, w[i], out, i > firstWeighted, masked)
      masked = false
    }
    return out
  })
  return { grads, lossSum }
}

/** The kernels' attributes of the plan's convolutions and pools (as `models.ts` builds them). */
const CONV = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC' }
const poolAttrs = (size: number): tf.NamedAttrMap => ({ filterSize: size, strides: size, pad: 'valid' })

function forward (l: LayerPlan, a: tf.Tensor, weights: readonly tf.Tensor[], w: number): tf.Tensor {
  switch (l.type) {
    case 'flatten':
      return tf.reshape(a, [a.shape[0], -1])
    case 'pool':
      return tf.maxPool(a as tf.Tensor4D, l.size, l.size, 'valid')
    case 'conv': {
      // the kernel itself: tf.fused.conv2d would wrap it in a customGrad op this pass does not need
      const z = tf.engine().runKernel('FusedConv2D', { x: a, filter: weights[w], bias: weights[w + 1] },
        { ...CONV, dilations: [1, 1], activation: l.activation === 'relu' ? 'relu' : 'linear' }) as tf.Tensor
      return l.activation === 'tanh' ? tf.tanh(z) : z
    }
    case 'dense': {
      const z = tf.fused.matMul({ a: a as tf.Tensor2D, b: weights[w] as tf.Tensor2D, bias: weights[w + 1], activation: l.activation === 'relu' ? 'relu' : 'linear' })
      return l.activation === 'tanh' ? tf.tanh(z) : z // softmax: the logits, taken on in JS
    }
  }
}

/** dL/d(layer input) from dL/d(layer output) `d`; weight gradients into `out`. */
function backward (l: LayerPlan, d: tf.Tensor, input: tf.Tensor, output: tf.Tensor, weights: readonly tf.Tensor[], w: number, out: tf.Tensor[], needInput: boolean, masked: boolean): tf.Tensor {
  switch (l.type) {
    case 'flatten':
      return tf.reshape(d, input.shape)
    case 'pool':
      return tf.engine().runKernel('MaxPoolGrad', { dy: d, input, output }, poolAttrs(l.size)) as tf.Tensor
    case 'conv': {
      const dz = masked ? d : activationGrad(d, output, l.activation)
      out[w] = tf.engine().runKernel('Conv2DBackpropFilter', { x: input, dy: dz },
        { ...CONV, filterShape: weights[w].shape }) as tf.Tensor
      out[w + 1] = tf.sum(dz, [0, 1, 2])
      return needInput
        ? tf.engine().runKernel('Conv2DBackpropInput', { dy: dz, filter: weights[w] },
          { ...CONV, inputShape: input.shape }) as tf.Tensor
        : dz
    }
    case 'dense': {
      const dz = l.activation === 'softmax' ? d : activationGrad(d, output, l.activation)
      out[w] = tf.matMul(input, dz, true, false)
      out[w + 1] = tf.sum(dz, 0)
      return needInput ? tf.matMul(dz, weights[w], false, true) : dz
    }
  }
}

function activationGrad (d: tf.Tensor, output: tf.Tensor, activation: 'relu' | 'tanh'): tf.Tensor {
  return activation === 'relu' ? tf.mul(d, tf.step(output)) : tf.mul(d, tf.sub(1, tf.square(output)))
}
