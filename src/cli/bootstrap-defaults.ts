/**
 * Defaults of `fedswarm bootstrap`, in a module of their own so that the command line's help can show
 * them without loading libp2p.
 */

/** Listen addresses of a bootstrap node: TCP 4001 and WebSockets 4002 on every interface. */
export const DEFAULT_BOOTSTRAP_LISTEN: readonly string[] = Object.freeze(['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/tcp/4002/ws'])
/** Connections a bootstrap node keeps at most (relay reservations hold one each). */
export const DEFAULT_BOOTSTRAP_MAX_CONNECTIONS = 384
