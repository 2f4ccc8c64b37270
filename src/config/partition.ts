/**
 * The `partition` field of a task: how a simulation (or `--data <dataset>:...`) splits a dataset
 * among peers. Syntax: `iid`, `dirichlet:<alpha>` (alpha > 0, label skew; smaller is more skewed) or
 * `shards:<k>` (k >= 1 label-sorted shards per peer, as in McMahan et al.).
 */

import { DEFAULT_TASK_SOURCE } from './constants.ts'
import { TaskError, describeValue } from './errors.ts'

export type Partition =
  | { kind: 'iid' }
  | { kind: 'dirichlet', alpha: number }
  | { kind: 'shards', shards: number }

/** What error messages say a partition must be. */
export const PARTITION_SYNTAX = 'iid, dirichlet:<alpha> with alpha > 0, or shards:<k> with k an integer >= 1'

const DECIMAL = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/
const DIGITS = /^\d+$/

export interface ParsePartitionOptions {
  /** Names the task source in error messages. */
  source?: string
  /** Names the field in error messages (default `partition`). */
  field?: string
}

/** Parses a partition string; throws a `TaskError` naming the field when it is malformed. */
export function parsePartition (spec: unknown, options: ParsePartitionOptions = {}): Partition {
  const source = options.source ?? DEFAULT_TASK_SOURCE
  const field = options.field ?? 'partition'
  const fail = (): never => {
    const found = spec === undefined ? 'missing' : `got ${describeValue(spec)}`
    throw new TaskError(`${source}: ${field} must be ${PARTITION_SYNTAX} (${found})`, { field, source })
  }
  if (typeof spec !== 'string') return fail()
  if (spec === 'iid') return { kind: 'iid' }
  const colon = spec.indexOf(':')
  if (colon < 0) return fail()
  const kind = spec.slice(0, colon)
  const arg = spec.slice(colon + 1)
  if (kind === 'dirichlet' && DECIMAL.test(arg)) {
    const alpha = Number(arg)
    if (Number.isFinite(alpha) && alpha > 0) return { kind: 'dirichlet', alpha }
  } else if (kind === 'shards' && DIGITS.test(arg)) {
    const shards = Number(arg)
    if (Number.isSafeInteger(shards) && shards >= 1) return { kind: 'shards', shards }
  }
  return fail()
}

/** The canonical string of a partition: `dirichlet:0.50` and `dirichlet:5e-1` both become `dirichlet:0.5`. */
export function formatPartition (partition: Partition): string {
  switch (partition.kind) {
    case 'iid': return 'iid'
    case 'dirichlet': return `dirichlet:${partition.alpha}`
    case 'shards': return `shards:${partition.shards}`
  }
}
