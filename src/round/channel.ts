/**
 * What the round driver needs from the network, as one small interface. `src/net` provides the real
 * implementation over libp2p (gossipsub + blob + sync protocols); keeping it narrow keeps the driver
 * independent of libp2p's API.
 */
import type { Verdict } from './machine.ts'

export interface SyncRequestOptions extends RequestOptions {
  fanout?: number
  prefer?: string[]
  exclude?: (peerId: string) => boolean
}

export interface RequestOptions {
  signal?: AbortSignal
  timeoutMs?: number
}

export interface SwarmChannel {
  /** This peer's PeerId string. */
  readonly peerId: string
  /**
   * Installs the handler for every message on the task topic. It validates (its verdict decides
   * Accept / Ignore / Reject in gossip) and, on accept, takes the message. `via` is the PeerId string of
   * the neighbour that handed it over, not necessarily its author (gossip carries no author: the
   * envelope in `data` names and signs it).
   */
  listen (handler: (data: Uint8Array, via: string) => Promise<Verdict>): void
  /**
   * Publishes on the task topic; resolves even if no peer was subscribed yet. `flood`: to every connected
   * subscriber (true) or to the mesh only (false); absent, the gossip router's default (flooding).
   */
  publish (data: Uint8Array, opts?: RequestOptions & { flood?: boolean }): Promise<void>
  /** Resolves once the task topic has at least `minPeers` peers, or after `timeoutMs`. */
  waitForMesh (opts: { minPeers: number, timeoutMs: number, signal?: AbortSignal }): Promise<boolean>
  putBlob (bytes: Uint8Array): string
  getBlob (hashHex: string): Uint8Array | undefined
  /** Fetches content by sha256 from peers (`prefer`, PeerId strings, asked first), verified; throws if nobody has it. */
  fetchBlob (hashHex: string, opts?: RequestOptions & { prefer?: string[] }): Promise<Uint8Array>
  /**
   * Fetches bytes [offset, offset + length) of a blob directly from peer `from` (its author: a range
   * cannot be checked against the hash); throws if it cannot.
   */
  fetchBlobRange (hashHex: string, offset: number, length: number, opts: RequestOptions & { from: string }): Promise<Uint8Array>
  /** This peer's dialable addresses (multiaddr bytes, at most MAX_JOIN_ADDRS), for its Join. */
  addresses (): Uint8Array[]
  /** Remembers addresses another peer announced (in its Join), so it can be dialled directly. */
  learnAddresses (peerId: string, addrs: readonly Uint8Array[]): void
  /**
   * Reports a peer that sent a valid but false message (a Result whose model hash differs from the one
   * this peer computed): the network layer lowers its gossipsub application score. Optional.
   */
  penalise? (peerId: string, points: number): void
  /** Installs the answer to sync requests. */
  serveSync (handler: (request: Uint8Array, from: string) => Promise<Uint8Array>): void
  /**
   * Sends a sync request to up to `fanout` peers (`prefer`, PeerId strings, first; then connected ones;
   * none that `exclude` names); returns the answers that came back.
   */
  requestSync (request: Uint8Array, opts?: SyncRequestOptions): Promise<Uint8Array[]>
  /** Bytes this peer sent and received on the wire so far. */
  traffic (): { sent: number, received: number }
  close (): Promise<void>
}
