/**
 * The sync protocol `/fedswarm/sync/1.0.0`: one request, one response, over a fresh stream. The
 * bytes are opaque here; the round layer puts its own protobuf messages inside (round records,
 * the newest model hash, a phase's messages for a peer that missed them).
 *
 * Wire format: the client writes one length-prefixed frame (the request) and closes its side;
 * the server answers with one length-prefixed frame (the response) and closes. Size limits are
 * enforced on both ends: an oversize request frame, a handler error or an oversize response makes
 * the server abort the stream; the client reports that as a `SyncError` naming the peer.
 *
 * Runs over relayed connections through fedswarm relays (they apply no limits), but not over
 * libp2p-"limited" ones (relays with data/duration limits): their 128 KiB default would cut a
 * transfer short, so the protocol does not opt in with `runOnLimitedConnection`.
 */

import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import {
  DEFAULT_MAX_PROTOCOL_STREAMS, DEFAULT_MAX_SYNC_REQUEST_BYTES, DEFAULT_MAX_SYNC_RESPONSE_BYTES,
  DEFAULT_SERVE_TIMEOUT_MS, DEFAULT_SYNC_TIMEOUT_MS, SYNC_PROTOCOL
} from './constants.ts'
import type { PeerNode } from './create-node.ts'
import { AbortedError, NetError, SyncError, SyncTooLargeError, reasonOf } from './errors.ts'
import { createLogger } from './logger.ts'
import type { NetLogger } from './logger.ts'

const FRAMING_BYTES = 16

export type SyncHandler = (request: Uint8Array, from: PeerId, options: { signal: AbortSignal }) => Promise<Uint8Array>

export interface ServeSyncOptions {
  /** Larger requests are refused (default 64 KiB). */
  maxRequestBytes?: number
  /** A handler answer larger than this is not sent (default 64 MiB). */
  maxResponseBytes?: number
  /** Time for the request to arrive and the handler to answer (default 30 s); then `signal` aborts. */
  timeoutMs?: number
  log?: NetLogger
  signal?: AbortSignal
}

export interface SyncServer {
  readonly protocol: string
  stop(): Promise<void>
}

export interface RequestSyncOptions {
  /** Time the whole exchange may take (default 30 s). */
  timeoutMs?: number
  /** Larger responses are refused (default 64 MiB). */
  maxResponseBytes?: number
  /** Refuse to send larger requests (default 64 KiB, the server's default limit). */
  maxRequestBytes?: number
  signal?: AbortSignal
}

/** Answers sync requests with `handler` until `stop()`. */
export async function serveSync (node: PeerNode, handler: SyncHandler, options: ServeSyncOptions = {}): Promise<SyncServer> {
  const maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_SYNC_REQUEST_BYTES
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_SYNC_RESPONSE_BYTES
  const timeoutMs = options.timeoutMs ?? DEFAULT_SERVE_TIMEOUT_MS
  const log = options.log ?? createLogger('sync')

  const onStream = async (stream: Stream, connection: Connection): Promise<void> => {
    const from = connection.remotePeer
    const controller = new AbortController()
    const onClose = (): void => { controller.abort(new Error('stream closed')) }
    stream.addEventListener('close', onClose, { once: true })
    const signal = AbortSignal.any([controller.signal, AbortSignal.timeout(timeoutMs)])
    try {
      const lp = lpStream(stream, { maxDataLength: maxRequestBytes, maxBufferSize: maxRequestBytes + FRAMING_BYTES })
      const request = await lp.read({ signal })
      const response = await handler(request.subarray(), from, { signal })
      if (!(response instanceof Uint8Array)) throw new Error('handler did not return a Uint8Array')
      if (response.byteLength > maxResponseBytes) {
        throw new Error(`response of ${response.byteLength} bytes exceeds the limit of ${maxResponseBytes} bytes`)
      }
      await lp.write(response, { signal })
      await stream.close({ signal })
    } catch (err) {
      log(`sync request from ${from} closed: ${reasonOf(err)}`)
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    } finally {
      stream.removeEventListener('close', onClose)
    }
  }

  options.signal?.throwIfAborted()
  try {
    await node.handle(SYNC_PROTOCOL, onStream, {
      maxInboundStreams: DEFAULT_MAX_PROTOCOL_STREAMS,
      maxOutboundStreams: DEFAULT_MAX_PROTOCOL_STREAMS,
      signal: options.signal
    })
  } catch (err) {
    throw new NetError(`node ${node.peerId} cannot serve ${SYNC_PROTOCOL}: ${reasonOf(err)}`, 'ERR_NET', { cause: err })
  }
  return {
    protocol: SYNC_PROTOCOL,
    async stop () {
      await node.unhandle(SYNC_PROTOCOL)
    }
  }
}

/**
 * Sends `request` to `peer` and returns its response. Throws `SyncTooLargeError` if the request
 * or the response is over its limit, `SyncError` naming the peer for every other failure
 * (unreachable, protocol not served, stream closed by the server, timeout), `AbortedError` if
 * `signal` aborted.
 */
export async function requestSync (node: PeerNode, peer: PeerId, request: Uint8Array, options: RequestSyncOptions = {}): Promise<Uint8Array> {
  options.signal?.throwIfAborted()
  const name = peer.toString()
  const timeoutMs = options.timeoutMs ?? DEFAULT_SYNC_TIMEOUT_MS
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_SYNC_RESPONSE_BYTES
  const maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_SYNC_REQUEST_BYTES
  if (request.byteLength > maxRequestBytes) throw new SyncTooLargeError(name, 'request', request.byteLength, maxRequestBytes)

  const timeout = AbortSignal.timeout(timeoutMs)
  const signal = AbortSignal.any([timeout, ...(options.signal == null ? [] : [options.signal])])
  let stream: Stream | undefined
  try {
    stream = await node.dialProtocol(peer, SYNC_PROTOCOL, { signal })
    const lp = lpStream(stream, { maxDataLength: maxResponseBytes, maxBufferSize: maxResponseBytes + FRAMING_BYTES })
    await lp.write(request, { signal })
    await stream.close({ signal })
    const response = await lp.read({ signal })
    return response.subarray()
  } catch (err) {
    stream?.abort(err instanceof Error ? err : new Error(String(err)))
    if (options.signal?.aborted === true) throw new AbortedError(`sync request to ${name}`, { cause: err })
    if (timeout.aborted) throw new SyncError(name, `no response within ${timeoutMs} ms`, { cause: err })
    // the length check or, when a whole frame arrives at once, the read buffer limit trips first
    if (err instanceof Error && (err.name === 'InvalidDataLengthError' || err.name === 'StreamBufferError')) {
      throw new SyncTooLargeError(name, 'response', undefined, maxResponseBytes, { cause: err })
    }
    throw new SyncError(name, reasonOf(err), { cause: err })
  }
}
