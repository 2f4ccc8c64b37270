/**
 * A small multi-host network on one machine, made of Linux network namespaces (needs root and `ip`
 * from iproute2): one namespace per host, each with `lo` up and an `eth0` veth whose other end hangs
 * on the bridge `fsbr0` in a namespace of its own. The hosts get the /24 addresses they are given
 * (test/testnet uses 10.77.0.0/24), so they share one LAN, and nothing in the root namespace changes
 * (its routes, interfaces and firewall stay as they are).
 *
 *   namespace <prefix>-br:  fsbr0 ─┬─ v-boot ══ eth0 in <prefix>-boot  10.77.0.10/24
 *                                  ├─ v-p1   ══ eth0 in <prefix>-p1    10.77.0.11/24
 *                                  └─ …
 *
 * Names: namespaces are `<base>-<run id>-<host>`, the run id being this process's pid in base 36, so
 * two runs never collide and a run can tell its own namespaces from a crashed run's. `createTestnet`
 * first removes what crashed runs with the same base left behind (namespaces whose run's pid is gone,
 * after SIGKILLing the processes still inside them), and `teardown()` kills whatever still runs in
 * this run's namespaces and deletes them. Teardown also runs, synchronously, if the process exits or
 * is interrupted (SIGINT / SIGTERM / SIGHUP) while the testnet is up.
 *
 * A host may be firewalled (`firewall: 'no-inbound'`): an nftables (or, without nft, iptables) rule
 * in its namespace drops inbound NEW connections, like a NAT or a home router: it can dial out, and
 * replies come back, but nobody can dial it.
 */

import { execFile, execFileSync } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** Where iproute2 / nftables / iptables live when PATH lacks the sbin directories (e.g. sudo without secure_path). */
const SBIN = ['/usr/sbin', '/sbin', '/usr/bin', '/bin']

/** `tool` as found on PATH, else in the usual sbin directories, else `tool` itself (so ENOENT names it). */
function which (tool: string): string {
  for (const dir of [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SBIN]) {
    const path = `${dir}/${tool}`
    try {
      accessSync(path, constants.X_OK)
      return path
    } catch {}
  }
  return tool
}

const IP = which('ip')

/** The bridge every host's veth is attached to (inside the bridge namespace). */
export const BRIDGE = 'fsbr0'
/** Default prefix of namespace names. */
export const DEFAULT_BASE = 'fstn'
/** Default subnet: hosts get `10.77.0.<n>/24`. */
export const DEFAULT_PREFIX_LENGTH = 24

export interface HostSpec {
  /** Short host name, letters and digits (names the namespace and the bridge-side veth). */
  name: string
  /** IPv4 address in the subnet, e.g. `10.77.0.11`. */
  ip: string
  /** `no-inbound`: drop inbound NEW connections (established ones and loopback still pass). */
  firewall?: 'no-inbound'
}

export interface Host extends HostSpec {
  /** The host's namespace name. */
  ns: string
}

export interface TestnetInit {
  hosts: HostSpec[]
  /** Namespace name prefix shared by every run (default `fstn`); leftovers with it are cleaned. */
  base?: string
  /** Firewall tool for `no-inbound` hosts (default: nft if installed, else iptables). */
  firewallTool?: 'nft' | 'iptables'
  /** Log lines (commands run, leftovers removed). */
  log?: (line: string) => void
}

export interface Testnet {
  /** `<base>-<run id>`. */
  readonly prefix: string
  /** Namespace holding the bridge. */
  readonly bridgeNs: string
  readonly hosts: ReadonlyMap<string, Host>
  host (name: string): Host
  /** argv that runs `argv` inside `host`'s namespace: `ip netns exec <ns> …argv` (`ip` execs, so the pid is argv's). */
  exec (host: string, argv: string[]): { command: string, args: string[] }
  /** Kills what still runs in the namespaces and deletes them; safe to call twice. */
  teardown (): Promise<void>
}

/** Thrown when namespaces cannot be made here at all (not root, no `ip`, EPERM); the reason says which. */
export class NetnsUnavailableError extends Error {
  override name = 'NetnsUnavailableError'
}

const HOST_NAME = /^[a-z][a-z0-9]{0,11}$/
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/

async function ip (args: string[], input?: string): Promise<string> {
  if (input === undefined) return (await run(IP, args, { encoding: 'utf8' })).stdout
  return await new Promise<string>((resolve, reject) => {
    const child = execFile(IP, args, { encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err != null) reject(Object.assign(err, { stderr }))
      else resolve(stdout)
    })
    child.stdin!.end(input)
  })
}

function describe (err: unknown): string {
  const e = err as { code?: string, stderr?: string, message?: string }
  const text = (e.stderr ?? '').trim() || (e.message ?? String(err))
  return text.split('\n')[0]
}

/**
 * Resolves with `undefined` when this process can create network namespaces, otherwise with the
 * reason (for a test skip). Creates and deletes a probe namespace.
 */
export async function netnsUnavailable (): Promise<string | undefined> {
  if (process.platform !== 'linux') return `network namespaces are Linux only (this is ${process.platform})`
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return `not root (uid ${process.getuid()}); run as root or under sudo`
  try {
    await run(IP, ['-V'])
  } catch (err) {
    return (err as { code?: string }).code === 'ENOENT' ? 'no `ip` command (apt-get install iproute2)' : `\`ip -V\` failed: ${describe(err)}`
  }
  const probe = `${DEFAULT_BASE}-${process.pid.toString(36)}-probe`
  try {
    await ip(['netns', 'add', probe])
  } catch (err) {
    return `ip netns add failed: ${describe(err)}`
  }
  try {
    await ip(['-n', probe, 'link', 'set', 'lo', 'up'])
    await ip(['netns', 'exec', probe, 'true'])
  } catch (err) {
    return `cannot use a network namespace: ${describe(err)}`
  } finally {
    await ip(['netns', 'del', probe]).catch(() => {})
  }
  return undefined
}

/** Which firewall tool is installed: nft preferred, then iptables; `undefined` if neither. */
export async function firewallTool (): Promise<'nft' | 'iptables' | undefined> {
  for (const tool of ['nft', 'iptables'] as const) {
    try {
      await run(which(tool), ['--version'])
      return tool
    } catch {}
  }
  return undefined
}

async function listNamespaces (): Promise<string[]> {
  const out = await ip(['netns', 'list']).catch(() => '')
  // lines look like `name` or `name (id: 3)`
  return out.split('\n').map(l => l.trim().split(/\s+/)[0]).filter(n => n !== '' && n != null)
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM'
  }
}

async function killInside (ns: string): Promise<number> {
  const out = await ip(['netns', 'pids', ns]).catch(() => '')
  let n = 0
  for (const pid of out.split(/\s+/).filter(Boolean).map(Number)) {
    if (!Number.isSafeInteger(pid) || pid === process.pid) continue
    try {
      process.kill(pid, 'SIGKILL')
      n++
    } catch {}
  }
  return n
}

async function deleteNamespace (ns: string): Promise<void> {
  await killInside(ns)
  try {
    await ip(['netns', 'del', ns])
  } catch (err) {
    // already gone is fine; anything else is worth a retry once the killed processes are reaped
    if (/No such file|not found|Invalid/i.test(describe(err))) return
    await new Promise(resolve => setTimeout(resolve, 200))
    await ip(['netns', 'del', ns]).catch(() => {})
  }
}

/**
 * Deletes namespaces `<base>-<run id>-*` left by runs that are no longer alive (the run id is their
 * pid in base 36), killing what still runs inside them first. Returns the names removed.
 */
export async function cleanLeftovers (base = DEFAULT_BASE, log: (line: string) => void = () => {}): Promise<string[]> {
  const re = new RegExp(`^${base}-([0-9a-z]+)-`)
  const removed: string[] = []
  for (const ns of await listNamespaces()) {
    const m = re.exec(ns)
    if (m == null) continue
    const owner = parseInt(m[1], 36)
    if (owner !== process.pid && alive(owner)) continue
    const killed = await killInside(ns)
    await deleteNamespace(ns)
    removed.push(ns)
    log(`removed leftover namespace ${ns}${killed > 0 ? ` (killed ${killed} process(es) still in it)` : ''}`)
  }
  return removed
}

function checkHosts (hosts: HostSpec[]): void {
  const names = new Set<string>()
  const ips = new Set<string>()
  for (const h of hosts) {
    if (!HOST_NAME.test(h.name) || h.name === 'br') throw new Error(`host name ${JSON.stringify(h.name)} must be 1-12 lower-case letters/digits, starting with a letter, not "br"`)
    const m = IPV4.exec(h.ip)
    if (m == null || m.slice(1).some(o => Number(o) > 255)) throw new Error(`host ${h.name}: ${h.ip} is not an IPv4 address`)
    if (names.has(h.name)) throw new Error(`host name ${h.name} used twice`)
    if (ips.has(h.ip)) throw new Error(`address ${h.ip} used twice`)
    names.add(h.name)
    ips.add(h.ip)
  }
}

const NFT_NO_INBOUND = `table inet fedswarm_nat {
  chain input {
    type filter hook input priority 0; policy accept;
    iif "lo" accept
    ct state established,related accept
    ct state new drop
  }
}
`

async function firewall (ns: string, tool: 'nft' | 'iptables'): Promise<void> {
  if (tool === 'nft') {
    await ip(['netns', 'exec', ns, which('nft'), '-f', '-'], NFT_NO_INBOUND)
    return
  }
  const rules = [
    ['-A', 'INPUT', '-i', 'lo', '-j', 'ACCEPT'],
    ['-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'],
    ['-A', 'INPUT', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP']
  ]
  for (const r of rules) await ip(['netns', 'exec', ns, which('iptables'), ...r])
}

/**
 * Builds the namespaces, the bridge and the veth pairs for `hosts`; on any failure removes what it
 * made and rethrows. Throws `NetnsUnavailableError` if namespaces cannot be created at all.
 */
export async function createTestnet (init: TestnetInit): Promise<Testnet> {
  const base = init.base ?? DEFAULT_BASE
  const log = init.log ?? (() => {})
  checkHosts(init.hosts)
  const unavailable = await netnsUnavailable()
  if (unavailable != null) throw new NetnsUnavailableError(unavailable)
  const needsFirewall = init.hosts.some(h => h.firewall != null)
  const tool = needsFirewall ? init.firewallTool ?? await firewallTool() : undefined
  if (needsFirewall && tool == null) throw new Error('a host needs a firewall but neither nft nor iptables is installed (apt-get install nftables)')
  await cleanLeftovers(base, log)

  const prefix = `${base}-${process.pid.toString(36)}`
  const bridgeNs = `${prefix}-br`
  const hosts = new Map<string, Host>(init.hosts.map(h => [h.name, { ...h, ns: `${prefix}-${h.name}` }]))
  const made: string[] = []
  let down = false

  const teardownSync = (): void => {
    if (down) return
    down = true
    for (const ns of [...made].reverse()) {
      try {
        const pids = execFileSync(IP, ['netns', 'pids', ns], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        for (const pid of pids.split(/\s+/).filter(Boolean).map(Number)) { try { process.kill(pid, 'SIGKILL') } catch {} }
      } catch {}
      try { execFileSync(IP, ['netns', 'del', ns], { stdio: 'ignore' }) } catch {}
    }
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    teardownSync()
    removeHooks()
    process.kill(process.pid, signal)
  }
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
  const removeHooks = (): void => {
    process.off('exit', teardownSync)
    for (const s of signals) process.off(s, onSignal)
  }
  process.on('exit', teardownSync)
  for (const s of signals) process.on(s, onSignal)

  const teardown = async (): Promise<void> => {
    if (down) return
    down = true
    removeHooks()
    for (const ns of [...made].reverse()) await deleteNamespace(ns)
    log(`removed namespaces ${made.join(', ')}`)
  }

  try {
    const add = async (ns: string): Promise<void> => {
      await ip(['netns', 'add', ns])
      made.push(ns)
      await ip(['-n', ns, 'link', 'set', 'lo', 'up'])
    }
    await add(bridgeNs)
    await ip(['-n', bridgeNs, 'link', 'add', BRIDGE, 'type', 'bridge'])
    await ip(['-n', bridgeNs, 'link', 'set', BRIDGE, 'up'])
    for (const h of hosts.values()) {
      await add(h.ns)
      const port = `v-${h.name}`
      await ip(['link', 'add', 'eth0', 'netns', h.ns, 'type', 'veth', 'peer', 'name', port, 'netns', bridgeNs])
      await ip(['-n', bridgeNs, 'link', 'set', port, 'master', BRIDGE])
      await ip(['-n', bridgeNs, 'link', 'set', port, 'up'])
      await ip(['-n', h.ns, 'addr', 'add', `${h.ip}/${DEFAULT_PREFIX_LENGTH}`, 'dev', 'eth0'])
      await ip(['-n', h.ns, 'link', 'set', 'eth0', 'up'])
      if (h.firewall === 'no-inbound') await firewall(h.ns, tool!)
    }
    log(`testnet ${prefix}: bridge ${BRIDGE} in ${bridgeNs}; ${[...hosts.values()].map(h => `${h.name} ${h.ip}${h.firewall != null ? ` (${h.firewall})` : ''}`).join(', ')}`)
  } catch (err) {
    await teardown()
    throw new Error(`building the testnet failed: ${describe(err)}`, { cause: err })
  }

  const host = (name: string): Host => {
    const h = hosts.get(name)
    if (h == null) throw new Error(`no host ${name} in the testnet`)
    return h
  }
  return {
    prefix,
    bridgeNs,
    hosts,
    host,
    exec: (name, argv) => ({ command: IP, args: ['netns', 'exec', host(name).ns, ...argv] }),
    teardown
  }
}
