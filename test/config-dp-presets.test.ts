/**
 * DP-SGD presets: a task with `privacy.dpSgd` on takes DP_SGD_PRESETS for the fields it leaves out
 * (learning rate, schedule, aggregation clip, normalization of the built-in image datasets) and keeps
 * every field it sets; tasks without DP-SGD keep the plain defaults.
 */
import assert from 'node:assert/strict'
import test from 'node:test'
import { createTask, defaultTask, readTaskFile } from '../src/config/index.ts'
import { DEFAULT_AGGREGATION, DEFAULT_TRAINING, DP_SGD_PRESETS } from '../src/config/constants.ts'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

test('a DP-SGD task takes the presets for the fields it leaves out', () => {
  const t = createTask({ privacy: { dpSgd: true } })
  assert.equal(t.training.learningRate, DP_SGD_PRESETS.learningRate)
  assert.equal(t.training.lrSchedule, DP_SGD_PRESETS.lrSchedule)
  assert.equal(t.aggregation.clipNorm, DP_SGD_PRESETS.clipNorm)
  assert.equal(t.dataset.kind, 'mnist')
  assert.equal(t.dataset.transform, DP_SGD_PRESETS.transform)
  assert.equal(t.dataset.normalize, undefined, 'scattering features are normalized per example, not the pixels')
  const pixels = createTask({ privacy: { dpSgd: true }, dataset: { kind: 'mnist', transform: 'none' } })
  assert.equal(pixels.dataset.normalize, DP_SGD_PRESETS.normalize)
  // the presets differ from the plain defaults, so the assertions above can fail
  assert.notEqual(DP_SGD_PRESETS.learningRate, DEFAULT_TRAINING.learningRate)
  assert.notEqual(DP_SGD_PRESETS.clipNorm, DEFAULT_AGGREGATION.clipNorm)
})

test('fields a DP-SGD task sets are kept', () => {
  const t = createTask({
    privacy: { dpSgd: true },
    training: { learningRate: 0.05, lrSchedule: 'constant' },
    aggregation: { clipNorm: 7 },
    dataset: { kind: 'mnist', normalize: 'none' }
  })
  assert.equal(t.training.learningRate, 0.05)
  assert.notEqual(t.training.lrSchedule, 'step')
  assert.equal(t.aggregation.clipNorm, 7)
  assert.notEqual((t.dataset as { normalize?: unknown }).normalize, 'standard')
  assert.equal(t.dataset.transform, 'scattering', 'the transform is a preset of its own')
  const kept = createTask({ privacy: { dpSgd: true }, dataset: { kind: 'fashion-mnist', transform: 'none', normalize: 'none' } })
  assert.equal(kept.dataset.transform, undefined)
  assert.equal(kept.dataset.normalize, undefined)
})

test('DP-FedAvg keeps the plain clip (its sensitivity); user data is not standardized by the presets', () => {
  const t = createTask({ privacy: { dpSgd: true, dpFedAvg: true } })
  assert.equal(t.aggregation.clipNorm, DEFAULT_AGGREGATION.clipNorm)
  assert.equal(t.training.learningRate, DP_SGD_PRESETS.learningRate)
  const csv = createTask({ privacy: { dpSgd: true }, dataset: { kind: 'csv', train: 'a.csv', test: 'b.csv', labelColumn: 0, classes: 2 } })
  assert.notEqual((csv.dataset as { normalize?: unknown }).normalize, 'standard')
  assert.equal(csv.dataset.transform, undefined)
})

test('tasks without DP-SGD keep the plain defaults', () => {
  assert.deepEqual(createTask({}), defaultTask())
  const t = createTask({ privacy: { dpFedAvg: true } })
  assert.equal(t.training.learningRate, DEFAULT_TRAINING.learningRate)
  assert.equal(t.aggregation.clipNorm, DEFAULT_AGGREGATION.clipNorm)
})

test('a DP-SGD task file read twice is the same task (the presets are written into the task)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fedswarm-presets-'))
  try {
    const path = join(dir, 'task.json')
    await writeFile(path, JSON.stringify({ privacy: { dpSgd: true } }))
    const a = await readTaskFile(path)
    const b = await readTaskFile(path)
    assert.deepEqual(a.task, b.task)
    assert.equal(a.task.training.learningRate, DP_SGD_PRESETS.learningRate)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
