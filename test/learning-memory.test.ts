// No tensor leaks across rounds: plain training, DP-SGD and evaluation on this thread leave tfjs's live
// tensor count and bytes where they were after the first round (models are cached per thread, so the
// first job may allocate; later ones must not add anything).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import * as tf from '@tensorflow/tfjs'
import { useBackend } from '../src/learning/backend.ts'
import { initialParams } from '../src/learning/layout.ts'
import { evaluateLocal, trainLocal } from '../src/learning/local-train.ts'
import { dpTrainLocal } from '../src/learning/dp-sgd.ts'
import type { ModelSpec, TrainingSpec } from '../src/config/types.ts'

const MNIST = [28, 28, 1]
const mnist = { kind: 'mnist' } as const
const mlp: ModelSpec = { kind: 'mlp', hidden: [64], activation: 'relu' }
const cnn: ModelSpec = { kind: 'cnn', filters: [4, 8], dense: 16, activation: 'relu' }
const momentum: TrainingSpec = { epochs: 1, batchSize: 50, learningRate: 0.05, optimizer: 'momentum', momentum: 0.9 }
const adam: TrainingSpec = { epochs: 1, batchSize: 50, learningRate: 0.001, optimizer: 'adam', momentum: 0 }
const indices = Uint32Array.from({ length: 200 }, (_, i) => i)

async function round (model: ModelSpec, training: TrainingSpec, params: Float32Array, r: number, dp: boolean): Promise<Float32Array> {
  const job = { model, dataset: mnist, indices, params, training, seed: r }
  const res = dp ? await dpTrainLocal({ ...job, dp: { noiseMultiplier: 1, l2NormClip: 1 } }) : await trainLocal(job)
  const next = params.map((v, i) => v + res.delta[i])
  await evaluateLocal({ model, dataset: mnist, params: next, limit: 200 })
  return next
}

for (const [name, model, training, dp] of [
  ['mlp, momentum', mlp, momentum, false],
  ['mlp, adam', mlp, adam, false],
  ['mlp, DP-SGD', mlp, momentum, true],
  ['cnn, momentum', cnn, momentum, false]
] as const) {
  test(`${name}: five more rounds leave no tensors behind`, async () => {
    await useBackend('wasm')
    let params = initialParams(model, MNIST, 10, 1)
    params = await round(model, training, params, 0, dp)
    const before = tf.memory()
    for (let r = 1; r <= 5; r++) params = await round(model, training, params, r, dp)
    const after = tf.memory()
    assert.equal(after.numTensors, before.numTensors, `live tensors ${before.numTensors} → ${after.numTensors}`)
    assert.equal(after.numBytes, before.numBytes, `live bytes ${before.numBytes} → ${after.numBytes}`)
  })
}
