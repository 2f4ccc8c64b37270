/**
 * `fedswarm status [--data-dir D] [--json]`: what a data dir holds (PeerId, task, rounds completed, the
 * last model hash, ε spent) and, when a peer is running on it, what that peer is doing (connections,
 * round, phase) from the `status.json` it keeps up to date. Reads only: it works while the peer runs.
 */
import { readdir, readFile, stat } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { DEFAULT_PRIVACY, shortTaskId } from '../config/index.ts'
import { createPrivacyLedger, ledgerEntryProblem } from '../dp/ledger.ts'
import type { LedgerEntry } from '../dp/ledger.ts'
import {
  IDENTITY_FILE, LOCK_FILE, PRIVACY_LEDGER_FILE, ROUNDS_FILE, STATUS_FILE, StoreError, isAlive, readIdentity, readJsonLines,
  readStatusFile
} from '../store/index.ts'
import type { PeerStatus } from '../store/index.ts'
import { fedswarmHome } from './home.ts'

export interface StatusOptions {
  /** Default: the only data dir under `./.fedswarm/` and `~/.fedswarm/` (`$FEDSWARM_HOME`). */
  dataDir?: string
  json?: boolean
  verbose?: boolean
}

/** What `fedswarm status --json` prints. */
export interface StatusReport {
  dataDir: string
  peerId: string | null
  role: 'peer' | 'bootstrap' | null
  network: string | null
  task: { name: string, id: string, rounds: number } | null
  /** The newest round in the round records (0: none yet). */
  roundsCompleted: number
  lastModelHash: string | null
  lastRoundAt: string | null
  /** ε spent at `delta`; null when the task uses no differential privacy and nothing was spent. */
  epsilon: number | null
  delta: number
  running: boolean
  pid: number | null
  /** `running`, `finished` (serving the final model), `stopped`, or `crashed` (status says running, process gone). */
  state: string
  /** When the process last wrote `status.json`. */
  lastSeen: string | null
  /** Live view, only while a process runs on the data dir. */
  live: { connections: number | null, round: number | null, attempt: number | null, phase: string | null, addresses: string[] } | null
}

export async function runStatus (o: StatusOptions): Promise<number> {
  const dir = o.dataDir != null ? resolve(o.dataDir) : await findDataDir()
  const report = await readStatus(dir)
  process.stdout.write(o.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report))
  return 0
}

/** Reads a data dir's status without locking it. Throws a one-line `StoreError` for a missing or empty dir. */
export async function readStatus (dir: string): Promise<StatusReport> {
  try {
    if (!(await stat(dir)).isDirectory()) throw new StoreError(`data dir ${dir} is not a directory`, dir, { code: 'ERR_DATA_DIR' })
  } catch (err) {
    if (err instanceof StoreError) throw err
    throw new StoreError(`data dir ${dir} does not exist`, dir, { code: 'ERR_NOT_FOUND', cause: err })
  }
  const key = await readIdentity(join(dir, IDENTITY_FILE))
  const status = typedStatus(await readStatusFile(join(dir, STATUS_FILE)))
  if (key === undefined && status === undefined) {
    throw new StoreError(`data dir ${dir} holds no fedswarm peer (no ${IDENTITY_FILE}, no ${STATUS_FILE}); pass the --data-dir a peer ran with`, dir, { code: 'ERR_NOT_FOUND' })
  }
  const warn = (): void => {}
  const rounds = await readJsonLines(join(dir, ROUNDS_FILE), { onWarning: warn })
  const last = rounds.reduce<Record<string, unknown> | undefined>((best, r) => typeof r.round === 'number' && (best == null || r.round >= (best.round as number)) ? r : best, undefined)
  const entries = await readJsonLines(join(dir, PRIVACY_LEDGER_FILE), { onWarning: warn, what: 'the privacy ledger', check: ledgerEntryProblem })
  const delta = status?.task?.delta ?? DEFAULT_PRIVACY.delta
  const epsilon = entries.length > 0
    ? createPrivacyLedger({ delta, targetEpsilon: 0, entries: entries as unknown as LedgerEntry[] }).epsilon().epsilon
    : status?.task?.dp === true ? 0 : null

  const owner = await lockOwner(dir)
  const here = hostname()
  const running = owner != null && owner.hostname === here && isAlive(owner.pid)
  const live = running && status != null && status.pid === owner.pid
  let state: string
  if (running) state = live ? status.state : 'running'
  else if (status == null) state = 'stopped'
  else state = status.state === 'stopped' ? 'stopped' : 'crashed'

  return {
    dataDir: dir,
    peerId: key !== undefined ? peerIdFromPrivateKey(key).toString() : status?.peerId ?? null,
    role: status?.role ?? (rounds.length > 0 ? 'peer' : null),
    network: status?.network ?? null,
    task: status?.task != null ? { name: status.task.name, id: status.task.id, rounds: status.task.rounds } : null,
    roundsCompleted: typeof last?.round === 'number' ? last.round : 0,
    lastModelHash: typeof last?.modelHash === 'string' ? last.modelHash : null,
    lastRoundAt: isoTime(last?.endedAt),
    epsilon,
    delta,
    running,
    pid: running ? owner.pid : status?.pid ?? null,
    state,
    lastSeen: status?.updatedAt ?? null,
    live: live
      ? { connections: status.connections ?? null, round: status.round ?? null, attempt: status.attempt ?? null, phase: status.phase ?? null, addresses: status.addresses ?? [] }
      : null
  }
}

export function formatStatus (r: StatusReport): string {
  const lines: Array<[string, string]> = []
  lines.push(['data dir', r.dataDir])
  lines.push(['peer', r.peerId ?? 'unknown'])
  if (r.role === 'bootstrap') lines.push(['role', 'bootstrap node'])
  if (r.network != null) lines.push(['network', r.network])
  if (r.task != null) lines.push(['task', `${r.task.name} (${shortTaskId(r.task.id)}), ${r.task.rounds} rounds`])
  if (r.role !== 'bootstrap') {
    lines.push(['rounds', `${r.roundsCompleted} completed${r.task != null ? ` of ${r.task.rounds}` : ''}${r.lastRoundAt != null ? `, last at ${r.lastRoundAt}` : ''}`])
    lines.push(['model', r.lastModelHash ?? 'none yet (the seed model M[0])'])
    lines.push(['ε spent', r.epsilon == null ? 'none (the task uses no differential privacy)' : `${r.epsilon.toFixed(3)} (δ ${r.delta})`])
  }
  if (r.running) {
    const l = r.live
    const doing = l == null
      ? ''
      : r.state === 'finished'
        ? ', task finished, serving the final model'
        : l.round != null ? `, round ${l.round} attempt ${l.attempt ?? 0}, phase ${l.phase ?? '?'}` : ''
    lines.push(['state', `running (pid ${r.pid})${doing}${l?.connections != null ? `, ${l.connections} connection(s)` : ''}`])
  } else {
    const seen = r.lastSeen != null ? ` (last seen ${r.lastSeen}${r.state === 'crashed' ? ', it did not shut down cleanly' : ''})` : ''
    lines.push(['state', `not running${seen}`])
  }
  const width = Math.max(...lines.map(([k]) => k.length))
  return lines.map(([k, v]) => `${k.padEnd(width)}  ${v}\n`).join('')
}

/**
 * status.json with every optional field this command prints checked for its type: a field of another
 * type (a corrupt or foreign file) is left out, so that printing never throws (a task id that is not
 * one made shortTaskId throw, an object with a "toString" key made a template string throw; found by
 * test/fuzz).
 */
function typedStatus (s: PeerStatus | undefined): (Omit<PeerStatus, 'role'> & { role?: PeerStatus['role'] }) | undefined {
  if (s == null) return undefined
  const str = (v: unknown): string | undefined => typeof v === 'string' ? v : undefined
  const num = (v: unknown): number | undefined => typeof v === 'number' && Number.isFinite(v) ? v : undefined
  const t = (typeof s.task === 'object' && s.task !== null ? s.task : {}) as unknown as Record<string, unknown>
  const delta = num(t.delta)
  const task = typeof t.name === 'string' && typeof t.id === 'string' && /^[0-9a-f]{64}$/.test(t.id) && num(t.rounds) != null
    ? { name: t.name, id: t.id, rounds: t.rounds as number, delta: delta != null && delta > 0 && delta < 1 ? delta : DEFAULT_PRIVACY.delta, targetEpsilon: num(t.targetEpsilon) ?? 0, dp: t.dp === true }
    : undefined
  return {
    ...s,
    role: s.role === 'bootstrap' || s.role === 'peer' ? s.role : undefined,
    peerId: str(s.peerId),
    network: str(s.network),
    task,
    addresses: Array.isArray(s.addresses) ? s.addresses.filter((a): a is string => typeof a === 'string') : undefined,
    connections: num(s.connections),
    round: num(s.round),
    attempt: num(s.attempt),
    phase: str(s.phase)
  }
}

/** An ISO time for a millisecond timestamp, or null (a time outside Date's range made toISOString throw). */
function isoTime (ms: unknown): string | null {
  if (typeof ms !== 'number') return null
  const d = new Date(ms)
  return Number.isNaN(d.getTime()) ? null : d.toISOString()
}

/** Who holds the data dir's lock, if anyone (see src/store/lock.ts). */
async function lockOwner (dir: string): Promise<{ pid: number, hostname: string } | undefined> {
  try {
    const o = JSON.parse(await readFile(join(dir, LOCK_FILE), 'utf8'))
    return Number.isSafeInteger(o?.pid) && typeof o.hostname === 'string' ? { pid: o.pid, hostname: o.hostname } : undefined
  } catch {
    return undefined
  }
}

/** The only data dir under `./.fedswarm/` and `~/.fedswarm/` (one or two levels down), or a one-line error. */
async function findDataDir (): Promise<string> {
  const roots = [resolve('.fedswarm'), fedswarmHome()]
  const found = new Set<string>()
  const visit = async (path: string, depth: number): Promise<void> => {
    let names: string[]
    try {
      names = await readdir(path)
    } catch {
      return
    }
    if (names.includes(IDENTITY_FILE)) {
      found.add(path)
      return
    }
    if (depth > 0) for (const n of names) if (!n.startsWith('.')) await visit(join(path, n), depth - 1)
  }
  for (const root of roots) await visit(root, 2)
  const dirs = [...found].sort()
  if (dirs.length === 1) return dirs[0]
  if (dirs.length === 0) {
    throw new StoreError(`no data dir found under ${roots.join(' or ')}; pass --data-dir <dir>`, roots[0], { code: 'ERR_NOT_FOUND' })
  }
  throw new StoreError(`${dirs.length} data dirs found (${dirs.join(', ')}); pass --data-dir <dir>`, roots[0], { code: 'ERR_NOT_FOUND' })
}
