/**
 * The base of the small HTTP endpoints' errors (`MetricsError`, `DashboardError`): one line that names
 * the address as the user gave it, and a code saying whether the address was malformed or listening failed.
 */

export class EndpointError<Code extends string = string> extends Error {
  /** The address as given (`127.0.0.1:9464`). */
  readonly address: string
  readonly code: Code

  constructor (message: string, address: string, code: Code, cause?: unknown) {
    super(message.replace(/\s*[\r\n]+\s*/g, ' '), cause === undefined ? undefined : { cause })
    this.address = address
    this.code = code
  }
}
