// Fault injection (`npm run test:chaos`): real swarms (the simulator's libp2p peers over the memory
// transport, the real round protocol with secure aggregation) under gossip loss and delay, a partition,
// slow peers and crashes in every phase (sim/faults.ts, --dropout). Each scenario is reproducible by its
// fault seed. What must hold: every round that completes is bit-identical on every peer that completes
// it (Invariant 1), and the swarm makes progress once the fault allows it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTask } from '../../src/config/index.ts'
import { simulate } from '../../sim/simulate.ts'
import type { SimReport } from '../../sim/report.ts'
import { parseFaults } from '../../sim/faults.ts'

const task = (over: Record<string, unknown> = {}) => createTask({
  rounds: 3,
  model: { kind: 'mlp', hidden: [32] },
  cohort: { size: 6, minSurvivors: 3 },
  secureAggregation: true,
  timeouts: { joinMs: 1500, cohortMs: 1500, updateMs: 30000, survivorsMs: 8000 },
  ...over
})

async function run (faults: string, over: Record<string, unknown> = {}, peers = 6, dropout = 0, seed = 7): Promise<SimReport> {
  return await simulate({ task: task(over), peers, transport: 'memory', processes: 0, dropout, faults: parseFaults(faults, seed), backend: 'auto', evalLimit: 300 })
}

function agreed (report: SimReport): void {
  assert.equal(report.mismatches, 0, 'some round ended with different models')
  for (const row of report.rounds) {
    if (row.peersCompleted > 0) assert.equal(row.peersAgreeing, row.peersCompleted, `round ${row.round}: ${row.peersAgreeing} of ${row.peersCompleted} agree`)
  }
}

const completed = (r: SimReport): number => r.rounds.filter(x => x.peersCompleted > 0).length

test('15% gossip loss and up to 150 ms delay: every round completes and agrees', { timeout: 400_000 }, async () => {
  const r = await run('loss:0.15,delay:150')
  agreed(r)
  assert.equal(completed(r), 3)
  assert.ok((r.faults?.dropped ?? 0) > 0 && (r.faults?.delayed ?? 0) > 0, `faults injected: ${JSON.stringify(r.faults)}`)
})

test('in-network aggregation under 10% loss: rounds complete and agree', { timeout: 400_000 }, async () => {
  const r = await run('loss:0.1', { aggregation: { sliceFrom: 4 } })
  agreed(r)
  assert.equal(completed(r), 3)
})

test('a partition for the first 15 s (two halves of 3, 4 needed): the swarm heals and every completed round agrees', { timeout: 400_000 }, async () => {
  const r = await run('partition:0-15', { cohort: { size: 6, minSurvivors: 4 } })
  agreed(r)
  assert.equal(completed(r), 3, 'every round completes once the halves heal')
  assert.ok((r.faults?.dropped ?? 0) > 0, 'the partition dropped gossip across the halves')
  // no half holds 4 peers: round 1 cannot complete before the heal, so it took more than one attempt
  assert.ok(r.rounds[0].attempts > 1, `round 1 took ${r.rounds[0].attempts} attempt(s)`)
})

test('slow peers (40%): rounds complete and agree', { timeout: 400_000 }, async () => {
  const r = await run('slow:0.4')
  agreed(r)
  assert.equal(completed(r), 3)
})

test('crashes in every phase (dropout 0.3) with 10% loss: completed rounds agree', { timeout: 400_000 }, async () => {
  const r = await run('loss:0.1', {}, 6, 0.3)
  agreed(r)
  assert.ok(completed(r) >= 2, `${completed(r)} of 3 rounds completed`)
})

test('a partition that lets both halves complete rounds (3 and 2 peers, 2 needed): after it heals the smaller half takes the larger half\'s chain and every peer ends on one model', { timeout: 400_000 }, async () => {
  const lines: string[] = []
  const r = await simulate({
    task: task({ rounds: 8, cohort: { size: 5, minSurvivors: 2 } }),
    peers: 5,
    transport: 'memory',
    processes: 0,
    dropout: 0,
    faults: parseFaults('partition:0-8', 7),
    backend: 'auto',
    evalLimit: 300,
    log: line => { lines.push(line) }
  })
  const forks = lines.filter(l => l.includes('fork: peer'))
  console.log(`partition with two quorums: forks ${r.forks ?? 0}; rounds ${JSON.stringify(r.rounds.map(x => `${x.round}: ${x.peersAgreeing}/${x.peersCompleted} agree, ${x.peersSynced} synced`))}; ${forks.join(' | ')}`)
  // Both halves completed rounds of their own during the partition, and the two peers of the smaller half
  // gave theirs up for the larger half's chain (each says so once) ...
  assert.equal(r.forks, 2, `${r.forks ?? 0} peer(s) left their chain`)
  assert.equal(new Set(forks.map(l => /peer (\S+)/.exec(l)?.[1])).size, 2)
  // ... then took part again: the last round is aggregated by all five, on one model
  const last = r.rounds[r.rounds.length - 1]
  assert.equal(last.round, 8)
  assert.equal(last.peersCompleted, 5, `round 8: ${last.peersCompleted} of 5 peers completed it`)
  assert.equal(last.peersAgreeing, 5, `round 8: ${last.peersAgreeing} of 5 peers agree`)
})
