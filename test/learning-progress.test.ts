// Progress of local training: the worker counts batches in shared memory, `Trainer.train`'s `progress`
// callback reports them while the job runs (plain and DP-SGD), and the sim's progress line shows the
// swarm's training as a bar in the update phase.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { createTrainer, initialParams } from '../src/learning/index.ts'
import type { ModelSpec, TrainingSpec } from '../src/config/types.ts'
import { SwarmTracker, progressLine } from '../sim/tracker.ts'
import { bar } from '../src/cli/output.ts'

const MNIST = [28, 28, 1]
const mnist = { kind: 'mnist' } as const
const mlp: ModelSpec = { kind: 'mlp', hidden: [200, 200], activation: 'relu' }
const range = (n: number): Uint32Array => Uint32Array.from({ length: n }, (_, i) => i)

const trainer = createTrainer({ workers: 1 })
after(async () => { await trainer.close() })

async function watch (training: TrainingSpec, examples: number, dp?: { noiseMultiplier: number, l2NormClip: number }): Promise<Array<[number, number]>> {
  const seen: Array<[number, number]> = []
  await trainer.train({
    model: mlp, dataset: mnist, indices: range(examples), params: initialParams(mlp, MNIST, 10, 1), training, seed: 1,
    ...(dp != null ? { dp } : {})
  }, { progress: (done, total) => seen.push([done, total]) })
  return seen
}

test('plain training reports batches done of all the job\'s batches, increasing, while it runs', async () => {
  // 8 × 150 batches: a few seconds (2 × 150 was before the hand-written back-propagation), so the 250 ms
  // poll sees it run
  const training: TrainingSpec = { epochs: 8, batchSize: 8, learningRate: 0.05, optimizer: 'sgd', momentum: 0 }
  const seen = await watch(training, 1200)
  assert.ok(seen.length >= 2, `progress calls: ${JSON.stringify(seen)}`)
  for (const [done, total] of seen) {
    assert.equal(total, 1200)
    assert.ok(done > 0 && done < total, `done ${done}`)
  }
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i][0] > seen[i - 1][0], 'strictly increasing (only changes are reported)')
})

test('DP-SGD reports its steps (epochs × floor(N / B))', async () => {
  const training: TrainingSpec = { epochs: 1, batchSize: 10, learningRate: 0.1, optimizer: 'sgd', momentum: 0 }
  const seen = await watch(training, 1205, { noiseMultiplier: 1, l2NormClip: 1 })
  assert.ok(seen.length >= 1, `progress calls: ${JSON.stringify(seen)}`)
  for (const [done, total] of seen) {
    assert.equal(total, 120) // the last partial batch is dropped
    assert.ok(done > 0 && done < total)
  }
})

test('the sim\'s progress line shows the live peers\' training in the update phase', () => {
  const t = new SwarmTracker(3)
  for (const peer of [0, 1, 2]) t.onEvent({ type: 'phase', peer, phase: 'update', round: 2, attempt: 0 })
  t.onEvent({ type: 'training', peer: 0, round: 2, done: 30, total: 40 })
  t.onEvent({ type: 'training', peer: 1, round: 2, done: 10, total: 40 })
  t.onEvent({ type: 'training', peer: 2, round: 1, done: 40, total: 40 }) // an older round: not counted
  assert.deepEqual(t.now().training, { done: 40, total: 80 })
  assert.match(progressLine(t.now(), 5, undefined, 3), /round 2\/5 \[update\] 3\/3 peers {2}training \[#{10}\.{10}\] 50%/)
  t.onEvent({ type: 'crashed', peer: 0, round: 2 })
  assert.deepEqual(t.now().training, { done: 10, total: 40 })
  t.onEvent({ type: 'phase', peer: 1, phase: 'survivors', round: 2, attempt: 0 })
  t.onEvent({ type: 'phase', peer: 2, phase: 'survivors', round: 2, attempt: 0 })
  assert.doesNotMatch(progressLine(t.now(), 5, undefined, 3), /training/)
  assert.equal(bar(0), `[${'.'.repeat(20)}]`)
  assert.equal(bar(1.5, 4), '[####]')
})
