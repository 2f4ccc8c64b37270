/**
 * `--dashboard` values: `host:port`, `[v6]:port` or `:port` (then 127.0.0.1, this machine only). The
 * address is bound exactly as given; the dashboard is read-only but shows the run to anyone who can
 * reach it, so examples bind loopback.
 */
import { parseHostPort } from '../http/listen.ts'
import { DEFAULT_DASHBOARD_HOST, EXAMPLE_DASHBOARD_PORT } from './constants.ts'
import { DashboardError } from './errors.ts'

export interface DashboardAddress {
  host: string
  port: number
}

/** Parses a `--dashboard` value; port 0 picks a free port. Throws a one-line `DashboardError` naming it. */
export function parseDashboardAddress (value: string): DashboardAddress {
  const parsed = parseHostPort(value, DEFAULT_DASHBOARD_HOST)
  if ('problem' in parsed) {
    throw new DashboardError(`invalid dashboard address "${value}": ${parsed.problem} (expected <host>:<port>, e.g. 127.0.0.1:${EXAMPLE_DASHBOARD_PORT})`, value)
  }
  return parsed
}
