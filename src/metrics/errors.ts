/**
 * Errors of the metrics endpoint. Every message is one line that names the address.
 */

import { EndpointError } from '../http/errors.ts'

export type MetricsErrorCode = 'ERR_METRICS_ADDRESS' | 'ERR_METRICS_LISTEN'

export class MetricsError extends EndpointError<MetricsErrorCode> {
  static readonly name = 'MetricsError'
  override readonly name = 'MetricsError'

  constructor (message: string, address: string, init: { code?: MetricsErrorCode, cause?: unknown } = {}) {
    super(message, address, init.code ?? 'ERR_METRICS_ADDRESS', init.cause)
  }
}
