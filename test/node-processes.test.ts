// Three `fedswarm node` processes on loopback TCP form a swarm from a bootstrap address and train. One is
// killed with SIGKILL after its first round and restarted on the same data dir: it comes back with the
// same PeerId and its saved model, catches up by hash, and all three finish the task on the same model.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTask } from '../src/config/index.ts'

const BIN = fileURLToPath(new URL('../bin/fedswarm.js', import.meta.url))

interface Proc { child: ChildProcess, out: string, exited: Promise<number | null> }

function start (cwd: string, args: string[]): Proc {
  const child = spawn(process.execPath, [BIN, 'node', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  const p: Proc = { child, out: '', exited: new Promise(resolve => child.on('exit', code => resolve(code))) }
  child.stdout!.on('data', d => { p.out += String(d) })
  child.stderr!.on('data', d => { p.out += String(d) })
  return p
}

async function until (p: Proc, re: RegExp, ms: number): Promise<RegExpMatchArray> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    const m = p.out.match(re)
    if (m != null) return m
    await new Promise(resolve => setTimeout(resolve, 200))
  }
  throw new Error(`timed out waiting for ${re} in:\n${p.out}`)
}

test('node processes train together; a SIGKILLed peer restarts from its data dir and rejoins', { timeout: 300_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fedswarm-nodes-'))
  const task = createTask({
    rounds: 4,
    model: { kind: 'mlp', hidden: [32] },
    cohort: { size: 3, minSurvivors: 2 },
    timeouts: { joinMs: 2000, cohortMs: 2000, updateMs: 60000, survivorsMs: 8000 }
  })
  await writeFile(join(dir, 'task.json'), JSON.stringify(task))
  const procs: Proc[] = []
  try {
    const common = (i: number): string[] => ['--task', 'task.json', '--data', `mnist:iid:${i}/3`, '--data-dir', `d${i}`, '--listen', '/ip4/127.0.0.1/tcp/0']
    const first = start(dir, common(0))
    procs.push(first)
    const [, addr] = await until(first, /listening on (\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\S+)/, 60_000)
    const second = start(dir, [...common(1), '--bootstrap', addr])
    const third = start(dir, [...common(2), '--bootstrap', addr])
    procs.push(second, third)
    const [, peerId] = await until(second, /^peer (\S+)$/m, 60_000)
    await until(second, /^round 1: model/m, 120_000)
    second.child.kill('SIGKILL')
    await second.exited
    const again = start(dir, [...common(1), '--bootstrap', addr])
    procs.push(again)
    const [, sameId] = await until(again, /^peer (\S+)$/m, 60_000)
    assert.equal(sameId, peerId, 'the restarted peer keeps its identity')
    assert.match(await until(again, /starting after round (\d+)/, 60_000).then(m => m[0]), /starting after round [1-9]/)
    const finals = await Promise.all([first, third, again].map(async p => (await until(p, /^round 4: model ([0-9a-f]{16})/m, 240_000))[1]))
    assert.equal(new Set(finals).size, 1, `final models differ: ${finals.join(' ')}`)
    // Finished peers keep serving until stopped; SIGTERM shuts them down cleanly.
    for (const p of [first, third, again]) await until(p, /task finished at round 4/, 60_000)
    for (const p of [first, third, again]) p.child.kill('SIGTERM')
    for (const p of [first, third, again]) assert.equal(await p.exited, 0, p.out)
  } finally {
    for (const p of procs) p.child.kill('SIGKILL')
  }
})
