// training.lrSchedule: the pure schedule (factors per round, clamping past the horizon, errors), the
// per-round training spec, and the update source that applies it over a horizon of task.rounds or of the
// rounds a DP-SGD budget affords.
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { createTask } from '../src/config/index.ts'
import { TrainerError, lrFactor, roundTraining } from '../src/learning/index.ts'
import type { Trainer, TrainJob, TrainResult } from '../src/learning/index.ts'
import { createUpdateSource, scheduleHorizon } from '../src/peer/update-source.ts'

describe('lrFactor', () => {
  test('step: ×1 for the first half of the horizon, ×0.5 until 3/4, ×0.25 after', () => {
    const factors = (h: number, upTo = h): number[] => Array.from({ length: upTo }, (_, i) => lrFactor('step', i + 1, h))
    assert.deepEqual(factors(13), [1, 1, 1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25])
    assert.deepEqual(factors(4), [1, 1, 0.5, 0.25])
    assert.deepEqual(factors(8), [1, 1, 1, 1, 0.5, 0.5, 0.25, 0.25])
    assert.deepEqual(factors(1), [1])
    assert.deepEqual(factors(2), [1, 0.5])
  })

  test('rounds past the horizon keep the last round\'s factor', () => {
    assert.equal(lrFactor('step', 14, 13), 0.25)
    assert.equal(lrFactor('step', 1000, 13), 0.25)
    assert.equal(lrFactor('cosine', 20, 13), lrFactor('cosine', 13, 13))
    assert.ok(lrFactor('cosine', 20, 13) > 0)
  })

  test('cosine: 1 in round 1, ½(1 + cos(π(r − 1)/H)), strictly decreasing', () => {
    assert.equal(lrFactor('cosine', 1, 13), 1)
    assert.equal(lrFactor('cosine', 13, 13), 0.5 * (1 + Math.cos(Math.PI * 12 / 13)))
    for (let r = 2; r <= 13; r++) assert.ok(lrFactor('cosine', r, 13) < lrFactor('cosine', r - 1, 13))
    assert.equal(lrFactor('cosine', 3, 4), 0.5)
  })

  test('constant: always 1', () => {
    for (const r of [1, 5, 20, 99]) assert.equal(lrFactor('constant', r, 20), 1)
  })

  test('bad rounds, horizons and schedules are TrainerErrors naming the argument', () => {
    assert.throws(() => lrFactor('step', 0, 10), (e: Error) => e instanceof TrainerError && /^round must be an integer >= 1, got 0$/.test(e.message))
    assert.throws(() => lrFactor('step', 1.5, 10), (e: Error) => e instanceof TrainerError && /^round must/.test(e.message))
    assert.throws(() => lrFactor('step', 1, 0), (e: Error) => e instanceof TrainerError && /^horizon must be an integer >= 1, got 0$/.test(e.message))
    assert.throws(() => lrFactor('linear' as any, 1, 10), (e: Error) => e instanceof TrainerError && /^training\.lrSchedule must be constant, step or cosine, got "linear"$/.test(e.message))
  })
})

describe('roundTraining', () => {
  test('a constant schedule passes the very same spec through', () => {
    const training = createTask().training
    assert.equal(roundTraining(training, 7, 20), training)
    const explicit = { ...training, lrSchedule: 'constant' as const }
    assert.equal(roundTraining(explicit, 7, 20), explicit)
  })

  test('step: a copy with the scheduled rate and without lrSchedule', () => {
    const training = createTask({ training: { learningRate: 0.1, lrSchedule: 'step' } }).training
    const r11 = roundTraining(training, 11, 13)
    assert.deepEqual(r11, { epochs: 1, batchSize: 32, learningRate: 0.025, optimizer: 'momentum', momentum: 0.9 })
    assert.equal(training.learningRate, 0.1, 'not modified')
  })
})

/** A trainer that records the jobs it is given and returns a zero update. */
function recordingTrainer (): { trainer: Trainer, jobs: TrainJob[] } {
  const jobs: TrainJob[] = []
  const trainer = {
    async train (job: TrainJob): Promise<TrainResult> {
      jobs.push(job)
      return { delta: new Float32Array(job.params.length), examples: job.indices?.length ?? 0, loss: 0, seconds: 0, backend: 'test' }
    }
  } as unknown as Trainer
  return { trainer, jobs }
}

/** The seed setting: 5 peers of 12,000 MNIST examples, DP-SGD σ 1.1, batch 250, ε ≤ 3 at δ 1e-5. */
const seedTask = (over: Record<string, any> = {}) => createTask({
  training: { batchSize: 250, learningRate: 0.1, ...over.training },
  privacy: { dpSgd: true, noiseMultiplier: 1.1, l2NormClip: 1.5, delta: 1e-5, targetEpsilon: 3, ...over.privacy },
  ...(over.rounds != null ? { rounds: over.rounds } : {})
})
const PEER = Uint32Array.from({ length: 12_000 }, (_, i) => i)

describe('the update source applies the schedule', () => {
  test('horizon: the rounds a DP-SGD budget affords (16 at ε 3 by the ledger\'s PLD), else task.rounds, whichever is fewer', () => {
    const cost = { steps: 48, samplingRate: 250 / 12_000, noiseMultiplier: 1.1 }
    assert.equal(scheduleHorizon(seedTask(), cost), 16)
    assert.equal(scheduleHorizon(seedTask({ rounds: 10 }), cost), 10)
    assert.equal(scheduleHorizon(seedTask({ privacy: { targetEpsilon: 0 } }), cost), 20, 'no budget')
    assert.equal(scheduleHorizon(createTask({ rounds: 7 }), undefined), 7, 'no DP-SGD')
    assert.equal(scheduleHorizon(seedTask({ privacy: { targetEpsilon: 0.01 } }), cost), 1, 'at least 1')
    const { trainer } = recordingTrainer()
    const src = createUpdateSource({ task: seedTask({ training: { lrSchedule: 'step' } }), trainer, dataset: { kind: 'mnist' }, indices: PEER })
    assert.equal(src.lrHorizon(), 16)
  })

  test('step over the budget\'s 16 rounds: lr 0.1 in rounds 1-8, 0.05 in 9-12, 0.025 from 13', async () => {
    const { trainer, jobs } = recordingTrainer()
    const src = createUpdateSource({ task: seedTask({ training: { lrSchedule: 'step' } }), trainer, dataset: { kind: 'mnist' }, indices: PEER })
    const signal = new AbortController().signal
    for (let r = 1; r <= 17; r++) await src.train(new Float32Array(4), r, { signal })
    assert.deepEqual(jobs.map(j => j.training.learningRate), [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025, 0.025, 0.025])
    assert.ok(jobs.every(j => !('lrSchedule' in j.training)))
  })

  test('constant (the plain default; a DP-SGD task sets it explicitly): every job gets task.training itself', async () => {
    const task = seedTask({ training: { lrSchedule: 'constant' } })
    const { trainer, jobs } = recordingTrainer()
    const src = createUpdateSource({ task, trainer, dataset: task.dataset, indices: PEER })
    for (const r of [1, 12, 20]) await src.train(new Float32Array(4), r, { signal: new AbortController().signal })
    assert.ok(jobs.every(j => j.training === task.training))
  })
})
