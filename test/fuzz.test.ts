// The fuzz targets of `npm run fuzz` (test/fuzz/) in a short configuration for `npm test`: every target
// with FUZZ_TEST_RUNS inputs per message type (default 500; network and file targets scaled down as in
// the full run), a fixed seed unless FUZZ_SEED is set; plus the count limits of every repeated wire field
// and the inputs the fuzzers found (regressions; known, unfixed issues run as todo).
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { runTarget } from './fuzz/harness.ts'
import { LIMIT_CASES, decodesWithoutLimits, messagesNeedingLimits, repeatedFields } from './fuzz/limits.ts'
import { KNOWN_ISSUES, REGRESSIONS } from './fuzz/regressions.ts'
import { allTargets } from './fuzz/targets/index.ts'

const runs = Number(process.env.FUZZ_TEST_RUNS ?? 500)
const seed = Number(process.env.FUZZ_SEED ?? 20_250_801)

describe('fuzz targets (short run)', { timeout: 300_000 }, () => {
  for (const target of allTargets()) {
    test(`${target.name}: ${target.what}`, async () => {
      const r = await runTarget(target, { runs, seed })
      assert.equal(r.failures, 0, `${r.failures} failing inputs (seed ${seed}, ${r.runs} runs):\n${r.examples.join('\n')}`)
      assert.ok(r.runs >= 1)
    })
  }
})

describe('repeated wire fields have decode limits', () => {
  test('every repeated field in messages.proto has a limit case', () => {
    const missing = repeatedFields().filter(f => LIMIT_CASES[f] == null)
    assert.deepEqual(missing, [], `repeated fields without a decode limit case in test/fuzz/limits.ts: ${missing.join(', ')}`)
  })
  test('every decode in src/ of a message with a repeated field passes limits', () => {
    assert.ok(messagesNeedingLimits().includes('RoundMessage'))
    assert.deepEqual(decodesWithoutLimits(), [])
  })
  for (const [field, check] of Object.entries(LIMIT_CASES)) {
    test(`${field}: one entry over the limit is refused where it is decoded`, check)
  }
})

describe('fuzz regressions', () => {
  for (const [name, check] of Object.entries(REGRESSIONS)) test(name, check)
  // formerly known issues, fixed since: they run as ordinary regressions
  for (const [name, { check }] of Object.entries(KNOWN_ISSUES)) test(name, check)
})
