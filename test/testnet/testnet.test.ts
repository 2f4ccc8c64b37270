/**
 * # The multi-host testnet
 *
 * A fedswarm network of six hosts on one machine. Each host is a Linux network namespace with its own
 * IPv4 address and `lo`; its `eth0` is a veth whose other end hangs on the bridge `fsbr0`, which lives
 * in a namespace of its own, so nothing in the root namespace changes (see `netns.ts`):
 *
 * ```
 *                              fsbr0  10.77.0.0/24   (namespace fstn-<run>-br)
 *       ┌───────────┬───────────┬──────┴────┬───────────┬───────────┐
 *     boot         p1          p2          p3          p4          nat
 *   .10:4001      .11         .12         .13         .14         .20
 *   bootstrap     join        join        join        join        join, behind a "NAT": nftables drops
 *   DHT + relay                SIGKILLed,              starts       inbound NEW connections, so it can
 *   (SIGTERMed                 restarted               late         dial out but is reachable only via
 *    mid-run)                                                       /ip4/10.77.0.10/…/p2p-circuit
 * ```
 *
 * Every node is a real process, `ip netns exec <ns> <node 24> bin/fedswarm.js …`: `fedswarm bootstrap`
 * on boot, `fedswarm join <network file>` on the others. The test writes the network file: boot's
 * printed address as the bootstrap peer, DHT and relays on, public-network settings (like
 * networks/testnet.json), and a small fast task: logistic regression on MNIST, each peer on its own
 * IID slice (`--data mnist:iid:<i>/20`), secure aggregation on (the default), 2 s join windows. The
 * task has more rounds than the scenario needs; the test stops the peers when it has seen enough.
 *
 * Scenario (every wait bounded; the `round N:` lines trail the swarm by the model's evaluation, so the
 * test follows the round driver's phase in each peer's `status.json` where timing matters):
 *   1. boot starts, then p1, p2, p3 and nat. A TCP probe shows nat's port cannot be reached from p1
 *      while nat reaches p1's; nat reserves a slot on boot's relay and prints its /p2p-circuit address.
 *      A throw-away libp2p node on p1 (reach-probe.ts) fails to ping nat at its own address and pings
 *      it through the relay (the connection's remote address is the /p2p-circuit one).
 *   2. (d) Once p2 has trained a round as a cohort member, it is SIGKILLed in the middle of a later
 *      round: committed to its cohort, exchanging mask-key shares (a fresh `status.json` says phase
 *      `shares`), before its update. `fedswarm status --json` on its data dir: crashed, same PeerId,
 *      its rounds and the swarm's model. It restarts on the same data dir: same PeerId, resumes from a
 *      round before the one it was killed in, syncs, and is a cohort member again.
 *   3. (c) Once the swarm is past round 2, p4 starts: it verifies and adopts the round-record chain
 *      ("synced to round N") and then trains as a cohort member.
 *   4. (e) Once p2 and p4 are back, boot gets SIGTERM (exits 0). Rounds that start after that still
 *      complete: the test waits for 3 of them, with every peer a cohort member in one of them.
 *   5. (a) Every round's model hash is the same on every peer that printed it (p2's first life
 *      included), no peer logged a MODEL MISMATCH. (b) nat was a cohort member in rounds before and
 *      after the stop; boot's relay server log (DEBUG=libp2p:circuit-relay:server) lists the circuits
 *      it bridged to nat. `fedswarm status --json` on every data dir agrees with the round lines; every
 *      peer exits 0 on SIGTERM.
 *
 * Skipped, with the reason, only where network namespaces cannot be made (not root, no `ip`, EPERM).
 * Needs nft or iptables for nat's rule. Run as root with the project's Node 24:
 *   PATH=$PWD/node_modules/.bin:$PATH node --import tsx --test test/testnet/testnet.test.ts
 * `FEDSWARM_TESTNET_KEEP=1` keeps the logs (one per host, lines stamped with seconds since the start)
 * and data dirs; their directory is printed (also on failure).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import type { WriteStream } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createTestnet, netnsUnavailable } from './netns.ts'
import type { HostSpec, Testnet } from './netns.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const BIN = join(ROOT, 'bin/fedswarm.js')
const REACH_PROBE = fileURLToPath(new URL('./reach-probe.ts', import.meta.url))
const KEEP = process.env.FEDSWARM_TESTNET_KEEP === '1'

const HOSTS: HostSpec[] = [
  { name: 'boot', ip: '10.77.0.10' },
  { name: 'p1', ip: '10.77.0.11' },
  { name: 'p2', ip: '10.77.0.12' },
  { name: 'p3', ip: '10.77.0.13' },
  { name: 'p4', ip: '10.77.0.14' },
  { name: 'nat', ip: '10.77.0.20', firewall: 'no-inbound' }
]
const ipOf = (name: string): string => HOSTS.find(h => h.name === name)!.ip
/** Which MNIST slice (of 20) each peer trains on. */
const SLICE: Record<string, number> = { p1: 0, p2: 1, p3: 2, p4: 3, nat: 4 }

/** More than the scenario needs: the test stops the swarm once it has seen AFTER_STOP rounds without boot. */
const ROUNDS = 60
/** Rounds that must complete after the bootstrap node stopped. */
const AFTER_STOP = 3
/** Small and fast: logreg, all peers in the cohort, secure aggregation on (the default), short timeouts. */
const TASK = {
  name: 'netns-testnet-logreg',
  rounds: ROUNDS,
  model: { kind: 'logreg' },
  // Six epochs of 3,000 examples: local training (which starts with the join window) outlasts the
  // window, so members wait for it in the update phase long enough for the test to kill p2 there.
  training: { epochs: 6 },
  cohort: { size: 8, minSurvivors: 2 },
  timeouts: { joinMs: 2000, cohortMs: 2000, updateMs: 12000, survivorsMs: 6000 }
}

/** One line of `fedswarm join` output per completed round. */
const ROUND_LINE = /^round (\d+): model ([0-9a-f]{16}) via (\w+), cohort (\d+), survivors (\d+)(, member)?(, leader)?/

interface RoundSeen { round: number, hash: string, via: string, member: boolean, cohort: number, survivors: number }

class Proc {
  readonly name: string
  readonly child: ChildProcess
  /** stdout and stderr as they came. */
  out = ''
  readonly exited: Promise<number | null>
  exitCode: number | null | undefined
  private readonly log: WriteStream
  private partial = ''

  /** `clock()` prefixes every line of the log file (seconds since the test started). */
  constructor (name: string, child: ChildProcess, logFile: string, clock: () => string) {
    this.name = name
    this.child = child
    this.log = createWriteStream(logFile, { flags: 'a' })
    this.log.write(`--- [${clock()}] ${name}: pid ${child.pid}\n`)
    const take = (d: Buffer): void => {
      const text = String(d)
      this.out += text
      const lines = (this.partial + text).split('\n')
      this.partial = lines.pop()!
      for (const line of lines) this.log.write(`[${clock()}] ${line}\n`)
    }
    child.stdout!.on('data', take)
    child.stderr!.on('data', take)
    this.exited = new Promise(resolve => child.on('exit', (code, signal) => {
      this.exitCode = code
      this.log.end(`${this.partial}\n--- [${clock()}] ${name}: exited ${code ?? signal}\n`)
      resolve(code)
    }))
  }

  get running (): boolean { return this.exitCode === undefined }

  /** The rounds this process printed (`round N: model …`), by round. */
  rounds (): Map<number, RoundSeen> {
    const out = new Map<number, RoundSeen>()
    for (const line of this.out.split('\n')) {
      const m = ROUND_LINE.exec(line)
      if (m != null) out.set(Number(m[1]), { round: Number(m[1]), hash: m[2], via: m[3], member: m[6] != null, cohort: Number(m[4]), survivors: Number(m[5]) })
    }
    return out
  }

  tail (lines = 40): string {
    return this.out.split('\n').slice(-lines).join('\n')
  }
}

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

/** Aborts every wait when the test times out or is cancelled (set by the test). */
let testSignal: AbortSignal | undefined

/** Waits (at most `ms`) until `check` returns a value; throws naming `what` and showing the logs. */
async function waitFor<T> (what: string, ms: number, check: () => T | undefined | Promise<T | undefined>, show: Proc[] = [], everyMs = 250): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    testSignal?.throwIfAborted()
    const v = await check()
    if (v !== undefined) return v
    if (Date.now() > end) {
      throw new Error(`timed out after ${ms / 1000} s waiting for ${what}\n${show.map(p => `=== ${p.name}${p.running ? '' : ` (exited ${p.exitCode})`}:\n${p.tail()}`).join('\n')}`)
    }
    await sleep(everyMs)
  }
}

/** Waits for `re` in `p`'s output; fails at once if `p` exits first. */
async function until (p: Proc, re: RegExp, ms: number): Promise<RegExpMatchArray> {
  return await waitFor(`${re} from ${p.name}`, ms, () => {
    const m = p.out.match(re)
    if (m != null) return m
    if (!p.running) throw new Error(`${p.name} exited (${p.exitCode}) before printing ${re}:\n${p.tail()}`)
    return undefined
  }, [p])
}

/** `fedswarm status --data-dir <dir> --json` (run in the root namespace: it only reads the data dir). */
async function status (dataDir: string): Promise<any> {
  return await new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, 'status', '--data-dir', dataDir, '--json'], { cwd: ROOT, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err != null) reject(new Error(`fedswarm status --data-dir ${dataDir} failed${err.killed ? ' (killed after 120 s)' : ''}: ${err.message}\n${stderr}`))
      else resolve(JSON.parse(stdout))
    })
  })
}

/** The `status.json` a running peer keeps up to date (round, phase, roundsCompleted), or undefined. */
async function statusFile (dataDir: string): Promise<any> {
  return await readFile(join(dataDir, 'status.json'), 'utf8').then(JSON.parse, () => undefined)
}

/**
 * The phase p2 is killed in: it has committed to the attempt's cohort and is exchanging mask-key shares;
 * its update, the survivor list, unmasking and aggregation are still to come.
 */
const MID_ROUND = ['shares', 'update']

test('testnet in network namespaces: bootstrap + relay, a NATed peer, a late joiner, a crash and restart, the bootstrap node stopped', { timeout: 420_000 }, async (t) => {
  const unavailable = await netnsUnavailable()
  if (unavailable != null) {
    t.skip(`network namespaces unavailable: ${unavailable}`)
    return
  }
  testSignal = t.signal
  const started = Date.now()
  const clock = (): string => ((Date.now() - started) / 1000).toFixed(1)
  const note = (line: string): void => {
    t.diagnostic(`[${clock()} s] ${line}`)
    process.stderr.write(`# testnet [${clock()} s] ${line}\n`)
  }
  const dir = await mkdtemp(join(tmpdir(), 'fedswarm-testnet-'))
  const procs: Proc[] = []
  let net: Testnet | undefined
  let ok = false
  try {
    net = await createTestnet({ hosts: HOSTS, log: note })
    const testnet = net
    const env: NodeJS.ProcessEnv = { ...process.env, FEDSWARM_HOME: join(dir, 'home') }
    delete env.DEBUG
    const start = (host: string, args: string[], label = host, extraEnv: NodeJS.ProcessEnv = {}): Proc => {
      const { command, args: argv } = testnet.exec(host, [process.execPath, BIN, ...args])
      const child = spawn(command, argv, { cwd: dir, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] })
      const p = new Proc(label, child, join(dir, `${host}.log`), clock)
      procs.push(p)
      return p
    }
    /** Runs a small TCP connect in `host`'s namespace: `open`, `refused` or `timeout` (after 2 s). */
    const probe = async (host: string, ip: string, port: number): Promise<string> => {
      const script = `const s=require('node:net').connect({host:${JSON.stringify(ip)},port:${port},timeout:2000});` +
        "s.on('connect',()=>{console.log('open');process.exit(0)});s.on('timeout',()=>{console.log('timeout');process.exit(0)});" +
        "s.on('error',e=>{console.log(e.code==='ECONNREFUSED'?'refused':e.code);process.exit(0)})"
      const { command, args } = testnet.exec(host, [process.execPath, '-e', script])
      return await new Promise((resolve, reject) => execFile(command, args, { timeout: 15_000 }, (err, stdout) => err != null ? reject(err) : resolve(stdout.trim())))
    }
    /** Pings `addresses` from a throw-away libp2p node in `host`'s namespace (see reach-probe.ts). */
    const reach = async (host: string, addresses: string[], timeoutMs: number): Promise<Array<{ address: string, ok: boolean, rtt?: number, remoteAddr?: string, error?: string, self: string }>> => {
      const { command, args } = testnet.exec(host, [process.execPath, '--import', 'tsx', REACH_PROBE, String(timeoutMs), ...addresses])
      return await new Promise((resolve, reject) => execFile(command, args, { cwd: ROOT, timeout: 60_000 + addresses.length * timeoutMs }, (err, stdout, stderr) => {
        if (err != null) reject(new Error(`reach-probe in ${host} failed: ${err.message}\n${stderr}`))
        else resolve(stdout.trim().split('\n').map(l => JSON.parse(l)))
      }))
    }
    const dataDir = (host: string): string => join(dir, host)
    const joinArgs = (host: string): string[] => [
      'join', 'testnet.json', '--data', `mnist:iid:${SLICE[host]}/20`, '--data-dir', dataDir(host), '--listen', `/ip4/${ipOf(host)}/tcp/0`
    ]

    // 1. the bootstrap node (its relay server logs the circuits it opens), the network file with its
    //    address, then four peers
    const boot = start('boot', ['bootstrap', '--listen', `/ip4/${ipOf('boot')}/tcp/4001`, '--data-dir', dataDir('boot')], 'boot',
      { DEBUG: 'libp2p:circuit-relay:server' })
    const [, bootAddr] = await until(boot, /^listening on (\/ip4\/10\.77\.0\.10\/tcp\/4001\/p2p\/\S+)$/m, 60_000)
    note(`bootstrap node at ${bootAddr}`)
    await writeFile(join(dir, 'testnet.json'), JSON.stringify({
      version: 1,
      name: 'netns',
      description: 'test/testnet: six network namespaces on one bridge',
      protocolVersion: 'fedswarm/1',
      task: TASK,
      bootstrap: [bootAddr],
      dht: true,
      relay: true,
      mdns: false,
      publicNetwork: true
    }, null, 2))
    const peers = new Map<string, Proc>()
    for (const host of ['p1', 'p2', 'p3', 'nat']) peers.set(host, start(host, joinArgs(host)))
    const peerIds = new Map<string, string>()
    const ports = new Map<string, number>()
    for (const [host, p] of peers) {
      peerIds.set(host, (await until(p, /^peer (\S+)$/m, 90_000))[1])
      ports.set(host, Number((await until(p, new RegExp(`^listening on /ip4/${ipOf(host).replaceAll('.', '\\.')}/tcp/(\\d+)/`, 'm'), 30_000))[1]))
    }
    note(`peers started: ${[...peerIds].map(([h, id]) => `${h} ${id}`).join(', ')}`)

    // (b) nat can dial out but nobody can dial it; it listens on boot's relay instead
    const nat = peers.get('nat')!
    assert.equal(await probe('p1', ipOf('nat'), ports.get('nat')!), 'timeout', 'nat\'s TCP port cannot be reached from p1')
    assert.equal(await probe('nat', ipOf('p1'), ports.get('p1')!), 'open', 'nat can dial p1')
    const [, natRelayed] = await until(nat, /^reachable through a relay: (\S+)$/m, 90_000)
    assert.match(natRelayed, new RegExp(`^/ip4/10\\.77\\.0\\.10/tcp/4001/p2p/\\S+/p2p-circuit/p2p/${peerIds.get('nat')}$`), 'nat listens on boot\'s relay')
    // a libp2p node on p1 cannot reach nat at its own address, but can through the relay
    const natDirect = `/ip4/${ipOf('nat')}/tcp/${ports.get('nat')!}/p2p/${peerIds.get('nat')!}`
    const [viaDirect, viaRelay] = await reach('p1', [natDirect, natRelayed], 8000)
    assert.equal(viaDirect.ok, false, `p1 reached nat at ${natDirect}: ${JSON.stringify(viaDirect)}`)
    assert.equal(viaRelay.ok, true, `p1 could not reach nat through the relay: ${JSON.stringify(viaRelay)}`)
    assert.match(viaRelay.remoteAddr ?? '', /\/p2p-circuit/, JSON.stringify(viaRelay))
    peerIds.set('probe', viaRelay.self)
    note(`nat: its own port is firewalled (${viaDirect.error ?? ''}); p1 pinged it through the relay in ${viaRelay.rtt ?? '?'} ms at ${viaRelay.remoteAddr ?? ''}`)

    // (d) p2 SIGKILLed in the middle of a round, once it has recorded a round (its status.json follows
    //     the round driver's phases: it has committed to the round's cohort). The `round N:` lines and
    //     the round records trail the swarm (they wait for the model's evaluation); the phase does not.
    const p2 = peers.get('p2')!
    const killedIn = await waitFor('p2 in the middle of a round after training a round as a cohort member', 150_000, async () => {
      if (![...p2.rounds().values()].some(r => r.member)) return undefined
      const s = await statusFile(dataDir('p2'))
      // status.json is rewritten at most once a second: only trust a fresh one
      const fresh = s != null && Date.now() - Date.parse(s.updatedAt) < 300
      return fresh && s.roundsCompleted >= 1 && s.round >= 2 && MID_ROUND.includes(s.phase) ? { round: s.round as number, phase: s.phase as string } : undefined
    }, [p2], 50)
    p2.child.kill('SIGKILL')
    await p2.exited
    note(`p2 SIGKILLed in round ${killedIn.round}, phase ${killedIn.phase}`)

    // (c) p4 joins late: once the swarm is past round 2
    await waitFor('the swarm to start round 3', 60_000, async () => (await statusFile(dataDir('p1')))?.round >= 3 ? true : undefined, [peers.get('p1')!])
    const p4 = start('p4', joinArgs('p4'))
    peers.set('p4', p4)

    // (d) status on the dead peer's data dir, then a restart on it
    const crashed = await status(dataDir('p2'))
    assert.equal(crashed.peerId, peerIds.get('p2'), 'status names p2\'s PeerId')
    assert.equal(crashed.running, false, JSON.stringify(crashed))
    assert.equal(crashed.state, 'crashed', JSON.stringify(crashed))
    assert.ok(crashed.roundsCompleted >= 1, `status shows the rounds p2 completed: ${JSON.stringify(crashed)}`)
    // The round it was killed in may still have completed in the moments between that phase was read
    // and the kill landed (a round's last phases take milliseconds on this small model; the data dir is
    // written before status.json, which is rewritten at most once a second): at most that round.
    assert.ok(crashed.roundsCompleted <= killedIn.round, `p2 was killed in round ${killedIn.round}: ${JSON.stringify(crashed)}`)
    note(`status after the kill: ${crashed.state}, peer ${crashed.peerId}, ${crashed.roundsCompleted as number} round(s), model ${String(crashed.lastModelHash).slice(0, 16)}`)
    const p2again = start('p2', joinArgs('p2'), 'p2 (restarted)')
    peers.set('p2', p2again)
    const [, p2id] = await until(p2again, /^peer (\S+)$/m, 90_000)
    assert.equal(p2id, peerIds.get('p2'), 'p2 restarts with the same PeerId')
    const resumedAt = Number((await until(p2again, /starting after round (\d+)/, 60_000))[1])
    assert.ok(resumedAt >= crashed.roundsCompleted, `p2 resumes from its data dir (after round ${resumedAt}; status said ${crashed.roundsCompleted})`)
    assert.ok(resumedAt <= killedIn.round, `p2 was killed in round ${killedIn.round}, but its newest model is of round ${resumedAt}`)
    await waitFor('the restarted p2 to write its status', 60_000, async () => (await statusFile(dataDir('p2')))?.pid === p2again.child.pid ? true : undefined, [p2again])
    const live = await status(dataDir('p2'))
    assert.equal(live.running, true, JSON.stringify(live))
    assert.equal(live.peerId, peerIds.get('p2'), 'status names the same PeerId while the restarted p2 runs')
    assert.ok(live.roundsCompleted >= crashed.roundsCompleted, `the round records survived the kill: ${JSON.stringify(live)}`)
    note(`p2 restarted with the same PeerId, after round ${resumedAt}`)
    const syncedTo = Number((await until(p4, /^synced to round (\d+) \(model [0-9a-f]{16}\)/m, 120_000))[1])
    assert.ok(syncedTo >= 2, `p4 synced to round ${syncedTo}`)
    note(`p4 joined late and synced to round ${syncedTo}`)

    // (e) the bootstrap node stops; the others keep going
    boot.child.kill('SIGTERM')
    await waitFor('the bootstrap node to exit', 30_000, () => boot.running ? undefined : true, [boot])
    assert.equal(boot.exitCode, 0, `the bootstrap node stops cleanly on SIGTERM:\n${boot.tail()}`)
    // the round in progress when boot stopped: every later round ran entirely without it
    const stoppedAt = Math.max(...await Promise.all([...peers.keys()].map(async h => {
      const st = await statusFile(dataDir(h))
      return st?.round ?? (st?.roundsCompleted ?? 0) + 1
    })))
    note(`bootstrap node stopped during round ${stoppedAt}`)

    // (e) the swarm keeps training: wait until every peer has been a cohort member in a round after the
    //     stop and every peer has reached round stoppedAt + AFTER_STOP
    const memberRounds = (host: string, after: number): number[] =>
      [...peers.get(host)!.rounds().values()].filter(r => r.round > after && r.via === 'aggregate' && r.member).map(r => r.round)
    const target = stoppedAt + AFTER_STOP
    assert.ok(target <= ROUNDS, `the swarm is too far (round ${stoppedAt} of ${ROUNDS}) to see ${AFTER_STOP} rounds after the stop; raise ROUNDS`)
    await waitFor(`every peer to reach round ${target}, each a cohort member in a round after ${stoppedAt}`, 180_000, () => {
      for (const [host, p] of peers) {
        if (!p.running) throw new Error(`${host} exited (${p.exitCode}):\n${p.tail()}`)
        if (!p.rounds().has(target) || memberRounds(host, stoppedAt).length === 0) return undefined
      }
      return true
    }, [...peers.values()])

    // (a) every round's hash is the same on every peer that completed it (p2's first life included)
    const roundsSeen = (): Map<number, Array<[string, RoundSeen]>> => {
      const out = new Map<number, Array<[string, RoundSeen]>>()
      for (const [label, p] of [...peers, ['p2 (before the kill)', p2] as const]) {
        for (const r of p.rounds().values()) out.set(r.round, [...(out.get(r.round) ?? []), [label, r]])
      }
      return out
    }
    const byRound = roundsSeen()
    for (const [round, seen] of byRound) {
      assert.equal(new Set(seen.map(([, r]) => r.hash)).size, 1, `round ${round}: peers disagree: ${seen.map(([h, r]) => `${h} ${r.hash}`).join(', ')}`)
    }
    for (let r = 1; r <= target; r++) assert.ok(byRound.has(r), `no peer printed round ${r}`)
    // The first peers up may train the first rounds alone (minSurvivors 2); later ones adopt those by
    // sync. Each of them trained as a cohort member while boot was up (p2: before the kill).
    for (const [label, p] of [['p1', peers.get('p1')!], ['p2 (before the kill)', p2], ['p3', peers.get('p3')!], ['nat', nat]] as const) {
      const rounds = [...p.rounds().values()].filter(r => r.member && r.via === 'aggregate' && r.round < stoppedAt).map(r => r.round)
      assert.ok(rounds.length > 0, `${label} trained in no round before the bootstrap node stopped:\n${p.tail()}`)
    }
    for (const p of procs) assert.doesNotMatch(p.out, /MODEL MISMATCH/, `${p.name} saw a model mismatch`)
    const swarmHash = (round: number): string | undefined => roundsSeen().get(round)?.[0][1].hash
    assert.equal(String(crashed.lastModelHash).slice(0, 16), swarmHash(crashed.roundsCompleted),
      `the model status showed for the dead p2 is the swarm's model of round ${crashed.roundsCompleted as number}`)
    // (d) the restarted p2 and (c) the late p4 trained as cohort members in later rounds
    assert.ok(memberRounds('p2', resumedAt).length > 0, `the restarted p2 took part in no round:\n${p2again.tail()}`)
    assert.ok(memberRounds('p4', syncedTo).length > 0, `the late joiner p4 took part in no round:\n${p4.tail()}`)
    // (b) someone reached nat through boot's relay (its server logs the circuits it bridges)
    peerIds.set('p4', (await until(p4, /^peer (\S+)$/m, 1000))[1])
    const circuits = [...boot.out.matchAll(/connection from (\S+) to (\S+) established/g)].map(m => [m[1], m[2]])
    const hostOf = (id: string): string => [...peerIds].find(([, v]) => v === id)?.[0] ?? id
    assert.ok(circuits.some(([, to]) => to === peerIds.get('nat')), `boot's relay never bridged a connection to nat: ${circuits.map(([f, to]) => `${hostOf(f)}->${hostOf(to)}`).join(', ') || 'none'}`)
    const killed = roundsSeen().get(killedIn.round)?.find(([label]) => label === 'p1')?.[1]
    note(`round ${killedIn.round}, in which p2 was killed: ${killed != null ? `cohort ${killed.cohort}, survivors ${killed.survivors} on p1` : 'p1 took it by sync'}`)
    note(`rounds ${stoppedAt + 1}..${target}+ ran after the stop with every peer in the cohort; p2 a member again from round ${memberRounds('p2', resumedAt)[0]}, ` +
      `p4 from round ${memberRounds('p4', syncedTo)[0]}; circuits through boot: ${circuits.map(([f, to]) => `${hostOf(f)}->${hostOf(to)}`).join(', ')}`)

    // status reads the same story from the data dirs while the peers run
    const reports = await Promise.all([...peers.keys()].map(async host => [host, await status(dataDir(host))] as const))
    for (const [host, st] of reports) {
      const at = `${host}: ${JSON.stringify(st)}`
      assert.equal(st.peerId, peerIds.get(host), at)
      assert.equal(st.network, 'netns', at)
      assert.equal(st.running, true, at)
      assert.equal(st.state, 'running', at)
      assert.ok(st.roundsCompleted >= stoppedAt, at)
      assert.equal(String(st.lastModelHash).slice(0, 16), swarmHash(st.roundsCompleted), at)
    }
    // and every peer stops cleanly on SIGTERM
    for (const p of peers.values()) p.child.kill('SIGTERM')
    await waitFor('the peers to stop on SIGTERM', 60_000, () => [...peers.values()].every(p => !p.running) ? true : undefined, [...peers.values()])
    for (const [host, p] of peers) assert.equal(p.exitCode, 0, `${host} exit code on SIGTERM:\n${p.tail()}`)
    note('done')
    ok = true
  } finally {
    for (const p of procs) if (p.running) p.child.kill('SIGKILL')
    await Promise.all(procs.map(async p => await Promise.race([p.exited, sleep(5000)])))
    await net?.teardown()
    if (KEEP || !ok) t.diagnostic(`logs and data dirs kept in ${dir}`)
    else await rm(dir, { recursive: true, force: true })
  }
})
