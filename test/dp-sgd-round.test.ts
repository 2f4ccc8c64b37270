// DP-SGD in a swarm: local training runs DP-SGD (src/learning/dp-sgd.ts) when the task asks for it,
// every peer spends what its training did (q = B/N, steps) in its ledger, and the sim reports that ε.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTask } from '../src/config/index.ts'
import { simulate } from '../sim/simulate.ts'
import { epsilonFromRdp, rdpSampledGaussian, DEFAULT_RDP_ORDERS } from '../src/dp/accountant.ts'
import { createPrivacyLedger } from '../src/dp/ledger.ts'

test('DP-SGD rounds: every peer agrees, and ε is the accountant\'s for the steps local training took', { timeout: 180_000 }, async () => {
  const task = createTask({
    rounds: 2,
    model: { kind: 'mlp', hidden: [32] },
    cohort: { size: 3, minSurvivors: 2 },
    training: { batchSize: 250, learningRate: 0.1 },
    timeouts: { joinMs: 1000, cohortMs: 1500, updateMs: 60000, survivorsMs: 10000 },
    privacy: { dpSgd: true, noiseMultiplier: 1.1, l2NormClip: 1.5 }
  })
  const report = await simulate({ task, peers: 3, transport: 'memory', processes: 0, dropout: 0, backend: 'auto', evalLimit: 1000 })
  assert.equal(report.rounds.length, 2)
  // 60 000 examples over 3 peers (IID): 20 000 each, 80 steps of 250 per round, q = 250 / 20 000.
  const q = 250 / 20_000
  for (const row of report.rounds) {
    assert.equal(row.peersAgreeing, row.peersCompleted)
    const orders = [...DEFAULT_RDP_ORDERS]
    const rdp = epsilonFromRdp({ orders, rdp: rdpSampledGaussian({ sampleRate: q, noiseMultiplier: 1.1, steps: 80 * row.round, orders }), delta: task.privacy.delta }).epsilon
    // the ledger's ε: one entry per round, the smaller of the PLD and RDP bounds (PLD here)
    const entries = Array.from({ length: row.round }, (_, i) => ({ round: i + 1, mechanism: 'dp-sgd' as const, sampleRate: q, noiseMultiplier: 1.1, steps: 80 }))
    const expected = createPrivacyLedger({ delta: task.privacy.delta, targetEpsilon: 0, entries }).epsilon().epsilon
    assert.ok(row.epsilon != null && Math.abs(row.epsilon - expected) / expected < 1e-9, `round ${row.round}: ε ${row.epsilon}, ledger ${expected}`)
    assert.ok(expected < rdp, `round ${row.round}: PLD ${expected} not below RDP ${rdp}`)
  }
  assert.ok(report.rounds[1].accuracy! > 0.6, `accuracy after 2 DP-SGD rounds ${report.rounds[1].accuracy}`)
})
