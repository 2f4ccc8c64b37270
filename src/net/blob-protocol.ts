/**
 * The blob protocol `/fedswarm/blob/1.0.0`: fetch content by sha256 directly from a peer, for
 * model updates and models too big for one gossip message.
 *
 * Wire format, all frames length-prefixed (unsigned varint length, then the bytes):
 *   request:  one frame of exactly 32 bytes, the raw sha256 of the wanted blob, or of 40 bytes: the
 *             sha256, then a byte offset and a byte length (uint32 big-endian each) for a range of it
 *   response: one frame of 1 status byte (0 found, 1 not found, 2 too large to serve, 3 range outside
 *             the blob), then, only if found, one frame with the blob (or the range)
 * after which the server closes the stream. A malformed request (wrong length, oversize length
 * prefix, nothing within the timeout) makes the server abort that stream; it keeps serving others.
 *
 * The client verifies the sha256 of what it gets; a peer that sends other bytes, an oversize
 * frame or a malformed answer is logged and skipped, and the next peer is asked. A range cannot be
 * checked against the hash: `fetchBlobRange` is for asking the blob's author (in-network
 * aggregation fetches each member's slice from that member), and checks only the length.
 *
 * Runs over relayed connections through fedswarm relays (they apply no limits), but not over
 * libp2p-"limited" ones (relays with data/duration limits): their 128 KiB default would cut a
 * transfer short, so the protocol does not opt in with `runOnLimitedConnection`.
 */

import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import {
  BLOB_PROTOCOL, DEFAULT_BLOB_FETCH_TIMEOUT_MS, DEFAULT_BLOB_PEER_TIMEOUT_MS, DEFAULT_MAX_BLOB_BYTES,
  DEFAULT_MAX_PROTOCOL_STREAMS, DEFAULT_SERVE_TIMEOUT_MS
} from './constants.ts'
import type { PeerNode } from './create-node.ts'
import { AbortedError, BlobNotFoundError, NetError, reasonOf } from './errors.ts'
import type { BlobAttempt } from './errors.ts'
import { normalizeHash, sha256Hex } from './blob-store.ts'
import type { BlobSource, BlobStore } from './blob-store.ts'
import { createLogger } from './logger.ts'
import type { NetLogger } from './logger.ts'

const HASH_BYTES = 32
const RANGE_REQUEST_BYTES = HASH_BYTES + 8
const STATUS_FOUND = 0
const STATUS_NOT_FOUND = 1
const STATUS_TOO_LARGE = 2
const STATUS_BAD_RANGE = 3
/** Room for length prefixes and the status frame in the client's read buffer. */
const FRAMING_BYTES = 64
/** A server gives a client at least this rate when sending a blob. */
const MIN_SEND_BYTES_PER_SECOND = 1024 * 1024

export interface ServeBlobsOptions {
  /** Blobs larger than this are answered with "too large" (default 256 MiB). */
  maxBlobBytes?: number
  /** Time a client has to send its request (default 30 s); sending gets this plus 1 s per MiB. */
  timeoutMs?: number
  log?: NetLogger
  signal?: AbortSignal
}

export interface BlobServer {
  readonly protocol: string
  /** Stops serving (unregisters the protocol handler). */
  stop(): Promise<void>
}

export interface FetchBlobOptions {
  /** Peers to ask, in order (default: every connected peer). */
  peers?: PeerId[]
  /** Time the whole fetch may take (default 60 s). */
  timeoutMs?: number
  /** Time one peer gets before the next is asked (default 20 s, never more than `timeoutMs`). */
  peerTimeoutMs?: number
  /** Largest blob accepted (default 256 MiB); a peer sending more is skipped. */
  maxBytes?: number
  /** Where a fetched blob is stored and first looked up (default: the store `serveBlobs` serves on this node). */
  store?: BlobStore
  signal?: AbortSignal
  log?: NetLogger
}

const servedStores = new WeakMap<PeerNode, BlobSource>()

/** Serves `store` on `/fedswarm/blob/1.0.0` until `stop()`. */
export async function serveBlobs (node: PeerNode, store: BlobSource, options: ServeBlobsOptions = {}): Promise<BlobServer> {
  const maxBlobBytes = options.maxBlobBytes ?? DEFAULT_MAX_BLOB_BYTES
  const timeoutMs = options.timeoutMs ?? DEFAULT_SERVE_TIMEOUT_MS
  const log = options.log ?? createLogger('blob')

  const handler = async (stream: Stream, connection: Connection): Promise<void> => {
    const remote = connection.remotePeer.toString()
    let signal = AbortSignal.timeout(timeoutMs)
    try {
      const lp = lpStream(stream, { maxDataLength: RANGE_REQUEST_BYTES, maxBufferSize: RANGE_REQUEST_BYTES + FRAMING_BYTES })
      const request = (await lp.read({ signal })).subarray()
      if (request.byteLength !== HASH_BYTES && request.byteLength !== RANGE_REQUEST_BYTES) {
        throw new Error(`malformed request of ${request.byteLength} bytes (expected ${HASH_BYTES} or ${RANGE_REQUEST_BYTES})`)
      }
      const hash = toHex(request.subarray(0, HASH_BYTES))
      let blob = store.get(hash)
      if (blob != null && request.byteLength === RANGE_REQUEST_BYTES) {
        const view = new DataView(request.buffer, request.byteOffset + HASH_BYTES, 8)
        const offset = view.getUint32(0)
        const length = view.getUint32(4)
        if (offset + length > blob.byteLength) {
          await lp.write(Uint8Array.of(STATUS_BAD_RANGE), { signal })
          await stream.close({ signal })
          return
        }
        blob = blob.subarray(offset, offset + length)
      }
      if (blob == null) {
        await lp.write(Uint8Array.of(STATUS_NOT_FOUND), { signal })
      } else if (blob.byteLength > maxBlobBytes) {
        log(`not serving blob ${hash} to ${remote}: ${blob.byteLength} bytes > limit ${maxBlobBytes}`)
        await lp.write(Uint8Array.of(STATUS_TOO_LARGE), { signal })
      } else {
        signal = AbortSignal.timeout(timeoutMs + Math.ceil(blob.byteLength / MIN_SEND_BYTES_PER_SECOND * 1000))
        await lp.writeV([Uint8Array.of(STATUS_FOUND), blob], { signal })
      }
      await stream.close({ signal })
    } catch (err) {
      log(`blob request from ${remote} closed: ${reasonOf(err)}`)
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }

  options.signal?.throwIfAborted()
  try {
    await node.handle(BLOB_PROTOCOL, handler, {
      maxInboundStreams: DEFAULT_MAX_PROTOCOL_STREAMS,
      maxOutboundStreams: DEFAULT_MAX_PROTOCOL_STREAMS,
      signal: options.signal
    })
  } catch (err) {
    throw new NetError(`node ${node.peerId} cannot serve ${BLOB_PROTOCOL}: ${reasonOf(err)}`, 'ERR_NET', { cause: err })
  }
  servedStores.set(node, store)

  return {
    protocol: BLOB_PROTOCOL,
    async stop () {
      if (servedStores.get(node) === store) servedStores.delete(node)
      await node.unhandle(BLOB_PROTOCOL)
    }
  }
}

/**
 * Fetches the blob with sha256 `hash` (hex): from the local store if it is there, else from the
 * given (or all connected) peers in turn. Returns only bytes whose sha256 matches, after storing
 * them. Throws `BlobNotFoundError` naming the hash (with every peer's answer in `attempts`) if
 * no peer has it, and `InvalidBlobHashError` for a malformed hash.
 */
export async function fetchBlob (node: PeerNode, hash: string, options: FetchBlobOptions = {}): Promise<Uint8Array> {
  const key = normalizeHash(hash)
  options.signal?.throwIfAborted()
  const log = options.log ?? createLogger('blob')
  const store = options.store ?? (servedStores.get(node) as BlobStore | undefined)
  const local = store?.get(key)
  if (local != null) return local

  const timeoutMs = options.timeoutMs ?? DEFAULT_BLOB_FETCH_TIMEOUT_MS
  const peerTimeoutMs = Math.min(options.peerTimeoutMs ?? DEFAULT_BLOB_PEER_TIMEOUT_MS, timeoutMs)
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BLOB_BYTES
  const overall = AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(options.signal == null ? [] : [options.signal])])
  const peers = options.peers ?? node.getPeers()
  const attempts: BlobAttempt[] = []

  for (const peer of peers) {
    if (overall.aborted) break
    const peerSignal = AbortSignal.any([overall, AbortSignal.timeout(peerTimeoutMs)])
    let reason: string
    try {
      const bytes = await askPeer(node, peer, key, maxBytes, peerSignal)
      if (typeof bytes === 'string') {
        reason = bytes
      } else {
        const got = sha256Hex(bytes)
        if (got === key) {
          store?.put(bytes)
          return bytes
        }
        reason = `sent ${bytes.byteLength} bytes with sha256 ${got}`
        log(`peer ${peer} sent wrong bytes for blob ${key}: sha256 ${got}; skipping it`)
      }
    } catch (err) {
      reason = peerSignal.aborted && !overall.aborted ? `no answer within ${peerTimeoutMs} ms` : reasonOf(err)
      log(`peer ${peer} could not serve blob ${key}: ${reason}`)
    }
    attempts.push({ peer: peer.toString(), reason })
  }

  if (options.signal?.aborted === true) throw new AbortedError(`fetching blob ${key}`, { cause: options.signal.reason })
  const why = overall.aborted ? `gave up after ${timeoutMs} ms` : peers.length === 0 ? 'no peers to ask' : undefined
  throw new BlobNotFoundError(key, attempts, why)
}

export interface FetchBlobRangeOptions {
  /** Peers to ask, in order: the blob's author first (a range cannot be verified against the hash). */
  peers: PeerId[]
  /** Time the whole fetch may take (default 60 s). */
  timeoutMs?: number
  /** Time one peer gets before the next is asked (default 20 s, never more than `timeoutMs`). */
  peerTimeoutMs?: number
  /** Where the blob is looked up first (default: the store `serveBlobs` serves on this node). */
  store?: BlobSource
  signal?: AbortSignal
  log?: NetLogger
}

/**
 * Fetches bytes [offset, offset + length) of the blob with sha256 `hash` (hex), from the local store if
 * it holds the blob, else from `peers` in turn. Only the length of the answer is checked (a range has
 * no hash of its own), so ask peers whose answer you would take for the whole blob: its author.
 * Throws `BlobNotFoundError` (with every peer's answer) if nobody served the range.
 */
export async function fetchBlobRange (node: PeerNode, hash: string, offset: number, length: number, options: FetchBlobRangeOptions): Promise<Uint8Array> {
  const key = normalizeHash(hash)
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > 0xffffffff) {
    throw new RangeError(`blob range ${offset}+${length} is not a uint32 byte range`)
  }
  options.signal?.throwIfAborted()
  const local = (options.store ?? servedStores.get(node))?.get(key)
  if (local != null && offset + length <= local.byteLength) return local.subarray(offset, offset + length)
  const log = options.log ?? createLogger('blob')
  const timeoutMs = options.timeoutMs ?? DEFAULT_BLOB_FETCH_TIMEOUT_MS
  const peerTimeoutMs = Math.min(options.peerTimeoutMs ?? DEFAULT_BLOB_PEER_TIMEOUT_MS, timeoutMs)
  const overall = AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(options.signal == null ? [] : [options.signal])])
  const request = new Uint8Array(RANGE_REQUEST_BYTES)
  request.set(uint8ArrayFromString(key, 'base16'))
  const view = new DataView(request.buffer, HASH_BYTES, 8)
  view.setUint32(0, offset)
  view.setUint32(4, length)
  const attempts: BlobAttempt[] = []
  for (const peer of options.peers) {
    if (overall.aborted) break
    const peerSignal = AbortSignal.any([overall, AbortSignal.timeout(peerTimeoutMs)])
    let reason: string
    try {
      const bytes = await askPeer(node, peer, request, length, peerSignal)
      if (typeof bytes !== 'string' && bytes.byteLength === length) return bytes
      reason = typeof bytes === 'string' ? bytes : `sent ${bytes.byteLength} bytes for a range of ${length}`
    } catch (err) {
      reason = peerSignal.aborted && !overall.aborted ? `no answer within ${peerTimeoutMs} ms` : reasonOf(err)
    }
    log(`peer ${peer} could not serve bytes ${offset}+${length} of blob ${key}: ${reason}`)
    attempts.push({ peer: peer.toString(), reason })
  }
  if (options.signal?.aborted === true) throw new AbortedError(`fetching a range of blob ${key}`, { cause: options.signal.reason })
  const why = overall.aborted ? `gave up after ${timeoutMs} ms` : options.peers.length === 0 ? 'no peers to ask' : undefined
  throw new BlobNotFoundError(key, attempts, why)
}

/** The blob (or range) from `peer`, or a string saying why not (not found / too large / bad range). */
async function askPeer (node: PeerNode, peer: PeerId, request: string | Uint8Array, maxBytes: number, signal: AbortSignal): Promise<Uint8Array | string> {
  const stream = await node.dialProtocol(peer, BLOB_PROTOCOL, { signal })
  try {
    const lp = lpStream(stream, { maxDataLength: Math.max(maxBytes, 1), maxBufferSize: maxBytes + FRAMING_BYTES })
    await lp.write(typeof request === 'string' ? uint8ArrayFromString(request, 'base16') : request, { signal })
    await stream.close({ signal })
    const status = await lp.read({ signal })
    if (status.byteLength !== 1) throw new Error(`malformed response: status frame of ${status.byteLength} bytes`)
    switch (status.get(0)) {
      case STATUS_FOUND: {
        const data = await lp.read({ signal })
        return data.subarray()
      }
      case STATUS_NOT_FOUND: return 'not found'
      case STATUS_TOO_LARGE: return 'too large for the peer to serve'
      case STATUS_BAD_RANGE: return 'range outside the blob'
      default: throw new Error(`malformed response: unknown status ${status.get(0)}`)
    }
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    throw err
  }
}

function toHex (bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}
