/**
 * Errors of the report and chart rendering. Every message is one line.
 */

export type ReportErrorCode = 'ERR_REPORT_CHART' | 'ERR_REPORT_WRITE'

export class ReportError extends Error {
  static readonly name = 'ReportError'
  override readonly name = 'ReportError'
  readonly code: ReportErrorCode

  constructor (message: string, init: { code?: ReportErrorCode, cause?: unknown } = {}) {
    super(message.replace(/\s*[\r\n]+\s*/g, ' '), init.cause === undefined ? undefined : { cause: init.cause })
    this.code = init.code ?? 'ERR_REPORT_CHART'
  }
}
