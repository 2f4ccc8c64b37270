/**
 * Errors of task definitions and task files. Every message is one line that names the source
 * (file or `task`), the field path, the allowed values and what was found.
 */

export type TaskErrorCode =
  | 'ERR_TASK_INVALID'
  | 'ERR_TASK_FILE_NOT_FOUND'
  | 'ERR_TASK_FILE_NOT_JSON'
  | 'ERR_TASK_FILE_READ'
  | 'ERR_TASK_FILE_EXISTS'
  | 'ERR_TASK_FILE_WRITE'

export interface TaskErrorInit {
  /** Dotted path of the offending field (`training.learningRate`); `''` for the task as a whole. */
  field?: string
  /** Where the task came from: a file path or `task`. */
  source?: string
  code?: TaskErrorCode
  cause?: unknown
}

export class TaskError extends Error {
  static readonly name = 'TaskError'
  override readonly name = 'TaskError'
  /** Dotted path of the offending field; `undefined` for file-level errors (not found, not JSON, ...). */
  readonly field: string | undefined
  readonly source: string | undefined
  readonly code: TaskErrorCode

  constructor (message: string, init: TaskErrorInit = {}) {
    super(oneLine(message), init.cause === undefined ? undefined : { cause: init.cause })
    this.field = init.field
    this.source = init.source
    this.code = init.code ?? 'ERR_TASK_INVALID'
  }
}

/** Collapses any line breaks so that a message stays on one line. */
export function oneLine (text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ')
}

/**
 * A short, one-line rendering of a value for "(got ...)": strings quoted, arrays and objects as
 * compact JSON, cut at 60 characters.
 */
export function describeValue (value: unknown): string {
  if (value === undefined) return 'nothing'
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'function' || typeof value === 'symbol') return `a ${typeof value}`
  let text: string
  try {
    text = JSON.stringify(value) ?? String(value)
  } catch {
    text = Object.prototype.toString.call(value)
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}
