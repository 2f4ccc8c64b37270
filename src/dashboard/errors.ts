/**
 * Errors of the dashboard endpoint. Every message is one line that names the address.
 */

import { EndpointError } from '../http/errors.ts'

export type DashboardErrorCode = 'ERR_DASHBOARD_ADDRESS' | 'ERR_DASHBOARD_LISTEN'

export class DashboardError extends EndpointError<DashboardErrorCode> {
  static readonly name = 'DashboardError'
  override readonly name = 'DashboardError'

  constructor (message: string, address: string, init: { code?: DashboardErrorCode, cause?: unknown } = {}) {
    super(message, address, init.code ?? 'ERR_DASHBOARD_ADDRESS', init.cause)
  }
}
