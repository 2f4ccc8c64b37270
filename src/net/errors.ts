/**
 * Named errors of the networking layer. Every message is one line that names the address, peer,
 * topic or hash concerned and what went wrong.
 */

export type NetErrorCode =
  | 'ERR_NET'
  | 'ERR_INVALID_MULTIADDR'
  | 'ERR_UNKNOWN_TRANSPORT'
  | 'ERR_UNSUPPORTED_ADDRESS'
  | 'ERR_LISTEN_ADDRESS_IN_USE'
  | 'ERR_LISTEN'
  | 'ERR_INVALID_PRIVATE_KEY'
  | 'ERR_INVALID_BOOTSTRAP_ADDRESS'
  | 'ERR_BOOTSTRAP_UNREACHABLE'
  | 'ERR_MESSAGE_TOO_LARGE'
  | 'ERR_MESH_TIMEOUT'
  | 'ERR_GOSSIP'
  | 'ERR_INVALID_BLOB_HASH'
  | 'ERR_BLOB_NOT_FOUND'
  | 'ERR_SYNC'
  | 'ERR_SYNC_TOO_LARGE'
  | 'ERR_ABORTED'
  | 'ERR_RELAY_ADDRESS_TIMEOUT'

/** Base class: `err instanceof NetError` catches every error of this layer. */
export class NetError extends Error {
  static readonly name: string = 'NetError'
  override readonly name: string = 'NetError'
  readonly code: NetErrorCode

  constructor (message: string, code: NetErrorCode = 'ERR_NET', options?: { cause?: unknown }) {
    super(oneLine(message), options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
  }
}

/** A string that does not parse as a multiaddr. */
export class InvalidMultiaddrError extends NetError {
  static override readonly name = 'InvalidMultiaddrError'
  override readonly name = 'InvalidMultiaddrError'
  readonly address: string
  constructor (address: string, reason: string, options?: { cause?: unknown }) {
    super(`invalid multiaddr "${address}": ${reason}`, 'ERR_INVALID_MULTIADDR', options)
    this.address = address
  }
}

/** A transport name other than tcp, ws or memory. */
export class UnknownTransportError extends NetError {
  static override readonly name = 'UnknownTransportError'
  override readonly name = 'UnknownTransportError'
  readonly transport: string
  constructor (transport: string, known: readonly string[]) {
    super(`unknown transport "${transport}" (known: ${known.join(', ')})`, 'ERR_UNKNOWN_TRANSPORT')
    this.transport = transport
  }
}

/** A listen (or announce) address no configured transport handles. */
export class UnsupportedAddressError extends NetError {
  static override readonly name = 'UnsupportedAddressError'
  override readonly name = 'UnsupportedAddressError'
  readonly address: string
  /** Which list the address came from. */
  readonly kind: 'listen' | 'announce'
  constructor (address: string, reason: string, kind: 'listen' | 'announce' = 'listen') {
    super(`${kind} address ${address} is not supported: ${reason}`, 'ERR_UNSUPPORTED_ADDRESS')
    this.address = address
    this.kind = kind
  }
}

/** The port (or memory address) of a listen address is taken. */
export class ListenAddressInUseError extends NetError {
  static override readonly name = 'ListenAddressInUseError'
  override readonly name = 'ListenAddressInUseError'
  readonly address: string
  constructor (address: string, options?: { cause?: unknown }) {
    super(`listen address ${address} is in use`, 'ERR_LISTEN_ADDRESS_IN_USE', options)
    this.address = address
  }
}

/** Listening failed for another reason (permission, no such interface, ...). */
export class ListenError extends NetError {
  static override readonly name = 'ListenError'
  override readonly name = 'ListenError'
  readonly address: string
  constructor (address: string, reason: string, options?: { cause?: unknown }) {
    super(`cannot listen on ${address}: ${reason}`, 'ERR_LISTEN', options)
    this.address = address
  }
}

export class InvalidPrivateKeyError extends NetError {
  static override readonly name = 'InvalidPrivateKeyError'
  override readonly name = 'InvalidPrivateKeyError'
  constructor (reason: string) {
    super(`invalid private key: ${reason}`, 'ERR_INVALID_PRIVATE_KEY')
  }
}

/** A bootstrap entry that is not a multiaddr ending in /p2p/<peer-id>. */
export class InvalidBootstrapAddressError extends NetError {
  static override readonly name = 'InvalidBootstrapAddressError'
  override readonly name = 'InvalidBootstrapAddressError'
  readonly address: string
  constructor (address: string, reason: string) {
    super(`bootstrap address ${address} is invalid: ${reason}`, 'ERR_INVALID_BOOTSTRAP_ADDRESS')
    this.address = address
  }
}

export interface DialFailure {
  address: string
  reason: string
}

/** None of the bootstrap addresses could be reached. */
export class BootstrapUnreachableError extends NetError {
  static override readonly name = 'BootstrapUnreachableError'
  override readonly name = 'BootstrapUnreachableError'
  readonly failures: DialFailure[]
  constructor (failures: DialFailure[]) {
    const list = failures.map(f => `${f.address} (${f.reason})`).join(', ')
    super(`no bootstrap peer reachable: ${list === '' ? 'no addresses given' : list}`, 'ERR_BOOTSTRAP_UNREACHABLE')
    this.failures = failures
  }
}

export class MessageTooLargeError extends NetError {
  static override readonly name = 'MessageTooLargeError'
  override readonly name = 'MessageTooLargeError'
  readonly topic: string
  readonly bytes: number
  readonly limit: number
  constructor (topic: string, bytes: number, limit: number) {
    super(`message of ${bytes} bytes on topic ${topic} exceeds the limit of ${limit} bytes`, 'ERR_MESSAGE_TOO_LARGE')
    this.topic = topic
    this.bytes = bytes
    this.limit = limit
  }
}

export class MeshTimeoutError extends NetError {
  static override readonly name = 'MeshTimeoutError'
  override readonly name = 'MeshTimeoutError'
  readonly topic: string
  readonly peers: number
  readonly minPeers: number
  constructor (topic: string, peers: number, minPeers: number, timeoutMs: number) {
    super(`topic ${topic} has ${peers}/${minPeers} mesh peers after ${timeoutMs} ms`, 'ERR_MESH_TIMEOUT')
    this.topic = topic
    this.peers = peers
    this.minPeers = minPeers
  }
}

export class GossipError extends NetError {
  static override readonly name = 'GossipError'
  override readonly name = 'GossipError'
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, 'ERR_GOSSIP', options)
  }
}

export class InvalidBlobHashError extends NetError {
  static override readonly name = 'InvalidBlobHashError'
  override readonly name = 'InvalidBlobHashError'
  constructor (hash: string) {
    super(`invalid blob hash "${hash.length > 80 ? `${hash.slice(0, 77)}...` : hash}": expected 64 hex digits of a sha256`, 'ERR_INVALID_BLOB_HASH')
  }
}

export interface BlobAttempt {
  peer: string
  reason: string
}

/** No asked peer returned bytes with the requested sha256. */
export class BlobNotFoundError extends NetError {
  static override readonly name = 'BlobNotFoundError'
  override readonly name = 'BlobNotFoundError'
  readonly hash: string
  readonly attempts: BlobAttempt[]
  constructor (hash: string, attempts: BlobAttempt[], why?: string) {
    const first = attempts[0] == null ? '' : `; ${attempts[0].peer.slice(-8)}: ${attempts[0].reason}${attempts.length > 1 ? ', …' : ''}`
    super(`blob ${hash} not found on any of ${attempts.length} peer${attempts.length === 1 ? '' : 's'}${why === undefined ? '' : ` (${why})`}${first}`, 'ERR_BLOB_NOT_FOUND')
    this.hash = hash
    this.attempts = attempts
  }
}

/** A sync request failed: the peer could not be reached, closed the stream, or timed out. */
export class SyncError extends NetError {
  static override readonly name: string = 'SyncError'
  override readonly name: string = 'SyncError'
  readonly peer: string
  constructor (peer: string, reason: string, options?: { cause?: unknown, code?: NetErrorCode }) {
    super(`sync request to ${peer} failed: ${reason}`, options?.code ?? 'ERR_SYNC', options)
    this.peer = peer
  }
}

/** A sync request or response was over its size limit. */
export class SyncTooLargeError extends SyncError {
  static override readonly name = 'SyncTooLargeError'
  override readonly name = 'SyncTooLargeError'
  constructor (peer: string, what: 'request' | 'response', bytes: number | undefined, limit: number, options?: { cause?: unknown }) {
    super(peer, `${what}${bytes === undefined ? '' : ` of ${bytes} bytes`} exceeds the limit of ${limit} bytes`, { ...options, code: 'ERR_SYNC_TOO_LARGE' })
  }
}

export class AbortedError extends NetError {
  static override readonly name = 'AbortedError'
  override readonly name = 'AbortedError'
  constructor (what: string, options?: { cause?: unknown }) {
    super(`${what} was aborted`, 'ERR_ABORTED', options)
  }
}

/** No relay reservation gave the node a `/p2p-circuit` address in time. */
export class RelayAddressTimeoutError extends NetError {
  static override readonly name = 'RelayAddressTimeoutError'
  override readonly name = 'RelayAddressTimeoutError'
  readonly timeoutMs: number
  constructor (peer: string, timeoutMs: number, why: string) {
    super(`peer ${peer} has no relayed (/p2p-circuit) address after ${timeoutMs} ms: ${why}`, 'ERR_RELAY_ADDRESS_TIMEOUT')
    this.timeoutMs = timeoutMs
  }
}

/** Collapses line breaks so that a message stays on one line. */
export function oneLine (text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').trim()
}

/** The first line of an error's message, for "(reason)" parts of other messages. */
export function reasonOf (err: unknown): string {
  if (err instanceof Error) {
    const first = err.message.split('\n').find(line => line.trim() !== '') ?? ''
    const text = first.trim()
    return text === '' ? err.name : text
  }
  return oneLine(String(err))
}
