// The direct protocol handlers, called the way libp2p calls them: the handler serveBlobs / serveSync
// registers is captured from a stand-in node and run on one end of an in-memory stream pair
// (@libp2p/utils streamPair) while the other end sends the input's bytes in chunks and then closes,
// aborts or stays open. Properties: the handler settles (never rejects, never hangs), a bad request is
// answered by aborting the stream (nothing sent), a good one gets exactly the answer it should (the
// blob or its range and the right status; the sync handler's answer), and the stream never stays open.
import type { Connection, PeerId, Stream, StreamHandler } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { streamPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { serveBlobs } from '../../../src/net/blob-protocol.ts'
import { createBlobStore } from '../../../src/net/blob-store.ts'
import { DEFAULT_MAX_SYNC_REQUEST_BYTES } from '../../../src/net/constants.ts'
import type { PeerNode } from '../../../src/net/create-node.ts'
import { serveSync } from '../../../src/net/sync-protocol.ts'
import { bytesEqual, fromHex, sha256, toHex } from '../../../src/wire/hash.ts'
import { getRoundCorpus, syncCorpus } from '../corpus.ts'
import { syncServingDriver } from '../driver-host.ts'
import { makeIdentity } from '../fixtures.ts'
import { hexPreview, violation, within } from '../harness.ts'
import type { FuzzTarget, TargetRun } from '../harness.ts'
import { allFrames, collect, firstFrame, send, sleep, streamInputArb } from '../stream-exchange.ts'
import type { StreamInput } from '../stream-exchange.ts'
import { concat } from '../proto-bytes.ts'

const PAIR_ADDR = multiaddr('/ip4/127.0.0.1/tcp/1')

/** A stand-in for a libp2p node that keeps the handlers registered on it. */
export function captureNode (peerId: PeerId): { node: PeerNode, handlers: Map<string, StreamHandler> } {
  const handlers = new Map<string, StreamHandler>()
  const node = {
    peerId,
    async handle (protocol: string, handler: StreamHandler) { handlers.set(protocol, handler) },
    async unhandle (protocol: string) { handlers.delete(protocol) },
    getPeers: () => []
  } as unknown as PeerNode
  return { node, handlers }
}

export const showStream = (i: StreamInput): string => `${i.end} after ${hexPreview(i.bytes)} in chunks ${JSON.stringify(i.cuts)}`

/** What a correct server does with this input: answer, abort without a word, or either (the client aborted, stayed open, or a case the oracle does not decide). */
type Expect = { kind: 'answer', request: Uint8Array } | { kind: 'abort' } | { kind: 'any' }

function expectOf (i: StreamInput, maxLengthBytes: number, maxData: number, valid: (request: Uint8Array) => boolean, bufferBytes: number): Expect {
  if (i.end === 'abort') return { kind: 'any' }
  // more bytes than the server's read buffer holds (a request and then more): it may answer the request
  // first, or abort on the overflow first, depending on how the bytes arrive
  if (i.bytes.length > bufferBytes) return { kind: 'any' }
  const f = firstFrame(i.bytes, maxLengthBytes)
  if (f.kind === 'bad-length') return { kind: 'abort' }
  if (f.kind === 'incomplete') return i.end === 'close' ? { kind: 'abort' } : { kind: 'any' }
  if (f.data.length > maxData) return { kind: 'abort' }
  if (!valid(f.data)) return { kind: 'abort' }
  return i.end === 'close' ? { kind: 'answer', request: f.data } : { kind: 'any' }
}

/**
 * Runs `handler` on one end of a stream pair with `i` on the other; checks settling and closing, and
 * returns what the server sent (checked by the caller against `expect`).
 */
async function exchange (handler: StreamHandler, remote: PeerId, i: StreamInput, settleMs: number): Promise<{ response: Uint8Array, server: Stream }> {
  // a fixed address: by default each pair takes the next "port", and past 65,535 pairs multiaddr refuses it
  const [client, server] = await streamPair({ delay: 0, outboundConnection: { remoteAddr: PAIR_ADDR }, inboundConnection: { remoteAddr: PAIR_ADDR } })
  const got = collect(client)
  const connection = { remotePeer: remote } as unknown as Connection
  const handled = Promise.resolve().then(async () => { await handler(server, connection) })
  try {
    await send(client, i).catch(() => {}) // the server may abort while the client still writes
    try {
      await within(handled, settleMs, 'the protocol handler')
    } catch (err) {
      if (err instanceof Error && err.name === 'FuzzViolation') throw err
      violation(`the protocol handler rejected: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`)
    }
    if (i.end === 'close') {
      await Promise.race([got.closed, sleep(3000)])
      if (client.status === 'open' || client.status === 'closing') violation(`the stream is still ${client.status} after the handler returned`)
    }
    return { response: got.bytes(), server }
  } finally {
    if (client.status === 'open') client.abort(new Error('fuzz cleanup'))
  }
}

function checkAbort (e: Expect, response: Uint8Array, server: Stream): void {
  if (e.kind !== 'abort') return
  if (response.length > 0) violation(`a bad request got ${response.length} bytes back: ${hexPreview(response)}`)
  if (server.status !== 'aborted' && server.status !== 'reset') violation(`a bad request left the server's stream ${server.status}, not aborted`)
}

const blobStream: FuzzTarget = {
  name: 'stream:blob',
  what: 'raw bytes on a /fedswarm/blob/1.0.0 stream → the serveBlobs handler: abort on a bad request, the right status + blob / range on a good one, never left open',
  async setup (): Promise<TargetRun<StreamInput>> {
    const ident = await makeIdentity()
    const store = createBlobStore()
    const blobs = [new Uint8Array(0), Uint8Array.from({ length: 100 }, (_, k) => k), new Uint8Array(4096).fill(7), new Uint8Array(9000).fill(9)]
    const hashes = blobs.map(b => fromHex(store.put(b)))
    const maxBlobBytes = 8192
    const patient = captureNode(peerIdFromString(ident.id))
    const impatient = captureNode(peerIdFromString(ident.id))
    await serveBlobs(patient.node, store, { timeoutMs: 10_000, maxBlobBytes, log: () => {} })
    await serveBlobs(impatient.node, store, { timeoutMs: 50, maxBlobBytes, log: () => {} })
    const handlerOf = (n: ReturnType<typeof captureNode>): StreamHandler => [...n.handlers.values()][0]
    const range = (h: Uint8Array, offset: number, length: number): Uint8Array => {
      const r = new Uint8Array(40)
      r.set(h)
      new DataView(r.buffer).setUint32(32, offset)
      new DataView(r.buffer).setUint32(36, length)
      return r
    }
    const requests = [...hashes, sha256(Uint8Array.of(1)), range(hashes[1], 10, 20), range(hashes[1], 90, 20), range(hashes[2], 0, 4096), range(hashes[3], 0, 100), range(sha256(Uint8Array.of(2)), 0, 1), range(hashes[1], 0xffffffff, 2)]
    const remote = peerIdFromString((await makeIdentity()).id)
    return {
      arbitrary: streamInputArb(requests),
      size: (i) => i.bytes.byteLength,
      show: showStream,
      async run (i) {
        const e = expectOf(i, 1, 40, r => r.length === 32 || r.length === 40, 40 + 64)
        const { response, server } = await exchange(handlerOf(i.end === 'open' ? impatient : patient), remote, i, 20_000)
        checkAbort(e, response, server)
        if (e.kind !== 'answer') return `${i.end}:${e.kind}${response.length > 0 ? '+answer' : ''}`
        const { frames, trailing } = allFrames(response)
        if (trailing || frames.length === 0 || frames[0].length !== 1) violation(`a malformed answer: ${hexPreview(response)}`)
        const status = frames[0][0]
        const blob = store.get(toHex(e.request.subarray(0, 32)))
        let want: { status: number, data?: Uint8Array }
        if (blob == null) want = { status: 1 }
        else if (e.request.length === 40) {
          const v = new DataView(e.request.buffer, e.request.byteOffset + 32, 8)
          const offset = v.getUint32(0)
          const length = v.getUint32(4)
          want = offset + length > blob.byteLength ? { status: 3 } : length > maxBlobBytes ? { status: 2 } : { status: 0, data: blob.subarray(offset, offset + length) }
        } else {
          want = blob.byteLength > maxBlobBytes ? { status: 2 } : { status: 0, data: blob }
        }
        if (status !== want.status) violation(`status ${status}, expected ${want.status}`)
        if (want.data != null && (frames.length !== 2 || !bytesEqual(frames[1], want.data))) violation(`wrong blob bytes: ${frames.length} frames, ${frames[1]?.length} bytes`)
        if (want.data == null && frames.length !== 1) violation(`status ${status} followed by data`)
        return `answer:${status}`
      }
    }
  }
}

const syncStream: FuzzTarget = {
  name: 'stream:sync',
  what: 'raw bytes on a /fedswarm/sync/1.0.0 stream → the serveSync handler with a RoundDriver\'s sync answer: abort on a bad request, exactly the driver\'s answer on a good one',
  async setup (): Promise<TargetRun<StreamInput>> {
    const c = await getRoundCorpus()
    const answer = await syncServingDriver(c)
    const ident = await makeIdentity()
    const patient = captureNode(peerIdFromString(ident.id))
    const impatient = captureNode(peerIdFromString(ident.id))
    const handler = async (req: Uint8Array, from: PeerId): Promise<Uint8Array> => await answer(req, from.toString())
    await serveSync(patient.node, handler, { timeoutMs: 10_000, log: () => {} })
    await serveSync(impatient.node, handler, { timeoutMs: 50, log: () => {} })
    const handlerOf = (n: ReturnType<typeof captureNode>): StreamHandler => [...n.handlers.values()][0]
    const sync = await syncCorpus(c.scenarios.plain, c.traces.plain.messages.map(vm => vm.bytes), c.signers)
    const remote = peerIdFromString((await makeIdentity()).id)
    return {
      arbitrary: streamInputArb(sync.requests),
      size: (i) => i.bytes.byteLength,
      show: showStream,
      async run (i) {
        // what the handler answers for the first frame, computed directly (the answer is deterministic)
        const f = firstFrame(i.bytes, 3)
        let direct: Uint8Array | undefined
        if (f.kind === 'frame') direct = await answer(f.data, remote.toString()).catch(() => undefined)
        const e = expectOf(i, 3, DEFAULT_MAX_SYNC_REQUEST_BYTES, () => direct != null, DEFAULT_MAX_SYNC_REQUEST_BYTES + 16)
        const { response, server } = await exchange(handlerOf(i.end === 'open' ? impatient : patient), remote, i, 20_000)
        checkAbort(e, response, server)
        if (e.kind !== 'answer') return `${i.end}:${e.kind}${response.length > 0 ? '+answer' : ''}`
        const { frames, trailing } = allFrames(response)
        if (trailing || frames.length !== 1 || !bytesEqual(frames[0], direct!)) violation(`the answer on the stream (${hexPreview(concat(...frames))}) is not the handler's (${hexPreview(direct!)})`)
        return 'answer'
      }
    }
  }
}

export function streamTargets (): FuzzTarget[] {
  return [blobStream, syncStream]
}
