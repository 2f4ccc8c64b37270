// The worker-thread trainer on real MNIST: deltas of the right length, evaluation, optimizers, a CNN
// on wasm, abort, named errors from the workers, backend choice, and an event loop that stays
// responsive while a job trains (this fails if training runs on the calling thread).
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { BackendError, DatasetError, ModelError, TrainerError, createTrainer, initialParams, loadDataset, modelLayout } from '../src/learning/index.ts'
import type { TrainJob } from '../src/learning/index.ts'
import type { ModelSpec, TrainingSpec } from '../src/config/types.ts'

const MNIST = [28, 28, 1]
const mnist = { kind: 'mnist' } as const
const logreg: ModelSpec = { kind: 'logreg' }
const mlp: ModelSpec = { kind: 'mlp', hidden: [200, 200], activation: 'relu' }
const sgd: TrainingSpec = { epochs: 1, batchSize: 32, learningRate: 0.1, optimizer: 'sgd', momentum: 0 }
const range = (from: number, n: number): Uint32Array => Uint32Array.from({ length: n }, (_, i) => from + i)
const finite = (a: Float32Array): boolean => a.every(Number.isFinite)

const trainer = createTrainer()
after(async () => { await trainer.close() })

test('auto backend is the fastest that loads here (wasm without tfjs-node)', async () => {
  const backend = await trainer.backend()
  assert.ok(['tensorflow', 'wasm'].includes(backend), backend)
})

test('logreg: one epoch on 300 examples gives a finite delta of the right length; evaluation in [0, 1]', async () => {
  const params = initialParams(logreg, MNIST, 10, 1)
  const copy = params.slice()
  const r = await trainer.train({ model: logreg, dataset: mnist, indices: range(0, 300), params, training: sgd, seed: 1 })
  assert.equal(r.delta.length, modelLayout(logreg, MNIST, 10).size)
  assert.ok(finite(r.delta))
  assert.ok(r.delta.some(v => v !== 0))
  assert.equal(r.examples, 300)
  assert.ok(Number.isFinite(r.loss) && r.loss > 0)
  assert.ok(r.seconds > 0)
  assert.deepEqual(params, copy, 'the caller\'s params are not modified or detached')
  const ev = await trainer.evaluate({ model: logreg, dataset: mnist, params, limit: 500 })
  assert.ok(ev.accuracy >= 0 && ev.accuracy <= 1)
  assert.equal(ev.examples, 500)
  assert.ok(Number.isFinite(ev.loss))
})

test('training improves the model; sgd, momentum and adam all learn', async () => {
  const params = initialParams(logreg, MNIST, 10, 2)
  const before = await trainer.evaluate({ model: logreg, dataset: mnist, params, limit: 2000 })
  const results = await Promise.all((['sgd', 'momentum', 'adam'] as const).map(async optimizer => {
    const training: TrainingSpec = { ...sgd, optimizer, momentum: 0.9, learningRate: optimizer === 'adam' ? 0.005 : 0.05 }
    const r = await trainer.train({ model: logreg, dataset: mnist, indices: range(10_000, 3000), params, training, seed: 3 })
    const next = params.map((p, i) => p + r.delta[i])
    return await trainer.evaluate({ model: logreg, dataset: mnist, params: next, limit: 2000 })
  }))
  for (const ev of results) assert.ok(ev.accuracy > 0.7 && ev.accuracy > before.accuracy + 0.4, JSON.stringify({ before, ev }))
})

test('same job, same seed: same delta; another seed shuffles differently', async () => {
  const job: TrainJob = { model: logreg, dataset: mnist, indices: range(0, 200), params: initialParams(logreg, MNIST, 10, 1), training: sgd, seed: 9 }
  const [a, b, c] = await Promise.all([trainer.train(job), trainer.train(job), trainer.train({ ...job, seed: 10 })])
  assert.deepEqual(a.delta, b.delta)
  assert.notDeepEqual(a.delta, c.delta)
})

test('the event loop stays responsive while a worker trains', async () => {
  const params = initialParams(mlp, MNIST, 10, 1)
  await trainer.train({ model: mlp, dataset: mnist, indices: range(0, 64), params, training: sgd, seed: 0 }) // warm the workers
  let maxDelay = 0
  let last = performance.now()
  const timer = setInterval(() => {
    const now = performance.now()
    maxDelay = Math.max(maxDelay, now - last - 10)
    last = now
  }, 10)
  const started = performance.now()
  try {
    await trainer.train({ model: mlp, dataset: mnist, indices: range(0, 6000), params, training: { ...sgd, epochs: 2 }, seed: 1 })
  } finally {
    clearInterval(timer)
  }
  const wall = performance.now() - started
  assert.ok(wall > 300, `job took ${wall.toFixed(0)} ms, too short to tell`)
  // training on this thread would hold the timer for the whole job (maxDelay ~ wall); off it, the delay
  // is scheduling noise (tens of ms on a loaded 2-core machine)
  assert.ok(maxDelay < wall / 3, `timer delayed up to ${maxDelay.toFixed(0)} ms during a ${wall.toFixed(0)} ms job`)
})

test('abort rejects at once, running or queued, and the trainer keeps working', async () => {
  const one = createTrainer({ workers: 1 })
  try {
    const params = initialParams(mlp, MNIST, 10, 1)
    const job: TrainJob = { model: mlp, dataset: mnist, params, training: { ...sgd, epochs: 3 }, seed: 1 } // all 60,000 examples
    await one.backend()
    const running = new AbortController()
    const queued = new AbortController()
    const p1 = one.train(job, { signal: running.signal })
    const p2 = one.train(job, { signal: queued.signal })
    await new Promise(resolve => setTimeout(resolve, 200))
    queued.abort()
    await assert.rejects(p2, { name: 'AbortError' })
    const t = performance.now()
    running.abort()
    await assert.rejects(p1, { name: 'AbortError' })
    assert.ok(performance.now() - t < 100)
    await assert.rejects(one.train(job, { signal: AbortSignal.abort() }), { name: 'AbortError' })
    // the worker stops at the next batch and takes the next job
    const r = await one.train({ ...job, indices: range(0, 100), training: sgd })
    assert.equal(r.examples, 100)
  } finally {
    await one.close()
  }
})

test('a CNN trains on wasm (Conv2DBackpropFilter provided here)', async () => {
  const cnn: ModelSpec = { kind: 'cnn', filters: [4, 8], dense: 16, activation: 'relu' }
  const params = initialParams(cnn, MNIST, 10, 1)
  const r = await trainer.train({ model: cnn, dataset: mnist, indices: range(0, 96), params, training: sgd, seed: 1 })
  assert.equal(r.delta.length, params.length)
  assert.ok(finite(r.delta) && r.delta.some(v => v !== 0))
  assert.equal(r.backend, await trainer.backend())
})

test('errors in workers reach the caller as named errors', async () => {
  const params = initialParams(logreg, MNIST, 10, 1)
  const missing = '/nonexistent/train.csv'
  await assert.rejects(trainer.train({ model: logreg, dataset: { kind: 'csv', train: missing, test: missing, labelColumn: 0, classes: 10, header: true }, params, training: sgd, seed: 1 }),
    (e: Error) => e instanceof DatasetError && e.message.includes(missing))
  await assert.rejects(trainer.train({ model: logreg, dataset: mnist, params: new Float32Array(3), training: sgd, seed: 1 }),
    (e: Error) => e instanceof ModelError && /7850/.test(e.message))
  await assert.rejects(trainer.train({ model: logreg, dataset: mnist, indices: Uint32Array.of(60_000), params, training: sgd, seed: 1 }),
    (e: Error) => e instanceof TrainerError && /60000 is out of range/.test(e.message))
  await assert.rejects(trainer.train({ model: logreg, dataset: mnist, params, training: { ...sgd, optimizer: 'rmsprop' as 'sgd' }, seed: 1 }),
    (e: Error) => e instanceof TrainerError && /sgd, momentum, adam/.test(e.message))
  await assert.rejects(trainer.evaluate({ model: { kind: 'cnn', filters: [2], dense: 2, activation: 'relu' }, dataset: { kind: 'csv', train: 'x.csv', test: 'x.csv', labelColumn: 0, classes: 2, header: false }, params, baseDir: '/nonexistent' }),
    (e: Error) => e instanceof DatasetError && e.message.includes('/nonexistent/x.csv'))
  // the pool survives all of this
  const r = await trainer.train({ model: logreg, dataset: mnist, indices: range(0, 50), params, training: sgd, seed: 1 })
  assert.equal(r.examples, 50)
})

test('explicit backends: cpu works (on the main thread\'s shared MNIST), an unavailable one is a BackendError', async () => {
  await loadDataset(mnist) // loaded here first: the worker gets this copy instead of loading its own
  const cpu = createTrainer({ backend: 'cpu', workers: 1 })
  try {
    assert.equal(await cpu.backend(), 'cpu')
    const r = await cpu.train({ model: logreg, dataset: mnist, indices: range(0, 64), params: initialParams(logreg, MNIST, 10, 1), training: sgd, seed: 1 })
    assert.equal(r.backend, 'cpu')
  } finally {
    await cpu.close()
  }
  const tfn = createTrainer({ backend: 'tensorflow', workers: 1 })
  try {
    let available = true
    try { await tfn.backend() } catch (e) {
      available = false
      assert.ok(e instanceof BackendError && /tensorflow is not available/.test((e as Error).message), String(e))
    }
    if (!available) {
      await assert.rejects(tfn.train({ model: logreg, dataset: mnist, params: initialParams(logreg, MNIST, 10, 1), training: sgd, seed: 1 }), BackendError)
    }
  } finally {
    await tfn.close()
  }
  assert.throws(() => createTrainer({ backend: 'gpu' as 'cpu' }), BackendError)
  assert.throws(() => createTrainer({ workers: 0 }), TrainerError)
})

test('close rejects pending jobs and later calls', async () => {
  const t = createTrainer({ workers: 1 })
  const p = assert.rejects(t.train({ model: mlp, dataset: mnist, params: initialParams(mlp, MNIST, 10, 1), training: sgd, seed: 1 }), TrainerError)
  await t.close()
  await p
  await assert.rejects(t.evaluate({ model: logreg, dataset: mnist, params: initialParams(logreg, MNIST, 10, 1) }), TrainerError)
})
