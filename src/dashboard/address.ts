/**
 * `--dashboard` values: `host:port`, `[v6]:port` or `:port` (then 127.0.0.1, this machine only). The
 * address is bound exactly as given; the dashboard is read-only but shows the run to anyone who can
 * reach it, so examples bind loopback.
 */
import { isIP } from 'node:net'
import { DEFAULT_DASHBOARD_HOST, EXAMPLE_DASHBOARD_PORT } from './constants.ts'
import { DashboardError } from './errors.ts'

export interface DashboardAddress {
  host: string
  port: number
}

/** Parses a `--dashboard` value; port 0 picks a free port. Throws a one-line `DashboardError` naming it. */
export function parseDashboardAddress (value: string): DashboardAddress {
  const bad = (why: string): never => {
    throw new DashboardError(`invalid dashboard address "${value}": ${why} (expected <host>:<port>, e.g. 127.0.0.1:${EXAMPLE_DASHBOARD_PORT})`, value)
  }
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):([^:]*)$/.exec(value.trim())
  if (m == null) return bad(/:/.test(value) ? 'not <host>:<port>' : 'no port')
  const host = m[1] ?? m[2]
  if (m[1] != null && isIP(m[1]) !== 6) return bad(`${m[1]} is not an IPv6 address`)
  if (!/^\d{1,5}$/.test(m[3]) || Number(m[3]) > 65535) return bad(m[3] === '' ? 'no port' : `port ${m[3]} is not a number from 0 to 65535`)
  return { host: host === '' ? DEFAULT_DASHBOARD_HOST : host, port: Number(m[3]) }
}
