/**
 * Transport selection: which of TCP, WebSockets and the in-memory transport a node runs, derived
 * from its listen and bootstrap addresses, and the checks that turn a bad address into a named
 * error before libp2p sees it.
 */

import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { InvalidMultiaddrError, UnknownTransportError, UnsupportedAddressError, reasonOf } from './errors.ts'

export type TransportName = 'tcp' | 'ws' | 'memory'
export const TRANSPORT_NAMES: readonly TransportName[] = Object.freeze(['tcp', 'ws', 'memory'])

/** Parses a multiaddr or throws `InvalidMultiaddrError` naming it. */
export function parseMultiaddr (address: string): Multiaddr {
  if (typeof address !== 'string' || address.trim() === '') {
    throw new InvalidMultiaddrError(String(address), 'empty address')
  }
  try {
    return multiaddr(address)
  } catch (err) {
    throw new InvalidMultiaddrError(address, reasonOf(err), { cause: err })
  }
}

/** Whether `ma` is a circuit relay address (`/p2p-circuit` alone, or `.../p2p/<relay>/p2p-circuit[/p2p/<peer>]`). */
export function isCircuitAddress (ma: Multiaddr): boolean {
  return ma.getComponents().some(c => c.name === 'p2p-circuit')
}

/**
 * Checks announce addresses: each must parse, be a circuit address or be handled by one of
 * `transports`. Throws `InvalidMultiaddrError` / `UnsupportedAddressError` naming the address.
 */
export function checkAnnounce (addresses: readonly string[], transports: readonly TransportName[]): void {
  for (const address of addresses) {
    const ma = parseMultiaddr(address)
    if (isCircuitAddress(ma)) {
      const parts = ma.toString().split('/p2p-circuit')[0]
      if (!parts.includes('/p2p/')) throw new UnsupportedAddressError(address, 'a circuit address to announce must name its relay (.../p2p/<relay>/p2p-circuit)', 'announce')
      continue
    }
    const transport = transportOf(ma)
    if (transport == null) {
      throw new UnsupportedAddressError(address, `no transport for it (supported: ${TRANSPORT_NAMES.join(', ')}, p2p-circuit)`, 'announce')
    }
    if (!transports.includes(transport)) {
      throw new UnsupportedAddressError(address, `it needs the ${transport} transport, which is not enabled (enabled: ${transports.join(', ')})`, 'announce')
    }
  }
}

/**
 * The transport that handles `ma`, or `undefined` when none of ours does (QUIC, WebRTC, ...).
 * A trailing `/p2p/<peer-id>` is ignored.
 */
export function transportOf (ma: Multiaddr): TransportName | undefined {
  const names = ma.getComponents().map(c => c.name).filter(name => name !== 'p2p')
  if (names[0] === 'memory') return names.length === 1 ? 'memory' : undefined
  if (names.includes('ws') || names.includes('wss')) return 'ws'
  const hostOk = ['ip4', 'ip6', 'dns', 'dns4', 'dns6', 'dnsaddr'].includes(names[0] ?? '')
  if (hostOk && names.length === 2 && names[1] === 'tcp') return 'tcp'
  if (names.length === 1 && names[0] === 'dnsaddr') return 'tcp'
  return undefined
}

export function checkTransportNames (names: readonly string[]): TransportName[] {
  const out: TransportName[] = []
  for (const name of names) {
    if (!(TRANSPORT_NAMES as readonly string[]).includes(name)) {
      throw new UnknownTransportError(name, TRANSPORT_NAMES)
    }
    if (!out.includes(name as TransportName)) out.push(name as TransportName)
  }
  return out
}

/**
 * Checks every listen address and works out the transports: the given list if any (each listen
 * address must be covered by it), else TCP plus whatever the listen and extra addresses need.
 */
export function selectTransports (listen: readonly string[], extra: readonly string[], requested?: readonly string[]): TransportName[] {
  const chosen = requested == null ? undefined : checkTransportNames(requested)
  const needed = new Set<TransportName>(['tcp'])
  for (const address of listen) {
    const transport = transportOf(parseMultiaddr(address))
    if (transport == null) {
      throw new UnsupportedAddressError(address, `no transport for it (supported: ${TRANSPORT_NAMES.join(', ')})`)
    }
    if (chosen != null && !chosen.includes(transport)) {
      throw new UnsupportedAddressError(address, `it needs the ${transport} transport, which is not enabled (enabled: ${chosen.join(', ')})`)
    }
    needed.add(transport)
  }
  for (const address of extra) {
    const transport = transportOf(parseMultiaddr(address))
    if (transport != null) needed.add(transport)
  }
  return chosen ?? TRANSPORT_NAMES.filter(name => needed.has(name))
}

/** `/memory/<name>`: a listen address for the in-memory transport (random name if none given). */
export function memoryAddress (name?: string): string {
  return `/memory/${name ?? `fedswarm-${Math.random().toString(36).slice(2, 10)}${Date.now().toString(36)}`}`
}
