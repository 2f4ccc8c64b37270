// The sync request/response protocol over the in-memory transport: round trip, size limits on
// both ends, handler errors, timeouts, and a server that keeps serving afterwards.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createPeerNode, memoryAddress, requestSync, serveSync, SyncError, SyncTooLargeError } from '../src/net/index.ts'
import type { PeerNode } from '../src/net/index.ts'

describe('sync protocol over memory transport', { timeout: 60_000 }, () => {
  let server: PeerNode, client: PeerNode, bare: PeerNode
  const seen: string[] = []
  const logs: string[] = []

  before(async () => {
    const make = async (): Promise<PeerNode> => createPeerNode({ listen: [memoryAddress()], transports: ['memory'] })
    ;[server, client, bare] = await Promise.all([make(), make(), make()])
    await serveSync(server, async (request, from, { signal }) => {
      seen.push(from.toString())
      const text = new TextDecoder().decode(request)
      if (text === 'fail') throw new Error('handler failed on purpose')
      if (text === 'big') return new Uint8Array(2048)
      if (text === 'slow') {
        await new Promise((resolve, reject) => {
          const t = setTimeout(resolve, 5000)
          signal.addEventListener('abort', () => { clearTimeout(t); reject(signal.reason) }, { once: true })
        })
      }
      return new TextEncoder().encode(`echo:${text}`)
    }, { maxRequestBytes: 100, maxResponseBytes: 1024, log: (l) => logs.push(l) })
    await client.dial(server.getMultiaddrs())
    await client.dial(bare.getMultiaddrs())
  })

  after(async () => {
    await Promise.all([server, client, bare].map(async n => n.stop()))
  })

  test('round trip', async () => {
    const res = await requestSync(client, server.peerId, new TextEncoder().encode('ping'))
    assert.equal(new TextDecoder().decode(res), 'echo:ping')
    assert.equal(seen.at(-1), client.peerId.toString())
    // an empty request is a valid request
    const empty = await requestSync(client, server.peerId, new Uint8Array(0))
    assert.equal(new TextDecoder().decode(empty), 'echo:')
  })

  test('request over the client-side limit is refused before sending', async () => {
    await assert.rejects(requestSync(client, server.peerId, new Uint8Array(200), { maxRequestBytes: 100 }), SyncTooLargeError)
  })

  test('request over the server limit: the server closes the stream', async () => {
    await assert.rejects(requestSync(client, server.peerId, new Uint8Array(500), { maxRequestBytes: 1000 }), (err: Error) => {
      assert.ok(err instanceof SyncError, `${err.name}: ${err.message}`)
      assert.ok(err.message.includes(server.peerId.toString()))
      return true
    })
  })

  test('response over the server limit is not sent; over the client limit is refused', async () => {
    await assert.rejects(requestSync(client, server.peerId, new TextEncoder().encode('big')), SyncError)
    await new Promise(resolve => setTimeout(resolve, 20))
    assert.ok(logs.some(l => l.includes('exceeds the limit')), logs.join('\n'))
    await assert.rejects(requestSync(client, server.peerId, new TextEncoder().encode('x'.repeat(40)), { maxResponseBytes: 10 }), SyncTooLargeError)
  })

  test('handler error closes the stream; the server keeps serving', async () => {
    await assert.rejects(requestSync(client, server.peerId, new TextEncoder().encode('fail')), SyncError)
    const res = await requestSync(client, server.peerId, new TextEncoder().encode('again'))
    assert.equal(new TextDecoder().decode(res), 'echo:again')
  })

  test('timeout and unsupported protocol name the peer', async () => {
    const started = Date.now()
    await assert.rejects(requestSync(client, server.peerId, new TextEncoder().encode('slow'), { timeoutMs: 300 }), /no response within 300 ms/)
    assert.ok(Date.now() - started < 3000)
    await assert.rejects(requestSync(client, bare.peerId, Uint8Array.of(1)), (err: Error) => {
      assert.ok(err instanceof SyncError)
      assert.ok(err.message.includes(bare.peerId.toString()), err.message)
      return true
    })
    const res = await requestSync(client, server.peerId, new TextEncoder().encode('after'))
    assert.equal(new TextDecoder().decode(res), 'echo:after')
  })
})
