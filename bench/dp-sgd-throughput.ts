/**
 * What example-level DP-SGD costs against plain training: samples/s of McMahan's 2NN (MLP
 * 784-200-200-10, relu) on MNIST at batch 250, plain `trainLocal` (tfjs sgd) next to `dpSgdTrain`
 * per-example (m = 250), with microbatches of 5 (m = 50) and one microbatch (m = 1), and without
 * noise (σ = 0, to separate the cost of the CSPRNG Gaussian noise), on wasm and cpu (best of 3 interleaved runs each).
 * `--scattering`: on the scattering features instead of pixels (the DP-SGD preset; 5184-200-200-10),
 * computed before the timed runs.
 *
 *   node --import tsx bench/dp-sgd-throughput.ts [--json] [--examples N] [--scattering]
 */

import { availableParallelism } from 'node:os'
import * as tf from '@tensorflow/tfjs'
import type { ModelSpec, TrainingSpec } from '../src/config/types.ts'
import { useBackend } from '../src/learning/backend.ts'
import { loadDataset } from '../src/learning/datasets.ts'
import type { Dataset } from '../src/learning/datasets.ts'
import { ensureRows, firstRows } from '../src/learning/features.ts'
import { dpTrainLocal, gaussianNoise } from '../src/learning/dp-sgd.ts'
import type { DpSgdSpec } from '../src/learning/dp-sgd.ts'
import { initialParams } from '../src/learning/layout.ts'
import { trainLocal } from '../src/learning/local-train.ts'
import { intFlag } from './cli-args.ts'

const json = process.argv.slice(2).includes('--json')
const scattering = process.argv.slice(2).includes('--scattering')
const examples = intFlag('--examples', 10_000, 500)
const line = (s: string): void => { if (!json) process.stdout.write(`${s}\n`) }

const model: ModelSpec = { kind: 'mlp', hidden: [200, 200], activation: 'relu' }
const dataset = scattering ? { kind: 'mnist', transform: 'scattering' } as const : { kind: 'mnist' } as const
const training: TrainingSpec = { epochs: 1, batchSize: 250, learningRate: 0.1, optimizer: 'sgd', momentum: 0 }
const ds: Dataset = await loadDataset(dataset)
const params = initialParams(model, ds.inputShape, ds.classes, 1)
const modelName = `mlp ${ds.features}-200-200-10 relu`
line(`MLP ${ds.features}-200-200-10 relu, batch 250, MNIST${scattering ? ' scattering features' : ''}, ${availableParallelism()} cores, node ${process.version}`)
if (scattering) {
  const t = performance.now()
  ensureRows(ds, 'train', firstRows(examples))
  line(`scattering features of ${examples} examples: ${((performance.now() - t) / examples).toFixed(2)} ms an image`)
}

const noiseBuf = new Float32Array(params.length)
gaussianNoise(noiseBuf, 1)
const t0 = performance.now()
for (let i = 0; i < 20; i++) gaussianNoise(noiseBuf, 1)
const noiseMs = (performance.now() - t0) / 20
line(`noise      ${params.length} CSPRNG Gaussians per step: ${noiseMs.toFixed(2)} ms`)

const variants: Array<{ name: string, dp?: DpSgdSpec }> = [
  { name: 'plain sgd' },
  { name: 'dp m=250', dp: { noiseMultiplier: 1.1, l2NormClip: 1.5, microbatches: 250 } },
  { name: 'dp m=250 σ=0', dp: { noiseMultiplier: 0, l2NormClip: 1.5, microbatches: 250 } },
  { name: 'dp m=50', dp: { noiseMultiplier: 1.1, l2NormClip: 1.5, microbatches: 50 } },
  { name: 'dp m=1', dp: { noiseMultiplier: 1.1, l2NormClip: 1.5, microbatches: 1 } }
]
const rows: Array<{ backend: string, variant: string, samplesPerSecond: number, ratio: number }> = []
for (const backend of ['wasm', 'cpu'] as const) {
  try {
    await useBackend(backend)
  } catch (err) {
    line(`${backend} unavailable: ${(err as Error).message}`)
    continue
  }
  const n = backend === 'cpu' ? Math.min(examples, 2000) : examples
  const indices = Uint32Array.from({ length: n }, (_, i) => i)
  const warm = indices.subarray(0, 500)
  // interleaved repetitions, best of 3 per variant: the machine's load drifts between runs
  const best = new Map<string, number>()
  for (let rep = 0; rep < 3; rep++) {
    for (const v of variants) {
      const go = async (idx: Uint32Array, seed: number): Promise<number> => {
        if (v.dp == null) {
          const r = await trainLocal({ model, dataset, indices: idx, params, training, seed })
          return r.examples / r.seconds
        }
        const r = await dpTrainLocal({ model, dataset, indices: idx, params, training, seed, dp: v.dp })
        return r.steps * r.batchSize / r.seconds
      }
      if (rep === 0) await go(warm, 0)
      best.set(v.name, Math.max(best.get(v.name) ?? 0, await go(indices, 1 + rep)))
    }
  }
  const plainRate = best.get('plain sgd') ?? 0
  for (const v of variants) {
    const sps = best.get(v.name) ?? 0
    rows.push({ backend, variant: v.name, samplesPerSecond: Math.round(sps), ratio: plainRate / sps })
    line(`${backend.padEnd(5)} ${v.name.padEnd(14)} ${Math.round(sps).toString().padStart(7)} samples/s  ${v.dp == null ? '' : `(${(plainRate / sps).toFixed(2)}x the time of plain)`}`)
  }
}
if (json) process.stdout.write(`${JSON.stringify({ bench: 'dp-sgd-throughput', model: modelName, batchSize: 250, examples, noiseMsPerStep: noiseMs, results: rows, tfjs: tf.version.tfjs })}\n`)
