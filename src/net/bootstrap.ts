/**
 * Dials a list of bootstrap addresses now and says which were reachable, so a peer can fail
 * fast with a clear message ("no bootstrap peer reachable: /ip4/.../tcp/4001 (ECONNREFUSED)")
 * instead of waiting alone. The background `@libp2p/bootstrap` discovery of `createPeerNode`
 * keeps retrying on its own; this is the explicit check.
 */

import type { PeerId } from '@libp2p/interface'
import { DEFAULT_BOOTSTRAP_DIAL_TIMEOUT_MS } from './constants.ts'
import { getNodeConfig } from './create-node.ts'
import type { PeerNode } from './create-node.ts'
import { BootstrapUnreachableError, reasonOf } from './errors.ts'
import type { DialFailure } from './errors.ts'
import { createLogger } from './logger.ts'
import type { NetLogger } from './logger.ts'
import { parseMultiaddr, transportOf } from './transports.ts'

export interface DialBootstrapOptions {
  /** Time each address gets (default 5 s). */
  timeoutMs?: number
  signal?: AbortSignal
  log?: NetLogger
}

export interface DialBootstrapResult {
  connected: Array<{ address: string, peer: PeerId }>
  failures: DialFailure[]
}

/**
 * Dials every address at once. Resolves with the reachable ones if at least one was; throws
 * `BootstrapUnreachableError` naming each address and why if none was (also for an empty list).
 * Addresses may omit `/p2p/<peer-id>`.
 */
export async function dialBootstrap (node: PeerNode, addresses: readonly string[], options: DialBootstrapOptions = {}): Promise<DialBootstrapResult> {
  options.signal?.throwIfAborted()
  const log = options.log ?? createLogger('net:bootstrap')
  const timeoutMs = options.timeoutMs ?? DEFAULT_BOOTSTRAP_DIAL_TIMEOUT_MS
  const parsed = addresses.map(address => ({ address, ma: parseMultiaddr(address) }))
  const results = await Promise.all(parsed.map(async ({ address, ma }) => {
    const signals = [AbortSignal.timeout(timeoutMs)]
    if (options.signal != null) signals.push(options.signal)
    try {
      const transport = transportOf(ma)
      if (transport != null && !getNodeConfig(node).transports.includes(transport)) {
        throw new Error(`this node runs no ${transport} transport`)
      }
      const connection = await node.dial(ma, { signal: AbortSignal.any(signals) })
      log(`bootstrap ${address} reached: ${connection.remotePeer}`)
      return { address, peer: connection.remotePeer }
    } catch (err) {
      const reason = options.signal?.aborted === true
        ? 'aborted'
        : (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) ? `no answer within ${timeoutMs} ms` : shortReason(err)
      log(`bootstrap ${address} unreachable: ${reason}`)
      return { address, reason }
    }
  }))
  options.signal?.throwIfAborted()
  const connected: DialBootstrapResult['connected'] = []
  const failures: DialFailure[] = []
  for (const r of results) {
    if (r.peer != null) connected.push({ address: r.address, peer: r.peer })
    else failures.push({ address: r.address, reason: r.reason ?? 'unknown' })
  }
  if (connected.length === 0) throw new BootstrapUnreachableError(failures)
  return { connected, failures }
}

/** `connect ECONNREFUSED 127.0.0.1:1` → `ECONNREFUSED`; other reasons as their first line. */
function shortReason (err: unknown): string {
  const text = reasonOf(err)
  const code = /\b(E[A-Z]{3,})\b/.exec(text)?.[1]
  if (code != null) return code
  // libp2p wraps the last address error; keep it short
  return text.length > 120 ? `${text.slice(0, 117)}...` : text
}
