// Real deployment from the command line, as real processes: network files fail in one line naming the
// file and field; `fedswarm bootstrap` keeps its PeerId across restarts; two `fedswarm join` peers find
// each other through a bootstrap node (DHT + relay) and train to the same model, one serving Prometheus
// metrics; `fedswarm status` reads the result from the data dir.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../bin/fedswarm.js', import.meta.url))

interface Proc { child: ChildProcess, out: string, err: string, exited: Promise<number | null> }

function start (cwd: string, args: string[]): Proc {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FEDSWARM_HOME: join(cwd, 'home') } })
  const p: Proc = { child, out: '', err: '', exited: new Promise(resolve => child.on('exit', code => resolve(code))) }
  child.stdout!.on('data', d => { p.out += String(d) })
  child.stderr!.on('data', d => { p.err += String(d) })
  return p
}

async function run (cwd: string, args: string[], timeoutMs = 60_000): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const p = start(cwd, args)
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs)
  const code = await p.exited
  clearTimeout(timer)
  return { code, stdout: p.out, stderr: p.err }
}

async function until (p: Proc, re: RegExp, ms: number): Promise<RegExpMatchArray> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    const m = p.out.match(re)
    if (m != null) return m
    if (p.child.exitCode != null) break
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`no ${re} in:\n${p.out}\n${p.err}`)
}

function assertOneLineError (r: { code: number | null, stderr: string }, pattern: RegExp): void {
  assert.notEqual(r.code, 0, `exit code 0; stderr: ${r.stderr}`)
  const lines = r.stderr.trim().split('\n').filter(l => !l.includes('ExperimentalWarning') && !l.startsWith('(node:') && !l.includes('--trace-warnings'))
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`)
  assert.match(lines[0], pattern)
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace without --verbose')
}

/** A tiny task: logistic regression, 2 rounds, a cohort of 2, secure aggregation (the default). */
const TINY_TASK = {
  name: 'tiny-logreg',
  rounds: 2,
  model: { kind: 'logreg' },
  cohort: { size: 2, minSurvivors: 2 },
  timeouts: { joinMs: 2000, cohortMs: 2000, updateMs: 30000, survivorsMs: 8000 }
}

function networkFile (bootstrap: string[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ version: 1, name: 'ci', protocolVersion: 'fedswarm/1', task: TINY_TASK, bootstrap, dht: true, relay: true, publicNetwork: false, ...extra })
}

test('network files: bad fields, unknown names, no bootstrap peers and bad --metrics are one-line errors', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fedswarm-net-'))
  await writeFile(join(dir, 'typo.json'), networkFile([], { bootstrp: [] }))
  assertOneLineError(await run(dir, ['join', 'typo.json', '--data', 'mnist']), /typo\.json: unknown field bootstrp \(did you mean bootstrap\?\)/)
  await writeFile(join(dir, 'addr.json'), networkFile(['/ip4/127.0.0.1/tcp/4001']))
  assertOneLineError(await run(dir, ['join', 'addr.json', '--data', 'mnist']), /addr\.json: bootstrap\[0\] has no \/p2p\/<peer-id> part/)
  await writeFile(join(dir, 'task.json'), JSON.stringify({ version: 1, name: 'ci', protocolVersion: 'fedswarm/1', task: { rounds: 0 } }))
  assertOneLineError(await run(dir, ['join', 'task.json', '--data', 'mnist']), /task\.json: task: rounds must be an integer >= 1/)
  await writeFile(join(dir, 'proto.json'), networkFile([], { protocolVersion: 'fedswarm/9' }))
  assertOneLineError(await run(dir, ['join', 'proto.json', '--data', 'mnist']), /proto\.json: protocolVersion "fedswarm\/9"/)
  await writeFile(join(dir, 'json.json'), '{ "version": 1,')
  assertOneLineError(await run(dir, ['join', 'json.json', '--data', 'mnist']), /json\.json: not valid JSON: line 1/)
  assertOneLineError(await run(dir, ['join', 'tesnet', '--data', 'mnist']), /unknown network "tesnet" \(did you mean testnet\?/)
  assertOneLineError(await run(dir, ['join', 'nope.json', '--data', 'mnist']), /network file nope\.json not found/)
  const none = await run(dir, ['join', 'testnet', '--data', 'mnist'])
  assertOneLineError(none, /networks\/testnet\.json\) lists no bootstrap peers; pass --bootstrap/)
  assert.equal(none.code, 2)

  assertOneLineError(await run(dir, ['join', 'testnet', '--data', 'mnist', '--metrics', '127.0.0.1']), /metrics address "127\.0\.0\.1": no port/)
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  try {
    const busy = await run(dir, ['bootstrap', '--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', 'bs', '--metrics', `127.0.0.1:${port}`])
    assertOneLineError(busy, new RegExp(`cannot serve metrics on 127\\.0\\.0\\.1:${port}: address in use`))
  } finally {
    server.close()
  }
  assertOneLineError(await run(dir, ['status', '--data-dir', 'no-such-dir']), /data dir .*no-such-dir does not exist/)
})

test('bootstrap prints its addresses and keeps its PeerId across restarts', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fedswarm-net-'))
  const ids: string[] = []
  for (let i = 0; i < 2; i++) {
    const p = start(dir, ['bootstrap', '--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', 'bs'])
    try {
      const [, id] = await until(p, /^peer (\S+)$/m, 30_000)
      const [, addr] = await until(p, /^listening on (\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/(\S+))$/m, 30_000)
      assert.ok(addr.endsWith(`/p2p/${id}`), addr)
      ids.push(id)
      p.child.kill('SIGTERM')
      assert.equal(await p.exited, 0, p.out + p.err)
    } finally {
      p.child.kill('SIGKILL')
    }
  }
  assert.equal(ids[1], ids[0], 'same PeerId after a restart on the same data dir')
})

test('two join peers train through a bootstrap node; metrics and status report the rounds', { timeout: 150_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fedswarm-net-'))
  const procs: Proc[] = []
  try {
    const boot = start(dir, ['bootstrap', '--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', 'bs'])
    procs.push(boot)
    const [, bootAddr] = await until(boot, /^listening on (\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\S+)$/m, 30_000)
    await writeFile(join(dir, 'ci.json'), networkFile([bootAddr]))
    const common = ['--listen', '/ip4/127.0.0.1/tcp/0']
    const first = start(dir, ['join', 'ci.json', '--data', 'mnist:iid:0/20', '--data-dir', 'p1', '--exit-when-done', ...common])
    const second = start(dir, ['join', 'ci.json', '--data', 'mnist:iid:1/20', '--data-dir', 'p2', '--metrics', '127.0.0.1:0', ...common])
    procs.push(first, second)
    const [, metricsUrl] = await until(second, /^metrics on (http:\/\/127\.0\.0\.1:\d+\/metrics)$/m, 30_000)

    const done = /^task finished at round 2, model ([0-9a-f]{64})$/m
    const [[, hash1], [, hash2]] = await Promise.all([until(first, done, 120_000), until(second, done, 120_000)])
    assert.equal(hash1, hash2, 'both peers hold the same final model')
    assert.equal(await first.exited, 0, first.out + first.err)

    const text = await (await fetch(metricsUrl)).text()
    const value = (name: string): number => {
      const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)
      assert.ok(m != null, `${name} missing from:\n${text}`)
      return Number(m[1])
    }
    assert.ok(value('fedswarm_rounds_completed_total') >= 1)
    assert.ok(value('fedswarm_bytes_sent_total') > 0)
    assert.ok(value('fedswarm_bytes_received_total') > 0)
    assert.equal(value('fedswarm_round'), 2)
    assert.match(text, /^fedswarm_round_phase_seconds_count\{phase="join"\} [1-9]/m)
    assert.match(text, /^fedswarm_connections \d+$/m)
    assert.match(text, /^fedswarm_epsilon 0$/m)
    assert.match(text, /^process_cpu_user_seconds_total /m, 'default process metrics')

    const live = JSON.parse((await run(dir, ['status', '--data-dir', 'p2', '--json'])).stdout)
    assert.equal(live.running, true)
    assert.equal(live.state, 'finished')
    assert.ok(live.live != null && live.live.connections >= 1, JSON.stringify(live))

    second.child.kill('SIGTERM')
    assert.equal(await second.exited, 0, second.out + second.err)
    const r = await run(dir, ['status', '--data-dir', 'p2', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const status = JSON.parse(r.stdout)
    assert.equal(status.roundsCompleted, 2)
    assert.equal(status.lastModelHash, hash2)
    assert.equal(status.running, false)
    assert.equal(status.state, 'stopped')
    assert.equal(status.task.name, 'tiny-logreg')
    assert.equal(status.network, 'ci')
    assert.equal(status.epsilon, null)
    const textStatus = await run(dir, ['status', '--data-dir', 'p1'])
    assert.match(textStatus.stdout, new RegExp(`model\\s+${hash1}`))
    assert.match(textStatus.stdout, /not running \(last seen /)
  } finally {
    for (const p of procs) p.child.kill('SIGKILL')
  }
})
