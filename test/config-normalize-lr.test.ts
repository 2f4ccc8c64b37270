// The task fields dataset.normalize and training.lrSchedule: accepted forms, defaults left out of the
// canonical task (old task ids unchanged), failing cases naming the field, the sim flags, and --data.
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import {
  DATASET_STATS, TaskError, canonicalTaskJson, createTask, defaultTask, taskId, validateTask
} from '../src/config/index.ts'
import { simTask } from '../src/cli/sim-command.ts'
import type { SimOptions } from '../src/cli/sim-command.ts'
import { UsageError } from '../src/cli/usage-error.ts'
import { parseDataSpec } from '../src/learning/index.ts'

const SOURCE = 'task.json'

function catchTaskError (fn: () => unknown): TaskError {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof TaskError, `expected a TaskError, got ${String(err)}`)
    return err
  }
  assert.fail('expected a TaskError, nothing was thrown')
}

describe('defaults are left out, so existing task ids do not change', () => {
  test('normalize none and lrSchedule constant give the default task, field for field and id for id', () => {
    const explicit = createTask({ dataset: { normalize: 'none' }, training: { lrSchedule: 'constant' } })
    assert.deepEqual(explicit, defaultTask())
    assert.equal(taskId(explicit), taskId(defaultTask()))
    assert.ok(!canonicalTaskJson(explicit).includes('normalize'))
    assert.ok(!canonicalTaskJson(explicit).includes('lrSchedule'))
    assert.equal('normalize' in defaultTask().dataset, false)
    assert.equal('lrSchedule' in defaultTask().training, false)
  })

  test('validateTask accepts a task without the optional fields (tasks written before they existed)', () => {
    const task = defaultTask()
    assert.deepEqual(validateTask(task), task)
  })
})

describe('accepted values', () => {
  test('dataset.normalize standard, for every dataset kind', () => {
    assert.deepEqual(createTask({ dataset: { normalize: 'standard' } }).dataset, { kind: 'mnist', normalize: 'standard' })
    assert.deepEqual(createTask({ dataset: { kind: 'fashion-mnist', normalize: 'standard' } }).dataset, { kind: 'fashion-mnist', normalize: 'standard' })
    const idx = createTask({ dataset: { kind: 'idx', trainImages: 'a', trainLabels: 'b', testImages: 'c', testLabels: 'd', classes: 10, normalize: 'standard' } })
    assert.equal(idx.dataset.normalize, 'standard')
    const csv = createTask({ dataset: { kind: 'csv', train: 'a.csv', test: 'b.csv', labelColumn: 0, classes: 3, normalize: 'standard' } })
    assert.equal(csv.dataset.normalize, 'standard')
  })

  test('dataset.normalize as an explicit { mean, std }', () => {
    const task = createTask({ dataset: { kind: 'csv', train: 'a.csv', test: 'b.csv', labelColumn: 0, classes: 3, normalize: { mean: -0, std: 2.5 } } })
    assert.deepEqual(task.dataset.normalize, { mean: 0, std: 2.5 })
    assert.ok(Object.is((task.dataset.normalize as { mean: number }).mean, 0), 'no -0 in a task')
  })

  test('training.lrSchedule step and cosine', () => {
    assert.equal(createTask({ training: { lrSchedule: 'step' } }).training.lrSchedule, 'step')
    assert.equal(createTask({ training: { lrSchedule: 'cosine' } }).training.lrSchedule, 'cosine')
  })

  test('the new fields change the task id', () => {
    const ids = new Set([
      taskId(defaultTask()),
      taskId(createTask({ dataset: { normalize: 'standard' } })),
      taskId(createTask({ dataset: { normalize: { ...DATASET_STATS.mnist } } })),
      taskId(createTask({ training: { lrSchedule: 'step' } })),
      taskId(createTask({ training: { lrSchedule: 'cosine' } }))
    ])
    assert.equal(ids.size, 5)
  })
})

const INVALID: Array<[string, Record<string, unknown>, string, string]> = [
  ['normalize word', { dataset: { normalize: 'zscore' } }, 'dataset.normalize', 'dataset.normalize must be one of none, standard, or an object { "mean": m, "std": s } (s > 0) (got "zscore")'],
  ['normalize type', { dataset: { normalize: true } }, 'dataset.normalize', '(got true)'],
  ['normalize array', { dataset: { normalize: [0.1, 0.3] } }, 'dataset.normalize', 'dataset.normalize must be one of none, standard'],
  ['normalize mean missing', { dataset: { normalize: { std: 1 } } }, 'dataset.normalize.mean', 'dataset.normalize.mean must be a finite number (missing)'],
  ['normalize mean not finite', { dataset: { normalize: { mean: Infinity, std: 1 } } }, 'dataset.normalize.mean', '(got Infinity)'],
  ['normalize std missing', { dataset: { normalize: { mean: 0.1 } } }, 'dataset.normalize.std', 'dataset.normalize.std must be a number > 0 (missing)'],
  ['normalize std zero', { dataset: { normalize: { mean: 0.1, std: 0 } } }, 'dataset.normalize.std', 'dataset.normalize.std must be a number > 0 (got 0)'],
  ['normalize unknown field', { dataset: { normalize: { mean: 0.1, std: 0.3, scale: 2 } } }, 'dataset.normalize.scale', 'unknown field dataset.normalize.scale'],
  ['lrSchedule word', { training: { lrSchedule: 'linear' } }, 'training.lrSchedule', 'training.lrSchedule must be one of constant, step, cosine (got "linear")'],
  ['lrSchedule type', { training: { lrSchedule: 1 } }, 'training.lrSchedule', '(got 1)']
]

describe('invalid values: the error names the field', () => {
  for (const [title, init, field, text] of INVALID) {
    test(title, () => {
      const err = catchTaskError(() => createTask(init, { source: SOURCE }))
      assert.equal(err.field, field)
      assert.equal(err.source, SOURCE)
      assert.ok(err.message.startsWith(`${SOURCE}: `), err.message)
      assert.ok(err.message.includes(text), `${err.message}\n  should include\n${text}`)
      assert.ok(!/[\r\n]/.test(err.message), 'one line')
    })
  }

  test('validateTask checks the fields too', () => {
    const task: any = defaultTask()
    task.training.lrSchedule = 'exponential'
    assert.equal(catchTaskError(() => validateTask(task)).field, 'training.lrSchedule')
    const t2: any = defaultTask()
    t2.dataset.normalize = 'minmax'
    assert.equal(catchTaskError(() => validateTask(t2)).field, 'dataset.normalize')
  })
})

describe('sim flags', () => {
  const opts = (over: Partial<SimOptions>): SimOptions => ({ peers: '5', dropout: '0', transport: 'memory', processes: '0', backend: 'auto', ...over })

  test('--normalize and --lr-schedule set the task fields', async () => {
    const task = await simTask(opts({ normalize: 'standard', lrSchedule: 'step' }))
    assert.deepEqual(task.dataset, { kind: 'mnist', normalize: 'standard' })
    assert.equal(task.training.lrSchedule, 'step')
    const fashion = await simTask(opts({ dataset: 'fashion-mnist', normalize: 'standard', lrSchedule: 'cosine' }))
    assert.deepEqual(fashion.dataset, { kind: 'fashion-mnist', normalize: 'standard' })
    assert.equal(fashion.training.lrSchedule, 'cosine')
  })

  test('the default flags leave the task as it was', async () => {
    const plain = await simTask(opts({}))
    const explicit = await simTask(opts({ normalize: 'none', lrSchedule: 'constant' }))
    assert.equal(taskId(explicit), taskId(plain))
    assert.deepEqual(plain.dataset, { kind: 'mnist' })
  })

  test('bad values name the flag', async () => {
    await assert.rejects(simTask(opts({ normalize: 'zscore' })), (err: Error) => err instanceof UsageError && /^--normalize must be one of none, standard \(got "zscore"\)$/.test(err.message))
    await assert.rejects(simTask(opts({ lrSchedule: 'linear' })), (err: Error) => err instanceof UsageError && /^--lr-schedule must be one of constant, step, cosine \(got "linear"\)$/.test(err.message))
  })
})

describe('--data of a peer node takes the task\'s normalize', () => {
  test('built-in datasets and partitions carry it', () => {
    const template = createTask({ dataset: { normalize: 'standard' } }).dataset
    assert.deepEqual(parseDataSpec('mnist:iid:0/4', { template }).dataset, { kind: 'mnist', normalize: 'standard' })
    assert.deepEqual(parseDataSpec('fashion-mnist', { template }).dataset, { kind: 'fashion-mnist', normalize: 'standard' })
    assert.deepEqual(parseDataSpec('mnist', { template: { kind: 'mnist' } }).dataset, { kind: 'mnist' })
  })
})
