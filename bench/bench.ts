/**
 * The project's benchmark (`npm run bench`): one run, side-by-side figures, one JSON file.
 *
 * - training: samples/s of an MLP 784-128-10 and a small CNN on MNIST (batch 32, plain SGD) on the
 *   default tfjs backend, next to PyTorch on one thread with the same models and examples (ratio).
 * - round: the same simulated swarm (peers = cohort = 50, the 2NN with d = 199,210) with plain FedAvg
 *   and with secure aggregation + DP-FedAvg: median round time and bytes per member, their ratio, and
 *   bytes per member over the 4·d floor of one masked vector.
 * - masks: secure-aggregation mask generation throughput (MB/s of keystream per member).
 * - scale: 100 peers, cohort 50, secure aggregation, one process: seconds per round, RSS per peer.
 *
 * Each part runs in its own child process (`--part`), so that parts do not share tfjs, workers or heap
 * (the scale part's RSS is its own). Progress on stderr, a table on stdout, the JSON in `--json FILE`.
 *
 *   node --import tsx bench/bench.ts [--json FILE] [--small] [--only training,round,masks,scale] [--profile] [--verbose]
 *
 * --small: a configuration for CI (fewer examples and reps, 6-peer round, 10-peer scale); --profile:
 * one more training pass per model under the V8 profiler and tf.profile (bench/suite/profile.ts);
 * --verbose: every line the simulated peers log.
 *   npm run bench -- --json bench.json
 */

import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MALLOC_ENV } from './suite/common.ts'

const PARTS = ['training', 'round', 'masks', 'scale'] as const
type Part = typeof PARTS[number]
/** The 2NN's parameter count: the vector the masks part masks (as in the round part). */
const MASK_LENGTH = 199_210
/** Wall-clock bound of each part's child process, in minutes (full, small). */
const PART_MINUTES: Record<Part, [number, number]> = { training: [20, 3], round: [90, 8], masks: [10, 2], scale: [90, 8] }

const args = process.argv.slice(2)
const usage = 'usage: node --import tsx bench/bench.ts [--json FILE] [--small] [--only training,round,masks,scale] [--profile] [--verbose]'

function flagValue (name: string): string | undefined {
  const at = args.indexOf(name)
  if (at < 0) return undefined
  const v = args[at + 1]
  if (v == null || v.startsWith('--')) fail(`${name} needs a value`)
  return v
}

function fail (message: string): never {
  process.stderr.write(`${message}\n${usage}\n`)
  process.exit(2)
}

const known = new Set(['--json', '--small', '--only', '--profile', '--verbose', '--part', '--out', '--help'])
for (let i = 0; i < args.length; i++) {
  if (!known.has(args[i])) fail(`unknown argument ${JSON.stringify(args[i])}`)
  if (['--json', '--only', '--part', '--out'].includes(args[i])) i++
}
if (args.includes('--help')) {
  process.stdout.write(`${usage}\n`)
  process.exit(0)
}
const small = args.includes('--small')
const profile = args.includes('--profile')
const verbose = args.includes('--verbose')
const jsonFile = flagValue('--json')
const onlyFlag = flagValue('--only')
const only: Part[] = onlyFlag == null
  ? [...PARTS]
  : onlyFlag.split(',').map(s => s.trim()).filter(s => s !== '').map(s => (PARTS as readonly string[]).includes(s) ? s as Part : fail(`--only: unknown part ${JSON.stringify(s)} (parts: ${PARTS.join(', ')})`))
if (only.length === 0) fail('--only needs at least one part')

// ---------------------------------------------------------------- one part, in a child process

async function runPart (part: Part, save: (partial: unknown) => void): Promise<unknown> {
  switch (part) {
    case 'training': return await (await import('./suite/training.ts')).trainingPart({ small, profile })
    case 'round': return await (await import('./suite/swarm.ts')).roundPart({ small, verbose, save })
    case 'masks': return await (await import('./suite/masks.ts')).masksPart({ small, length: MASK_LENGTH })
    case 'scale': return await (await import('./suite/swarm.ts')).scalePart({ small, verbose, save })
  }
}

const partFlag = flagValue('--part')
if (partFlag != null) {
  const out = flagValue('--out') ?? fail('--part needs --out FILE')
  const part = (PARTS as readonly string[]).includes(partFlag) ? partFlag as Part : fail(`--part: unknown part ${partFlag}`)
  // partial figures go to `out` as they come, so a crash later (e.g. out of memory) keeps them
  const result = await runPart(part, partial => writeFileSync(out, JSON.stringify({ ...(partial as object), incomplete: true })))
  writeFileSync(out, JSON.stringify(result))
  process.exit(0) // the sim's and trainer's handles are closed; do not wait for stray timers
}

// ---------------------------------------------------------------- the whole run

const self = fileURLToPath(import.meta.url)
/**
 * V8 heap limit of the simulation parts' processes, MB: half the machine's memory (at least the default).
 * 50 in-process peers outgrow node's default limit (about 4 GB here) when rounds are slow.
 */
const SIM_HEAP_MB = Math.max(4096, Math.floor(totalmem() / 1e6 / 2))
const tsx = ((): string => { try { return import.meta.resolve('tsx') } catch { return 'tsx' } })()

/** Runs `part` in a child process (bounded in time) and returns its JSON result or the reason it has none. */
async function spawnPart (part: Part, dir: string): Promise<{ result?: any, error?: string, seconds: number }> {
  const out = join(dir, `${part}.json`)
  const minutes = PART_MINUTES[part][small ? 1 : 0]
  const started = performance.now()
  const heap = part === 'round' || part === 'scale' ? [`--max-old-space-size=${SIM_HEAP_MB}`] : []
  // the training part runs with the malloc settings its torch processes get (bench/suite/training.ts)
  const env = part === 'training' ? { ...MALLOC_ENV, ...process.env } : process.env
  const child = spawn(process.execPath, [...heap, '--import', tsx, self, '--part', part, '--out', out, ...(small ? ['--small'] : []), ...(profile ? ['--profile'] : []), ...(verbose ? ['--verbose'] : [])], { stdio: ['ignore', 'inherit', 'inherit'], env })
  let timedOut = false
  const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, minutes * 60_000)
  const exit = await new Promise<string>(resolve => {
    child.on('exit', (c, signal) => resolve(c === 0 ? '' : signal != null ? `was killed by ${signal}${signal === 'SIGABRT' ? ' (V8 aborts so when out of memory)' : ''}` : `exited with code ${c}`))
    child.on('error', err => resolve(`did not start: ${err.message}`))
  })
  clearTimeout(timer)
  const seconds = Math.round((performance.now() - started) / 100) / 10
  const partial = (): any => { try { return JSON.parse(readFileSync(out, 'utf8')) } catch { return undefined } }
  if (timedOut) return { error: `${part}: stopped after ${minutes} min`, result: partial(), seconds }
  if (exit !== '') return { error: `${part}: the child process ${exit}`, result: partial(), seconds }
  try {
    return { result: JSON.parse(readFileSync(out, 'utf8')), seconds }
  } catch (err) {
    return { error: `${part}: no result (${(err as Error).message})`, seconds }
  }
}

const startedAt = new Date()
const loadAtStart = loadavg().map(x => Math.round(x * 100) / 100)
const dir = mkdtempSync(join(tmpdir(), 'fedswarm-bench-'))
const results: Partial<Record<Part, any>> = {}
const messages: string[] = []
const partSeconds: Partial<Record<Part, number>> = {}
let failed = false
process.stderr.write(`fedswarm bench${small ? ' --small' : ''}: ${only.join(', ')}; node ${process.version}, ${availableParallelism()} cores\n`)
try {
  for (const part of PARTS) {
    if (!only.includes(part)) continue
    process.stderr.write(`[${part}] starting\n`)
    const r = await spawnPart(part, dir)
    partSeconds[part] = r.seconds
    if (r.error != null) {
      failed = true
      messages.push(r.error + (r.result != null ? ' (the figures it had saved are kept, marked incomplete)' : ''))
      process.stderr.write(`[${part}] ${r.error}\n`)
    }
    if (r.result != null) results[part] = r.result
    process.stderr.write(`[${part}] done in ${r.seconds} s\n`)
  }
} finally {
  rmSync(dir, { recursive: true, force: true })
}

const tr = results.training
const rd = results.round
const mk = results.masks
const sc = results.scale
const pick = (m: any): any => m == null ? null : { samplesPerSec: m.samplesPerSec, torchSamplesPerSec: m.torchSamplesPerSec, ratioVsTorch: m.ratioVsTorch, cpuSamplesPerSec: m.cpuSamplesPerSec, torchCpuSamplesPerSec: m.torchCpuSamplesPerSec, ratioVsTorchCpu: m.ratioVsTorchCpu, spec: m.spec, layers: m.layers, parameters: m.parameters, examples: m.examples, tfjsRuns: m.tfjsRuns, torchRuns: m.torchRuns, pairRatios: m.pairRatios, ratioMedianOfPairs: m.ratioMedianOfPairs, ...(m.profile != null ? { profile: m.profile } : {}) }
if (tr?.torchMessage != null) messages.push(tr.torchMessage)
if (rd?.plain?.error != null) messages.push(`round: ${rd.plain.error}`)
if (rd?.secureDp?.error != null) messages.push(`round: ${rd.secureDp.error}`)
if (sc?.error != null) messages.push(`scale: ${sc.error}${sc.largestWorking != null ? ` (largest swarm that worked: ${sc.largestWorking} peers)` : ''}`)

const report = {
  bench: 'fedswarm',
  startedAt: startedAt.toISOString(),
  seconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
  small,
  parts: only,
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  cores: availableParallelism(),
  cpu: cpus()[0]?.model ?? null,
  memoryGb: Math.round(totalmem() / 1e9),
  /** 1, 5 and 15 minute load averages at the start and end: other work on the machine skews the figures. */
  loadAverage: { start: loadAtStart, end: loadavg().map(x => Math.round(x * 100) / 100) },
  simHeapLimitMb: SIM_HEAP_MB,
  backend: tr?.backend ?? null,
  d: rd?.d ?? MASK_LENGTH,
  training: tr == null
    ? null
    : { mlp: pick(tr.mlp), cnn: pick(tr.cnn), backend: tr.backend, wasmSimd: tr.wasmSimd, wasmSimdProblem: tr.wasmSimdProblem, batchSize: tr.batchSize, optimizer: tr.optimizer, learningRate: tr.learningRate, reps: tr.reps, warmupBatches: tr.warmupBatches, torch: tr.torch },
  round: rd ?? null,
  masks: mk ?? null,
  scale: sc ?? null,
  partSeconds,
  messages
}

if (jsonFile != null) writeFileSync(jsonFile, JSON.stringify(report, null, 2) + '\n')

// ---------------------------------------------------------------- the table

const fmt = (x: unknown, digits = 0): string => typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '-'
const mb = (b: unknown): string => typeof b === 'number' ? (b / 1e6).toFixed(2) + ' MB' : '-'
const lines: string[] = []
lines.push(`fedswarm bench${small ? ' --small' : ''}  node ${report.node}, ${report.cores} cores, backend ${report.backend ?? '-'}`)
if (tr != null) {
  lines.push('', 'training (MNIST, batch 32, sgd)   tfjs samples/s   torch samples/s   tfjs/torch   (per CPU second: tfjs, torch, ratio)')
  for (const k of ['mlp', 'cnn'] as const) {
    const m = tr[k]
    lines.push(`  ${k === 'mlp' ? 'mlp 784-128-10        ' : 'cnn 5x5x8-pool-10-10  '}           ${fmt(m.samplesPerSec).padStart(8)}          ${fmt(m.torchSamplesPerSec).padStart(8)}       ${fmt(m.ratioVsTorch, 3).padStart(6)}` +
      `     (${fmt(m.cpuSamplesPerSec)}, ${fmt(m.torchCpuSamplesPerSec)}, ${fmt(m.ratioVsTorchCpu, 3)})`)
  }
}
if (rd != null) {
  lines.push('', `round (${rd.peers} peers = cohort, d = ${rd.d}, ${rd.medianOf} medians)   plain        secure+DP    ratio`)
  lines.push(`  seconds per round                        ${fmt(rd.plainSeconds, 2).padStart(8)}     ${fmt(rd.secureDpSeconds, 2).padStart(8)}   ${fmt(rd.secureDpVsPlainTime, 3).padStart(6)}`)
  lines.push(`  received per member                   ${mb(rd.plainBytesPerMember).padStart(11)}  ${mb(rd.secureDpBytesPerMember).padStart(11)}   ${fmt(rd.bytesPerMemberVsFloor, 2).padStart(6)} × 4·d (secure+DP)`)
  lines.push(`  sent per member                       ${mb(rd.plainBytesSentPerMember).padStart(11)}  ${mb(rd.secureDpBytesSentPerMember).padStart(11)}`)
  lines.push(`  seconds per round without the join phase ratio: ${fmt(rd.secureDpVsPlainTimeAfterJoin, 3)}`)
}
if (mk != null) lines.push('', `masks  maskInput ${fmt(mk.mbPerSec)} MB/s (d ${mk.length}, cohort ${mk.cohort}); MaskStream ${fmt(mk.streamMbPerSec)} MB/s; randomFillSync ${fmt(mk.randomFillMbPerSec)} MB/s`)
if (sc != null) lines.push('', `scale  ${sc.peers ?? '-'} peers, cohort ${sc.cohort}, secure: ${fmt(sc.secondsPerRound, 2)} s/round, RSS ${fmt(sc.rssEndMb)} MB at end (${fmt(sc.rssMbPerPeer, 2)} MB/peer), ${fmt(sc.rssStartMb)} MB at start, peak ${fmt(sc.rssPeakMb)} MB`)
for (const m of messages) lines.push(`note: ${m}`)
if (jsonFile != null) lines.push('', `JSON written to ${jsonFile}`)
process.stdout.write(lines.join('\n') + '\n')
process.exit(failed ? 1 : 0)
