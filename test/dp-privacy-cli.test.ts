// `fedswarm privacy` in-process: TF Privacy's compute_dp_sgd_privacy reference case in both forms of
// the command (dataset view and mechanism view), the JSON shape, and bad input as a UsageError naming
// the flag.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { runPrivacy } from '../src/cli/privacy-command.ts'
import type { PrivacyOptions } from '../src/cli/privacy-command.ts'
import { UsageError } from '../src/cli/usage-error.ts'

async function run (opts: PrivacyOptions): Promise<{ code: number, out: string }> {
  let out = ''
  const code = await runPrivacy(opts, (s) => { out += s })
  return { code, out }
}

// github.com/tensorflow/privacy @ 03035d5, tensorflow_privacy/privacy/analysis/compute_dp_sgd_privacy_test.py,
// test_compute_dp_sgd_privacy Test1: (100000, 100, 1.0, 30, 1e-7) → ε = 1.4154988495444842 at order 13.
// q = 100/100000 = 0.001 and ceil(30·100000/100) = 30000 steps. (Test1's optimal order is an integer, so
// the command's default orders, dp_accounting's, give the same ε as compute_dp_sgd_privacy's list.)
const EXPECTED = 1.4154988495444842

test('privacy --examples --batch --noise --epochs --delta: one line, and --json', async () => {
  const flags = { examples: '100000', batch: '100', noise: '1.0', epochs: '30', delta: '1e-7' }
  const human = await run(flags)
  assert.equal(human.code, 0)
  assert.equal(human.out, 'ε = 1.42 at order 13 for δ = 1e-07 (N = 100000, batch 100, noise 1, 30 epochs: 30000 steps at sampling rate 0.001)\n')
  const json = await run({ ...flags, json: true })
  assert.equal(json.code, 0)
  const r = JSON.parse(json.out)
  assert.deepEqual(Object.keys(r), ['epsilon', 'order', 'delta', 'sampleRate', 'steps'])
  assert.ok(Math.abs(r.epsilon / EXPECTED - 1) < 0.01, `ε ${r.epsilon}`)
  assert.equal(r.order, 13)
  assert.equal(r.delta, 1e-7)
  assert.equal(r.sampleRate, 0.001)
  assert.equal(r.steps, 30000)
})

test('privacy --sample-rate --noise --steps --delta gives the same ε', async () => {
  const { code, out } = await run({ sampleRate: '0.001', noise: '1.0', steps: '30000', delta: '1e-7', json: true })
  assert.equal(code, 0)
  const r = JSON.parse(out)
  assert.ok(Math.abs(r.epsilon / EXPECTED - 1) < 0.01, `ε ${r.epsilon}`)
  assert.deepEqual({ order: r.order, sampleRate: r.sampleRate, steps: r.steps }, { order: 13, sampleRate: 0.001, steps: 30000 })
  const human = await run({ sampleRate: '0.001', noise: '1.0', steps: '30000', delta: '1e-7' })
  assert.equal(human.out, 'ε = 1.42 at order 13 for δ = 1e-07 (sampling rate 0.001, noise 1, 30000 steps)\n')
})

test('δ defaults to 1e-5', async () => {
  const r = JSON.parse((await run({ sampleRate: '0.01', noise: '1.1', steps: '1000', json: true })).out)
  assert.equal(r.delta, 1e-5)
  assert.ok(r.epsilon > 0 && Number.isFinite(r.epsilon))
})

test('bad or conflicting input throws a one-line UsageError naming the flag', async () => {
  const rejects = async (opts: PrivacyOptions, pattern: RegExp): Promise<void> => {
    await assert.rejects(run(opts), (err: unknown) => {
      assert.ok(err instanceof UsageError, `not a UsageError: ${String(err)}`)
      assert.equal(err.name, 'UsageError')
      assert.ok(!err.message.includes('\n'), 'one line')
      assert.match(err.message, pattern)
      return true
    })
  }
  const ok = { examples: '60000', batch: '256', epochs: '15', noise: '1.1' }
  await rejects({ ...ok, noise: 'lots' }, /^--noise must be a number > 0 \(got "lots"\)/)
  await rejects({ ...ok, noise: '0' }, /^--noise/)
  await rejects({ ...ok, noise: undefined }, /^--noise is required/)
  await rejects({ ...ok, delta: '0' }, /^--delta must be a number in \(0, 1\)/)
  await rejects({ ...ok, delta: '1.5' }, /^--delta/)
  await rejects({ ...ok, examples: '6e4.5' }, /^--examples must be an integer >= 1/)
  await rejects({ ...ok, batch: '0' }, /^--batch must be an integer >= 1/)
  await rejects({ ...ok, batch: '70000' }, /^--batch must not exceed --examples/)
  await rejects({ ...ok, epochs: '-1' }, /^--epochs must be a number > 0/)
  await rejects({ ...ok, epochs: undefined }, /^--epochs is required with --examples and --batch/)
  await rejects({ examples: '60000', noise: '1' }, /^--batch and --epochs are required with --examples/)
  await rejects({ ...ok, sampleRate: '0.01' }, /^--sample-rate cannot be combined with --examples and --batch and --epochs/)
  await rejects({ ...ok, steps: '10' }, /^--steps cannot be combined with/)
  await rejects({ noise: '1' }, /^give either --examples, --batch and --epochs, or --sample-rate and --steps/)
  await rejects({ sampleRate: '0.01', noise: '1' }, /^--steps is required with --sample-rate/)
  await rejects({ steps: '100', noise: '1' }, /^--sample-rate is required with --steps/)
  await rejects({ sampleRate: '0', steps: '100', noise: '1' }, /^--sample-rate must be a number in \(0, 1\]/)
  await rejects({ sampleRate: '0.01', steps: '1.5', noise: '1' }, /^--steps must be an integer >= 1/)
})

test('privacy --accountant pld: the PLD ε, below RDP\'s, and the JSON names the accountant', async () => {
  const flags = { examples: '12000', batch: '250', noise: '1.1', epochs: '16', delta: '1e-5' }
  const rdp = JSON.parse((await run({ ...flags, json: true })).out)
  const { code, out } = await run({ ...flags, accountant: 'pld', json: true })
  assert.equal(code, 0)
  const r = JSON.parse(out)
  assert.deepEqual(Object.keys(r), ['epsilon', 'accountant', 'delta', 'sampleRate', 'steps'])
  assert.equal(r.accountant, 'pld')
  assert.equal(r.steps, 768)
  assert.ok(r.epsilon < rdp.epsilon && r.epsilon > 2.9 && r.epsilon < 3, `PLD ${r.epsilon}, RDP ${rdp.epsilon}`)
  const human = await run({ ...flags, accountant: 'pld' })
  assert.match(human.out, /^ε = 2\.98 by PLD for δ = 1e-05 \(N = 12000, batch 250, noise 1\.1, 16 epochs: 768 steps at sampling rate 0\.0208; RDP: 3\.29\)\n$/)
  await assert.rejects(run({ ...flags, accountant: 'moments' }), (e: Error) => e instanceof UsageError && e.message === '--accountant must be rdp or pld (got "moments")')
  // a σ so small that the loss grid would not fit: a one-line error pointing at the RDP accountant
  await assert.rejects(run({ sampleRate: '1', steps: '3', noise: '0.001', accountant: 'pld' }),
    (e: Error) => e instanceof UsageError && /^the PLD accountant cannot price this setting \(the PLD grid would need \d+ points .*\); use --accountant rdp$/.test(e.message))
})
