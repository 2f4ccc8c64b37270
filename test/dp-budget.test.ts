// affordableRounds: how many rounds of a fixed per-round cost fit in a budget, checked against the
// ledger's own stop rule (spend round after round until wouldExceed), caps, no budget, two mechanisms,
// and LedgerErrors naming the field.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { LedgerError, affordableRounds, createPrivacyLedger, type RoundCost } from '../src/dp/index.ts'

const DELTA = 1e-5
/** The seed setting: one peer of 12,000 examples, batch 250, one epoch (48 steps) per round, σ 1.1. */
const SEED: RoundCost = { mechanism: 'dp-sgd', noiseMultiplier: 1.1, sampleRate: 250 / 12_000, steps: 48 }

/**
 * Checks `k` rounds of `costs` against the ε the accountant gives (not against a copy of the loop under
 * test): after k rounds ε ≤ target, and (unless capped) one more round would take ε above it.
 */
function assertAffords (k: number, costs: RoundCost[], targetEpsilon: number, cap: number, what: string): void {
  const ledger = createPrivacyLedger({ accountant: 'rdp', delta: DELTA, targetEpsilon: 0 })
  for (let round = 1; round <= k; round++) for (const c of costs) ledger.spend({ ...c, round })
  if (k > 0) assert.ok(ledger.epsilon().epsilon <= targetEpsilon, `${what}: ε after ${k} rounds ${ledger.epsilon().epsilon} > ${targetEpsilon}`)
  if (k < cap) {
    const next = ledger.epsilonAfter(costs.map(c => ({ ...c, round: k + 1 }))).epsilon
    assert.ok(next > targetEpsilon, `${what}: round ${k + 1} would reach only ε ${next} ≤ ${targetEpsilon}`)
  }
}

test('the seed setting affords 13 rounds at ε 3 (the sim stops after round 13 at ε 2.98)', () => {
  assert.equal(affordableRounds({ accountant: 'rdp', perRound: SEED, delta: DELTA, targetEpsilon: 3, maxRounds: 100 }), 13)
  // ε after 13 rounds is below 3, after 14 above (the ledger's own numbers).
  const ledger = createPrivacyLedger({ accountant: 'rdp', delta: DELTA, targetEpsilon: 3 })
  for (let r = 1; r <= 13; r++) ledger.spend({ ...SEED, round: r })
  const eps = ledger.epsilon().epsilon
  assert.ok(eps > 2.97 && eps <= 3, `ε after 13 rounds ${eps}`)
  assert.ok(ledger.wouldExceed({ ...SEED, round: 14 }))
})

test('over a range of settings: ε within the target after those rounds, above it after one more', () => {
  for (const sigma of [0.7, 1.1, 1.5]) {
    for (const target of [1, 3, 8]) {
      for (const n of [6000, 12_000, 60_000]) {
        const cost: RoundCost = { mechanism: 'dp-sgd', noiseMultiplier: sigma, sampleRate: 250 / n, steps: Math.floor(n / 250) }
        assertAffords(affordableRounds({ accountant: 'rdp', perRound: cost, delta: DELTA, targetEpsilon: target, maxRounds: 60 }), [cost], target, 60, `σ ${sigma}, ε ${target}, N ${n}`)
      }
    }
  }
})

test('capped at maxRounds; no budget affords maxRounds; a tiny budget affords 0', () => {
  assert.equal(affordableRounds({ accountant: 'rdp', perRound: SEED, delta: DELTA, targetEpsilon: 3, maxRounds: 10 }), 10)
  assert.equal(affordableRounds({ accountant: 'rdp', perRound: SEED, delta: DELTA, targetEpsilon: 0, maxRounds: 20 }), 20)
  assert.equal(affordableRounds({ accountant: 'rdp', perRound: SEED, delta: DELTA, targetEpsilon: 0.01, maxRounds: 20 }), 0)
  assert.equal(affordableRounds({ accountant: 'rdp', perRound: SEED, delta: DELTA, targetEpsilon: 3, maxRounds: 0 }), 0)
})

test('several mechanisms per round are priced together, as the ledger does', () => {
  const fedavg: RoundCost = { mechanism: 'dp-fedavg', noiseMultiplier: 5, sampleRate: 1, steps: 1 }
  const both = affordableRounds({ accountant: 'rdp', perRound: [fedavg, SEED], delta: DELTA, targetEpsilon: 3, maxRounds: 100 })
  assertAffords(both, [fedavg, SEED], 3, 100, 'DP-FedAvg + DP-SGD')
  assert.ok(both < 13, `both mechanisms afford fewer rounds (${both})`)
})

test('malformed input is a LedgerError naming the field', () => {
  const expect = (fn: () => unknown, re: RegExp): void => {
    assert.throws(fn, (e: Error) => e instanceof LedgerError && re.test(e.message) && !/\n/.test(e.message))
  }
  expect(() => affordableRounds({ accountant: 'rdp', perRound: SEED, delta: DELTA, targetEpsilon: 3, maxRounds: -1 }), /^maxRounds must be an integer >= 0 \(got -1\)$/)
  expect(() => affordableRounds({ accountant: 'rdp', perRound: SEED, delta: DELTA, targetEpsilon: 3, maxRounds: 2.5 }), /^maxRounds must/)
  expect(() => affordableRounds({ accountant: 'rdp', perRound: [], delta: DELTA, targetEpsilon: 3, maxRounds: 5 }), /^perRound must hold at least one round cost$/)
  expect(() => affordableRounds({ accountant: 'rdp', perRound: { ...SEED, sampleRate: 2 }, delta: DELTA, targetEpsilon: 3, maxRounds: 5 }), /sampleRate must be a number in \(0, 1\]/)
  expect(() => affordableRounds({ accountant: 'rdp', perRound: SEED, delta: 0, targetEpsilon: 3, maxRounds: 5 }), /^delta must be/)
  expect(() => affordableRounds({ accountant: 'rdp', perRound: SEED, delta: DELTA, targetEpsilon: -1, maxRounds: 5 }), /^targetEpsilon must be/)
})
