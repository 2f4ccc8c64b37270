/**
 * Checks of numeric and word flags whose errors name the flag (a `UsageError`, one line). A module of its
 * own so that commands can use them without loading the sim (and tfjs).
 */
import { UsageError } from './usage-error.ts'

export function int (flag: string, value: string | undefined, min = 1): number | undefined {
  if (value == null) return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} must be an integer >= ${min} (got "${value}")`)
  return n
}

/** A flag that takes one of a few words, checked here so the error names the flag. */
export function choice<T extends string> (flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value == null) return undefined
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')} (got "${value}")`)
  return value as T
}

export function num (flag: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value == null) return undefined
  const n = Number(value)
  if (!Number.isFinite(n) || n < min || n > max) throw new UsageError(`${flag} must be a number in [${min}, ${max}] (got "${value}")`)
  return n
}
