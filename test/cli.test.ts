// The command line as a user meets it: bad input ends in one clear line naming the problem, a non-zero
// exit and no stack trace (unless --verbose).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, writeFile, readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'

const BIN = fileURLToPath(new URL('../bin/fedswarm.js', import.meta.url))

interface Run { code: number | null, stdout: string, stderr: string }

function fedswarm (args: string[], opts: { cwd?: string, timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', d => { stdout += String(d) })
    child.stderr.on('data', d => { stderr += String(d) })
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000)
    child.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
  })
}

function assertOneLineError (r: Run, pattern: RegExp): void {
  assert.notEqual(r.code, 0, `exit code 0; stderr: ${r.stderr}`)
  const lines = r.stderr.trim().split('\n').filter(l => !l.includes('ExperimentalWarning') && !l.startsWith('(node:') && !l.includes('--trace-warnings'))
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`)
  assert.match(lines[0], pattern)
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace without --verbose')
}

test('task init writes a valid task file and refuses to overwrite it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fedswarm-cli-'))
  const r1 = await fedswarm(['task', 'init', 'task.json'], { cwd: dir })
  assert.equal(r1.code, 0, r1.stderr)
  const task = JSON.parse(await readFile(join(dir, 'task.json'), 'utf8'))
  assert.equal(task.model.kind, 'mlp')
  const r2 = await fedswarm(['task', 'init', 'task.json'], { cwd: dir })
  assertOneLineError(r2, /task\.json/)
  assert.equal(r2.code, 2)
})

test('malformed and invalid task files name the file and the field', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fedswarm-cli-'))
  await writeFile(join(dir, 'bad.json'), '{ "rounds": 3, ')
  assertOneLineError(await fedswarm(['sim', '--task', 'bad.json'], { cwd: dir }), /bad\.json/)
  await writeFile(join(dir, 'kind.json'), JSON.stringify({ model: { kind: 'resnet' } }))
  const r = await fedswarm(['sim', '--task', 'kind.json'], { cwd: dir })
  assertOneLineError(r, /kind\.json.*model\.kind.*mlp/)
  assert.equal(r.code, 2)
  assertOneLineError(await fedswarm(['sim', '--task', 'nope.json'], { cwd: dir }), /nope\.json not found/)
})

test('bad flags are named', async () => {
  assertOneLineError(await fedswarm(['sim', '--peers', 'ten']), /--peers/)
  assertOneLineError(await fedswarm(['sim', '--dropout', '2']), /--dropout/)
  assertOneLineError(await fedswarm(['sim', '--partition', 'dirichlet:-1']), /partition/)
  assertOneLineError(await fedswarm(['sim', '--secure-agg', 'maybe']), /--secure-agg must be on or off/)
  assertOneLineError(await fedswarm(['sim', '--peers', '4', '--threshold', '5']), /cohort\.threshold must be an integer from 0 to 4/)
  assertOneLineError(await fedswarm(['sim', '--clip', '-1']), /--clip/)
  assertOneLineError(await fedswarm(['privacy', '--noise', '1']), /--examples, --batch and --epochs, or --sample-rate and --steps/)
  assertOneLineError(await fedswarm(['privacy', '--sample-rate', '2', '--steps', '10', '--noise', '1']), /--sample-rate/)
})

test('--verbose shows the stack trace', async () => {
  const r = await fedswarm(['sim', '--task', 'nope.json', '--verbose'])
  assert.notEqual(r.code, 0)
  assert.match(r.stderr, /^\s+at /m)
})

test('node: missing data path, port in use and unreachable bootstrap are one-line errors', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fedswarm-cli-'))
  assert.equal((await fedswarm(['task', 'init', 'task.json'], { cwd: dir })).code, 0)
  const missing = await fedswarm(['node', '--task', 'task.json', '--data', './no-such-dir/train.csv', '--data-dir', 'dd1'], { cwd: dir })
  assertOneLineError(missing, /no-such-dir/)

  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  try {
    const busy = await fedswarm(['node', '--task', 'task.json', '--data', 'mnist:iid:0/2', '--data-dir', 'dd2', '--listen', `/ip4/127.0.0.1/tcp/${port}`], { cwd: dir })
    assertOneLineError(busy, new RegExp(`/ip4/127.0.0.1/tcp/${port}.*in use`))
  } finally {
    server.close()
  }

  const closed = createServer()
  await new Promise<void>(resolve => closed.listen(0, '127.0.0.1', resolve))
  const closedPort = (closed.address() as AddressInfo).port
  await new Promise<void>(resolve => closed.close(() => resolve()))
  const id = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
  const addr = `/ip4/127.0.0.1/tcp/${closedPort}/p2p/${id}`
  const unreachable = await fedswarm(['node', '--task', 'task.json', '--data', 'mnist:iid:0/2', '--data-dir', 'dd3', '--listen', '/ip4/127.0.0.1/tcp/0', '--bootstrap', addr], { cwd: dir })
  assertOneLineError(unreachable, new RegExp(`127.0.0.1/tcp/${closedPort}`))
})
