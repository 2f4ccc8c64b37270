/**
 * Crash-safe file writes: the data goes to a temporary file in the same directory, is fsynced, and is
 * renamed over the target, and then the directory is fsynced. A crash at any point leaves either the old
 * file or the new one, never a partial one (plus, at worst, a `.tmp` file that `openDataDir` removes).
 */

import { randomBytes } from 'node:crypto'
import { link, open, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { FILE_MODE, TEMP_SUFFIX } from './constants.ts'
import { StoreError, errorCode, fsReason, isAbort } from './errors.ts'

export interface WriteFileAtomicOptions {
  /** Mode of a newly created file (default 0644). */
  mode?: number
  /** Fail with `EEXIST` (a `StoreError` whose cause has that code) instead of replacing an existing file. */
  exclusive?: boolean
  signal?: AbortSignal
}

/** Name of a temporary file for `path`, in the same directory (so that rename is atomic). */
export function tempPathFor (path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`)
}

/** Writes `data` to `path` atomically and durably. Errors are `StoreError`s naming `path`. */
export async function writeFileAtomic (path: string, data: Uint8Array | string, options: WriteFileAtomicOptions = {}): Promise<void> {
  options.signal?.throwIfAborted()
  const tmp = tempPathFor(path)
  let file: Awaited<ReturnType<typeof open>> | undefined
  try {
    file = await open(tmp, 'wx', options.mode ?? FILE_MODE)
    await file.writeFile(data, { signal: options.signal })
    await file.sync()
    await file.close()
    file = undefined
    options.signal?.throwIfAborted()
    if (options.exclusive === true) {
      await link(tmp, path)
      await rm(tmp, { force: true })
    } else {
      await rename(tmp, path)
    }
  } catch (err) {
    await file?.close().catch(() => {})
    await rm(tmp, { force: true }).catch(() => {})
    if (isAbort(err)) throw err
    const code = errorCode(err) === 'EEXIST' && options.exclusive === true ? 'already exists' : fsReason(err)
    throw new StoreError(`cannot write ${path}: ${code}`, path, { cause: err })
  }
  await fsyncDir(dirname(path))
}

/** Makes a directory's entries (a new or renamed file) durable. A no-op where directories cannot be opened. */
export async function fsyncDir (dir: string): Promise<void> {
  let handle
  try {
    handle = await open(dir, 'r')
    await handle.sync()
  } catch {
    // Windows and some file systems refuse to open or fsync a directory; nothing more can be done there.
  } finally {
    await handle?.close().catch(() => {})
  }
}
