/**
 * Errors of the data dir. Every message is one line that names the path concerned.
 */

export type StoreErrorCode =
  | 'ERR_DATA_DIR'
  | 'ERR_NOT_FOUND'
  | 'ERR_NOT_WRITABLE'
  | 'ERR_LOCKED'
  | 'ERR_CLOSED'
  | 'ERR_IO'
  | 'ERR_BAD_IDENTITY'
  | 'ERR_BAD_MODEL'
  | 'ERR_CORRUPT_MODEL'
  | 'ERR_CORRUPT_LOG'

export interface StoreErrorInit {
  code?: StoreErrorCode
  cause?: unknown
}

export class StoreError extends Error {
  static readonly name = 'StoreError'
  override readonly name = 'StoreError'
  /** The file or directory concerned. */
  readonly path: string
  readonly code: StoreErrorCode

  constructor (message: string, path: string, init: StoreErrorInit = {}) {
    super(message.replace(/\s*[\r\n]+\s*/g, ' '), init.cause === undefined ? undefined : { cause: init.cause })
    this.path = path
    this.code = init.code ?? 'ERR_IO'
  }
}

/** `ENOSPC: no space left on device` from a Node fs error, without the repeated path. */
export function fsReason (err: unknown): string {
  const e = err as { code?: string, message?: string } | undefined
  const message = String(e?.message ?? err)
  // Node's messages look like "ENOSPC: no space left on device, write '/path'"
  return message.replace(/, \w+ '[^']*'(?: -> '[^']*')?$/, '')
}

export function isAbort (err: unknown): boolean {
  return (err as { name?: string } | undefined)?.name === 'AbortError'
}

export function errorCode (err: unknown): string | undefined {
  return (err as { code?: string } | undefined)?.code
}
