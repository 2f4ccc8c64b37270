// A swarm spread over two child processes talking TCP on loopback: every peer in both processes ends
// every round with the same model hash.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTask } from '../src/config/index.ts'
import { simulate } from '../sim/simulate.ts'

test('2 processes x 2 peers over TCP: 2 rounds, identical hashes across processes', { timeout: 300_000 }, async () => {
  const task = createTask({
    rounds: 2,
    model: { kind: 'mlp', hidden: [32] },
    cohort: { size: 4, minSurvivors: 2 },
    timeouts: { joinMs: 1500, cohortMs: 2000, updateMs: 90000, survivorsMs: 15000 }
  })
  const report = await simulate({ task, peers: 4, transport: 'tcp', processes: 2, dropout: 0, backend: 'auto', evalLimit: 1000, workers: 1 })
  assert.equal(report.rounds.length, 2)
  for (const row of report.rounds) {
    assert.equal(row.peersCompleted, 4, `round ${row.round}: ${row.peersCompleted} of 4 completed`)
    assert.equal(row.peersAgreeing, 4, `round ${row.round}: only ${row.peersAgreeing} agree`)
  }
})
