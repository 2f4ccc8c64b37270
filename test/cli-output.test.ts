// What the long-running commands print: plain lines when piped (unchanged), JSON lines with --json,
// only the summary with --quiet, phase lines with --verbose, and a progress line rewritten in place
// with \r only on a TTY.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createOutput, outputLevel } from '../src/cli/output.ts'
import type { OutputStream } from '../src/cli/output.ts'
import { SwarmTracker, progressLine } from '../sim/tracker.ts'

function stream (tty = false): OutputStream & { text: string } {
  const s = { text: '', isTTY: tty, columns: 60, write (t: string) { s.text += t; return true } }
  return s
}

test('piped text output: the lines as they are, no progress, no escape codes', () => {
  const stdout = stream()
  const stderr = stream()
  const out = createOutput({ stdout, stderr })
  out.progress('round 1/3 [join] 1/3 peers')
  out.info('round', 'round   1/3  …', { round: 1 })
  out.note('log', '  peer 0: crashing')
  out.note('log', '  peer 0: chatter', {}, { verboseOnly: true })
  out.verbose('phase', 'phase line')
  out.summary('summary', '\n3/3 rounds')
  out.end()
  assert.equal(stdout.text, 'round   1/3  …\n\n3/3 rounds\n')
  assert.equal(stderr.text, '  peer 0: crashing\n')
  assert.equal(out.progressShown, false)
})

test('--quiet prints only summaries; --verbose adds phase and chatter lines', () => {
  const q = stream()
  const quiet = createOutput({ stdout: q, stderr: q, level: outputLevel({ quiet: true }) })
  quiet.info('round', 'row')
  quiet.note('log', 'crashing')
  quiet.summary('summary', 'done')
  assert.equal(q.text, 'done\n')
  const v = stream()
  const verbose = createOutput({ stdout: v, stderr: v, level: outputLevel({ quiet: true, verbose: true }) })
  verbose.verbose('phase', 'phase line')
  verbose.note('log', 'chatter', {}, { verboseOnly: true })
  assert.equal(v.text, 'phase line\nchatter\n')
})

test('--json: one object per line with type, time, fields and the text as message, logs included', () => {
  const stdout = stream(true)
  const stderr = stream()
  const out = createOutput({ stdout, stderr, json: true, now: () => new Date(0) })
  out.progress('never shown')
  out.info('round', 'round 1', { round: 1, accuracy: 0.9 })
  out.note('log', '  peer 1: MODEL MISMATCH')
  out.summary('summary', '\n1/1 rounds', { roundsCompleted: 1 })
  const lines = stdout.text.trim().split('\n').map(l => JSON.parse(l))
  assert.deepEqual(lines, [
    { type: 'round', time: '1970-01-01T00:00:00.000Z', round: 1, accuracy: 0.9, message: 'round 1' },
    { type: 'log', time: '1970-01-01T00:00:00.000Z', message: 'peer 1: MODEL MISMATCH' },
    { type: 'summary', time: '1970-01-01T00:00:00.000Z', roundsCompleted: 1, message: '1/1 rounds' }
  ])
  assert.equal(stderr.text, '')
  assert.equal(out.progressShown, false)
})

test('TTY: the progress line is rewritten in place and cleared around other lines', () => {
  const stdout = stream(true)
  const out = createOutput({ stdout, stderr: stdout })
  assert.equal(out.progressShown, true)
  out.progress('round 1/3 [join] 1/3 peers')
  out.progress('round 1/3 [join] 1/3 peers') // unchanged: not rewritten
  out.progress('round 1/3 [update] 3/3 peers and a long tail that does not fit in sixty columns at all')
  out.info('round', 'row 1')
  out.end()
  assert.equal(stdout.text,
    '\r\x1b[2Kround 1/3 [join] 1/3 peers' +
    '\r\x1b[2Kround 1/3 [update] 3/3 peers and a long tail that does not…' +
    '\r\x1b[2Krow 1\nround 1/3 [update] 3/3 peers and a long tail that does not…' +
    '\r\x1b[2K')
})

test('swarm tracker: the swarm\'s round, its most common phase and live peers', () => {
  const t = new SwarmTracker(4)
  assert.match(progressLine(t.now(), 3, undefined, 1.2), /^starting 4 peers/)
  t.onEvent({ type: 'phase', peer: 0, phase: 'update', round: 2, attempt: 0 })
  t.onEvent({ type: 'phase', peer: 1, phase: 'update', round: 2, attempt: 0 })
  t.onEvent({ type: 'phase', peer: 2, phase: 'cohort', round: 2, attempt: 0 })
  t.onEvent({ type: 'phase', peer: 3, phase: 'done', round: 1, attempt: 0 })
  t.onEvent({ type: 'crashed', peer: 3, round: 1 })
  assert.deepEqual(t.now(), { round: 2, phase: 'update', inPhase: 2, live: 3, total: 4 })
  assert.equal(progressLine(t.now(), 3, { accuracy: 0.9123 } as any, 12.34), 'round 2/3 [update] 2/3 peers  last acc 91.23%  12.3 s')
})
