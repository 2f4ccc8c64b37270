// Crowded simulations (sim/crowd.ts): deadlines the user did not set are stretched for the number of
// peers on one process; a task file's are used as written.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_TIMEOUTS } from '../src/config/constants.ts'
import { simTask } from '../src/cli/sim-command.ts'
import type { SimOptions } from '../src/cli/sim-command.ts'
import { CROWD_PEERS, crowdFactor, crowdTimeouts } from '../sim/crowd.ts'

const opts = (over: Partial<SimOptions>): SimOptions => ({ peers: '5', dropout: '0', transport: 'memory', processes: '0', backend: 'auto', ...over })

test('crowdTimeouts: defaults up to CROWD_PEERS per process, then waiting deadlines stretched by peers / CROWD_PEERS', () => {
  assert.deepEqual(crowdTimeouts(1), DEFAULT_TIMEOUTS)
  assert.deepEqual(crowdTimeouts(CROWD_PEERS), DEFAULT_TIMEOUTS)
  const t = crowdTimeouts(4 * CROWD_PEERS)
  assert.equal(crowdFactor(4 * CROWD_PEERS), 4)
  assert.deepEqual(t, { joinMs: DEFAULT_TIMEOUTS.joinMs, cohortMs: 4 * DEFAULT_TIMEOUTS.cohortMs, updateMs: 4 * DEFAULT_TIMEOUTS.updateMs, survivorsMs: 4 * DEFAULT_TIMEOUTS.survivorsMs })
  for (const ms of Object.values(crowdTimeouts(50))) assert.equal(ms % 100, 0, 'whole tenths of a second')
})

test('fedswarm sim: 50 peers in one process get stretched deadlines, over 5 processes the defaults, a task file its own', async () => {
  const crowded = await simTask(opts({ peers: '50', cohort: '50' }))
  assert.deepEqual(crowded.timeouts, crowdTimeouts(50))
  assert.ok(crowded.timeouts.survivorsMs > DEFAULT_TIMEOUTS.survivorsMs)
  assert.deepEqual((await simTask(opts({ peers: '50', processes: '5', transport: 'tcp' }))).timeouts, DEFAULT_TIMEOUTS)
  assert.deepEqual((await simTask(opts({ peers: '10' }))).timeouts, DEFAULT_TIMEOUTS)
  const dir = mkdtempSync(join(tmpdir(), 'fedswarm-crowd-'))
  try {
    const file = join(dir, 'task.json')
    const own = { joinMs: 2000, cohortMs: 1000, updateMs: 30000, survivorsMs: 5000 }
    writeFileSync(file, JSON.stringify({ version: 1, name: 'crowd', timeouts: own }))
    assert.deepEqual((await simTask(opts({ peers: '50', task: file }))).timeouts, own)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
