// The per-peer privacy ledger: composition by summed RDP curves, the budget, replays, persistence in the data dir.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  DEFAULT_RDP_ORDERS, LedgerError, createPrivacyLedger, epsilonFromRdp, rdpSampledGaussian, sumRdp,
  type LedgerEntry
} from '../src/dp/index.ts'
import { PRIVACY_LEDGER_FILE, StoreError, openDataDir } from '../src/store/index.ts'

const DELTA = 1e-5

/** What a ledger with `accountant: 'rdp'` reports: epsilonFromRdp's result, tagged. */
function rdpEpsilon (opts: Parameters<typeof epsilonFromRdp>[0]): ReturnType<typeof epsilonFromRdp> & { accountant: 'rdp' } {
  return { ...epsilonFromRdp(opts), accountant: 'rdp' }
}

function fedavg (round: number, noiseMultiplier: number): LedgerEntry {
  return { round, mechanism: 'dp-fedavg', noiseMultiplier, sampleRate: 1, steps: 1 }
}

function sgd (round: number, noiseMultiplier: number, sampleRate: number, steps: number): LedgerEntry {
  return { round, mechanism: 'dp-sgd', noiseMultiplier, sampleRate, steps }
}

function close (actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`)
}

function expectLedgerError (fn: () => unknown, field: RegExp): LedgerError {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof LedgerError, `expected a LedgerError, got ${String(err)}`)
    assert.equal(err.name, 'LedgerError')
    assert.match(err.message, field)
    assert.ok(!/[\r\n]/.test(err.message), 'one line')
    return err
  }
  assert.fail('expected a LedgerError')
}

describe('accounting', () => {
  test('k DP-FedAvg rounds at σ cost what the accountant gives for k steps of the Gaussian mechanism', () => {
    for (const sigma of [0.5, 1, 2.3]) {
      const ledger = createPrivacyLedger({ accountant: 'rdp', delta: DELTA, targetEpsilon: 0 })
      assert.deepEqual(ledger.epsilon(), { epsilon: 0, order: DEFAULT_RDP_ORDERS[0], accountant: 'rdp' })
      for (let k = 1; k <= 30; k++) {
        assert.equal(ledger.spend(fedavg(k, sigma)), true)
        const expected = rdpEpsilon({ orders: DEFAULT_RDP_ORDERS, rdp: rdpSampledGaussian({ sampleRate: 1, noiseMultiplier: sigma, steps: k }), delta: DELTA })
        const got = ledger.epsilon()
        close(got.epsilon, expected.epsilon, `σ=${sigma}, k=${k}`)
        assert.equal(got.order, expected.order)
      }
      assert.equal(ledger.entries.length, 30)
    }
  })

  test('mixed mechanisms compose by summing their curves, in any order', () => {
    const entries = [fedavg(1, 1.1), sgd(2, 1.3, 0.01, 500), fedavg(3, 0.8), sgd(4, 0.9, 256 / 60000, 234)]
    const curves = entries.map((e) => rdpSampledGaussian({ sampleRate: e.sampleRate, noiseMultiplier: e.noiseMultiplier, steps: e.steps }))
    const sum = sumRdp(curves)
    const expected = rdpEpsilon({ orders: DEFAULT_RDP_ORDERS, rdp: sum, delta: DELTA })

    const ledger = createPrivacyLedger({ accountant: 'rdp', delta: DELTA, targetEpsilon: 0, entries })
    assert.deepEqual(ledger.rdp(), sum) // same additions in the same order: bit-exact
    assert.deepEqual(ledger.epsilon(), expected)

    const reversed = createPrivacyLedger({ accountant: 'rdp', delta: DELTA, targetEpsilon: 0, entries: [...entries].reverse() })
    close(reversed.epsilon().epsilon, expected.epsilon, 'reversed')

    // epsilonAfter agrees with spending
    const partial = createPrivacyLedger({ accountant: 'rdp', delta: DELTA, targetEpsilon: 0, entries: entries.slice(0, 3) })
    const after = partial.epsilonAfter(entries[3])
    assert.equal(partial.entries.length, 3, 'epsilonAfter does not spend')
    partial.spend(entries[3])
    assert.deepEqual(partial.epsilon(), after)
  })

  test('more distinct entry kinds than the curve cache holds, each used twice', () => {
    const sigmas = Array.from({ length: 12 }, (_, i) => 0.8 + i / 10)
    const entries = [...sigmas, ...sigmas].map((sigma, i) => sgd(i, sigma, 0.02, 10 + (i % 12)))
    const ledger = createPrivacyLedger({ accountant: 'rdp', delta: DELTA, targetEpsilon: 0 })
    for (const e of entries) {
      const after = ledger.epsilonAfter(e)
      ledger.wouldExceed(e)
      ledger.spend(e)
      assert.deepEqual(ledger.epsilon(), after)
    }
    const sum = sumRdp(entries.map((e) => rdpSampledGaussian({ sampleRate: e.sampleRate, noiseMultiplier: e.noiseMultiplier, steps: e.steps })))
    assert.deepEqual(ledger.rdp(), sum)
  })

  test('custom orders, and a curve-free ledger when σ = 0 (ε = ∞)', () => {
    const orders = [2, 4, 8, 16, 32]
    const ledger = createPrivacyLedger({ accountant: 'rdp', delta: DELTA, targetEpsilon: 5, orders })
    ledger.spend(fedavg(1, 2))
    const expected = rdpEpsilon({ orders, rdp: rdpSampledGaussian({ sampleRate: 1, noiseMultiplier: 2, orders }), delta: DELTA })
    assert.deepEqual(ledger.epsilon(), expected)
    assert.equal(ledger.rdp().length, orders.length)
    assert.equal(ledger.epsilonAfter(fedavg(2, 0)).epsilon, Infinity)
    assert.equal(ledger.wouldExceed(fedavg(2, 0)), true)
  })
})

describe('budget', () => {
  for (const sigma of [1.5, 3, 6]) {
    test(`wouldExceed flips exactly at the budget (σ = ${sigma})`, () => {
      const target = 4
      const eps = (k: number): number => rdpEpsilon({
        orders: DEFAULT_RDP_ORDERS, rdp: rdpSampledGaussian({ sampleRate: 1, noiseMultiplier: sigma, steps: k }), delta: DELTA
      }).epsilon
      const ledger = createPrivacyLedger({ accountant: 'rdp', delta: DELTA, targetEpsilon: target })
      let k = 0
      while (!ledger.wouldExceed(fedavg(k + 1, sigma))) {
        ledger.spend(fedavg(k + 1, sigma))
        k++
        assert.ok(k < 10_000)
      }
      assert.ok(k >= 1, 'at least one round fits')
      if (sigma === 3) assert.ok(k > 5, `k = ${k}`)
      assert.ok(ledger.epsilon().epsilon <= target)
      assert.ok(ledger.epsilonAfter(fedavg(k + 1, sigma)).epsilon > target)
      // against the accountant directly
      assert.ok(eps(k) <= target && target < eps(k + 1), `ε(${k}) = ${eps(k)}, ε(${k + 1}) = ${eps(k + 1)}`)
      const r = ledger.remaining()
      assert.equal(r.entries, k)
      assert.equal(r.targetEpsilon, target)
      close(r.remaining, target - r.epsilon, 'remaining')
      assert.match(ledger.summary(), new RegExp(`after ${k} rounds?, [0-9.]+ of 4\\.000 left$`))
    })
  }

  test('a budget equal to ε(k) admits round k, not round k + 1', () => {
    const probe = createPrivacyLedger({ accountant: 'rdp', delta: DELTA, targetEpsilon: 0 })
    for (let r = 1; r <= 5; r++) probe.spend(fedavg(r, 1.2))
    const target = probe.epsilon().epsilon
    const ledger = createPrivacyLedger({ accountant: 'rdp', delta: DELTA, targetEpsilon: target, entries: probe.entries.slice(0, 4) })
    assert.equal(ledger.wouldExceed(fedavg(5, 1.2)), false)
    ledger.spend(fedavg(5, 1.2))
    assert.equal(ledger.epsilon().epsilon, target)
    assert.equal(ledger.wouldExceed(fedavg(6, 1.2)), true)
    assert.equal(ledger.wouldExceed(fedavg(6, 50)), true, 'any measurable further spending exceeds')
    assert.equal(ledger.remaining().remaining, 0)
    assert.equal(ledger.wouldExceed(fedavg(5, 1.2)), false, 'a replay costs nothing')
  })

  test('targetEpsilon 0 never exceeds', () => {
    const ledger = createPrivacyLedger({ accountant: 'rdp', delta: DELTA, targetEpsilon: 0 })
    for (let r = 1; r <= 200; r++) {
      assert.equal(ledger.wouldExceed(fedavg(r, 0.3)), false)
      ledger.spend(fedavg(r, 0.3))
    }
    assert.ok(ledger.epsilon().epsilon > 100)
    assert.equal(ledger.wouldExceed(fedavg(201, 0)), false, 'not even at ε = ∞')
    assert.equal(ledger.remaining().remaining, Infinity)
    assert.match(ledger.summary(), /after 200 rounds, no budget$/)
  })
})

describe('rounds and validation', () => {
  test('the same round twice is an error unless identical (replay)', () => {
    const ledger = createPrivacyLedger({ accountant: 'rdp', delta: DELTA, targetEpsilon: 10 })
    assert.equal(ledger.check(fedavg(1, 1)), 'new')
    assert.equal(ledger.spend(fedavg(1, 1)), true)
    const before = ledger.epsilon()
    assert.equal(ledger.check(fedavg(1, 1)), 'replay')
    assert.equal(ledger.spend({ ...fedavg(1, 1) }), false)
    assert.deepEqual(ledger.epsilon(), before)
    assert.deepEqual(ledger.epsilonAfter(fedavg(1, 1)), before)
    assert.equal(ledger.entries.length, 1)

    const err = expectLedgerError(() => ledger.spend(fedavg(1, 1.5)), /^round 1 is already spent for dp-fedavg with a different entry \(noiseMultiplier 1, now 1\.5\)$/)
    assert.ok(err instanceof Error)
    // A round may pay once per mechanism: DP-SGD inside local training and DP-FedAvg on the sum.
    assert.equal(ledger.check(sgd(1, 1, 1, 1)), 'new')
    expectLedgerError(() => ledger.wouldExceed(fedavg(1, 2)), /round 1/)
    assert.deepEqual(ledger.epsilon(), before, 'a rejected entry spends nothing')

    // the same in the initial entries (a file with a replayed line, or a conflicting one)
    assert.equal(createPrivacyLedger({ accountant: 'rdp', delta: DELTA, targetEpsilon: 0, entries: [fedavg(1, 1), fedavg(2, 1), fedavg(1, 1)] }).entries.length, 2)
    expectLedgerError(() => createPrivacyLedger({ accountant: 'rdp', delta: DELTA, targetEpsilon: 0, entries: [fedavg(1, 1), fedavg(1, 2)] }), /^entries\[1\]: round 1 /)
  })

  test('entries are copied and frozen', () => {
    const e = { ...fedavg(3, 1), extra: 'ignored' } as LedgerEntry
    const ledger = createPrivacyLedger({ accountant: 'rdp', delta: DELTA, targetEpsilon: 0 })
    ledger.spend(e)
    e.noiseMultiplier = 100
    assert.deepEqual(ledger.entries, [fedavg(3, 1)])
    assert.ok(Object.isFrozen(ledger.entries[0]))
  })

  test('bad entries and init are one-line LedgerErrors naming the field', () => {
    const ledger = createPrivacyLedger({ accountant: 'rdp', delta: DELTA, targetEpsilon: 1 })
    const bad = (patch: Record<string, unknown>, field: RegExp): void => {
      expectLedgerError(() => ledger.spend({ ...fedavg(1, 1), ...patch } as unknown as LedgerEntry), field)
    }
    bad({ round: -1 }, /^round must be an integer >= 0 \(got -1\)$/)
    bad({ round: 1.5 }, /^round /)
    bad({ round: '1' }, /^round .*got "1"/)
    bad({ mechanism: 'dp-sum' }, /^mechanism must be 'dp-fedavg' or 'dp-sgd' \(got "dp-sum"\)$/)
    bad({ noiseMultiplier: -1 }, /^noiseMultiplier /)
    bad({ noiseMultiplier: NaN }, /^noiseMultiplier /)
    bad({ noiseMultiplier: Infinity }, /^noiseMultiplier /)
    bad({ sampleRate: 0 }, /^sampleRate must be a number in \(0, 1\]/)
    bad({ sampleRate: 1.1 }, /^sampleRate /)
    bad({ steps: 0 }, /^steps must be an integer >= 1/)
    bad({ sampleRate: 0.5 }, /^sampleRate must be 1 for 'dp-fedavg'/)
    bad({ steps: 2 }, /^steps must be 1 for 'dp-fedavg'/)
    expectLedgerError(() => ledger.spend(null as unknown as LedgerEntry), /^entry must be an object/)
    expectLedgerError(() => ledger.wouldExceed({ ...fedavg(1, 1), steps: 0 }), /^steps /)
    assert.equal(ledger.entries.length, 0)

    const init = (patch: Record<string, unknown>, field: RegExp): void => {
      expectLedgerError(() => createPrivacyLedger({ accountant: 'rdp', delta: DELTA, targetEpsilon: 1, ...patch }), field)
    }
    init({ delta: 0 }, /^delta must be a number in \(0, 1\)/)
    init({ delta: 1 }, /^delta /)
    init({ delta: '1e-5' }, /^delta .*"1e-5"/)
    init({ targetEpsilon: -1 }, /^targetEpsilon must be a finite number >= 0/)
    init({ targetEpsilon: Infinity }, /^targetEpsilon /)
    init({ orders: [] }, /^orders must be a non-empty array/)
    init({ orders: [2, 1] }, /^orders must all be numbers > 1 \(got 1\)$/)
    init({ entries: 'x' }, /^entries must be an array/)
    init({ entries: [fedavg(1, 1), { ...fedavg(2, 1), mechanism: 'x' }] }, /^entries\[1\]: mechanism /)
  })
})

describe('persistence in the data dir', () => {
  let root: string
  let counter = 0
  before(async () => { root = await mkdtemp(join(tmpdir(), 'fedswarm-ledger-')) })
  after(async () => { await rm(root, { recursive: true, force: true }) })
  const freshDir = (): string => join(root, `dir-${++counter}`)

  function collect (): { warnings: string[], onWarning: (m: string) => void } {
    const warnings: string[] = []
    return { warnings, onWarning: (m) => { warnings.push(m) } }
  }

  const ENTRIES = [fedavg(1, 1.1), fedavg(2, 1.1), sgd(3, 1.3, 0.01, 100), fedavg(5, 0.9)]

  test('round trip, and a ledger rebuilt after a restart gives the same ε', async () => {
    const dir = freshDir()
    const a = await openDataDir(dir)
    assert.deepEqual(await a.ledgerEntries(), [])
    const ledger = createPrivacyLedger({ accountant: 'rdp', delta: DELTA, targetEpsilon: 20 })
    for (const e of ENTRIES) {
      if (ledger.check(e) === 'new') await a.appendLedgerEntry(e)
      ledger.spend(e)
    }
    await assert.rejects(a.appendLedgerEntry({ ...fedavg(6, 1), steps: 3 }), (err: unknown) => err instanceof LedgerError && /^steps /.test(err.message))
    await a.close()
    assert.equal((await readFile(join(dir, PRIVACY_LEDGER_FILE), 'utf8')).split('\n').length, ENTRIES.length + 1)

    const b = await openDataDir(dir)
    const stored = await b.ledgerEntries()
    assert.deepEqual(stored, ENTRIES)
    const rebuilt = createPrivacyLedger({ accountant: 'rdp', delta: DELTA, targetEpsilon: 20, entries: stored })
    assert.deepEqual(rebuilt.epsilon(), ledger.epsilon())
    assert.deepEqual(rebuilt.rdp(), ledger.rdp())
    assert.deepEqual(rebuilt.entries, ledger.entries)
    // the restarted peer replays its last round: nothing new to write or spend
    assert.equal(rebuilt.check(fedavg(5, 0.9)), 'replay')
    assert.equal(rebuilt.spend(fedavg(5, 0.9)), false)
    // the round log is a separate file
    assert.deepEqual(await b.roundRecords(), [])
    await b.close()
  })

  test('a torn last line is skipped with a warning, then repaired by the next append', async () => {
    const dir = freshDir()
    const a = await openDataDir(dir)
    for (const e of ENTRIES.slice(0, 2)) await a.appendLedgerEntry(e)
    await a.close()
    const path = join(dir, PRIVACY_LEDGER_FILE)
    await appendFile(path, '{"round":3,"mechanism":"dp-fed') // crash mid-write

    const { warnings, onWarning } = collect()
    const b = await openDataDir(dir, { onWarning })
    assert.deepEqual(await b.ledgerEntries(), ENTRIES.slice(0, 2))
    assert.equal(warnings.length, 1)
    assert.match(warnings[0], new RegExp(`${PRIVACY_LEDGER_FILE}:3: ignoring a torn last line`))
    const ledger = createPrivacyLedger({ accountant: 'rdp', delta: DELTA, targetEpsilon: 0, entries: await b.ledgerEntries() })
    await b.appendLedgerEntry(ENTRIES[2])
    ledger.spend(ENTRIES[2])
    assert.deepEqual(await b.ledgerEntries(), ENTRIES.slice(0, 3))
    assert.equal((await readFile(path, 'utf8')).split('\n').length, 4)
    await b.close()

    const c = await openDataDir(dir)
    assert.deepEqual(createPrivacyLedger({ accountant: 'rdp', delta: DELTA, targetEpsilon: 0, entries: await c.ledgerEntries() }).epsilon(), ledger.epsilon())
    await c.close()
  })

  test('a malformed line in the middle is an error naming file:line', async () => {
    const good = JSON.stringify(fedavg(1, 1))
    const cases: Array<[string, RegExp]> = [
      [`${good}\ngarbage\n${JSON.stringify(fedavg(3, 1))}\n`, /:2: not a JSON object; the privacy ledger is corrupt$/],
      [`${good}\n${JSON.stringify({ ...fedavg(2, 1), noiseMultiplier: 'x' })}\n${JSON.stringify(fedavg(3, 1))}\n`, /:2: noiseMultiplier must be a finite number >= 0 \(got "x"\); the privacy ledger is corrupt$/],
      // a whole record that lost its newline is no torn write: it must be valid
      [`${good}\n${JSON.stringify({ ...fedavg(2, 1), round: -2 })}`, /:2: round must be an integer >= 0/]
    ]
    for (const [text, message] of cases) {
      const dir = freshDir()
      const d = await openDataDir(dir)
      await writeFile(join(d.path, PRIVACY_LEDGER_FILE), text)
      try {
        await d.ledgerEntries()
        assert.fail('expected a StoreError')
      } catch (err) {
        assert.ok(err instanceof StoreError, String(err))
        assert.equal(err.code, 'ERR_CORRUPT_LOG')
        assert.ok(err.message.startsWith(`${join(d.path, PRIVACY_LEDGER_FILE)}:2: `), err.message)
        assert.match(err.message, message)
        assert.ok(!/[\r\n]/.test(err.message))
      }
      await d.close()
    }
  })
})
