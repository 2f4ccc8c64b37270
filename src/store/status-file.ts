/**
 * `status.json` in a data dir: what the process running on it is doing right now (round, phase,
 * connections), for `fedswarm status`. The running process rewrites it atomically when something
 * changes, at most once per `minIntervalMs`, and every `heartbeatMs` anyway, so that after a crash
 * `updatedAt` says when it was last seen. It is advisory: round records and the ledger stay the truth.
 */

import { hostname } from 'node:os'
import { readFile } from 'node:fs/promises'
import { writeFileAtomic } from './atomic-write.ts'
import { DEFAULT_STATUS_HEARTBEAT_MS, DEFAULT_STATUS_INTERVAL_MS, STATUS_FILE_VERSION } from './constants.ts'
import { StoreError, errorCode, fsReason, isAbort } from './errors.ts'

export type StatusRole = 'peer' | 'bootstrap'
/** `running` while rounds are underway, `finished` after the last one (still serving), `stopped` after a clean exit. */
export type StatusState = 'starting' | 'running' | 'finished' | 'stopped'

export interface StatusTask {
  name: string
  id: string
  rounds: number
  /** δ of the task's privacy accounting, and its ε budget (0: none). */
  delta: number
  targetEpsilon: number
  /** Whether the task uses DP-FedAvg or DP-SGD. */
  dp: boolean
}

export interface PeerStatus {
  version: number
  role: StatusRole
  pid: number
  hostname: string
  startedAt: string
  updatedAt: string
  state: StatusState
  peerId?: string
  network?: string
  task?: StatusTask
  /** Addresses the node listens on, with `/p2p/<peer-id>`. */
  addresses?: string[]
  connections?: number
  /** The round / attempt / phase the driver is in (absent between attempts). */
  round?: number
  attempt?: number
  phase?: string
  roundsCompleted?: number
  lastModelHash?: string
  epsilon?: number
}

/** The fields a process sets; the writer fills in version, pid, hostname and the timestamps. */
export type StatusFields = Omit<PeerStatus, 'version' | 'pid' | 'hostname' | 'startedAt' | 'updatedAt'>

export interface StatusWriterInit {
  /** Path of `status.json`. */
  path: string
  initial: StatusFields
  /** Least time between two writes (default 1 s); changes in between are written together after it. */
  minIntervalMs?: number
  /** Rewrite at least this often even without changes (default 15 s). */
  heartbeatMs?: number
  /** Called with a write failure (default: ignored; the status file is advisory). */
  onError?(err: Error): void
}

export interface StatusWriter {
  /** Merges `fields` (an `undefined` value removes a field) and schedules a write. */
  update(fields: Partial<StatusFields>): void
  /** Writes now, waiting for a write in progress. */
  flush(): Promise<void>
  /** Stops the timers and writes the final state (by default `stopped`). */
  close(fields?: Partial<StatusFields>): Promise<void>
}

/** Starts writing `status.json`; the first write happens at once. */
export function createStatusWriter (init: StatusWriterInit): StatusWriter {
  const minInterval = init.minIntervalMs ?? DEFAULT_STATUS_INTERVAL_MS
  const startedAt = new Date().toISOString()
  let fields: StatusFields = { ...init.initial }
  let lastWrite = -Infinity
  let timer: NodeJS.Timeout | undefined
  let writing: Promise<void> = Promise.resolve()
  let closed = false

  const write = async (): Promise<void> => {
    clearTimeout(timer)
    timer = undefined
    lastWrite = Date.now()
    const status: PeerStatus = { version: STATUS_FILE_VERSION, pid: process.pid, hostname: hostname(), startedAt, updatedAt: new Date().toISOString(), ...fields }
    const next = writing.then(async () => await writeFileAtomic(init.path, `${JSON.stringify(status, null, 2)}\n`))
    writing = next.catch((err) => init.onError?.(err as Error))
    await writing
  }
  const schedule = (): void => {
    if (closed || timer !== undefined) return
    const wait = Math.max(0, lastWrite + minInterval - Date.now())
    timer = setTimeout(() => { void write() }, wait)
    timer.unref()
  }
  const heartbeat = setInterval(() => { if (!closed) void write() }, init.heartbeatMs ?? DEFAULT_STATUS_HEARTBEAT_MS)
  heartbeat.unref()
  void write()

  const writer: StatusWriter = {
    update (patch) {
      if (closed) return
      const merged: Record<string, unknown> = { ...fields, ...patch }
      for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k]
      fields = merged as unknown as StatusFields
      schedule()
    },
    async flush () {
      await write()
    },
    async close (patch = { state: 'stopped' }) {
      if (closed) return
      writer.update(patch)
      closed = true
      clearInterval(heartbeat)
      await write()
    }
  }
  return writer
}

/**
 * Reads a `status.json`: `undefined` if there is none. A file that is not a status object is a
 * one-line `StoreError` naming it.
 */
export async function readStatusFile (path: string, options: { signal?: AbortSignal } = {}): Promise<PeerStatus | undefined> {
  let text: string
  try {
    text = await readFile(path, { encoding: 'utf8', signal: options.signal })
  } catch (err) {
    if (isAbort(err)) throw err
    if (errorCode(err) === 'ENOENT') return undefined
    throw new StoreError(`cannot read ${path}: ${fsReason(err)}`, path, { cause: err })
  }
  let json: any
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new StoreError(`${path} is not valid JSON; delete it (a running peer rewrites it)`, path, { code: 'ERR_IO', cause: err })
  }
  if (typeof json !== 'object' || json === null || !Number.isSafeInteger(json.pid) || typeof json.updatedAt !== 'string' || typeof json.state !== 'string') {
    throw new StoreError(`${path} is not a fedswarm status file (no pid, state or updatedAt); delete it (a running peer rewrites it)`, path, { code: 'ERR_IO' })
  }
  return json as PeerStatus
}
