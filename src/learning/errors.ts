/**
 * Named errors of the learning module. Each message is one line naming the problem: the file, the
 * field or spec, and the allowed values. Errors thrown inside a training worker keep their name when
 * they reach the caller (see `reviveError`).
 */

/** A dataset cannot be read: missing file, bad IDX magic number, CSV row of the wrong width, label out of range... */
export class DatasetError extends Error {
  name = 'DatasetError'
  /** The file the problem is in, when there is one. */
  readonly path?: string
  constructor (message: string, options: { path?: string, cause?: unknown } = {}) {
    super(message, { cause: options.cause })
    this.path = options.path
  }
}

/** The `--data` flag of a peer node is malformed. */
export class DataSpecError extends Error {
  name = 'DataSpecError'
}

/** A partition spec (`iid`, `dirichlet:<alpha>`, `shards:<k>`) is malformed or cannot be applied. */
export class PartitionError extends Error {
  name = 'PartitionError'
}

/** A model spec cannot be built for the given input shape, or a parameter vector has the wrong length. */
export class ModelError extends Error {
  name = 'ModelError'
}

/** The requested tfjs backend is not available on this machine. */
export class BackendError extends Error {
  name = 'BackendError'
}

/** The trainer pool failed: closed, a worker crashed, or a job is malformed. */
export class TrainerError extends Error {
  name = 'TrainerError'
}

const NAMED: Record<string, new (message: string) => Error> = {
  DatasetError, DataSpecError, PartitionError, ModelError, BackendError, TrainerError
}

/** The plain shape an error takes through `postMessage`. */
export interface ErrorData { name: string, message: string, path?: string, stack?: string }

export function errorData (err: unknown): ErrorData {
  if (err instanceof Error) {
    return { name: err.name, message: err.message, path: (err as DatasetError).path, stack: err.stack }
  }
  return { name: 'Error', message: String(err) }
}

/** Rebuilds an error that crossed a thread boundary, with the class of its name when it is one of ours. */
export function reviveError (data: ErrorData): Error {
  const Class = NAMED[data.name]
  let err: Error
  if (Class === DatasetError) err = new DatasetError(data.message, { path: data.path })
  else if (Class != null) err = new Class(data.message)
  else {
    err = new Error(data.message)
    err.name = data.name
  }
  if (data.stack != null) err.stack = `${err.name}: ${err.message}\n    (in training worker)\n${data.stack.split('\n').slice(1).join('\n')}`
  return err
}
