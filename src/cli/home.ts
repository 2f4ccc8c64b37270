/**
 * Where `fedswarm bootstrap` and `fedswarm join` keep their data dirs by default: `$FEDSWARM_HOME`, or
 * `~/.fedswarm`.
 */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

/** The directory holding default data dirs (`$FEDSWARM_HOME` or `~/.fedswarm`). */
export function fedswarmHome (): string {
  const env = process.env.FEDSWARM_HOME
  return env != null && env !== '' ? resolve(env) : join(homedir(), '.fedswarm')
}
