// The ledger's estimate of a round's DP-SGD cost (the update source's privacyCost, checked before the
// round) is what training then spends: the same batch shape, including a peer with fewer examples
// than a batch and microbatches that do not fit (there the batch shrinks to a multiple of the microbatch).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTask } from '../src/config/index.ts'
import { dpTrainLocal } from '../src/learning/dp-sgd.ts'
import { initialParams } from '../src/learning/layout.ts'
import { createUpdateSource } from '../src/peer/update-source.ts'
import type { Trainer } from '../src/learning/index.ts'

const noTrainer = {} as Trainer // privacyCost never trains

for (const [examples, batchSize, microbatches] of [[6, 8, 2], [30, 8, 4], [13, 5, 0], [40, 10, 5], [3, 8, 2]] as const) {
  test(`N ${examples}, batch ${batchSize}, microbatches ${microbatches}: estimate = spend`, async () => {
    const task = createTask({
      model: { kind: 'logreg' },
      dataset: { kind: 'mnist', transform: 'none' }, // pixels: this test is about the privacy accounting
      training: { batchSize, epochs: 2, optimizer: 'sgd', learningRate: 0.1 },
      privacy: { dpSgd: true, noiseMultiplier: 1, l2NormClip: 1, microbatches }
    })
    const indices = Uint32Array.from({ length: examples }, (_, i) => i)
    const source = createUpdateSource({ task, trainer: noTrainer, dataset: task.dataset, indices })
    assert.ok(source.privacyCost != null, 'a DP-SGD update source prices its rounds')
    const estimate = source.privacyCost()
    const res = await dpTrainLocal({
      model: task.model, dataset: task.dataset, indices, params: initialParams(task.model, [28, 28, 1], 10, 1),
      training: task.training, seed: 1, dp: { noiseMultiplier: 1, l2NormClip: 1, microbatches }
    })
    if (res.steps === 0) {
      assert.equal(estimate, undefined)
      return
    }
    assert.deepEqual(estimate, { steps: res.steps, samplingRate: res.samplingRate, noiseMultiplier: 1 })
  })
}
