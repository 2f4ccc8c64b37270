// The PLD accountant (src/dp/pld.ts) against an exact closed form and published values, its bounds
// against RDP, and its use by the ledger and the budget.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  affordableRounds, createPrivacyLedger, pldDelta, pldEpsilon, pldPairEpsilon, sampledGaussianEpsilon, sampledGaussianPlds,
  subsampledGaussianPld, type LedgerEntry
} from '../src/dp/index.ts'
import { logErfc } from '../src/dp/accountant.ts'

const DELTA = 1e-5
const SEED = { mechanism: 'dp-sgd' as const, noiseMultiplier: 1.1, sampleRate: 250 / 12_000, steps: 48 }

const Phi = (x: number): number => Math.exp(logErfc(-x / Math.SQRT2)) / 2

/**
 * δ(ε) of k compositions of the Gaussian mechanism at noise multiplier σ, exactly: Balle & Wang 2018,
 * "Improving the Gaussian mechanism for differential privacy", Theorem 8, with μ = √k/σ (the composition
 * is a Gaussian mechanism with sensitivity √k).
 */
function gaussianDelta (sigma: number, k: number, eps: number): number {
  const mu = Math.sqrt(k) / sigma
  return Phi(-eps / mu + mu / 2) - Math.exp(eps) * Phi(-eps / mu - mu / 2)
}

test('Gaussian mechanism (q = 1): δ(ε) brackets the exact closed form and is within 1% of it', () => {
  for (const [sigma, k, eps] of [[1, 1, 1], [2, 1, 0.5], [2, 10, 2], [1.1, 3, 3]]) {
    const exact = gaussianDelta(sigma, k, eps)
    const upper = pldDelta(sampledGaussianPlds({ sampleRate: 1, noiseMultiplier: sigma, steps: k }).remove, eps)
    const lower = pldDelta(sampledGaussianPlds({ sampleRate: 1, noiseMultiplier: sigma, steps: k, pessimistic: false }).remove, eps)
    assert.ok(lower <= exact && exact <= upper, `σ ${sigma}, k ${k}, ε ${eps}: ${lower} <= ${exact} <= ${upper}`)
    assert.ok(upper <= exact * 1.01, `σ ${sigma}, k ${k}, ε ${eps}: pessimistic ${upper} vs exact ${exact}`)
  }
})

test('Koskela, Jälkö, Honkela 2020: published δ of the subsampled Gaussian lie between the two estimates', () => {
  // DPBayes/PLD-Accountant tests/test_compute_delta.py, test_get_delta_R_regression_valid_params
  // (get_delta_R: Poisson subsampling, remove/add relation, their nx 1e6 and L 20 grid).
  const cases: Array<[number, number, number, number, number]> = [
    [1.0, 2.0, 0.01, 1e4, 0.010224911209191894],
    [0.8, 2.0, 0.01, 1e4, 0.022850339595771204],
    [1.0, 2.0, 0.02, 1e4, 0.14991732969314892]
  ]
  for (const [eps, sigma, q, steps, published] of cases) {
    // 10,000 steps: a finer per-step grid than the default (Δ/10), each step rounded by at most 1.2e-5
    const upper = pldDelta(sampledGaussianPlds({ sampleRate: q, noiseMultiplier: sigma, steps, refine: 10 }).remove, eps)
    const lower = pldDelta(sampledGaussianPlds({ sampleRate: q, noiseMultiplier: sigma, steps, refine: 10, pessimistic: false }).remove, eps)
    assert.ok(lower <= published && published <= upper, `ε ${eps}, σ ${sigma}, q ${q}: ${lower} <= ${published} <= ${upper}`)
    // so the bracket is at most ~30% wide at these δ
    assert.ok(upper <= published * 1.3 && lower >= published * 0.7, `ε ${eps}, σ ${sigma}, q ${q}: bracket ${lower}..${upper}`)
  }
})

test('one step: the discretized mass sums to 1 and the pessimistic PLD dominates the optimistic one', () => {
  fc.assert(fc.property(
    fc.double({ min: 0.001, max: 1, noNaN: true }), fc.double({ min: 0.5, max: 5, noNaN: true }), fc.constantFrom('remove' as const, 'add' as const),
    (q, sigma, direction) => {
      const p = subsampledGaussianPld({ sampleRate: q, noiseMultiplier: sigma, direction, interval: 1e-3 })
      const o = subsampledGaussianPld({ sampleRate: q, noiseMultiplier: sigma, direction, interval: 1e-3, pessimistic: false })
      const total = p.mass.reduce((a, b) => a + b, 0) + p.infinityMass
      assert.ok(Math.abs(total - 1) < 1e-9, `mass ${total}`)
      for (const eps of [0, 0.1, 1]) assert.ok(pldDelta(p, eps) >= pldDelta(o, eps) - 1e-15)
    }), { numRuns: 40 })
})

test('never above RDP, and tighter for the seed DP-SGD setting (13 rounds: RDP ε 2.98, PLD ε 2.68)', () => {
  for (const [q, sigma, steps] of [[SEED.sampleRate, 1.1, 48 * 13], [0.01, 2, 1000], [0.1, 1, 50], [1, 3, 4]]) {
    const rdp = sampledGaussianEpsilon({ sampleRate: q, noiseMultiplier: sigma, steps, delta: DELTA }).epsilon
    const pld = pldPairEpsilon(sampledGaussianPlds({ sampleRate: q, noiseMultiplier: sigma, steps }), DELTA)
    assert.ok(pld < rdp, `q ${q}, σ ${sigma}, ${steps} steps: PLD ${pld}, RDP ${rdp}`)
    if (steps === 48 * 13) assert.ok(pld > 2.66 && pld < 2.70 && rdp > 2.97, `seed: PLD ${pld}, RDP ${rdp}`)
  }
})

test('ε and δ are inverse: δ(ε(δ)) = δ', () => {
  const pair = sampledGaussianPlds({ sampleRate: 0.02, noiseMultiplier: 1.1, steps: 100 })
  for (const delta of [1e-3, 1e-5, 1e-7]) {
    const eps = pldEpsilon(pair.remove, delta)
    assert.ok(Math.abs(pldDelta(pair.remove, eps) - delta) <= 1e-9 * delta, `δ ${delta}: ε ${eps}, δ(ε) ${pldDelta(pair.remove, eps)}`)
  }
})

test('the ledger reports the smaller of PLD and RDP; the seed budget of ε 3 affords 16 rounds instead of 13', () => {
  assert.equal(affordableRounds({ perRound: SEED, delta: DELTA, targetEpsilon: 3, maxRounds: 100 }), 16)
  assert.equal(affordableRounds({ perRound: SEED, delta: DELTA, targetEpsilon: 3, maxRounds: 100, accountant: 'rdp' }), 13)
  const pld = createPrivacyLedger({ delta: DELTA, targetEpsilon: 3 })
  const rdp = createPrivacyLedger({ delta: DELTA, targetEpsilon: 3, accountant: 'rdp' })
  for (let r = 1; r <= 16; r++) {
    const entry: LedgerEntry = { ...SEED, round: r }
    assert.equal(pld.wouldExceed(entry), false, `round ${r}`)
    pld.spend(entry)
    rdp.spend(entry)
    const a = pld.epsilon()
    const b = rdp.epsilon()
    assert.equal(a.accountant, 'pld')
    assert.ok(a.epsilon < b.epsilon, `round ${r}: PLD ${a.epsilon}, RDP ${b.epsilon}`)
  }
  assert.ok(pld.epsilon().epsilon <= 3)
  assert.ok(pld.wouldExceed({ ...SEED, round: 17 }))
  assert.match(pld.summary(), /^ε = 2\.9\d\d \(δ = 0\.00001, PLD\) after 16 rounds, 0\.0\d\d of 3\.000 left$/)
  // asking twice (answered from the ledger's last question) and asking a ledger rebuilt from the same
  // entries give the same answer, before and after spending
  const next: LedgerEntry = { ...SEED, round: 17 }
  const first = pld.epsilonAfter(next)
  assert.deepEqual(pld.epsilonAfter(next), first)
  assert.deepEqual(createPrivacyLedger({ delta: DELTA, targetEpsilon: 3, entries: pld.entries }).epsilonAfter(next), first)
  const spent = createPrivacyLedger({ delta: DELTA, targetEpsilon: 0, entries: pld.entries })
  spent.epsilonAfter(next)
  spent.spend(next)
  assert.deepEqual(spent.epsilon(), first)
  assert.deepEqual(createPrivacyLedger({ delta: DELTA, targetEpsilon: 0, entries: [...pld.entries, next] }).epsilon(), first)
  // a ledger rebuilt from its entries (a restart) gives the same ε
  assert.deepEqual(createPrivacyLedger({ delta: DELTA, targetEpsilon: 3, entries: pld.entries }).epsilon(), pld.epsilon())
})

test('σ = 0 costs ∞; a grid too large for PLD (tiny σ at q = 1) falls back to RDP', () => {
  const zero = createPrivacyLedger({ delta: DELTA, targetEpsilon: 0, entries: [{ ...SEED, round: 1, noiseMultiplier: 0 }] })
  assert.equal(zero.epsilon().epsilon, Infinity)
  const tiny: LedgerEntry = { round: 1, mechanism: 'dp-fedavg', noiseMultiplier: 0.01, sampleRate: 1, steps: 1 }
  const a = createPrivacyLedger({ delta: DELTA, targetEpsilon: 0, entries: [tiny] }).epsilon()
  const b = createPrivacyLedger({ delta: DELTA, targetEpsilon: 0, entries: [tiny], accountant: 'rdp' }).epsilon()
  assert.equal(a.accountant, 'rdp')
  assert.equal(a.epsilon, b.epsilon)
})
