/**
 * Soak test (`npm run soak`): a long simulated swarm with churn — peers crash at random phases and come
 * back 1-2 rounds later (leave and rejoin), with secure aggregation — to show that every round agrees
 * and that memory stays flat. Prints each round's agreement and the process RSS, then a summary: rounds
 * agreed, RSS at the start, after the warm-up (round 10) and at the end, and (with --expose-gc, as
 * `npm run soak` runs it) the JS heap in use after a full GC every 10 rounds.
 *
 *   node --import tsx bench/soak.ts [--rounds 200] [--peers 6] [--dropout 0.15] [--json <file>]
 */
import { writeFile } from 'node:fs/promises'
import { createTask } from '../src/config/index.ts'
import { simulate } from '../sim/simulate.ts'
import { intFlag } from './cli-args.ts'

const args = process.argv.slice(2)
const rounds = intFlag('--rounds', 200, 1)
const peers = intFlag('--peers', 6, 3)
const dropoutAt = args.indexOf('--dropout')
const dropout = dropoutAt >= 0 ? Number(args[dropoutAt + 1]) : 0.15
if (!(dropout >= 0 && dropout <= 0.9)) { console.error(`--dropout: expected 0..0.9, got ${args[dropoutAt + 1]}`); process.exit(2) }
const jsonAt = args.indexOf('--json')
const jsonFile = jsonAt >= 0 ? args[jsonAt + 1] : undefined

const mb = (): number => Math.round(process.memoryUsage().rss / 1e6)
/** JS heap in use after a full GC (MB), or null when node runs without --expose-gc: the leak measure RSS is not. */
const gc = (globalThis as { gc?: () => void }).gc
const heapAfterGc = (): number | null => {
  if (gc == null) return null
  gc()
  return Math.round(process.memoryUsage().heapUsed / 1e6)
}
const task = createTask({
  rounds,
  model: { kind: 'mlp', hidden: [16] },
  training: { epochs: 1, batchSize: 32 },
  cohort: { size: peers, minSurvivors: Math.max(2, Math.floor(peers / 2)) },
  secureAggregation: true,
  timeouts: { joinMs: 1500, cohortMs: 1500, updateMs: 30_000, survivorsMs: 8000 }
})

const rss: Array<{ round: number, rssMb: number }> = [{ round: 0, rssMb: mb() }]
const heap: Array<{ round: number, heapMb: number }> = []
let agreed = 0
let completed = 0
const started = Date.now()
console.error(`soak: ${peers} peers, ${rounds} rounds, dropout ${dropout}, secure aggregation; RSS ${rss[0].rssMb} MB`)
const report = await simulate({
  task,
  peers,
  transport: 'memory',
  processes: 0,
  dropout,
  backend: 'auto',
  evalLimit: 200,
  onRow: (row) => {
    if (row.peersCompleted > 0) {
      completed++
      if (row.peersAgreeing === row.peersCompleted) agreed++
    }
    rss.push({ round: row.round, rssMb: mb() })
    if (row.round % 10 === 0 || row.round === rounds) {
      const h = heapAfterGc()
      if (h != null) heap.push({ round: row.round, heapMb: h })
      console.error(`round ${row.round}: ${agreed}/${completed} completed rounds agreed, acc ${row.accuracy == null ? '-' : (row.accuracy * 100).toFixed(1) + '%'}, RSS ${mb()} MB${h != null ? `, heap after GC ${h} MB` : ''}, ${((Date.now() - started) / 1000).toFixed(0)} s`)
    }
  }
})
const warm = rss.find(r => r.round >= 10) ?? rss.at(-1)!
const summary = {
  bench: 'soak',
  peers,
  rounds,
  dropout,
  roundsReported: report.rounds.length,
  roundsCompleted: completed,
  roundsAgreed: agreed,
  mismatches: report.mismatches,
  finalAccuracy: report.finalAccuracy,
  seconds: Math.round((Date.now() - started) / 1000),
  rssMb: { start: rss[0].rssMb, afterWarmup: warm.rssMb, warmupRound: warm.round, end: rss.at(-1)!.rssMb },
  rssByRound: rss,
  heapAfterGcMb: heap.length > 0 ? { first: heap[0], end: heap.at(-1) } : null,
  heapByRound: heap
}
const heapLine = heap.length > 0 ? `; JS heap after GC round ${heap[0].round} ${heap[0].heapMb} MB, end ${heap.at(-1)!.heapMb} MB` : ''
console.log(`rounds agreed ${agreed}/${completed} (of ${rounds}); RSS start ${summary.rssMb.start} MB, round ${warm.round} ${warm.rssMb} MB, end ${summary.rssMb.end} MB${heapLine}; ${summary.seconds} s`)
if (jsonFile != null) await writeFile(jsonFile, JSON.stringify(summary, null, 2) + '\n')
process.exit(report.mismatches === 0 && agreed === completed ? 0 : 1)
