// Hand-written back-propagation (src/learning/backprop.ts) against tfjs's autodiff of the layers model:
// one local training job with each, for every model kind and activation, sgd / momentum / adam, on the
// wasm backend (with its fused relu + pool kernel) and on the cpu backend (without it).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { initialParams, useBackend } from '../src/learning/index.ts'
import { trainLocal } from '../src/learning/local-train.ts'
import type { ModelSpec, TrainingSpec } from '../src/config/types.ts'

const MNIST = [28, 28, 1]

async function compare (spec: ModelSpec, optimizer: TrainingSpec['optimizer'], examples: number): Promise<{ worst: number, norm: number, lossManual: number, lossAutodiff: number }> {
  const params = initialParams(spec, MNIST, 10, 3)
  const training: TrainingSpec = { epochs: 1, batchSize: 16, learningRate: optimizer === 'adam' ? 0.01 : 0.05, optimizer, momentum: 0.9 }
  // 16-example batches and a last, smaller one
  const job = { model: spec, dataset: { kind: 'mnist' as const }, indices: Uint32Array.from({ length: examples }, (_, i) => i * 7), params, training, seed: 1 }
  const reference = await trainLocal(job, { gradients: 'autodiff' })
  const manual = await trainLocal(job, { gradients: 'manual' })
  let worst = 0
  let norm = 0
  for (let i = 0; i < reference.delta.length; i++) {
    worst = Math.max(worst, Math.abs(reference.delta[i] - manual.delta[i]))
    norm = Math.max(norm, Math.abs(reference.delta[i]))
  }
  return { worst, norm, lossManual: manual.loss, lossAutodiff: reference.loss }
}

const SPECS: ModelSpec[] = [
  { kind: 'logreg' },
  { kind: 'mlp', hidden: [32], activation: 'relu' },
  { kind: 'mlp', hidden: [16, 16], activation: 'tanh' },
  { kind: 'cnn', filters: [8], dense: 10, activation: 'relu' },
  { kind: 'cnn', filters: [4, 8], dense: 12, activation: 'relu' },
  { kind: 'cnn', filters: [3, 5], dense: 12, activation: 'tanh' }
]

test('manual gradients train to the weights tfjs autodiff gives (wasm: every model kind and optimizer)', async () => {
  await useBackend('wasm')
  for (const optimizer of ['sgd', 'momentum', 'adam'] as const) {
    for (const spec of SPECS) {
      const r = await compare(spec, optimizer, 70)
      const what = `${optimizer} ${JSON.stringify(spec)}: largest difference ${r.worst} against largest change ${r.norm}`
      assert.ok(r.norm > 1e-3, `${what}: the job changed the weights`)
      // Adam divides by the root of the squared gradients, which magnifies rounding in tiny gradients
      assert.ok(r.worst < (optimizer === 'adam' ? 5e-3 : 1e-4) * r.norm, what)
      assert.ok(Math.abs(r.lossManual - r.lossAutodiff) < 1e-5 * r.lossAutodiff, `${what}: loss ${r.lossManual} vs ${r.lossAutodiff}`)
    }
  }
})

test('manual gradients match autodiff on the cpu backend too (no fused pool kernel there)', async () => {
  try {
    await useBackend('cpu')
    for (const spec of [SPECS[2], { kind: 'cnn', filters: [4], dense: 8, activation: 'relu' } as ModelSpec]) {
      const r = await compare(spec, 'sgd', 20)
      assert.ok(r.norm > 1e-3 && r.worst < 1e-4 * r.norm, `${JSON.stringify(spec)}: largest difference ${r.worst} against largest change ${r.norm}`)
    }
  } finally {
    await useBackend('wasm')
  }
})
