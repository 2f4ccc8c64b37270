// An in-memory SwarmChannel for driving a RoundDriver without a network: it captures the gossip
// validator and the sync handler the driver installs (the fuzzers call them directly), serves blobs
// from a map, and answers the driver's own sync requests with whatever a target puts in `answers`.
import type { RequestOptions, SwarmChannel, SyncRequestOptions } from '../../src/round/channel.ts'
import type { Verdict } from '../../src/round/machine.ts'
import { sha256, toHex } from '../../src/wire/hash.ts'

export class FakeChannel implements SwarmChannel {
  readonly peerId: string
  gossip?: (data: Uint8Array, from: string) => Promise<Verdict>
  sync?: (request: Uint8Array, from: string) => Promise<Uint8Array>
  /** What the next sync requests of the driver get back. */
  answers: Uint8Array[] = []
  readonly blobs = new Map<string, Uint8Array>()
  published = 0
  syncRequests = 0
  learned = 0

  constructor (peerId: string) {
    this.peerId = peerId
  }

  listen (handler: (data: Uint8Array, from: string) => Promise<Verdict>): void { this.gossip = handler }
  async publish (_data: Uint8Array, _opts?: RequestOptions): Promise<void> { this.published++ }
  async waitForMesh (): Promise<boolean> { return true }
  putBlob (bytes: Uint8Array): string {
    const hex = toHex(sha256(bytes))
    this.blobs.set(hex, bytes)
    return hex
  }

  getBlob (hashHex: string): Uint8Array | undefined { return this.blobs.get(hashHex) }
  async fetchBlob (hashHex: string): Promise<Uint8Array> {
    const b = this.blobs.get(hashHex)
    if (b == null) throw new Error(`fake channel: no blob ${hashHex.slice(0, 12)}`)
    return b
  }

  async fetchBlobRange (hashHex: string, offset: number, length: number): Promise<Uint8Array> {
    const b = await this.fetchBlob(hashHex)
    if (offset + length > b.byteLength) throw new Error('fake channel: range outside the blob')
    return b.subarray(offset, offset + length)
  }

  addresses (): Uint8Array[] { return [] }
  learnAddresses (_peerId: string, addrs: readonly Uint8Array[]): void { this.learned += addrs.length }
  serveSync (handler: (request: Uint8Array, from: string) => Promise<Uint8Array>): void { this.sync = handler }
  async requestSync (_request: Uint8Array, _opts?: SyncRequestOptions): Promise<Uint8Array[]> {
    this.syncRequests++
    return this.answers
  }

  traffic (): { sent: number, received: number } { return { sent: 0, received: 0 } }
  async close (): Promise<void> {}
}
