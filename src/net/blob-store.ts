/**
 * An in-memory, content-addressed blob store: bytes keyed by the hex sha256 of their content,
 * least-recently-used blobs evicted once the total passes `maxBytes`. It backs the blob protocol
 * (model updates and models too big for one gossip message).
 *
 * Stored arrays are kept as given, not copied: do not modify bytes after `put`.
 */

import { createHash } from 'node:crypto'
import { DEFAULT_BLOB_STORE_BYTES } from './constants.ts'
import { InvalidBlobHashError } from './errors.ts'

export interface BlobStoreInit {
  /** Capacity in bytes (default 512 MiB). A single blob larger than this is not kept. */
  maxBytes?: number
}

/** What the blob server needs from a store. */
export interface BlobSource {
  get(hash: string): Uint8Array | undefined
}

export interface BlobStore extends BlobSource {
  /** Stores `bytes`, returns their hex sha256. */
  put(bytes: Uint8Array): string
  get(hash: string): Uint8Array | undefined
  has(hash: string): boolean
  delete(hash: string): boolean
  /** Number of blobs held. */
  readonly size: number
  /** Total bytes held. */
  readonly bytes: number
  readonly maxBytes: number
}

/** Hex sha256 of `bytes`. */
export function sha256Hex (bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** Lower-cases and checks a hex sha256; throws `InvalidBlobHashError` otherwise. */
export function normalizeHash (hash: string): string {
  if (typeof hash !== 'string' || !/^[0-9a-fA-F]{64}$/.test(hash)) throw new InvalidBlobHashError(String(hash))
  return hash.toLowerCase()
}

export function createBlobStore (init: BlobStoreInit = {}): BlobStore {
  return new MemoryBlobStore(init.maxBytes ?? DEFAULT_BLOB_STORE_BYTES)
}

class MemoryBlobStore implements BlobStore {
  readonly maxBytes: number
  // a Map iterates in insertion order: re-inserting on access keeps the oldest first
  private readonly blobs = new Map<string, Uint8Array>()
  private total = 0

  constructor (maxBytes: number) {
    if (!Number.isFinite(maxBytes) || maxBytes < 0) throw new RangeError(`blob store maxBytes must be >= 0 (got ${maxBytes})`)
    this.maxBytes = maxBytes
  }

  get size (): number {
    return this.blobs.size
  }

  get bytes (): number {
    return this.total
  }

  put (bytes: Uint8Array): string {
    const hash = sha256Hex(bytes)
    const existing = this.blobs.get(hash)
    if (existing != null) {
      this.touch(hash, existing)
      return hash
    }
    if (bytes.byteLength > this.maxBytes) return hash
    this.blobs.set(hash, bytes)
    this.total += bytes.byteLength
    this.evict()
    return hash
  }

  get (hash: string): Uint8Array | undefined {
    const key = normalizeHash(hash)
    const bytes = this.blobs.get(key)
    if (bytes != null) this.touch(key, bytes)
    return bytes
  }

  has (hash: string): boolean {
    return this.blobs.has(normalizeHash(hash))
  }

  delete (hash: string): boolean {
    const key = normalizeHash(hash)
    const bytes = this.blobs.get(key)
    if (bytes == null) return false
    this.blobs.delete(key)
    this.total -= bytes.byteLength
    return true
  }

  private touch (hash: string, bytes: Uint8Array): void {
    this.blobs.delete(hash)
    this.blobs.set(hash, bytes)
  }

  private evict (): void {
    for (const [hash, bytes] of this.blobs) {
      if (this.total <= this.maxBytes) break
      this.blobs.delete(hash)
      this.total -= bytes.byteLength
    }
  }
}
