/**
 * Circuit relay helpers: wait until a relay client's reservation shows up as a `/p2p-circuit`
 * address of the node (the address other peers dial to reach it through the relay).
 */

import type { Multiaddr } from '@multiformats/multiaddr'
import { DEFAULT_RELAY_ADDRESS_TIMEOUT_MS } from './constants.ts'
import { getNodeConfig } from './create-node.ts'
import type { PeerNode } from './create-node.ts'
import { AbortedError, RelayAddressTimeoutError } from './errors.ts'
import { isCircuitAddress } from './transports.ts'

export interface WaitForRelayAddressOptions {
  /** How long to wait (default 20 s). */
  timeoutMs?: number
  signal?: AbortSignal
}

/** The node's first relayed address (`/.../p2p/<relay>/p2p-circuit/p2p/<self>`), if it has one. */
export function relayAddressOf (node: PeerNode): Multiaddr | undefined {
  return node.getMultiaddrs().find(isCircuitAddress)
}

/**
 * Resolves with the node's first `/p2p-circuit` address once a relay reservation has given it
 * one. Rejects with `RelayAddressTimeoutError` (naming the timeout) when none comes in time, or
 * at once if the node does not run `relayClient`; with `AbortedError` when `signal` aborts.
 */
export async function waitForRelayAddress (node: PeerNode, options: WaitForRelayAddressOptions = {}): Promise<Multiaddr> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_RELAY_ADDRESS_TIMEOUT_MS
  if (options.signal?.aborted === true) throw new AbortedError('waiting for a relay address', { cause: options.signal.reason })
  const found = relayAddressOf(node)
  if (found != null) return found
  if (!getNodeConfig(node).relayClient) {
    throw new RelayAddressTimeoutError(node.peerId.toString(), 0, 'the node does not run relayClient, so it never reserves a relay slot')
  }
  return await new Promise<Multiaddr>((resolve, reject) => {
    const cleanup = (): void => {
      clearTimeout(timer)
      clearInterval(poll)
      node.removeEventListener('self:peer:update', onUpdate)
      options.signal?.removeEventListener('abort', onAbort)
    }
    const onUpdate = (): void => {
      const ma = relayAddressOf(node)
      if (ma == null) return
      cleanup()
      resolve(ma)
    }
    const onAbort = (): void => {
      cleanup()
      reject(new AbortedError('waiting for a relay address', { cause: options.signal?.reason }))
    }
    const timer = setTimeout(() => {
      cleanup()
      const relays = node.getConnections().filter(c => !isCircuitAddress(c.remoteAddr)).length
      reject(new RelayAddressTimeoutError(node.peerId.toString(), timeoutMs,
        relays === 0 ? 'it has no direct connection to any peer, so no relay to reserve a slot on' : `no relay among its ${relays} direct connections granted a reservation`))
    }, timeoutMs)
    // the address manager announces new addresses with `self:peer:update`; poll as a fallback
    const poll = setInterval(onUpdate, 250)
    node.addEventListener('self:peer:update', onUpdate)
    options.signal?.addEventListener('abort', onAbort, { once: true })
  })
}
