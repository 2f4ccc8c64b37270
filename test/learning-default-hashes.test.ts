// The defaults of dataset.normalize (none) and training.lrSchedule (constant) change nothing: a plain
// update, a DP-SGD update without noise and a plain sim run (secure aggregation off, so it is
// deterministic) hash exactly as they did before the fields existed. The hashes were recorded on the
// wasm backend from the code before the change; wasm is pinned so that tfjs-node machines do not differ,
// and so are tfjs's autodiff gradients (the code then had no others; the hand-written back-propagation
// rounds differently, test/learning-backprop.test.ts holds it to autodiff).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { createTask } from '../src/config/index.ts'
import { createTrainer, initialParams, loadDataset, partition } from '../src/learning/index.ts'
import { createUpdateSource } from '../src/peer/update-source.ts'
import { simulate } from '../sim/simulate.ts'

const sha = (a: Float32Array): string => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex')

const task = createTask({
  rounds: 2,
  model: { kind: 'mlp', hidden: [32] },
  cohort: { size: 2, minSurvivors: 2 },
  training: { batchSize: 250 },
  timeouts: { joinMs: 1000, cohortMs: 1500, updateMs: 60000, survivorsMs: 10000 }
})

test('a plain update and a noise-free DP-SGD update hash as before', { timeout: 120_000 }, async () => {
  const data = await loadDataset(task.dataset)
  const parts = partition(data.trainY, 2, 'iid', task.seed).map(p => p.subarray(0, 3000))
  const m0 = initialParams(task.model, data.inputShape, data.classes, task.seed)
  const trainer = createTrainer({ backend: 'wasm', gradients: 'autodiff' })
  try {
    const source = createUpdateSource({ task, trainer, dataset: task.dataset, indices: parts[0], salt: 0 })
    const update = await source.train(m0, 1, { signal: new AbortController().signal })
    assert.equal(sha(update.delta), '7e6d703381d0e932372ce8f58fbd66e186e09ba37f6615a54f497a94e545f100')
    const dp = await trainer.train({ model: task.model, dataset: task.dataset, indices: parts[0], params: m0, training: task.training, seed: 5, dp: { noiseMultiplier: 0, l2NormClip: 1.5 } })
    assert.equal(sha(dp.delta), 'cdd070bc57f83264e31e6ea3c54cf2595737e3d0378130e71babdfa965cbbff1')
  } finally {
    await trainer.close()
  }
})

test('a plain 2-peer, 2-round sim (no secure aggregation) ends with the same model hashes as before', { timeout: 240_000 }, async () => {
  const report = await simulate({ task: createTask({ ...task, secureAggregation: false }), peers: 2, transport: 'memory', processes: 0, dropout: 0, backend: 'wasm', gradients: 'autodiff', evalLimit: 1000 })
  assert.deepEqual(report.rounds.map(r => [r.round, r.modelHash, r.peersAgreeing]), [
    [1, '6ace498e59df68576866174ae8e75f204d4e91defce1552fe0f1dc98d81c0c41', 2],
    [2, '3b26a3ec1e56100be5c0b0b9ba3b1a1fa018b26591e6007b206ad1e267293c0a', 2]
  ])
})
