/**
 * A lock file so that only one process at a time has a data dir open.
 *
 * The lock is created atomically (written to a temporary file, then hard-linked to its name, which fails
 * if it exists) and holds `{"pid", "hostname", "created"}`. A lock whose process is gone is stale and is
 * taken over: its pid is dead on this host, or it is this process's own pid but this process does not
 * hold it (a restarted container often gets the same pid). A lock from another host cannot be checked
 * and is never broken.
 */

import { hostname } from 'node:os'
import { link, open, readFile, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { FILE_MODE } from './constants.ts'
import { StoreError, errorCode, fsReason } from './errors.ts'
import { tempPathFor } from './atomic-write.ts'

export interface LockOwner {
  pid: number
  hostname: string
  created: string
}

export interface Lock {
  readonly path: string
  release(): Promise<void>
}

/** Lock files held by this process. */
const held = new Set<string>()

/**
 * Takes the lock at `lockPath` for the data dir `dir`, or throws a `StoreError` (`ERR_LOCKED`) naming the
 * dir and the process that holds it.
 */
export async function acquireLock (dir: string, lockPath: string): Promise<Lock> {
  const me: LockOwner = { pid: process.pid, hostname: hostname(), created: new Date().toISOString() }
  if (held.has(lockPath)) throw lockedError(dir, lockPath, me)
  held.add(lockPath) // before any await, so that a concurrent open in this process fails above
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      if (await tryCreate(lockPath, `${JSON.stringify(me)}\n`)) {
        return {
          path: lockPath,
          release: async () => {
            if (!held.delete(lockPath)) return
            await rm(lockPath, { force: true })
          }
        }
      }
      const owner = await readOwner(lockPath)
      if (owner === 'gone') continue
      if (owner !== undefined && !isStale(owner)) throw lockedError(dir, lockPath, owner)
      await breakStaleLock(lockPath, owner)
    }
    throw new StoreError(`data dir ${dir} could not be locked: lock file ${lockPath} keeps changing`, dir, { code: 'ERR_LOCKED' })
  } catch (err) {
    held.delete(lockPath)
    throw err
  }
}

function lockedError (dir: string, lockPath: string, owner: LockOwner): StoreError {
  const who = owner.hostname === hostname() ? `process ${owner.pid}` : `process ${owner.pid} on host ${owner.hostname}`
  const self = owner.pid === process.pid && owner.hostname === hostname() ? ' (this process)' : ''
  return new StoreError(`data dir ${dir} is in use by ${who}${self} (lock file ${lockPath})`, dir, { code: 'ERR_LOCKED' })
}

/** Creates the lock file with `content` unless it exists. */
async function tryCreate (lockPath: string, content: string): Promise<boolean> {
  const tmp = tempPathFor(lockPath)
  try {
    await writeSmallFile(tmp, content, 'wx')
    try {
      await link(tmp, lockPath)
      return true
    } catch (err) {
      if (errorCode(err) === 'EEXIST') return false
      if (!['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV'].includes(errorCode(err) ?? '')) throw err
    }
    // no hard links on this file system: exclusive create (the content lands a moment later)
    try {
      await writeSmallFile(lockPath, content, 'wx')
      return true
    } catch (err) {
      if (errorCode(err) === 'EEXIST') return false
      throw err
    }
  } catch (err) {
    throw new StoreError(`cannot create lock file ${lockPath}: ${fsReason(err)}`, dirname(lockPath), { code: 'ERR_NOT_WRITABLE', cause: err })
  } finally {
    await rm(tmp, { force: true }).catch(() => {})
  }
}

async function writeSmallFile (path: string, content: string, flags: string): Promise<void> {
  const file = await open(path, flags, FILE_MODE)
  try {
    await file.writeFile(content, 'utf8')
  } finally {
    await file.close()
  }
}

/** The lock's owner; `undefined` when unreadable or malformed (stale); `gone` when it vanished. */
async function readOwner (lockPath: string): Promise<LockOwner | undefined | 'gone'> {
  let text: string
  try {
    text = await readFile(lockPath, 'utf8')
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return 'gone'
    throw new StoreError(`cannot read lock file ${lockPath}: ${fsReason(err)}`, lockPath, { code: 'ERR_LOCKED', cause: err })
  }
  return parseOwner(text)
}

function parseOwner (text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text)
    if (Number.isSafeInteger(o?.pid) && o.pid > 0 && typeof o.hostname === 'string') {
      return { pid: o.pid, hostname: o.hostname, created: String(o.created ?? '') }
    }
  } catch {}
  return undefined
}

function isStale (owner: LockOwner): boolean {
  if (owner.hostname !== hostname()) return false
  // Our own pid, yet this process is only now acquiring the lock (`held` rules out a second open from
  // this process): a lock left by an earlier process that had the same pid.
  if (owner.pid === process.pid) return true
  return !isAlive(owner.pid)
}

/** Whether a process with this pid exists on this host. */
export function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return errorCode(err) === 'EPERM'
  }
}

/**
 * Removes a stale lock without removing a fresh one that another process took in the meantime: the
 * lock is moved aside first and put back if what was moved turns out to be live.
 */
async function breakStaleLock (lockPath: string, stale: LockOwner | undefined): Promise<void> {
  const aside = tempPathFor(`${lockPath}.stale`)
  try {
    await rename(lockPath, aside)
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return
    throw new StoreError(`cannot remove stale lock file ${lockPath}: ${fsReason(err)}`, lockPath, { code: 'ERR_LOCKED', cause: err })
  }
  try {
    const moved = parseOwner(await readFile(aside, 'utf8'))
    const same = moved === undefined ? stale === undefined : stale !== undefined && moved.pid === stale.pid && moved.created === stale.created
    if (!same && moved !== undefined && !isStale(moved)) {
      await link(aside, lockPath).catch(() => {})
    }
  } finally {
    await rm(aside, { force: true })
  }
}
