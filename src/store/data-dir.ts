/**
 * A peer's data dir: everything a peer needs to restart where it stopped.
 *
 * ```
 * <dir>/lock            which process has the dir open (see lock.ts)
 * <dir>/identity.key    Ed25519 private key, libp2p protobuf, mode 0600 (see identity.ts)
 * <dir>/models/<round>-<hash>.bin   the newest checkpoints of each task (see model-file.ts)
 * <dir>/rounds.jsonl    round records, one JSON object per line (see round-log.ts)
 * <dir>/privacy-ledger.jsonl   the peer's DP spending, one LedgerEntry per line (same format; src/dp/ledger.ts)
 * <dir>/status.json     what the running process is doing, for `fedswarm status` (see status-file.ts)
 * ```
 *
 * Writes are crash-safe (temp file + fsync + rename, or fsynced appends) and run one at a time.
 */

import type { AbortOptions, PrivateKey } from '@libp2p/interface'
import { constants as fsConstants } from 'node:fs'
import { access, mkdir, open, readdir, readFile, realpath, rm, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { writeFileAtomic } from './atomic-write.ts'
import { checkLedgerEntry, ledgerEntryProblem, type LedgerEntry } from '../dp/ledger.ts'
import {
  DATA_DIR_MODE, DEFAULT_KEEP_MODELS, IDENTITY_FILE, LOCK_FILE, MODELS_DIR, PRIVACY_LEDGER_FILE, ROUNDS_FILE, TEMP_SUFFIX
} from './constants.ts'
import { StoreError, errorCode, fsReason, isAbort } from './errors.ts'
import { loadOrCreateIdentity } from './identity.ts'
import { acquireLock, type Lock } from './lock.ts'
import {
  MODEL_HEADER_SIZE, decodeModelFile, decodeModelHeader, encodeModelFile, modelFileName, parseModelFileName
} from './model-file.ts'
import { appendJsonLine, readJsonLines, repairJsonLines, type JsonRecord } from './round-log.ts'

export interface OpenDataDirOptions {
  /** Create the directory (and its parents) if it does not exist (default true). */
  create?: boolean
  /** How many checkpoints to keep per task, newest rounds first (default 3). */
  keepModels?: number
  /** Called with one-line warnings (corrupt checkpoint skipped, torn log line, ...). Default: `process.emitWarning`. */
  onWarning?(message: string): void
  signal?: AbortSignal
}

export interface SaveModelInit {
  taskId: string
  round: number
  /** `modelHash(params)`; checked. */
  hash: string
  params: Float32Array
}

export interface StoredModel {
  round: number
  hash: string
  params: Float32Array
}

export interface DataDir {
  /** Absolute, symlink-free path of the directory. */
  readonly path: string
  /** The peer's Ed25519 key, created on first use; the same key (and PeerId) every time the dir is opened. */
  identity(options?: AbortOptions): Promise<PrivateKey>
  /** Writes a checkpoint atomically, then keeps only the newest `keepModels` of its task. */
  saveModel(model: SaveModelInit, options?: AbortOptions): Promise<void>
  /** The newest checkpoint of a task whose content hash verifies; corrupt files are skipped with a warning. */
  latestModel(taskId: string, options?: AbortOptions): Promise<StoredModel | undefined>
  /** Appends a round record to `rounds.jsonl` and fsyncs it. */
  appendRoundRecord(record: object, options?: AbortOptions): Promise<void>
  /** All round records, oldest first; a torn last line is ignored. */
  roundRecords(options?: AbortOptions): Promise<JsonRecord[]>
  /**
   * Appends a privacy-ledger entry to `privacy-ledger.jsonl` and fsyncs it (like `appendRoundRecord`).
   * Throws a `LedgerError` naming the field if the entry is malformed; does not check for repeated rounds
   * (`PrivacyLedger.spend` does).
   */
  appendLedgerEntry(entry: LedgerEntry, options?: AbortOptions): Promise<void>
  /**
   * All privacy-ledger entries, oldest first, for `createPrivacyLedger({ entries })`. A torn last line is
   * ignored with a warning; any other bad line (not JSON, or not a valid entry) is a `StoreError`
   * (`ERR_CORRUPT_LOG`) naming `file:line`.
   */
  ledgerEntries(options?: AbortOptions): Promise<LedgerEntry[]>
  /** Waits for pending writes and releases the lock. Further calls fail. */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/**
 * Opens (by default creating) a data dir and locks it. Throws a one-line `StoreError` naming the path
 * when the dir cannot be created or written, or when another process has it open.
 */
export async function openDataDir (dir: string, options: OpenDataDirOptions = {}): Promise<DataDir> {
  options.signal?.throwIfAborted()
  const keepModels = options.keepModels ?? DEFAULT_KEEP_MODELS
  if (!Number.isSafeInteger(keepModels) || keepModels < 1) {
    throw new RangeError(`keepModels must be an integer >= 1 (got ${keepModels})`)
  }
  const path = await prepareDir(resolve(dir), options.create !== false)
  options.signal?.throwIfAborted()
  const lock = await acquireLock(path, join(path, LOCK_FILE))
  try {
    await mkdirOrFail(join(path, MODELS_DIR), 'models dir')
    await removeTempFiles(path)
    await removeTempFiles(join(path, MODELS_DIR))
    options.signal?.throwIfAborted()
  } catch (err) {
    await lock.release()
    throw err
  }
  return new FileDataDir(path, lock, keepModels, options.onWarning ?? defaultWarning)
}

function defaultWarning (message: string): void {
  process.emitWarning(message, { code: 'FEDSWARM_STORE' })
}

/** Creates the dir if asked, checks that it is a writable directory, returns its real path. */
async function prepareDir (path: string, create: boolean): Promise<string> {
  try {
    const info = await stat(path)
    if (!info.isDirectory()) throw new StoreError(`data dir ${path} is not a directory`, path, { code: 'ERR_DATA_DIR' })
  } catch (err) {
    if (err instanceof StoreError) throw err
    if (errorCode(err) === 'ENOENT' && !create) {
      throw new StoreError(`data dir ${path} does not exist`, path, { code: 'ERR_NOT_FOUND', cause: err })
    }
    if (errorCode(err) === 'ENOENT') {
      await mkdirOrFail(path, 'data dir')
    } else {
      throw new StoreError(`cannot open data dir ${path}: ${fsReason(err)}`, path, { code: 'ERR_DATA_DIR', cause: err })
    }
  }
  try {
    await access(path, fsConstants.W_OK | fsConstants.X_OK)
  } catch (err) {
    throw new StoreError(`data dir ${path} is not writable (${fsReason(err)})`, path, { code: 'ERR_NOT_WRITABLE', cause: err })
  }
  return realpath(path)
}

async function mkdirOrFail (path: string, what: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true, mode: DATA_DIR_MODE })
  } catch (err) {
    const reason = errorCode(err) === 'ENOTDIR' || errorCode(err) === 'EEXIST' ? 'a file is in the way' : fsReason(err)
    throw new StoreError(`cannot create ${what} ${path}: ${reason}`, path, { code: 'ERR_NOT_WRITABLE', cause: err })
  }
}

/** Removes `.tmp` files left by a crash during `writeFileAtomic` (safe: the dir is locked). */
async function removeTempFiles (dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (name.startsWith('.') && name.endsWith(TEMP_SUFFIX)) await rm(join(dir, name), { force: true })
  }
}

interface Checkpoint {
  name: string
  path: string
  round: number
  hash: string
}

class FileDataDir implements DataDir {
  readonly path: string
  private readonly lock: Lock
  private readonly keepModels: number
  private readonly warn: (message: string) => void
  private readonly modelsDir: string
  private readonly roundsPath: string
  private readonly ledgerPath: string
  private identityKey?: Promise<PrivateKey>
  private writes: Promise<unknown> = Promise.resolve()
  /** Logs whose last line has been checked (and repaired) since the dir was opened. */
  private readonly repairedLogs = new Set<string>()
  private closed = false

  constructor (path: string, lock: Lock, keepModels: number, warn: (message: string) => void) {
    this.path = path
    this.lock = lock
    this.keepModels = keepModels
    this.warn = warn
    this.modelsDir = join(path, MODELS_DIR)
    this.roundsPath = join(path, ROUNDS_FILE)
    this.ledgerPath = join(path, PRIVACY_LEDGER_FILE)
  }

  async identity (options: AbortOptions = {}): Promise<PrivateKey> {
    this.assertOpen()
    if (this.identityKey === undefined) {
      const pending = loadOrCreateIdentity(join(this.path, IDENTITY_FILE), { signal: options.signal, onWarning: this.warn })
      this.identityKey = pending
      pending.catch(() => { if (this.identityKey === pending) this.identityKey = undefined })
    }
    return this.identityKey
  }

  async saveModel (model: SaveModelInit, options: AbortOptions = {}): Promise<void> {
    this.assertOpen()
    let bytes: Uint8Array
    try {
      bytes = encodeModelFile(model)
    } catch (err) {
      throw new StoreError(`cannot save model to ${this.modelsDir}: ${(err as Error).message}`, this.modelsDir, { code: 'ERR_BAD_MODEL', cause: err })
    }
    await this.serially(async () => {
      await writeFileAtomic(join(this.modelsDir, modelFileName(model.round, model.hash)), bytes, { signal: options.signal })
      await this.prune(model.taskId)
    })
  }

  async latestModel (taskId: string, options: AbortOptions = {}): Promise<StoredModel | undefined> {
    this.assertOpen()
    for (const file of await this.checkpoints()) {
      options.signal?.throwIfAborted()
      let bytes: Uint8Array
      try {
        bytes = await readFile(file.path, { signal: options.signal })
      } catch (err) {
        if (isAbort(err)) throw err
        if (errorCode(err) === 'ENOENT') continue // pruned meanwhile
        this.warn(`skipping model file ${file.path}: ${fsReason(err)}`)
        continue
      }
      try {
        const header = decodeModelHeader(bytes, file.path)
        if (header.taskId !== taskId) continue
        const model = decodeModelFile(bytes, file.path)
        if (model.round !== file.round || model.hash !== file.hash) {
          throw new StoreError(`model file ${file.path} is corrupt: its header says round ${model.round}, hash ${model.hash}`, file.path, { code: 'ERR_CORRUPT_MODEL' })
        }
        return { round: model.round, hash: model.hash, params: model.params }
      } catch (err) {
        if (!(err instanceof StoreError)) throw err
        this.warn(`skipping ${err.message}`)
      }
    }
    return undefined
  }

  async appendRoundRecord (record: object, options: AbortOptions = {}): Promise<void> {
    this.assertOpen()
    await this.appendLine(this.roundsPath, record, options)
  }

  async roundRecords (options: AbortOptions = {}): Promise<JsonRecord[]> {
    this.assertOpen()
    return readJsonLines(this.roundsPath, { signal: options.signal, onWarning: this.warn })
  }

  async appendLedgerEntry (entry: LedgerEntry, options: AbortOptions = {}): Promise<void> {
    this.assertOpen()
    await this.appendLine(this.ledgerPath, checkLedgerEntry(entry), options)
  }

  async ledgerEntries (options: AbortOptions = {}): Promise<LedgerEntry[]> {
    this.assertOpen()
    const records = await readJsonLines(this.ledgerPath, {
      signal: options.signal, onWarning: this.warn, what: 'the privacy ledger', check: ledgerEntryProblem
    })
    return records.map((r) => checkLedgerEntry(r as unknown as LedgerEntry))
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.writes.catch(() => {})
    await this.lock.release()
  }

  async [Symbol.asyncDispose] (): Promise<void> {
    await this.close()
  }

  private assertOpen (): void {
    if (this.closed) throw new StoreError(`data dir ${this.path} is closed`, this.path, { code: 'ERR_CLOSED' })
  }

  /** Appends a line to a JSON-lines log, repairing a torn last line first (once per open). */
  private async appendLine (path: string, record: object, options: AbortOptions): Promise<void> {
    await this.serially(async () => {
      if (!this.repairedLogs.has(path)) {
        await repairJsonLines(path, { onWarning: this.warn })
        this.repairedLogs.add(path)
      }
      await appendJsonLine(path, record, { signal: options.signal })
    })
  }

  /** Runs writes one at a time, in call order. */
  private async serially<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.writes.then(fn, fn)
    this.writes = run.catch(() => {})
    return run
  }

  /** Checkpoint files, newest round first (ties: by name, for a stable order). */
  private async checkpoints (): Promise<Checkpoint[]> {
    let names: string[]
    try {
      names = await readdir(this.modelsDir)
    } catch (err) {
      throw new StoreError(`cannot list models dir ${this.modelsDir}: ${fsReason(err)}`, this.modelsDir, { cause: err })
    }
    const files: Checkpoint[] = []
    for (const name of names) {
      const parsed = parseModelFileName(name)
      if (parsed !== undefined) files.push({ name, path: join(this.modelsDir, name), ...parsed })
    }
    return files.sort((a, b) => b.round - a.round || (a.name < b.name ? -1 : 1))
  }

  /** Deletes all but the newest `keepModels` checkpoints of a task (files of other tasks stay). */
  private async prune (taskId: string): Promise<void> {
    let kept = 0
    for (const file of await this.checkpoints()) {
      const owner = await this.checkpointTask(file.path)
      if (owner !== taskId) continue
      if (++kept > this.keepModels) await rm(file.path, { force: true })
    }
  }

  /** The task id in a checkpoint's header, or `undefined` if the header cannot be read. */
  private async checkpointTask (path: string): Promise<string | undefined> {
    let file
    try {
      file = await open(path, 'r')
      const head = Buffer.alloc(MODEL_HEADER_SIZE + 0xffff)
      const { bytesRead } = await file.read(head, 0, head.length, 0)
      return decodeModelHeader(head.subarray(0, bytesRead), path).taskId
    } catch {
      return undefined
    } finally {
      await file?.close()
    }
  }
}
