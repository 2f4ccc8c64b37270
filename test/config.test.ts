// Task definitions: defaults, partial merge, strict validation (one failing case per rule), canonical JSON and task ids.
import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  TaskError, canonicalJson, canonicalTaskJson, createTask, defaultTask, parsePartition, shortTaskId, taskId,
  validateTask, type Task
} from '../src/config/index.ts'

const SOURCE = 'task.json'
/** sha256 of the golden canonical JSON below; if this changes, every task id out there changes. */
const GOLDEN_ID = '890c0f6d630096b884252ce58f205d5537e6a85deb3461764a98f93a81c89ffb'

function catchTaskError (fn: () => unknown): TaskError {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof TaskError, `expected a TaskError, got ${String(err)}`)
    return err
  }
  assert.fail('expected a TaskError, nothing was thrown')
}

describe('defaultTask', () => {
  test('is valid and is the MNIST 2NN task', () => {
    const task = defaultTask()
    assert.deepEqual(validateTask(task), task)
    assert.equal(task.name, 'mnist-2nn')
    assert.deepEqual(task.model, { kind: 'mlp', hidden: [200, 200], activation: 'relu' })
    assert.deepEqual(task.dataset, { kind: 'mnist' })
    assert.equal(task.partition, 'iid')
    assert.deepEqual(task.training, { epochs: 1, batchSize: 32, learningRate: 0.02, optimizer: 'momentum', momentum: 0.9 })
    assert.equal(task.rounds, 20)
    assert.deepEqual(task.cohort, { size: 10, minSurvivors: 2, threshold: 0 })
    assert.deepEqual(task.aggregation, { weighting: 'examples', serverLearningRate: 1, clipNorm: 10, weightCap: 60000 })
    assert.deepEqual(task.timeouts, { joinMs: 5000, cohortMs: 3000, updateMs: 120000, survivorsMs: 15000 })
    assert.equal(task.seed, 1)
    assert.equal(task.secureAggregation, true)
    assert.equal(task.version, 1)
  })

  test('hands out independent copies', () => {
    const a = defaultTask()
    ;(a.model as { hidden: number[] }).hidden.push(7)
    a.training.epochs = 9
    assert.deepEqual(defaultTask().model, { kind: 'mlp', hidden: [200, 200], activation: 'relu' })
    assert.equal(defaultTask().training.epochs, 1)
  })
})

describe('createTask merges a partial task with the defaults', () => {
  test('empty and undefined give the default task', () => {
    assert.deepEqual(createTask({}), defaultTask())
    assert.deepEqual(createTask(undefined), defaultTask())
    assert.deepEqual(createTask(), defaultTask())
  })

  test('nested objects are merged field by field', () => {
    const task = createTask({ training: { learningRate: 0.1 }, timeouts: { updateMs: 5000 }, rounds: 3 })
    assert.deepEqual(task.training, { ...defaultTask().training, learningRate: 0.1 })
    assert.deepEqual(task.timeouts, { ...defaultTask().timeouts, updateMs: 5000 })
    assert.equal(task.rounds, 3)
    assert.deepEqual(task.cohort, defaultTask().cohort)
  })

  test('fields given as undefined keep their defaults (as from unset CLI flags)', () => {
    const task = createTask({ rounds: undefined, training: { epochs: undefined, batchSize: 8 } })
    assert.equal(task.rounds, 20)
    assert.equal(task.training.epochs, 1)
    assert.equal(task.training.batchSize, 8)
  })

  test('model and dataset take the defaults of their kind', () => {
    assert.deepEqual(createTask({ model: { kind: 'cnn' } }).model, { kind: 'cnn', filters: [32, 64], dense: 512, activation: 'relu' })
    assert.deepEqual(createTask({ model: { kind: 'mlp' } }).model, { kind: 'mlp', hidden: [200, 200], activation: 'relu' })
    assert.deepEqual(createTask({ model: { kind: 'logreg' } }).model, { kind: 'logreg' })
    assert.deepEqual(createTask({ model: { hidden: [64] } }).model, { kind: 'mlp', hidden: [64], activation: 'relu' })
    assert.deepEqual(createTask({ model: { kind: 'cnn', dense: 128, activation: 'tanh' } }).model, { kind: 'cnn', filters: [32, 64], dense: 128, activation: 'tanh' })
    assert.deepEqual(createTask({ dataset: { kind: 'csv', train: 'a.csv', test: 'b.csv', labelColumn: 0, classes: 3 } }).dataset,
      { kind: 'csv', train: 'a.csv', test: 'b.csv', labelColumn: 0, classes: 3, header: true })
    assert.deepEqual(createTask({ dataset: { kind: 'fashion-mnist' } }).dataset, { kind: 'fashion-mnist' })
  })

  test('arrays are replaced, not merged', () => {
    assert.deepEqual((createTask({ model: { hidden: [10] } }).model as { hidden: number[] }).hidden, [10])
  })

  test('the input is not modified and the result shares nothing with it', () => {
    const init = { model: { kind: 'mlp', hidden: [5, 6] }, training: { epochs: 2 } }
    const copy = structuredClone(init)
    const task = createTask(init)
    assert.deepEqual(init, copy)
    ;(task.model as { hidden: number[] }).hidden.push(1)
    assert.deepEqual(init.model.hidden, [5, 6])
  })

  test('partition strings are normalized', () => {
    assert.equal(createTask({ partition: 'dirichlet:0.50' }).partition, 'dirichlet:0.5')
    assert.equal(createTask({ partition: 'dirichlet:5e-1' }).partition, 'dirichlet:0.5')
    assert.equal(createTask({ partition: 'shards:02' }).partition, 'shards:2')
    assert.equal(taskId(createTask({ partition: 'dirichlet:.5' })), taskId(createTask({ partition: 'dirichlet:0.5' })))
    assert.deepEqual(parsePartition('shards:3'), { kind: 'shards', shards: 3 })
    assert.deepEqual(parsePartition('dirichlet:0.1'), { kind: 'dirichlet', alpha: 0.1 })
    assert.deepEqual(parsePartition('iid'), { kind: 'iid' })
  })
})

/**
 * One failing case per validation rule: [partial task for createTask, field named, text the message must hold].
 * Every message must start with the source, name the field and say what it got.
 */
const INVALID: Array<[string, unknown, string, string]> = [
  ['task not an object', [1, 2], '', 'must be a JSON object (got [1,2])'],
  ['task null', null, '', 'task.json: the task must be a JSON object (got null)'],
  ['version', { version: 2 }, 'version', 'version must be 1'],
  ['name empty', { name: '' }, 'name', 'name must be a non-empty string'],
  ['name too long', { name: 'x'.repeat(129) }, 'name', 'at most 128 characters'],
  ['name control character', { name: 'a\nb' }, 'name', 'no control characters'],
  ['name type', { name: 5 }, 'name', '(got 5)'],
  ['seed negative', { seed: -1 }, 'seed', 'seed must be an integer from 0 to 4294967295 (got -1)'],
  ['seed fraction', { seed: 1.5 }, 'seed', '(got 1.5)'],
  ['seed too large', { seed: 2 ** 32 }, 'seed', '(got 4294967296)'],
  ['model type', { model: 'mlp' }, 'model', 'model must be an object (got "mlp")'],
  ['model.kind', { model: { kind: 'resnet' } }, 'model.kind', 'task.json: model.kind must be one of mlp, cnn, logreg (got "resnet")'],
  ['model.hidden empty', { model: { hidden: [] } }, 'model.hidden', 'model.hidden must be a non-empty array of integers from 1 to 65536 (got [])'],
  ['model.hidden type', { model: { hidden: 200 } }, 'model.hidden', '(got 200)'],
  ['model.hidden element zero', { model: { hidden: [200, 0] } }, 'model.hidden[1]', 'model.hidden[1] must be an integer from 1 to 65536 (got 0)'],
  ['model.hidden element fraction', { model: { hidden: [2.5] } }, 'model.hidden[0]', '(got 2.5)'],
  ['model.activation', { model: { activation: 'sigmoid' } }, 'model.activation', 'model.activation must be one of relu, tanh (got "sigmoid")'],
  ['model.filters', { model: { kind: 'cnn', filters: [] } }, 'model.filters', 'model.filters must be a non-empty array'],
  ['model.dense', { model: { kind: 'cnn', dense: 0 } }, 'model.dense', 'model.dense must be an integer from 1 to 65536 (got 0)'],
  ['model field of another kind', { model: { kind: 'logreg', hidden: [3] } }, 'model.hidden', 'unknown field model.hidden (allowed for model.kind logreg: kind)'],
  ['dataset.kind', { dataset: { kind: 'cifar10' } }, 'dataset.kind', 'dataset.kind must be one of mnist, fashion-mnist, idx, csv (got "cifar10")'],
  ['dataset idx path missing', { dataset: { kind: 'idx', trainLabels: 'l', testImages: 'ti', testLabels: 'tl', classes: 10 } }, 'dataset.trainImages', 'dataset.trainImages must be a non-empty path string (relative to the task file), required for dataset.kind idx (missing)'],
  ['dataset idx classes', { dataset: { kind: 'idx', trainImages: 'i', trainLabels: 'l', testImages: 'ti', testLabels: 'tl', classes: 1 } }, 'dataset.classes', 'dataset.classes must be an integer from 2 to 65536 (got 1)'],
  ['dataset csv classes missing', { dataset: { kind: 'csv', train: 'a', test: 'b', labelColumn: 0 } }, 'dataset.classes', '(missing)'],
  ['dataset csv labelColumn', { dataset: { kind: 'csv', train: 'a', test: 'b', labelColumn: -1, classes: 2 } }, 'dataset.labelColumn', 'dataset.labelColumn must be an integer >= 0 (got -1)'],
  ['dataset csv header', { dataset: { kind: 'csv', train: 'a', test: 'b', labelColumn: 0, classes: 2, header: 'yes' } }, 'dataset.header', 'dataset.header must be true or false (got "yes")'],
  ['partition unknown', { partition: 'random' }, 'partition', 'partition must be iid, dirichlet:<alpha> with alpha > 0, or shards:<k> with k an integer >= 1 (got "random")'],
  ['partition alpha zero', { partition: 'dirichlet:0' }, 'partition', '(got "dirichlet:0")'],
  ['partition alpha negative', { partition: 'dirichlet:-1' }, 'partition', '(got "dirichlet:-1")'],
  ['partition alpha not a number', { partition: 'dirichlet:abc' }, 'partition', '(got "dirichlet:abc")'],
  ['partition alpha overflow', { partition: 'dirichlet:1e999' }, 'partition', '(got "dirichlet:1e999")'],
  ['partition shards zero', { partition: 'shards:0' }, 'partition', '(got "shards:0")'],
  ['partition shards fraction', { partition: 'shards:1.5' }, 'partition', '(got "shards:1.5")'],
  ['partition iid with argument', { partition: 'iid:2' }, 'partition', '(got "iid:2")'],
  ['partition type', { partition: 3 }, 'partition', '(got 3)'],
  ['training type', { training: 'fast' }, 'training', 'training must be an object (got "fast")'],
  ['training.epochs zero', { training: { epochs: 0 } }, 'training.epochs', 'training.epochs must be an integer >= 1 (got 0)'],
  ['training.epochs fraction', { training: { epochs: 1.5 } }, 'training.epochs', '(got 1.5)'],
  ['training.batchSize zero', { training: { batchSize: 0 } }, 'training.batchSize', 'training.batchSize must be an integer >= 1 (got 0)'],
  ['training.batchSize fraction', { training: { batchSize: 2.5 } }, 'training.batchSize', '(got 2.5)'],
  ['training.learningRate zero', { training: { learningRate: 0 } }, 'training.learningRate', 'training.learningRate must be a number > 0 (got 0)'],
  ['training.learningRate negative', { training: { learningRate: -0.1 } }, 'training.learningRate', '(got -0.1)'],
  ['training.learningRate string', { training: { learningRate: '0.1' } }, 'training.learningRate', '(got "0.1")'],
  ['training.learningRate infinite', { training: { learningRate: Infinity } }, 'training.learningRate', '(got Infinity)'],
  ['training.optimizer', { training: { optimizer: 'rmsprop' } }, 'training.optimizer', 'training.optimizer must be one of sgd, momentum, adam (got "rmsprop")'],
  ['training.momentum one', { training: { momentum: 1 } }, 'training.momentum', 'training.momentum must be a number >= 0 and < 1 (got 1)'],
  ['training.momentum negative', { training: { momentum: -0.5 } }, 'training.momentum', '(got -0.5)'],
  ['rounds zero', { rounds: 0 }, 'rounds', 'rounds must be an integer >= 1 (got 0)'],
  ['rounds fraction', { rounds: 2.5 }, 'rounds', '(got 2.5)'],
  ['cohort.size zero', { cohort: { size: 0, minSurvivors: 1 } }, 'cohort.size', 'cohort.size must be an integer >= 1 (got 0)'],
  ['cohort.minSurvivors zero', { cohort: { minSurvivors: 0 } }, 'cohort.minSurvivors', 'cohort.minSurvivors must be an integer >= 1 (got 0)'],
  ['cohort.minSurvivors above size', { cohort: { size: 4, minSurvivors: 5 } }, 'cohort.minSurvivors', 'cohort.minSurvivors must be an integer from 1 to cohort.size (4) (got 5)'],
  ['aggregation.weighting', { aggregation: { weighting: 'median' } }, 'aggregation.weighting', 'aggregation.weighting must be one of examples, uniform (got "median")'],
  ['aggregation.serverLearningRate', { aggregation: { serverLearningRate: 0 } }, 'aggregation.serverLearningRate', 'aggregation.serverLearningRate must be a number > 0 (got 0)'],
  ['timeouts.joinMs too small', { timeouts: { joinMs: 99 } }, 'timeouts.joinMs', 'timeouts.joinMs must be an integer from 100 to 86400000 ms (got 99)'],
  ['timeouts.cohortMs fraction', { timeouts: { cohortMs: 100.5 } }, 'timeouts.cohortMs', '(got 100.5)'],
  ['timeouts.updateMs too small', { timeouts: { updateMs: 0 } }, 'timeouts.updateMs', '(got 0)'],
  ['timeouts.survivorsMs type', { timeouts: { survivorsMs: '15s' } }, 'timeouts.survivorsMs', '(got "15s")'],
  ['secureAggregation', { secureAggregation: 'yes' }, 'secureAggregation', 'secureAggregation must be true or false (got "yes")'],
  ['cohort.threshold', { cohort: { size: 5, threshold: 6 } }, 'cohort.threshold', 'cohort.threshold must be an integer from 0 to 5 (got 6)'],
  ['aggregation.clipNorm', { aggregation: { clipNorm: 0 } }, 'aggregation.clipNorm', 'aggregation.clipNorm must be a number > 0 (got 0)'],
  ['privacy.delta', { privacy: { delta: 1 } }, 'privacy.delta', 'privacy.delta must be a number > 0 and < 1 (got 1)'],
  ['privacy.targetEpsilon', { privacy: { targetEpsilon: -1 } }, 'privacy.targetEpsilon', 'privacy.targetEpsilon must be a number >= 0 (0 = no budget) (got -1)'],
  ['privacy.dpSgd with a cnn', { model: { kind: 'cnn' }, privacy: { dpSgd: true } }, 'privacy.dpSgd', 'privacy.dpSgd must be false with model.kind cnn'],
  ['privacy.microbatches not a divisor', { training: { batchSize: 250 }, privacy: { dpSgd: true, microbatches: 7 } }, 'privacy.microbatches', 'privacy.microbatches must be 0 or a divisor of training.batchSize (250) (got 7)'],
  ['privacy.dpFedAvg without secure aggregation', { secureAggregation: false, privacy: { dpFedAvg: true } }, 'privacy.dpFedAvg', 'privacy.dpFedAvg must be false while secureAggregation is false'],
  ['unknown top-level field', { epochs: 3 }, 'epochs', 'unknown field epochs (allowed: version, name, seed, model, dataset, partition, training, rounds, cohort, aggregation, timeouts, secureAggregation, privacy)'],
  ['unknown nested field, short form', { training: { lr: 0.1 } }, 'training.lr', 'task.json: unknown field training.lr (did you mean learningRate?)'],
  ['unknown nested field, snake case', { training: { batch_size: 8 } }, 'training.batch_size', 'unknown field training.batch_size (did you mean batchSize?)'],
  ['unknown nested field, typo', { cohort: { minSurvivor: 3 } }, 'cohort.minSurvivor', 'unknown field cohort.minSurvivor (did you mean minSurvivors?)'],
  ['unknown nested field, no guess', { timeouts: { zzz: 1 } }, 'timeouts.zzz', 'unknown field timeouts.zzz (allowed: joinMs, cohortMs, updateMs, survivorsMs)'],
  ['__proto__ key', JSON.parse('{"__proto__": {"rounds": 1}}'), '__proto__', 'unknown field __proto__']
]

describe('validation: every rule has a failing case naming the field', () => {
  for (const [title, init, field, text] of INVALID) {
    test(title, () => {
      const err = catchTaskError(() => createTask(init, { source: SOURCE }))
      assert.equal(err.field, field)
      assert.equal(err.source, SOURCE)
      assert.equal(err.code, 'ERR_TASK_INVALID')
      assert.ok(err.message.startsWith(`${SOURCE}: `), err.message)
      assert.ok(err.message.includes(text), `${err.message}\n  should include\n${text}`)
      if (field !== '') assert.ok(err.message.includes(field.replace(/\[\d+\]$/, '')), err.message)
      assert.ok(!/[\r\n]/.test(err.message), 'one line')
      assert.ok(/\((?:got .*|missing)\)$|\(allowed.*\)$|\(did you mean \w+\?\)$/.test(err.message), `says what it got: ${err.message}`)
    })
  }
})

describe('validateTask is strict', () => {
  test('every field must be present', () => {
    for (const key of Object.keys(defaultTask())) {
      const task: Record<string, unknown> = defaultTask() as any
      delete task[key]
      const err = catchTaskError(() => validateTask(task, { source: SOURCE }))
      assert.equal(err.field, key)
      assert.match(err.message, /\(missing\)$/)
    }
    const task: any = defaultTask()
    delete task.training.momentum
    assert.equal(catchTaskError(() => validateTask(task)).field, 'training.momentum')
  })

  test('does not fill in kind defaults', () => {
    const task: any = { ...defaultTask(), model: { kind: 'cnn' } }
    assert.equal(catchTaskError(() => validateTask(task)).field, 'model.filters')
  })

  test('messages default to the source "task"', () => {
    assert.match(catchTaskError(() => createTask({ rounds: 0 })).message, /^task: rounds must/)
  })

  test('returns a fresh copy', () => {
    const task = defaultTask()
    const valid = validateTask(task)
    assert.notEqual(valid, task)
    assert.notEqual(valid.model, task.model)
    assert.notEqual((valid.model as { hidden: number[] }).hidden, (task.model as { hidden: number[] }).hidden)
  })
})

describe('canonical JSON', () => {
  test('sorts keys, no whitespace, shortest numbers', () => {
    assert.equal(canonicalJson({ b: [3, { d: 1, c: 'x' }], a: null, e: true }), '{"a":null,"b":[3,{"c":"x","d":1}],"e":true}')
    assert.equal(canonicalJson([0.1, 1e21, 1e-7, -0, 120000, 0.05]), '[0.1,1e+21,1e-7,0,120000,0.05]')
    assert.equal(canonicalJson({ '\u00e9': 1, z: 2, A: 3 }), '{"A":3,"z":2,"\u00e9":1}')
    assert.equal(canonicalJson('a"b\n'), '"a\\"b\\n"')
  })

  test('rejects what JSON cannot represent', () => {
    const cyclic: any = {}
    cyclic.self = cyclic
    for (const bad of [NaN, Infinity, undefined, { a: undefined }, [1n], new Date(0), cyclic, () => 1]) {
      assert.throws(() => canonicalJson(bad), TypeError)
    }
  })

  test('golden: a fixed task has a fixed canonical form and id', () => {
    const task = createTask({
      name: 'golden',
      seed: 7,
      model: { kind: 'cnn', filters: [8, 16], dense: 64, activation: 'tanh' },
      dataset: { kind: 'fashion-mnist' },
      partition: 'dirichlet:0.3',
      training: { epochs: 2, batchSize: 50, learningRate: 0.01, optimizer: 'adam', momentum: 0 },
      rounds: 5,
      cohort: { size: 8, minSurvivors: 5, threshold: 6 },
      aggregation: { weighting: 'uniform', serverLearningRate: 0.5, clipNorm: 4, weightCap: 1000 },
      timeouts: { joinMs: 1000, cohortMs: 2000, updateMs: 60000, survivorsMs: 5000 },
      secureAggregation: false
    })
    const json = '{"aggregation":{"clipNorm":4,"serverLearningRate":0.5,"weightCap":1000,"weighting":"uniform"},"cohort":{"minSurvivors":5,"size":8,"threshold":6},' +
      '"dataset":{"kind":"fashion-mnist"},"model":{"activation":"tanh","dense":64,"filters":[8,16],"kind":"cnn"},' +
      '"name":"golden","partition":"dirichlet:0.3","privacy":{"delta":0.00001,"dpFedAvg":false,"dpSgd":false,"fedAvgNoise":1,"l2NormClip":1.5,"microbatches":0,"noiseMultiplier":1.1,"targetEpsilon":0},"rounds":5,"secureAggregation":false,"seed":7,' +
      '"timeouts":{"cohortMs":2000,"joinMs":1000,"survivorsMs":5000,"updateMs":60000},' +
      '"training":{"batchSize":50,"epochs":2,"learningRate":0.01,"momentum":0,"optimizer":"adam"},"version":1}'
    assert.equal(canonicalTaskJson(task), json)
    const id = taskId(task)
    assert.match(id, /^[0-9a-f]{64}$/)
    assert.equal(id, GOLDEN_ID)
    assert.equal(shortTaskId(id), id.slice(0, 16))
  })

  test('canonicalTaskJson validates', () => {
    assert.throws(() => canonicalTaskJson({ ...defaultTask(), rounds: 0 }), TaskError)
  })

  test('shortTaskId rejects what is not a task id', () => {
    assert.throws(() => shortTaskId('abc'), TypeError)
    assert.throws(() => shortTaskId('A'.repeat(64)), TypeError)
  })
})

// ---- property tests -------------------------------------------------------------------------------------

const pathString = fc.string({ minLength: 1, maxLength: 12 }).filter(s => !/[\u0000-\u001f\u007f]/.test(s))
const activation = fc.constantFrom('relu' as const, 'tanh' as const)
const units = fc.array(fc.integer({ min: 1, max: 2048 }), { minLength: 1, maxLength: 4 })

const taskArb: fc.Arbitrary<Task> = fc.record({
  version: fc.constant(1 as const),
  name: pathString,
  seed: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  model: fc.oneof(
    fc.record({ kind: fc.constant('mlp' as const), hidden: units, activation }),
    fc.record({ kind: fc.constant('cnn' as const), filters: units, dense: fc.integer({ min: 1, max: 4096 }), activation }),
    fc.record({ kind: fc.constant('logreg' as const) })
  ),
  dataset: fc.oneof(
    fc.constant({ kind: 'mnist' as const }),
    fc.constant({ kind: 'fashion-mnist' as const }),
    fc.record({ kind: fc.constant('idx' as const), trainImages: pathString, trainLabels: pathString, testImages: pathString, testLabels: pathString, classes: fc.integer({ min: 2, max: 1000 }) }),
    fc.record({ kind: fc.constant('csv' as const), train: pathString, test: pathString, labelColumn: fc.integer({ min: 0, max: 100 }), classes: fc.integer({ min: 2, max: 1000 }), header: fc.boolean() })
  ),
  partition: fc.oneof(
    fc.constant('iid'),
    fc.double({ min: 1e-3, max: 1e3, noNaN: true }).map(a => `dirichlet:${a}`),
    fc.integer({ min: 1, max: 100 }).map(k => `shards:${k}`)
  ),
  training: fc.record({
    epochs: fc.integer({ min: 1, max: 20 }),
    batchSize: fc.integer({ min: 1, max: 1024 }),
    learningRate: fc.double({ min: 1e-6, max: 10, noNaN: true }),
    optimizer: fc.constantFrom('sgd' as const, 'momentum' as const, 'adam' as const),
    momentum: fc.double({ min: 0, max: 0.999, noNaN: true }).map(m => m === 0 ? 0 : m)
  }),
  rounds: fc.integer({ min: 1, max: 10_000 }),
  cohort: fc.integer({ min: 1, max: 200 }).chain(size => fc.record({ size: fc.constant(size), minSurvivors: fc.integer({ min: 1, max: size }), threshold: fc.integer({ min: 0, max: size }) })),
  aggregation: fc.record({
    weighting: fc.constantFrom('examples' as const, 'uniform' as const),
    serverLearningRate: fc.double({ min: 1e-3, max: 10, noNaN: true }),
    clipNorm: fc.double({ min: 1e-3, max: 1e3, noNaN: true }),
    weightCap: fc.integer({ min: 1, max: 1e9 })
  }),
  timeouts: fc.record({
    joinMs: fc.integer({ min: 100, max: 1e6 }),
    cohortMs: fc.integer({ min: 100, max: 1e6 }),
    updateMs: fc.integer({ min: 100, max: 1e6 }),
    survivorsMs: fc.integer({ min: 100, max: 1e6 })
  }),
  secureAggregation: fc.boolean(),
  privacy: fc.record({
    delta: fc.double({ min: 1e-12, max: 0.5, noNaN: true }),
    targetEpsilon: fc.oneof(fc.constant(0), fc.double({ min: 0.01, max: 100, noNaN: true })),
    dpFedAvg: fc.constant(false),
    fedAvgNoise: fc.double({ min: 0.01, max: 100, noNaN: true }),
    dpSgd: fc.constant(false),
    noiseMultiplier: fc.double({ min: 0.01, max: 100, noNaN: true }),
    l2NormClip: fc.double({ min: 0.01, max: 100, noNaN: true }),
    microbatches: fc.constant(0)
  })
})

/** A copy of a JSON value with the keys of every object in a pseudo-random order. */
function shuffleKeys (value: unknown, random: () => number): unknown {
  if (Array.isArray(value)) return value.map(v => shuffleKeys(v, random))
  if (typeof value !== 'object' || value === null) return value
  const keys = Object.keys(value)
  for (let i = keys.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[keys[i], keys[j]] = [keys[j], keys[i]]
  }
  const out: Record<string, unknown> = {}
  for (const k of keys) out[k] = shuffleKeys((value as Record<string, unknown>)[k], random)
  return out
}

function mulberry32 (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Paths of all leaves (numbers, strings, booleans) of a JSON value. */
function leafPaths (value: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (Array.isArray(value)) return value.flatMap((v, i) => leafPaths(v, [...prefix, i]))
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...prefix, k]))
  return [prefix]
}

function withLeaf (task: Task, path: Array<string | number>, leaf: unknown): unknown {
  const copy: any = structuredClone(task)
  let node = copy
  for (const key of path.slice(0, -1)) node = node[key]
  node[path[path.length - 1]] = leaf
  return copy
}

function alternatives (leaf: unknown): unknown[] {
  return candidates(leaf).filter(v => v !== leaf)
}

function candidates (leaf: unknown): unknown[] {
  if (typeof leaf === 'number') return [leaf + 1, leaf - 1, leaf * 2, leaf / 2, leaf + 0.25]
  if (typeof leaf === 'string') return [`${leaf}x`, 'iid', 'shards:3', 'dirichlet:0.7', 'relu', 'tanh', 'sgd', 'adam', 'uniform', 'examples', 'cnn', 'mnist']
  if (typeof leaf === 'boolean') return [!leaf]
  return []
}

describe('task ids (property tests)', () => {
  test('generated tasks are valid', () => {
    fc.assert(fc.property(taskArb, task => {
      validateTask(task)
    }), { numRuns: 300 })
  })

  test('key order does not change the canonical JSON or the id', () => {
    fc.assert(fc.property(taskArb, fc.integer(), (task, seed) => {
      const shuffled = shuffleKeys(task, mulberry32(seed)) as Task
      assert.equal(canonicalTaskJson(shuffled), canonicalTaskJson(task))
      assert.equal(taskId(shuffled), taskId(task))
      assert.equal(taskId(createTask(shuffled)), taskId(task))
    }), { numRuns: 300 })
  })

  test('changing any one value (to another valid value) changes the id', () => {
    fc.assert(fc.property(taskArb, fc.nat(), fc.nat(), (task, pick, alt) => {
      const paths = leafPaths(task)
      const path = paths[pick % paths.length]
      const leaf = path.reduce<any>((node, key) => node[key], task)
      const options = alternatives(leaf)
      const id = taskId(task)
      let tried = 0
      for (let i = 0; i < options.length; i++) {
        const candidate = withLeaf(task, path, options[(alt + i) % options.length])
        let valid: Task
        try {
          valid = validateTask(candidate)
        } catch {
          continue
        }
        if (canonicalJson(valid) === canonicalJson(validateTask(task))) continue // e.g. dirichlet:0.7 -> same
        tried++
        assert.notEqual(taskId(valid), id, `changing ${path.join('.')} from ${String(leaf)} kept the id`)
      }
      fc.pre(tried > 0)
    }), { numRuns: 500 })
  })

  test('every leaf of the default task changes the id when changed', () => {
    const task = defaultTask()
    const id = taskId(task)
    for (const path of leafPaths(task)) {
      if (path[0] === 'secureAggregation' || path[0] === 'version') continue // only one valid value
      if (path[path.length - 1] === 'kind') continue // another kind needs other fields: see below
      const leaf = path.reduce<any>((node, key) => node[key], task)
      const changed = alternatives(leaf).map(v => withLeaf(task, path, v)).find(t => {
        try { validateTask(t); return true } catch { return false }
      })
      assert.ok(changed !== undefined, `no valid change for ${path.join('.')}`)
      assert.notEqual(taskId(changed as Task), id, path.join('.'))
    }
    assert.notEqual(taskId(createTask({ model: { kind: 'logreg' } })), id)
    assert.notEqual(taskId(createTask({ dataset: { kind: 'fashion-mnist' } })), id)
  })

  test('two tasks have the same id exactly when they are equal', () => {
    fc.assert(fc.property(taskArb, taskArb, (a, b) => {
      const same = canonicalTaskJson(a) === canonicalTaskJson(b)
      assert.equal(taskId(a) === taskId(b), same)
    }), { numRuns: 200 })
  })
})
