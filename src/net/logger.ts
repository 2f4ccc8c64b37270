/**
 * A tiny debug-style logger: silent unless the `DEBUG` environment variable contains `fedswarm`
 * (for example `DEBUG=fedswarm*`), then one line per call on stderr. Every factory in `src/net/`
 * takes a `log` function of this shape, so callers can collect the lines instead.
 */

/** Receives one line (no trailing newline). */
export type NetLogger = (line: string) => void

function enabled (namespace: string): boolean {
  const debug = process.env.DEBUG ?? ''
  if (debug === '') return false
  return debug.split(/[\s,]+/).some(pattern => {
    if (pattern === '*') return true
    if (!pattern.includes('fedswarm')) return false
    if (pattern.endsWith('*')) return namespace.startsWith(pattern.slice(0, -1))
    return pattern === 'fedswarm' || namespace === pattern
  })
}

/** A logger for `fedswarm:<component>`; `DEBUG` is read on every call, so it can be set late. */
export function createLogger (component: string): NetLogger {
  const namespace = `fedswarm:${component}`
  return (line: string) => {
    if (!enabled(namespace)) return
    process.stderr.write(`${new Date().toISOString()} ${namespace} ${line}\n`)
  }
}
