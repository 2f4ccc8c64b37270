/**
 * Task files: reading a (partial) task definition from JSON, and writing the default task as a
 * starting point. Dataset paths in a task stay relative; `readTaskFile` returns the directory they are
 * relative to.
 */

import { open, readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { TaskError, oneLine } from './errors.ts'
import { createTask, defaultTask } from './task.ts'
import type { Task } from './types.ts'

export interface ReadTaskFileOptions {
  signal?: AbortSignal
}

export interface TaskFile {
  /** The validated task, defaults filled in. */
  task: Task
  /** Absolute directory of the task file: relative dataset paths are resolved against it. */
  baseDir: string
}

/**
 * Reads and validates a task file. The file may leave fields out (they take their defaults, see
 * `createTask`). Errors are `TaskError`s whose message starts with the path as given.
 */
export async function readTaskFile (path: string, options: ReadTaskFileOptions = {}): Promise<TaskFile> {
  let text: string
  try {
    text = await readFile(path, { encoding: 'utf8', signal: options.signal })
  } catch (err: any) {
    if (err?.name === 'AbortError') throw err
    if (err?.code === 'ENOENT') {
      throw new TaskError(`task file ${path} not found`, { source: path, code: 'ERR_TASK_FILE_NOT_FOUND', cause: err })
    }
    if (err?.code === 'EISDIR') {
      throw new TaskError(`task file ${path} is a directory, not a JSON file`, { source: path, code: 'ERR_TASK_FILE_READ', cause: err })
    }
    throw new TaskError(`cannot read task file ${path}: ${oneLine(String(err?.message ?? err))}`, { source: path, code: 'ERR_TASK_FILE_READ', cause: err })
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)

  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err: any) {
    throw new TaskError(`${path}: not valid JSON: ${describeJsonError(String(err?.message ?? err), text)}`, {
      source: path, code: 'ERR_TASK_FILE_NOT_JSON', cause: err
    })
  }
  return { task: createTask(json, { source: path }), baseDir: dirname(resolve(path)) }
}

export interface WriteDefaultTaskOptions {
  /** Overwrite an existing file (default false: refuse). */
  force?: boolean
  signal?: AbortSignal
}

/**
 * Writes `defaultTask()` as pretty JSON (two-space indent, trailing newline) and returns it. Refuses to
 * overwrite an existing file unless `force` is set.
 */
export async function writeDefaultTask (path: string, options: WriteDefaultTaskOptions = {}): Promise<Task> {
  options.signal?.throwIfAborted()
  const task = defaultTask()
  const text = `${JSON.stringify(task, null, 2)}\n`
  let file
  try {
    file = await open(path, options.force === true ? 'w' : 'wx', 0o644)
  } catch (err: any) {
    if (err?.code === 'EEXIST') {
      throw new TaskError(`task file ${path} already exists; refusing to overwrite it without force`, { source: path, code: 'ERR_TASK_FILE_EXISTS', cause: err })
    }
    if (err?.code === 'ENOENT') {
      throw new TaskError(`cannot write task file ${path}: directory ${dirname(path)} does not exist`, { source: path, code: 'ERR_TASK_FILE_WRITE', cause: err })
    }
    throw new TaskError(`cannot write task file ${path}: ${oneLine(String(err?.message ?? err))}`, { source: path, code: 'ERR_TASK_FILE_WRITE', cause: err })
  }
  try {
    await file.writeFile(text, { encoding: 'utf8', signal: options.signal })
  } catch (err: any) {
    if (err?.name === 'AbortError') throw err
    throw new TaskError(`cannot write task file ${path}: ${oneLine(String(err?.message ?? err))}`, { source: path, code: 'ERR_TASK_FILE_WRITE', cause: err })
  } finally {
    await file.close()
  }
  return task
}

/**
 * Turns a `JSON.parse` failure into `line L, column C: <reason>` (1-based). V8 reports a position for
 * most errors ("... in JSON at position 16 (line 3 column 6)") but not for "Unexpected token"; the
 * position is then found with a small JSON scanner. An unexpected end is placed after the last character.
 */
export function describeJsonError (message: string, text: string): string {
  const position = /at position (\d+)/.exec(message)
  let offset = position !== null ? Number(position[1]) : jsonErrorOffset(text)
  let reason = oneLine(message)
    .replace(/\s*at position \d+(?: \(line \d+ column \d+\))?/, '')
    .replace(/\s+in JSON$/, '')
  if (position === null && offset >= 0) {
    reason = offset >= text.length
      ? 'Unexpected end of JSON input'
      : `Unexpected ${describeChar(text[offset])}`
  }
  if (offset < 0) {
    if (!/end of JSON input/i.test(message)) return reason
    offset = text.length
  }
  const { line, column } = lineColumn(text, offset)
  return `line ${line}, column ${column}: ${reason}`
}

function describeChar (ch: string): string {
  if (ch === '\n' || ch === '\r') return 'line break'
  if (ch === '\t') return 'tab'
  return `character ${JSON.stringify(ch)}`
}

/** 1-based line and column of a UTF-16 offset. */
function lineColumn (text: string, offset: number): { line: number, column: number } {
  let line = 1
  let lineStart = 0
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++
      lineStart = i + 1
    }
  }
  return { line, column: offset - lineStart + 1 }
}

const JSON_NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
const JSON_ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y

/** Offset of the first character where `text` stops being JSON (RFC 8259), or -1 if it is valid. */
export function jsonErrorOffset (text: string): number {
  let i = 0
  const fail = (): never => { throw new JsonSyntaxAt(i) }
  const ws = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++
  }
  const string = (): void => {
    i++ // opening quote
    while (i < text.length) {
      const ch = text.charCodeAt(i)
      if (ch === 0x22) { i++; return }
      if (ch === 0x5c) {
        JSON_ESCAPE.lastIndex = i
        if (!JSON_ESCAPE.test(text)) fail()
        i = JSON_ESCAPE.lastIndex
      } else if (ch < 0x20) {
        fail()
      } else {
        i++
      }
    }
    fail()
  }
  const key = (): void => {
    ws()
    if (text[i] !== '"') fail()
    string()
    ws()
    if (text[i] !== ':') fail()
    i++
  }
  // Containers are kept on an explicit stack, not in recursion: a deeply nested text cannot overflow
  // the call stack (it did with ~10,000 unclosed brackets, and the RangeError escaped as the error of a
  // task or network file; found by test/fuzz).
  const open: string[] = []
  try {
    for (;;) {
      // a value
      ws()
      const c = text[i]
      if (c === '{' || c === '[') {
        const close = c === '{' ? '}' : ']'
        i++
        ws()
        if (text[i] === close) {
          i++
        } else {
          open.push(close)
          if (c === '{') key()
          continue
        }
      } else if (c === '"') {
        string()
      } else if (c === '-' || (c >= '0' && c <= '9')) {
        JSON_NUMBER.lastIndex = i
        if (!JSON_NUMBER.test(text)) fail()
        i = JSON_NUMBER.lastIndex
      } else {
        const literal = ['true', 'false', 'null'].find(l => l[0] === c)
        if (literal === undefined) fail()
        let j = 0
        while (j < literal!.length && text[i + j] === literal![j]) j++
        i += j
        if (j < literal!.length) fail()
      }
      // after a value: close what ends here, then the next element (or the end of the text)
      for (;;) {
        ws()
        if (open.length === 0) {
          if (i < text.length) fail()
          return -1
        }
        const close = open[open.length - 1]
        if (text[i] === close) {
          i++
          open.pop()
          continue
        }
        if (text[i] !== ',') fail()
        i++
        if (close === '}') key()
        break
      }
    }
  } catch (err) {
    if (err instanceof JsonSyntaxAt) return err.offset
    throw err
  }
}

class JsonSyntaxAt {
  constructor (readonly offset: number) {}
}
