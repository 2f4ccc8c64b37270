// The blob protocol over the in-memory transport: fetch by sha256 with verification, a peer that
// serves wrong bytes, a missing hash, malformed requests, size limits, and the LRU store.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { lpStream } from '@libp2p/utils'
import {
  BLOB_PROTOCOL, BlobNotFoundError, InvalidBlobHashError, createBlobStore, createPeerNode, fetchBlob, memoryAddress,
  serveBlobs, sha256Hex
} from '../src/net/index.ts'
import type { BlobServer, BlobStore, PeerNode } from '../src/net/index.ts'

describe('blob store', () => {
  test('put/get/has by sha256, LRU eviction, oversize not kept', () => {
    const store = createBlobStore({ maxBytes: 100 })
    const a = new Uint8Array(40).fill(1)
    const b = new Uint8Array(40).fill(2)
    const c = new Uint8Array(40).fill(3)
    const ha = store.put(a)
    assert.equal(ha, sha256Hex(a))
    assert.match(ha, /^[0-9a-f]{64}$/)
    const hb = store.put(b)
    assert.equal(store.get(ha.toUpperCase()), a, 'upper-case hex is accepted')
    const hc = store.put(c) // 120 > 100: evicts the least recently used, b
    assert.equal(store.has(hb), false)
    assert.equal(store.has(ha), true)
    assert.equal(store.has(hc), true)
    assert.equal(store.bytes, 80)
    const big = new Uint8Array(101)
    const hbig = store.put(big)
    assert.equal(store.has(hbig), false)
    assert.throws(() => store.get('nothex'), InvalidBlobHashError)
  })
})

describe('blob protocol over memory transport', { timeout: 60_000 }, () => {
  let a: PeerNode, b: PeerNode, c: PeerNode, liar: PeerNode
  let storeA: BlobStore, storeC: BlobStore
  let serverB: BlobServer
  const logC: string[] = []
  const logA: string[] = []

  before(async () => {
    const make = async (): Promise<PeerNode> => createPeerNode({ listen: [memoryAddress()], transports: ['memory'] })
    ;[a, b, c, liar] = await Promise.all([make(), make(), make(), make()])
    storeA = createBlobStore()
    storeC = createBlobStore()
    await serveBlobs(a, storeA, { log: (l) => logA.push(l) })
    serverB = await serveBlobs(b, createBlobStore())
    await serveBlobs(c, storeC)
    // the liar answers every hash with its own bytes
    const lies = new Uint8Array(1000).fill(0x42)
    await serveBlobs(liar, { get: () => lies })
    await c.dial(a.getMultiaddrs())
    await c.dial(b.getMultiaddrs())
    await c.dial(liar.getMultiaddrs())
    await a.dial(b.getMultiaddrs())
  })

  after(async () => {
    await Promise.all([a, b, c, liar].map(async n => n.stop()))
  })

  test('put on A, fetch from C: hash verified and stored', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17)
    const hash = storeA.put(data)
    const got = await fetchBlob(c, hash, { peers: [b.peerId, a.peerId], log: (l) => logC.push(l) })
    assert.equal(sha256Hex(got), hash)
    assert.equal(got.byteLength, data.byteLength)
    assert.ok(storeC.has(hash), 'C keeps what it fetched')
  })

  test('a peer that serves wrong bytes is skipped and logged', async () => {
    const data = randomBytes(5000)
    const hash = storeA.put(data)
    const got = await fetchBlob(c, hash, { peers: [liar.peerId, a.peerId], log: (l) => logC.push(l) })
    assert.equal(sha256Hex(got), hash)
    assert.ok(logC.some(l => l.includes('wrong bytes') && l.includes(liar.peerId.toString())), logC.join('\n'))
  })

  test('default peers are all connected peers', async () => {
    const data = randomBytes(1234)
    const hash = storeA.put(data)
    const got = await fetchBlob(c, hash)
    assert.equal(sha256Hex(got), hash)
  })

  test('missing hash: BlobNotFoundError naming the hash', async () => {
    const hash = sha256Hex(Uint8Array.of(1, 2, 3, 4, 5))
    await assert.rejects(fetchBlob(c, hash, { peers: [a.peerId, b.peerId], store: createBlobStore() }), (err: Error) => {
      assert.ok(err instanceof BlobNotFoundError)
      assert.ok(err.message.includes(hash), err.message)
      assert.equal(err.attempts.length, 2)
      assert.ok(!err.message.includes('\n'))
      return true
    })
    await assert.rejects(fetchBlob(c, 'xyz'), InvalidBlobHashError)
  })

  test('a blob over maxBytes is refused; the next peer is asked', async () => {
    const data = randomBytes(64 * 1024)
    const hash = storeA.put(data)
    await assert.rejects(fetchBlob(c, hash, { peers: [a.peerId], maxBytes: 1000, store: createBlobStore() }), BlobNotFoundError)
    await assert.rejects(serveBlobs(b, storeA), /already|cannot serve/)
    await serverB.stop()
    const server = await serveBlobs(b, storeA, { maxBlobBytes: 1000 })
    await assert.rejects(fetchBlob(c, hash, { peers: [b.peerId], store: createBlobStore() }), (err: BlobNotFoundError) => {
      assert.match(err.attempts[0].reason, /too large/)
      return true
    })
    await server.stop()
  })

  test('malformed request frames close the stream; the server keeps serving', async () => {
    const send = async (frame: Uint8Array, raw = false): Promise<string> => {
      const stream = await c.dialProtocol(a.peerId, BLOB_PROTOCOL)
      const lp = lpStream(stream)
      if (raw) stream.send(frame)
      else await lp.write(frame)
      await stream.close().catch(() => {})
      try {
        const res = await lp.read({ signal: AbortSignal.timeout(5000) })
        return `answered ${res.byteLength}`
      } catch (err) {
        return `closed: ${(err as Error).name}`
      }
    }
    const short = await send(Uint8Array.of(1, 2, 3))
    assert.match(short, /^closed/)
    // a varint length prefix claiming 2^40 bytes
    const huge = await send(Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 1, 2), true)
    assert.match(huge, /^closed/)
    await new Promise(resolve => setTimeout(resolve, 50))
    assert.ok(logA.some(l => l.includes('malformed request')), logA.join('\n'))
    const data = randomBytes(777)
    const hash = storeA.put(data)
    const got = await fetchBlob(c, hash, { peers: [a.peerId] })
    assert.equal(sha256Hex(got), hash)
    assert.equal(a.status, 'started')
  })
})
