// `npm run fuzz`: runs every fuzz target (test/fuzz/targets) for 100,000 inputs each (network targets
// fewer, see their `scale`), each in its own child process under a watchdog (a synchronous hang cannot
// be interrupted from inside), and prints per target: runs, time, failures, memory retained, slowest
// call and the most frequent outcomes. Exits 1 if any target failed.
//
//   node --import tsx test/fuzz/run.ts [--runs N] [--only name,name…] [--seed S] [--jobs J] [--out file.json]
//   env: FUZZ_RUNS, FUZZ_SEED, FUZZ_ONLY, FUZZ_JOBS (same meaning); --only takes names or prefixes (round, file)
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runTarget } from './harness.ts'
import type { TargetResult } from './harness.ts'
import { allTargets } from './targets/index.ts'

const self = fileURLToPath(import.meta.url)

function arg (name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? process.argv[i + 1] : undefined
}

const runs = Number(arg('runs') ?? process.env.FUZZ_RUNS ?? 100_000)
const seed = Number(arg('seed') ?? process.env.FUZZ_SEED ?? (Date.now() % 2 ** 31))
const only = (arg('only') ?? process.env.FUZZ_ONLY ?? '').split(',').filter(s => s !== '')
const child = arg('child')
const jobs = Math.max(1, Number(arg('jobs') ?? process.env.FUZZ_JOBS ?? 1))

if (!Number.isSafeInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer (got ${String(arg('runs') ?? process.env.FUZZ_RUNS)})`)

if (child != null) {
  const target = allTargets().find(t => t.name === child)
  if (target == null) throw new Error(`no fuzz target ${child}`)
  const result = await runTarget(target, { runs, seed, log: (line) => process.stderr.write(`  ${line}\n`) })
  process.stdout.write(`FUZZ-RESULT ${JSON.stringify(result)}\n`)
  process.exit(0)
}

const targets = allTargets().filter(t => only.length === 0 || only.some(o => t.name === o || t.name.startsWith(`${o}:`)))
if (targets.length === 0) throw new Error(`no fuzz target matches ${only.join(', ')}`)

function runChild (name: string, scale: number): Promise<TargetResult> {
  const budgetMs = 600_000 + 20 * runs * scale
  return new Promise(resolve => {
    const started = Date.now()
    const p = spawn(process.execPath, [...process.execArgv, self, '--child', name, '--runs', String(runs), '--seed', String(seed)], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    p.stdout.on('data', (d: Buffer) => { out += d.toString() })
    const watchdog = setTimeout(() => { p.kill('SIGKILL') }, budgetMs)
    p.on('close', (code, signal) => {
      clearTimeout(watchdog)
      const line = out.split('\n').find(l => l.startsWith('FUZZ-RESULT '))
      if (line != null) return resolve(JSON.parse(line.slice('FUZZ-RESULT '.length)) as TargetResult)
      const why = signal === 'SIGKILL' ? `killed by the watchdog after ${budgetMs} ms (a hang)` : `exited with ${String(code ?? signal)} before reporting (a crash)`
      resolve({ name, runs: 0, ms: Date.now() - started, failures: 1, examples: [why], outcomes: {}, retainedBytes: 0, slowestMs: 0, seed })
    })
  })
}

function top (outcomes: Record<string, number>, n = 3): string {
  return Object.entries(outcomes).sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${k} ${v}`).join(', ')
}

console.log(`fuzz: ${targets.length} targets, ${runs} runs per message type (network and file targets scaled), seed ${seed}, ${jobs} at a time`)
const results: TargetResult[] = []
const queue = [...targets]
await Promise.all(Array.from({ length: jobs }, async () => {
  for (let t = queue.shift(); t != null; t = queue.shift()) {
    const r = await runChild(t.name, t.scale ?? 1)
    results.push(r)
    console.log(`${r.failures === 0 ? 'ok  ' : 'FAIL'} ${r.name.padEnd(22)} runs ${String(r.runs).padStart(7)}  time ${(r.ms / 1000).toFixed(1).padStart(7)} s  failures ${String(r.failures).padStart(3)}  retained ${(r.retainedBytes / 1048576).toFixed(1).padStart(5)} MiB  slowest ${r.slowestMs.toFixed(0).padStart(5)} ms  | ${top(r.outcomes)}`)
    for (const e of r.examples) console.log(`       ${e.slice(0, 2000)}`)
  }
}))
results.sort((a, b) => targets.findIndex(t => t.name === a.name) - targets.findIndex(t => t.name === b.name))
const failed = results.filter(r => r.failures > 0)
const totalRuns = results.reduce((s, r) => s + r.runs, 0)
const totalMs = results.reduce((s, r) => s + r.ms, 0)
console.log(`fuzz: ${totalRuns} inputs in ${(totalMs / 1000).toFixed(0)} s, ${failed.length} of ${results.length} targets failed${failed.length > 0 ? `: ${failed.map(r => r.name).join(', ')}` : ''}; reproduce with --seed ${seed}`)
const outFile = arg('out')
if (outFile != null) {
  mkdirSync(dirname(outFile), { recursive: true })
  writeFileSync(outFile, `${JSON.stringify({ runs, seed, results }, null, 2)}\n`)
}
process.exit(failed.length > 0 ? 1 : 0)
