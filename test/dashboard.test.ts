// The live dashboard's server without a browser: the page, /state.json and the Server-Sent Events
// stream follow the store; it is read-only; bad addresses and ports in use are one-line errors naming
// the address (in the API and on the command line).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  DashboardError, DashboardStore, PeerDashboardFeed, createDashboardServer, dashboardView, parseDashboardAddress
} from '../src/dashboard/index.ts'
import type { DashboardRound } from '../src/dashboard/index.ts'
import { createTask } from '../src/config/index.ts'
import type { RoundRecord } from '../src/round/driver.ts'

const BIN = fileURLToPath(new URL('../bin/fedswarm.js', import.meta.url))
const TASK = { name: 'dash', id: 'cd'.repeat(32), rounds: 5, targetEpsilon: 3, delta: 1e-5, dp: true }

const round = (r: number, over: Partial<DashboardRound> = {}): DashboardRound => ({
  round: r, accuracy: 0.9, loss: 0.3, epsilon: 0.5 * r, cohort: 4, survivors: 4, bytesSentPerPeer: 1000, bytesReceivedPerPeer: 2000,
  modelHash: 'ef'.repeat(32), agreed: true, agreement: '4/4 peers', ...over
})

async function get (url: string, method = 'GET'): Promise<{ status: number, type: string, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { method }, res => {
      let body = ''
      res.on('data', d => { body += String(d) })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }))
    })
    req.on('error', reject)
    req.end()
  })
}

/** Reads `state` events from /events until `until` accepts one. */
async function nextEvent (url: string, until: (data: any) => boolean, timeoutMs = 10_000): Promise<any> {
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { req.destroy(); reject(new Error('no matching event')) }, timeoutMs)
    const req = request(new URL('/events', url), res => {
      assert.equal(res.headers['content-type'], 'text/event-stream')
      let buf = ''
      res.on('data', d => {
        buf += String(d)
        let i: number
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i)
          buf = buf.slice(i + 2)
          const data = /^event: state\ndata: (.*)$/m.exec(block)?.[1]
          if (data == null) continue
          const msg = JSON.parse(data)
          if (until(msg)) { clearTimeout(timer); req.destroy(); resolve(msg) }
        }
      })
    })
    req.on('error', () => {})
    req.end()
  })
}

test('parseDashboardAddress: :port is loopback, bad values name the value', () => {
  assert.deepEqual(parseDashboardAddress(':8710'), { host: '127.0.0.1', port: 8710 })
  assert.deepEqual(parseDashboardAddress('0.0.0.0:0'), { host: '0.0.0.0', port: 0 })
  assert.deepEqual(parseDashboardAddress('[::1]:9'), { host: '::1', port: 9 })
  for (const bad of ['8710', 'localhost:', 'a:b:c', 'h:70000', '[x]:1']) {
    assert.throws(() => parseDashboardAddress(bad), (e: Error) => e instanceof DashboardError && e.message.includes(`"${bad}"`) && !e.message.includes('\n'))
  }
})

test('dashboard server: page, state.json and SSE follow the store; read-only', async () => {
  const store = new DashboardStore({ kind: 'sim', task: TASK, initial: { peers: { connected: 4, total: 4 } } })
  const server = await createDashboardServer({ listen: '127.0.0.1:0', store, pushIntervalMs: 20 })
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/)
    const page = await get(server.url)
    assert.equal(page.status, 200)
    assert.match(page.type, /text\/html/)
    for (const id of ['accuracy', 'loss', 'epsilon', 'bytes', 'phases', 'survivors']) assert.match(page.body, new RegExp(`<figure data-chart="${id}"[^>]*>[\\s\\S]*?<svg`))
    assert.doesNotMatch(page.body, /\s(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i, 'no external URLs')
    assert.match(page.body, /new EventSource\('\/events'\)/)

    // A new round shows up in the stream with re-rendered charts.
    const pushed = nextEvent(server.url, m => m.state.rounds.length === 2)
    await new Promise(resolve => setTimeout(resolve, 100))
    store.update({ state: 'running', round: 2, phase: 'update', inPhase: 3 })
    store.addRound(round(1))
    store.addRound(round(2, { agreed: false, agreement: '3/4 peers' }), { epsilon: 1 })
    const msg = await pushed
    assert.equal(msg.fields.completed, '2')
    assert.equal(msg.fields.round, '2/5')
    assert.equal(msg.fields.phase, 'update, 3/4 peers')
    assert.equal(msg.status.agreement, 'bad')
    assert.match(msg.fields.epsilon, /^1\.000 of 3/)
    assert.equal(msg.chartRounds, 2)
    assert.equal((msg.charts.accuracy.match(/<g class="mark-symbol role-mark[^>]*>(.*?)<\/g>/)?.[1].match(/<path/g) ?? []).length, 2)

    const state = JSON.parse((await get(new URL('/state.json', server.url).href)).body)
    assert.equal(state.rounds.length, 2)
    assert.equal((await get(server.url, 'POST')).status, 405)
    assert.equal((await get(new URL('/nope', server.url).href)).status, 404)
  } finally {
    await server.close()
  }
})

test('dashboard server: a port in use is a one-line DashboardError naming the address', async () => {
  const blocker = createServer()
  await new Promise<void>(resolve => blocker.listen(0, '127.0.0.1', resolve))
  const port = (blocker.address() as AddressInfo).port
  try {
    const store = new DashboardStore({ kind: 'peer', task: TASK })
    await assert.rejects(createDashboardServer({ listen: `127.0.0.1:${port}`, store }),
      (e: Error) => e instanceof DashboardError && e.message === `cannot serve the dashboard on 127.0.0.1:${port}: address in use`)
  } finally {
    blocker.close()
  }
})

test('peer feed: rounds from records, MODEL MISMATCH marks the round, bytes and phases', () => {
  const task = createTask({ rounds: 4 })
  let t = 0
  const feed = new PeerDashboardFeed({ task, taskId: 'ab'.repeat(32), peerId: '12D3KooWtest', bytes: () => ({ sent: 10 + t, received: 20 }) })
  feed.connections(3)
  feed.phase('join', 1, 0)
  t = 5
  feed.phase('update', 1, 0)
  feed.phase('done', 1, 0)
  const rec = { round: 1, attempt: 0, modelHash: 'aa'.repeat(32), cohort: 3, survivors: 2, via: 'aggregate', roundSent: 100, roundReceived: 200 } as RoundRecord
  feed.round(rec, { accuracy: 0.5, loss: 1 }, null)
  let s = feed.store.state
  assert.equal(s.rounds[0].agreed, true)
  assert.equal(s.rounds[0].bytesSentPerPeer, 100)
  assert.ok(s.rounds[0].phaseSeconds != null && 'join' in s.rounds[0].phaseSeconds)
  assert.deepEqual(s.bytes, { sent: 15, received: 20 })
  assert.equal(dashboardView(s).fields.peers, '3 connected')
  feed.log('MODEL MISMATCH in round 1: 12D3KooWother has 0123, this peer has aaaa')
  s = feed.store.state
  assert.equal(s.rounds[0].agreed, false)
  assert.equal(dashboardView(s).status.agreement, 'bad')
})

test('sim / node / join --dashboard: a bad address and a port in use are one-line errors naming the address', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fedswarm-dash-'))
  await writeFile(join(dir, 'task.json'), '{}')
  const run = async (args: string[]): Promise<{ code: number | null, stderr: string }> => await new Promise(resolve => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', d => { stderr += String(d) })
    child.on('exit', code => resolve({ code, stderr }))
  })
  const bad = await run(['sim', '--peers', '2', '--rounds', '1', '--dashboard', 'nowhere'])
  assert.equal(bad.code, 2)
  assert.equal(bad.stderr.trim(), 'fedswarm: invalid dashboard address "nowhere": no port (expected <host>:<port>, e.g. 127.0.0.1:8710)')
  const blocker = createServer()
  await new Promise<void>(resolve => blocker.listen(0, '127.0.0.1', resolve))
  const port = (blocker.address() as AddressInfo).port
  try {
    for (const args of [
      ['sim', '--peers', '2', '--rounds', '1'],
      ['node', '--task', 'task.json', '--data', 'mnist:iid:0/2', '--data-dir', 'dd', '--listen', '/ip4/127.0.0.1/tcp/0']
    ]) {
      const busy = await run([...args, '--dashboard', `127.0.0.1:${port}`])
      assert.equal(busy.code, 2, args[0])
      const lines = busy.stderr.trim().split('\n').filter(l => !l.includes('ExperimentalWarning') && !l.startsWith('(node:'))
      assert.deepEqual(lines, [`fedswarm: cannot serve the dashboard on 127.0.0.1:${port}: address in use`])
    }
    const joined = await run(['join', 'local', '--data', 'mnist', '--dashboard', 'x:y'])
    assert.equal(joined.code, 2)
    assert.match(joined.stderr, /^fedswarm: invalid dashboard address "x:y": port y is not a number/)
  } finally {
    blocker.close()
  }
})
