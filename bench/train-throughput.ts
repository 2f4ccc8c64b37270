/**
 * Local training throughput of McMahan's 2NN (MLP 784-200-200-10, relu) on MNIST: samples/s on each
 * tfjs backend that loads here (cpu, wasm, tensorflow), at batch 32 and 64, side by side in one run,
 * plus the aggregate rate of the default worker pool running one job per worker.
 *
 *   node --import tsx bench/train-throughput.ts [--json] [--examples N]
 */

import { availableParallelism } from 'node:os'
import { BACKENDS, createTrainer, defaultWorkers, initialParams, loadDataset, trainLocal, useBackend } from '../src/learning/index.ts'
import type { ModelSpec, TrainingSpec } from '../src/config/types.ts'
import { intFlag } from './cli-args.ts'

const json = process.argv.slice(2).includes('--json')
const examples = intFlag('--examples', 6000, 100)

const model: ModelSpec = { kind: 'mlp', hidden: [200, 200], activation: 'relu' }
const dataset = { kind: 'mnist' } as const
const batches = [32, 64]
const training = (batchSize: number): TrainingSpec => ({ epochs: 1, batchSize, learningRate: 0.05, optimizer: 'sgd', momentum: 0 })

interface Row { backend: string, batchSize: number, examples: number, samplesPerSecond: number }
const rows: Row[] = []
const unavailable: Record<string, string> = {}
const line = (s: string): void => { if (!json) process.stdout.write(`${s}\n`) }

const ds = await loadDataset(dataset)
const params = initialParams(model, ds.inputShape, ds.classes, 1)
line(`MLP 784-200-200-10 relu, sgd, MNIST, ${availableParallelism()} cores, node ${process.version}`)

// slow backends get fewer examples so that the run stays short
const budget: Record<string, number> = { cpu: Math.min(examples, 1500) }
for (const backend of [...BACKENDS].reverse()) {
  try {
    await useBackend(backend)
  } catch (err) {
    unavailable[backend] = (err as Error).message
    line(`${backend.padEnd(10)} unavailable: ${(err as Error).message}`)
    continue
  }
  const n = budget[backend] ?? examples
  const indices = Uint32Array.from({ length: n }, (_, i) => i)
  for (const batchSize of batches) {
    // warm-up: JIT, kernel setup, XNNPACK operators
    await trainLocal({ model, dataset, indices: indices.subarray(0, Math.min(n, 20 * batchSize)), params, training: training(batchSize), seed: 0 })
    const r = await trainLocal({ model, dataset, indices, params, training: training(batchSize), seed: 1 })
    const sps = r.examples / r.seconds
    rows.push({ backend, batchSize, examples: n, samplesPerSecond: Math.round(sps) })
    line(`${backend.padEnd(10)} batch ${String(batchSize).padStart(3)}  ${Math.round(sps).toString().padStart(7)} samples/s  (${n} examples in ${r.seconds.toFixed(2)} s)`)
  }
}

// the worker pool as a simulation uses it: one job per worker at once, default backend
const workers = defaultWorkers()
const trainer = createTrainer()
let pool: { backend: string, workers: number, batchSize: number, samplesPerSecond: number } | undefined
try {
  const backend = await trainer.backend()
  const indices = Uint32Array.from({ length: examples }, (_, i) => i)
  const job = { model, dataset, indices, params, training: training(32), seed: 0 }
  const round = async (seed: number): Promise<unknown> => await Promise.all(Array.from({ length: workers }, async (_, i) => await trainer.train({ ...job, seed: seed + i })))
  await round(0) // every worker: import tfjs, load MNIST, warm up
  await round(100)
  const rounds = 3
  const t = performance.now()
  for (let r = 1; r <= rounds; r++) await round(r * 1000)
  const sps = rounds * workers * examples / ((performance.now() - t) / 1000)
  pool = { backend, workers, batchSize: 32, samplesPerSecond: Math.round(sps) }
  line(`pool       ${workers} workers on ${backend}, batch 32: ${Math.round(sps)} samples/s in aggregate (wall clock, 3 rounds of ${workers} concurrent jobs of ${examples} examples)`)
} finally {
  await trainer.close()
}

if (json) {
  process.stdout.write(`${JSON.stringify({ bench: 'train-throughput', model: 'mlp 784-200-200-10 relu', dataset: 'mnist', cores: availableParallelism(), node: process.version, results: rows, unavailable, pool })}\n`)
}
