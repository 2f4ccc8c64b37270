/**
 * Task ids: the hex SHA-256 of a task's canonical JSON (see `canonical-json.ts`). Peers that agree on
 * every field of a task get the same id; any change of any value gives another id. Topic names are
 * built from `shortTaskId` in the wire module.
 */

import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js'
import { canonicalJson } from './canonical-json.ts'
import { SHORT_TASK_ID_LENGTH } from './constants.ts'
import { validateTask, type TaskOptions } from './task.ts'
import type { Task } from './types.ts'

const TASK_ID = /^[0-9a-f]{64}$/

/**
 * The canonical JSON of a task. The task is validated (and normalized) first, so this throws a
 * `TaskError` for an invalid task and gives the same text for equal tasks whatever their key order.
 */
export function canonicalTaskJson (task: Task, options: TaskOptions = {}): string {
  return canonicalJson(validateTask(task, options))
}

/** The task id: 64 lower-case hex characters, the SHA-256 of `canonicalTaskJson(task)` in UTF-8. */
export function taskId (task: Task, options: TaskOptions = {}): string {
  return bytesToHex(sha256(utf8ToBytes(canonicalTaskJson(task, options))))
}

/** The first 16 hex characters (64 bits) of a task id, for topic and file names. */
export function shortTaskId (id: string): string {
  if (!TASK_ID.test(id)) {
    throw new TypeError(`shortTaskId: a task id must be 64 lower-case hex characters (got ${JSON.stringify(String(id)).slice(0, 70)})`)
  }
  return id.slice(0, SHORT_TASK_ID_LENGTH)
}

/** Whether a string is a well-formed task id. */
export function isTaskId (id: unknown): id is string {
  return typeof id === 'string' && TASK_ID.test(id)
}
