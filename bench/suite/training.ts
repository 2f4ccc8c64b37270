/**
 * The training part of bench/bench.ts: local training throughput (samples/s) of two small MNIST models
 * on the project's default tfjs backend (`auto`), one training job on this thread (`trainLocal`), next
 * to PyTorch on one CPU thread training the same architectures on the same examples
 * (bench/torch_train.py), interleaved rep by rep so that both see the same machine load.
 *
 * Models (ModelSpec → layers, see src/learning/layout.ts):
 * - mlp `{ kind: 'mlp', hidden: [128], activation: 'relu' }`: 784-128-10, relu, softmax output.
 * - cnn `{ kind: 'cnn', filters: [8], dense: 10, activation: 'relu' }`: conv 5x5x8 ('same') relu →
 *   maxpool 2 → flatten (1568) → dense 10 relu → dense 10 softmax. The cnn kind always has one hidden
 *   dense layer before the output; 10 units is the closest match to "conv5x5x8 → maxpool → dense 10".
 * Both: batch 32, plain SGD (lr 0.05, no momentum), samples/s of a timed pass after a warm-up, on
 * the first max(mlp, cnn examples) MNIST training examples (torch's pass covers all of them), with
 * glibc malloc told to keep freed memory (MALLOC_ENV).
 */

import { spawnSync } from 'node:child_process'
import { rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ModelSpec, TrainingSpec } from '../../src/config/types.ts'
import { initialParams, loadDataset, trainLocal, useBackend, wasmSimdProblem } from '../../src/learning/index.ts'
import { MALLOC_ENV, finiteOrNull, median, progress } from './common.ts'
import { profileTraining } from './profile.ts'
import type { TrainingProfile } from './profile.ts'

export interface TrainingOptions {
  small: boolean
  /** Profile one extra pass per model (bench/suite/profile.ts). */
  profile?: boolean
}

export interface ModelFigures {
  /** The ModelSpec trained on the tfjs side and what it is. */
  spec: ModelSpec
  layers: string
  parameters: number
  /** Median samples/s of the timed tfjs passes. */
  samplesPerSec: number
  /** Median samples/s of the timed PyTorch passes, null without python3 + torch. */
  torchSamplesPerSec: number | null
  /** samplesPerSec / torchSamplesPerSec, null without torch. */
  ratioVsTorch: number | null
  examples: number
  tfjsRuns: number[]
  torchRuns: number[]
  /**
   * The same per second of CPU time of the process (user + system) instead of wall time: less
   * sensitive to other load on a shared machine (a descheduled process loses wall time, not CPU time).
   */
  cpuSamplesPerSec: number
  torchCpuSamplesPerSec: number | null
  ratioVsTorchCpu: number | null
  /** tfjs / torch of each rep (the two passes run one after the other), and their median. */
  pairRatios: number[]
  ratioMedianOfPairs: number | null
  /** With --profile: where the tfjs pass spends its time. */
  profile?: TrainingProfile
}

export interface TrainingResult {
  backend: string
  /** On wasm: whether the SIMD loops of src/learning/wasm-simd.ts were on (null on other backends). */
  wasmSimd: boolean | null
  /** Why they were off (absent when they were on). */
  wasmSimdProblem?: string
  batchSize: number
  optimizer: string
  learningRate: number
  reps: number
  warmupBatches: number
  mlp: ModelFigures
  cnn: ModelFigures
  torch: { python: string, version: string, threads: number } | null
  /** Why the torch figures are null (absent when they are not). */
  torchMessage?: string
}

const PART = 'training'
const BATCH = 32
const LR = 0.05
const WARMUP_BATCHES = 20
const TORCH_SCRIPT = fileURLToPath(new URL('../torch_train.py', import.meta.url))

const MODELS: Record<'mlp' | 'cnn', { spec: ModelSpec, layers: string }> = {
  mlp: { spec: { kind: 'mlp', hidden: [128], activation: 'relu' }, layers: 'dense 784-128 relu → dense 10 softmax' },
  cnn: {
    spec: { kind: 'cnn', filters: [8], dense: 10, activation: 'relu' },
    layers: "conv 5x5x8 'same' relu → maxpool 2 → flatten 1568 → dense 10 relu → dense 10 softmax"
  }
}

/** The first python that imports torch: $FEDSWARM_PYTHON, python3 on PATH, /usr/bin/python3. */
function findTorch (): { python: string, version: string } | { message: string } {
  const candidates = [...new Set([process.env.FEDSWARM_PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => p != null && p !== ''))]
  const tried: string[] = []
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8', timeout: 120_000 })
    if (r.error != null) {
      tried.push(`${python}: ${(r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : r.error.message}`)
      continue
    }
    if (r.status === 0) return { python, version: r.stdout.trim() }
    const last = r.stderr.trim().split('\n').at(-1) ?? `exit ${r.status}`
    tried.push(`${python}: ${last}`)
  }
  return { message: `PyTorch figures are null: no python3 with torch here (${tried.join('; ')})` }
}

export async function trainingPart ({ small, profile = false }: TrainingOptions): Promise<TrainingResult> {
  const reps = small ? 1 : 5
  const examples = { mlp: small ? 2000 : 12_000, cnn: small ? 500 : 3000 }
  const backend = await useBackend('auto')
  const simdProblem = backend === 'wasm' ? await wasmSimdProblem() : null
  const wasmSimd = backend === 'wasm' ? simdProblem == null : null
  const ds = await loadDataset({ kind: 'mnist' })
  const n = Math.max(examples.mlp, examples.cnn)
  const training: TrainingSpec = { epochs: 1, batchSize: BATCH, learningRate: LR, optimizer: 'sgd', momentum: 0 }
  progress(PART, `backend ${backend}${wasmSimd === true ? ' (SIMD loops on)' : wasmSimd === false ? ` (SIMD loops off: ${simdProblem})` : ''}, batch ${BATCH}, sgd lr ${LR}, ${reps} rep(s), mlp ${examples.mlp} / cnn ${examples.cnn} examples per timed pass`)

  const torch = findTorch()
  let dataFile: string | undefined
  if ('python' in torch) {
    // the same examples for torch: n·784 float32 pixels (as loaded, in [0, 1]), then n uint8 labels
    dataFile = join(tmpdir(), `fedswarm-bench-mnist-${process.pid}.bin`)
    const x = ds.trainX.subarray(0, n * ds.features)
    const buf = Buffer.alloc(x.byteLength + n)
    Buffer.from(x.buffer, x.byteOffset, x.byteLength).copy(buf, 0)
    Buffer.from(ds.trainY.buffer, ds.trainY.byteOffset, n).copy(buf, x.byteLength)
    writeFileSync(dataFile, buf)
    progress(PART, `torch ${torch.version} (${torch.python}), one thread`)
  } else {
    progress(PART, torch.message)
  }
  let torchInfo: TrainingResult['torch'] = null

  const runTorch = (kind: 'mlp' | 'cnn', count: number, seed: number): { wall: number, cpu: number } => {
    if (!('python' in torch) || dataFile == null) return { wall: NaN, cpu: NaN }
    // every example written: torch's timed pass lasts about as long as the tfjs one (torch is faster on the cnn)
    const r = spawnSync(torch.python, [TORCH_SCRIPT, '--data', dataFile, '--n', String(n), '--model', kind, '--examples', String(n),
      '--warmup', String(WARMUP_BATCHES), '--batch', String(BATCH), '--lr', String(LR), '--seed', String(seed)], { encoding: 'utf8', timeout: 600_000, env: { ...MALLOC_ENV, ...process.env } })
    if (r.status !== 0) throw new Error(`torch_train.py ${kind} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`)
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { samplesPerSec: number, cpuSamplesPerSec: number | null, torch: string, threads: number }
    torchInfo = { python: torch.python, version: out.torch, threads: out.threads }
    return { wall: out.samplesPerSec, cpu: out.cpuSamplesPerSec ?? NaN }
  }

  const figures = {} as Record<'mlp' | 'cnn', ModelFigures>
  try {
    for (const kind of ['mlp', 'cnn'] as const) {
      const { spec, layers } = MODELS[kind]
      const params = initialParams(spec, ds.inputShape, ds.classes, 1)
      const count = examples[kind]
      const indices = Uint32Array.from({ length: count }, (_, i) => i)
      // warm-up: JIT, kernel set-up, XNNPACK operators, the model build
      await trainLocal({ model: spec, dataset: { kind: 'mnist' }, indices: indices.subarray(0, WARMUP_BATCHES * BATCH), params, training, seed: 0 })
      const tfjsRuns: number[] = []
      const torchRuns: number[] = []
      const tfjsCpu: number[] = []
      const torchCpu: number[] = []
      for (let rep = 1; rep <= reps; rep++) {
        const cpu0 = process.cpuUsage()
        const r = await trainLocal({ model: spec, dataset: { kind: 'mnist' }, indices, params, training, seed: rep })
        const cpu = process.cpuUsage(cpu0)
        tfjsRuns.push(r.examples / r.seconds)
        tfjsCpu.push(r.examples / ((cpu.user + cpu.system) / 1e6))
        const t = runTorch(kind, count, rep)
        if (Number.isFinite(t.wall)) torchRuns.push(t.wall)
        if (Number.isFinite(t.cpu)) torchCpu.push(t.cpu)
        progress(PART, `${kind} rep ${rep}/${reps}: tfjs ${Math.round(r.examples / r.seconds)} samples/s (${Math.round(tfjsCpu.at(-1)!)} per CPU second)` +
          (Number.isFinite(t.wall) ? `, torch ${Math.round(t.wall)} samples/s (${Math.round(t.cpu)} per CPU second)` : ''))
      }
      const sps = median(tfjsRuns)
      const tsps = torchRuns.length > 0 ? median(torchRuns) : null
      const cps = median(tfjsCpu)
      const tcps = torchCpu.length > 0 ? median(torchCpu) : null
      figures[kind] = {
        spec,
        layers,
        parameters: params.length,
        samplesPerSec: Math.round(sps),
        torchSamplesPerSec: tsps == null ? null : Math.round(tsps),
        ratioVsTorch: tsps == null ? null : finiteOrNull(sps / tsps),
        cpuSamplesPerSec: Math.round(cps),
        torchCpuSamplesPerSec: tcps == null ? null : Math.round(tcps),
        ratioVsTorchCpu: tcps == null ? null : finiteOrNull(cps / tcps),
        examples: count,
        tfjsRuns: tfjsRuns.map(Math.round),
        torchRuns: torchRuns.map(Math.round),
        pairRatios: torchRuns.map((t, i) => finiteOrNull(tfjsRuns[i] / t) ?? NaN),
        ratioMedianOfPairs: torchRuns.length > 0 ? finiteOrNull(median(torchRuns.map((t, i) => tfjsRuns[i] / t))) : null
      }
      if (profile) {
        progress(PART, `${kind}: profiling one more pass`)
        const p = await profileTraining({ model: spec, params, indices, training })
        figures[kind].profile = p
        progress(PART, `${kind} profile: ${Object.entries(p.buckets).map(([k, v]) => `${k} ${v}%`).join(', ')}`)
        progress(PART, `${kind} kernels (% of loop): ${p.kernels.map(k => `${k.name} ${k.percentOfLoop}%`).join(', ')}; outside kernels ${p.outsideKernelsPercent}%`)
      }
    }
  } finally {
    if (dataFile != null) rmSync(dataFile, { force: true })
  }
  return {
    backend,
    wasmSimd,
    ...(simdProblem != null ? { wasmSimdProblem: simdProblem } : {}),
    batchSize: BATCH,
    optimizer: 'sgd',
    learningRate: LR,
    reps,
    warmupBatches: WARMUP_BATCHES,
    mlp: figures.mlp,
    cnn: figures.cnn,
    torch: torchInfo,
    ...('message' in torch ? { torchMessage: torch.message } : {})
  }
}
