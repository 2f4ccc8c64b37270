/**
 * Where local training's time goes (bench/bench.ts `--profile`, training part): one extra pass under
 * the V8 sampling profiler (node:inspector, only the training loop, not dataset loading), summed into
 * buckets (wasm kernels, tfjs-core JS, the wasm backend's JS, GC, ...) and top functions by self time;
 * then one pass under `tf.profile`, summed per tfjs kernel (wall time of each kernel call, dispatch
 * included). Both passes run after the timed ones and do not count in samples/s.
 */

import { Session } from 'node:inspector/promises'
import * as tf from '@tensorflow/tfjs'
import type { ModelSpec, TrainingSpec } from '../../src/config/types.ts'
import { trainLocal } from '../../src/learning/index.ts'
import { round } from './common.ts'

export interface TrainingProfile {
  /** samples/s of the pass under the sampling profiler (slower than the timed passes). */
  samplesPerSecProfiled: number
  /** Share of the sampled time per bucket, percent (samples inside the inspector itself left out). */
  buckets: Record<string, number>
  /** The functions with the most self time, percent of the sampled time. */
  topFunctions: Array<{ name: string, percent: number }>
  /** Per tfjs kernel: percent of the training loop's wall time and calls per batch. */
  kernels: Array<{ name: string, percentOfLoop: number, callsPerBatch: number }>
  /** Kernel calls per batch and the share of the loop spent outside kernel calls (percent). */
  kernelCallsPerBatch: number
  outsideKernelsPercent: number
}

interface CpuProfile {
  nodes: Array<{ id: number, callFrame: { functionName: string, url: string, lineNumber: number } }>
  samples: number[]
  timeDeltas: number[]
}

function bucketOf (fn: string, url: string): string {
  if (url.startsWith('wasm')) return 'wasm code (kernels)'
  if (fn === '(garbage collector)') return 'GC'
  if (fn === '(idle)' || fn === '(program)') return fn
  if (url.includes('tfjs-backend-wasm')) return 'tfjs-backend-wasm JS (kernel dispatch)'
  if (url.includes('tfjs-layers')) return 'tfjs-layers JS'
  if (url.includes('tfjs-core')) return 'tfjs-core JS (engine, autodiff, bookkeeping)'
  if (url.includes('/src/learning/')) return 'fedswarm src/learning JS (batches)'
  return 'other JS'
}

function summarize (p: CpuProfile, top: number): Pick<TrainingProfile, 'buckets' | 'topFunctions'> {
  const byId = new Map(p.nodes.map(n => [n.id, n]))
  const buckets = new Map<string, number>()
  const fns = new Map<string, number>()
  let total = 0
  for (let i = 0; i < p.samples.length; i++) {
    const cf = byId.get(p.samples[i])?.callFrame
    const us = p.timeDeltas[i] ?? 0
    // samples in the inspector's own post() (starting and stopping the profiler) are not training
    if (cf == null || cf.url.startsWith('node:inspector')) continue
    total += us
    const b = bucketOf(cf.functionName, cf.url)
    buckets.set(b, (buckets.get(b) ?? 0) + us)
    const file = cf.url.split('/').slice(-2).join('/')
    const name = `${cf.functionName === '' ? '(anonymous)' : cf.functionName} ${file}`.trim()
    fns.set(name, (fns.get(name) ?? 0) + us)
  }
  const pct = (us: number): number => round(100 * us / Math.max(total, 1), 1)
  return {
    buckets: Object.fromEntries([...buckets.entries()].sort((a, b) => b[1] - a[1]).map(([k, us]) => [k, pct(us)])),
    topFunctions: [...fns.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, us]) => ({ name, percent: pct(us) }))
  }
}

export async function profileTraining (job: { model: ModelSpec, params: Float32Array, indices: Uint32Array, training: TrainingSpec }): Promise<TrainingProfile> {
  const dataset = { kind: 'mnist' } as const
  const session = new Session()
  session.connect()
  let cpu: CpuProfile
  let sps: number
  try {
    await session.post('Profiler.enable')
    await session.post('Profiler.setSamplingInterval', { interval: 100 })
    await session.post('Profiler.start')
    const r = await trainLocal({ ...job, dataset, seed: 7 })
    sps = r.examples / r.seconds
    cpu = (await session.post('Profiler.stop')).profile as unknown as CpuProfile
  } finally {
    session.disconnect()
  }
  // per-kernel wall time over at most 100 batches
  const indices = job.indices.subarray(0, Math.min(job.indices.length, 100 * job.training.batchSize))
  const batches = Math.ceil(indices.length / job.training.batchSize)
  let loopMs = 0
  const info = await tf.profile(async () => { loopMs = 1000 * (await trainLocal({ ...job, indices, dataset, seed: 8 })).seconds })
  const perKernel = new Map<string, { ms: number, calls: number }>()
  let kernelMs = 0
  // op wrappers that run through customGrad (tf.fused.*: `fusedConv2d__op`) are listed as well as the
  // kernel they call, whose time they contain: counting both would count that time twice
  const kernels = info.kernels.filter(k => !k.name.endsWith('__op'))
  for (const k of kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0
    const e = perKernel.get(k.name) ?? { ms: 0, calls: 0 }
    e.ms += ms
    e.calls++
    kernelMs += ms
    perKernel.set(k.name, e)
  }
  return {
    samplesPerSecProfiled: Math.round(sps),
    ...summarize(cpu, 12),
    kernels: [...perKernel.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 10)
      .map(([name, e]) => ({ name, percentOfLoop: round(100 * e.ms / loopMs, 1), callsPerBatch: round(e.calls / batches, 1) })),
    kernelCallsPerBatch: round(kernels.length / batches, 1),
    outsideKernelsPercent: round(100 * (loopMs - kernelMs) / loopMs, 1)
  }
}
