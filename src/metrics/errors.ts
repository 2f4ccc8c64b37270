/**
 * Errors of the metrics endpoint. Every message is one line that names the address.
 */

export type MetricsErrorCode = 'ERR_METRICS_ADDRESS' | 'ERR_METRICS_LISTEN'

export class MetricsError extends Error {
  static readonly name = 'MetricsError'
  override readonly name = 'MetricsError'
  /** The address as given (`127.0.0.1:9464`). */
  readonly address: string
  readonly code: MetricsErrorCode

  constructor (message: string, address: string, init: { code?: MetricsErrorCode, cause?: unknown } = {}) {
    super(message.replace(/\s*[\r\n]+\s*/g, ' '), init.cause === undefined ? undefined : { cause: init.cause })
    this.address = address
    this.code = init.code ?? 'ERR_METRICS_ADDRESS'
  }
}
