/**
 * An append-only JSON-lines log (`rounds.jsonl`): one JSON object per line, each append fsynced.
 * A crash can tear only the last line. Readers ignore a torn last line (with a warning); the next append
 * first repairs it (completes it if it is whole JSON, else cuts it off), so records never run together.
 * A bad line anywhere else is corruption and an error.
 */

import { open, readFile, type FileHandle } from 'node:fs/promises'
import { dirname } from 'node:path'
import { FILE_MODE } from './constants.ts'
import { fsyncDir } from './atomic-write.ts'
import { StoreError, errorCode, fsReason, isAbort } from './errors.ts'

export type JsonRecord = Record<string, unknown>

export interface RoundLogOptions {
  signal?: AbortSignal
  onWarning?(message: string): void
}

export interface ReadJsonLinesOptions extends RoundLogOptions {
  /** What the file is, for the corruption message (default `the round log`). */
  what?: string
  /** Further check of each parsed record: why it is malformed, or `undefined` if it is fine. */
  check?(record: JsonRecord): string | undefined
}

const NEWLINE = 0x0a
const CHUNK = 64 * 1024

/**
 * Appends one record as a line and fsyncs it. `record` must be a JSON-serializable object.
 *
 * The whole line is written (a short write is continued) and, if writing or syncing fails (say the disk
 * is full), the log is cut back to its old length, so a failed append never leaves a partial line for
 * the next append to run into. Appending to an empty (new) log also fsyncs the directory, so the new
 * file's entry survives a crash. (Fixed: a plain `write` could write part of the line and report
 * success, and the first append to a new log never synced its directory entry.)
 */
export async function appendJsonLine (path: string, record: object, options: RoundLogOptions = {}): Promise<void> {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) {
    throw new TypeError(`a round record must be a JSON object (got ${Array.isArray(record) ? 'an array' : String(record)})`)
  }
  const line = Buffer.from(`${JSON.stringify(record)}\n`) // throws TypeError for cycles and bigints
  options.signal?.throwIfAborted()
  let file: FileHandle | undefined
  let size: number | undefined
  try {
    file = await open(path, 'a', FILE_MODE)
    size = (await file.stat()).size
    for (let done = 0; done < line.byteLength;) {
      const { bytesWritten } = await file.write(line, done, line.byteLength - done)
      if (bytesWritten <= 0) throw new Error('the file system accepted no bytes')
      done += bytesWritten
    }
    await file.datasync()
  } catch (err) {
    if (file !== undefined && size !== undefined) await file.truncate(size).then(async () => await file?.datasync()).catch(() => {})
    if (isAbort(err)) throw err
    throw new StoreError(`cannot append to ${path}: ${fsReason(err)}`, path, { cause: err })
  } finally {
    await file?.close()
  }
  if (size === 0) await fsyncDir(dirname(path))
}

/**
 * Makes sure the log ends with a newline, so that the next append starts a new line. Returns what it
 * did: `ok`, `completed` (the last line was whole JSON missing its newline) or `truncated` (a torn line
 * was cut off). Also fsyncs the directory, so a newly created log survives a crash.
 */
export async function repairJsonLines (path: string, options: RoundLogOptions = {}): Promise<'ok' | 'completed' | 'truncated'> {
  let file
  try {
    file = await open(path, 'r+')
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return 'ok'
    throw new StoreError(`cannot open ${path}: ${fsReason(err)}`, path, { cause: err })
  }
  try {
    const { size } = await file.stat()
    if (size === 0) return 'ok'
    const last = Buffer.alloc(1)
    await file.read(last, 0, 1, size - 1)
    if (last[0] === NEWLINE) return 'ok'

    // find the start of the last line, reading backwards in chunks
    let start = 0
    const chunk = Buffer.alloc(CHUNK)
    for (let end = size; end > 0 && start === 0;) {
      const from = Math.max(0, end - CHUNK)
      const { bytesRead } = await file.read(chunk, 0, end - from, from)
      const i = chunk.subarray(0, bytesRead).lastIndexOf(NEWLINE)
      if (i >= 0) start = from + i + 1
      end = from
    }
    const tail = Buffer.alloc(size - start)
    await file.read(tail, 0, tail.length, start)
    if (parseRecord(tail.toString('utf8')) !== undefined) {
      await file.write('\n', size)
      await file.datasync()
      options.onWarning?.(`${path}: completed a last line that was missing its newline`)
      return 'completed'
    }
    await file.truncate(start)
    await file.datasync()
    options.onWarning?.(`${path}: removed a torn last line (${size - start} bytes)`)
    return 'truncated'
  } catch (err) {
    throw new StoreError(`cannot repair ${path}: ${fsReason(err)}`, path, { cause: err })
  } finally {
    await file.close()
    await fsyncDir(dirname(path))
  }
}

/**
 * Reads all records. A last line without its newline that is not a whole JSON object is torn by a crash
 * and ignored with a warning; any other bad line (or a record that `options.check` rejects) throws a
 * `StoreError` (`ERR_CORRUPT_LOG`) naming `path:line`.
 */
export async function readJsonLines (path: string, options: ReadJsonLinesOptions = {}): Promise<JsonRecord[]> {
  let text: string
  try {
    text = await readFile(path, { encoding: 'utf8', signal: options.signal })
  } catch (err) {
    if (isAbort(err)) throw err
    if (errorCode(err) === 'ENOENT') return []
    throw new StoreError(`cannot read ${path}: ${fsReason(err)}`, path, { cause: err })
  }
  const lines = text.split('\n')
  const tail = lines.pop() as string // '' when the file ends with a newline
  const what = options.what ?? 'the round log'
  const checked = (record: JsonRecord, line: number): JsonRecord => {
    const problem = options.check?.(record)
    if (problem !== undefined) throw new StoreError(`${path}:${line}: ${problem}; ${what} is corrupt`, path, { code: 'ERR_CORRUPT_LOG' })
    return record
  }
  const records: JsonRecord[] = []
  lines.forEach((line, i) => {
    if (line.trim() === '') return
    const record = parseRecord(line)
    if (record === undefined) {
      throw new StoreError(`${path}:${i + 1}: not a JSON object; ${what} is corrupt`, path, { code: 'ERR_CORRUPT_LOG' })
    }
    records.push(checked(record, i + 1))
  })
  if (tail !== '') {
    const record = parseRecord(tail)
    if (record !== undefined) {
      records.push(checked(record, lines.length + 1))
    } else {
      options.onWarning?.(`${path}:${lines.length + 1}: ignoring a torn last line (${Buffer.byteLength(tail)} bytes)`)
    }
  }
  return records
}

function parseRecord (line: string): JsonRecord | undefined {
  try {
    const value = JSON.parse(line)
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined
  } catch {
    return undefined
  }
}
