/**
 * Defaults of the live dashboard (`--dashboard <host:port>`).
 */

/** Host bound when `--dashboard :<port>` names none: this machine only. */
export const DEFAULT_DASHBOARD_HOST = '127.0.0.1'
/** Port used in examples and help text. */
export const EXAMPLE_DASHBOARD_PORT = 8710
/** Least time between two pushes to the browsers: phase changes of many peers are sent together. */
export const DEFAULT_PUSH_INTERVAL_MS = 150
/** An SSE comment this often keeps idle connections (and proxies) open. */
export const DEFAULT_HEARTBEAT_MS = 15_000
/** Browsers reconnect after this long when the stream drops (the SSE `retry:` field). */
export const SSE_RETRY_MS = 2000
