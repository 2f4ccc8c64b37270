/**
 * Errors of the dashboard endpoint. Every message is one line that names the address.
 */

export type DashboardErrorCode = 'ERR_DASHBOARD_ADDRESS' | 'ERR_DASHBOARD_LISTEN'

export class DashboardError extends Error {
  static readonly name = 'DashboardError'
  override readonly name = 'DashboardError'
  /** The address as given (`127.0.0.1:8710`). */
  readonly address: string
  readonly code: DashboardErrorCode

  constructor (message: string, address: string, init: { code?: DashboardErrorCode, cause?: unknown } = {}) {
    super(message.replace(/\s*[\r\n]+\s*/g, ' '), init.cause === undefined ? undefined : { cause: init.cause })
    this.address = address
    this.code = init.code ?? 'ERR_DASHBOARD_ADDRESS'
  }
}
