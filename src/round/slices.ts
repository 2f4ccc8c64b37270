/**
 * In-network aggregation of masked vectors: instead of every peer fetching every survivor's masked
 * vector (cohort × 4d bytes in), the d words are cut into one slice per survivor. Survivor k (in peer
 * order) owns slice k: it fetches slice k of every survivor's vector straight from its author (a range
 * of the author's blob), sums them in the ring, removes the masks from that slice (seekable AES-CTR
 * streams, `unmaskSum(…, offset)`), serves the result as a blob and gossips `SliceSum{survivorsHash,
 * index, count, sumHash}`. Every peer fetches the S slice sums by hash and concatenates them: about
 * 4d bytes in for the slices a member owns plus 4d for the sums, whatever the cohort size.
 *
 * Ring sums are exact, so every honest peer that computes slice k gets the same bytes, and the model is
 * bit for bit the one the gossip-everything path gives. That makes redundancy free of ambiguity: if slice
 * k's sum has not been announced `backupMs` after aggregation starts, the next survivor in order (k+1)
 * computes and announces it too (once its own slice is done), then k+2 after 2·backupMs; after
 * SLICE_FALLBACK_STEPS steps every survivor computes the slices still missing itself (the
 * gossip-everything path, slice by slice), and a peer outside the list (a follower) after
 * FOLLOWER_FALLBACK_STEPS. An announced sum whose fetch failed is tried again (any peer that fetched it
 * serves it too) before a peer computes that slice from every survivor's range, count times the bytes.
 * Two different announced sums of one slice mean a bad (or broken) announcer: the peer computes that
 * slice itself, uses its own result and names the announcers that disagree with it.
 *
 * What a slice owner learns is what every peer learns: slices of the unmasked sum. A range cannot be
 * checked against the blob's hash, so ranges are fetched from their author only.
 */
import { Queue } from '@libp2p/utils'
import { unmaskSum } from '../secagg/index.ts'
import type { UnmaskInit } from '../secagg/index.ts'
import { ringSum } from '../secagg/ring.ts'
import type { SwarmChannel } from './channel.ts'
import { retrying } from './retry.ts'
import type { RetryOptions } from './retry.ts'
import { fromHex, toHex, uint32Bytes, uint32FromBytes } from '../wire/hash.ts'

/** Steps of `backupMs` after which every peer computes the missing slices itself (primary + 2 backups before). */
export const SLICE_FALLBACK_STEPS = 3
/** Steps of `backupMs` after which a peer that is not a survivor computes a slice nobody announced. */
export const FOLLOWER_FALLBACK_STEPS = 2 * SLICE_FALLBACK_STEPS
/** Ranges one owner fetches at once. */
const RANGE_CONCURRENCY = 8
/** Tries per range (streams get reset under load), the n-th retry after n · RANGE_RETRY_MS. */
const RANGE_TRIES = 3
const RANGE_RETRY_MS = 250
/** Announced slice sums one peer fetches at once (every peer fetches every sum: count streams each). */
const SUM_CONCURRENCY = 8
/** Tries per announced sum before this peer computes the slice itself; the n-th retry after 2^(n-1) · SUM_RETRY_MS. */
const SUM_TRIES = 3
const SUM_RETRY_MS = 1000

/** Words [start, end) of slice `index` of `count` over a vector of `length` words. */
export function sliceBounds (length: number, count: number, index: number): { start: number, end: number } {
  if (!(Number.isSafeInteger(count) && count > 0 && Number.isSafeInteger(index) && index >= 0 && index < count)) {
    throw new RangeError(`slice ${index} of ${count}`)
  }
  return { start: Math.floor(index * length / count), end: Math.floor((index + 1) * length / count) }
}

/** Whether a mask set of `members` sums in slices under `sliceFrom` (0 = never). */
export function usesSlices (members: number, sliceFrom: number): boolean {
  return sliceFrom > 0 && members >= sliceFrom
}

/** The step (0 = owner, 1 = first backup, …) at which survivor `position` takes slice `index` of `count`. */
export function backupStep (position: number, index: number, count: number): number {
  return ((position - index) % count + count) % count
}

export interface SliceSurvivor {
  /** PeerId string of the survivor (the author to fetch its ranges from). */
  id: string
  /** sha256 (hex) of its masked vector's bytes (the blob). */
  blobHash: string
}

export interface SliceAggregationInit {
  channel: SwarmChannel
  /** The survivors in peer order (slice k is owned by survivors[k]). */
  survivors: readonly SliceSurvivor[]
  /** Vector length d in words. */
  length: number
  /** This peer's PeerId string. */
  selfId: string
  /** Gossips a SliceSum for slice `index` (only survivors' announcements are taken by others). */
  announce: (index: number, count: number, sumHash: Uint8Array) => Promise<void>
  /** Time a slice's owner gets before the first backup computes it too. */
  backupMs: number
  /** Per-request timeout for ranges and sums. */
  fetchTimeoutMs: number
  signal: AbortSignal
  log: (line: string) => void
  /** Called when an announced sum disagrees with this peer's own computation of the slice. */
  onBadSum?: (peer: string, index: number) => void
}

interface SliceState {
  /** Announced sums: hash (hex) -> announcers. */
  offers: Map<string, string[]>
  wake: () => void
  changed: Promise<void>
}

export class SliceAggregationError extends Error {
  override name = 'SliceAggregationError'
}

/** Sums one survivor list in slices; `offer` takes SliceSum announcements, `run` returns Σ x_s (unmasked). */
export class SliceAggregation {
  private readonly init: SliceAggregationInit
  private readonly count: number
  private readonly position: number
  private readonly slices: SliceState[]
  /** Slices this peer computed itself, by index (announced if it is a survivor). */
  private readonly own = new Map<number, Promise<Uint8Array>>()
  /** sha256 (hex) of the slices this peer computed: announcements of other sums are named as wrong. */
  private readonly ownHash = new Map<number, string>()
  /** Ring sums of the survivors' (still masked) slices, fetched or being fetched, by index. */
  private readonly masked = new Map<number, Promise<Uint32Array>>()
  /** The masks to remove, once `run` has them. */
  private masks?: UnmaskInit
  /** Settles once this survivor's first computation of its own slice has (either way). */
  private readonly ownSettled: Promise<void>
  private settleOwn: () => void = () => {}
  private ownDone = false
  /** Bounds the announced sums fetched at once. */
  private readonly sumFetches = new Queue<Uint8Array>({ concurrency: SUM_CONCURRENCY })

  constructor (init: SliceAggregationInit) {
    this.init = init
    this.count = init.survivors.length
    if (this.count === 0) throw new SliceAggregationError('no survivors to sum')
    this.position = init.survivors.findIndex(s => s.id === init.selfId)
    this.slices = Array.from({ length: this.count }, () => this.freshState())
    this.ownSettled = new Promise<void>(resolve => { this.settleOwn = () => { this.ownDone = true; resolve() } })
    if (this.position < 0) this.settleOwn()
  }

  private freshState (): SliceState {
    const st: SliceState = { offers: new Map(), wake: () => {}, changed: Promise.resolve() }
    st.changed = new Promise<void>(resolve => { st.wake = resolve })
    return st
  }

  /** An accepted SliceSum (already checked: from a survivor, for this list, index < count). */
  offer (index: number, sumHash: Uint8Array, from: string): void {
    const st = this.slices[index]
    if (st == null) return
    const hex = toHex(sumHash)
    const by = st.offers.get(hex) ?? []
    if (by.includes(from)) return
    by.push(from)
    st.offers.set(hex, by)
    const mine = this.ownHash.get(index)
    if (mine != null && mine !== hex) this.wrongSum(from, index, hex, mine)
    const wake = st.wake
    st.changed = new Promise<void>(resolve => { st.wake = resolve })
    wake()
  }

  /**
   * Starts fetching this survivor's own slice of every survivor's vector (before the unmask shares are
   * in, so the transfer overlaps the Ack and Unmask phases). A failure here is retried by `run`.
   */
  prefetch (): void {
    if (this.position >= 0) this.maskedSlice(this.position).catch(() => {})
  }

  /** The unmasked ring sum of every slice, concatenated, given the masks rebuilt from the unmask shares. */
  async run (masks: UnmaskInit): Promise<Uint32Array> {
    this.masks = masks
    const out = new Uint32Array(this.init.length)
    // Own slice first: it is what the others wait for.
    if (this.position >= 0) {
      void this.compute(this.position).catch(() => { this.own.delete(this.position) }).finally(this.settleOwn)
    }
    const parts = await Promise.all(this.slices.map(async (_, k) => await this.obtain(k)))
    for (let k = 0; k < this.count; k++) out.set(parts[k], sliceBounds(this.init.length, this.count, k).start)
    return out
  }

  /** When this peer starts computing slice k itself (ms after the start). */
  private computeAt (k: number): number {
    // A peer outside the survivor list has no part in the sum and the whole list ahead of it: it
    // computes a slice nobody announced only after the survivors' own fallback step has passed too.
    if (this.position < 0) return FOLLOWER_FALLBACK_STEPS * this.init.backupMs
    return Math.min(backupStep(this.position, k, this.count), SLICE_FALLBACK_STEPS) * this.init.backupMs
  }

  /**
   * When (ms after the start) an announcement of slice k by `peer` is taken: the owner's at once, a
   * backup's from half its own step on (it computes at its step; starts differ a little between peers).
   * Until then it only serves to spot a conflict with another announcement.
   */
  private takenAfter (peer: string, k: number): number {
    const p = this.init.survivors.findIndex(s => s.id === peer)
    if (p < 0) return Infinity
    const step = backupStep(p, k, this.count)
    return step === 0 ? 0 : Math.min(step, SLICE_FALLBACK_STEPS) * this.init.backupMs / 2
  }

  private async obtain (k: number): Promise<Uint32Array> {
    const { signal } = this.init
    const st = this.slices[k]
    const { start, end } = sliceBounds(this.init.length, this.count, k)
    const bytes = 4 * (end - start)
    const started = Date.now()
    // Announced sums whose fetch failed: failures so far and when to try again. A sum is 1/count of the
    // vector and any peer that fetched it can serve it, so it is retried (SUM_TRIES times, backing off)
    // before this peer computes the slice from every survivor's range (count times the bytes): under
    // load, giving up on a sum too early multiplies the load that made its fetch slow.
    const failed = new Map<string, { fails: number, at: number }>()
    const retryable = (): boolean => [...st.offers.keys()].some(hex => (failed.get(hex)?.fails ?? 0) < SUM_TRIES)
    for (;;) {
      signal.throwIfAborted()
      if (st.offers.size > 1) return await this.settleConflict(k)
      const own = this.own.get(k)
      if (own != null) {
        try {
          return words(await own)
        } catch (err) {
          if (signal.aborted) throw err
          if (this.own.get(k) === own) this.own.delete(k)
          // fall through: an announced sum, or this peer's own retry at its step
        }
      }
      let next = started + this.computeAt(k)
      for (const [hex, from] of st.offers) {
        const f = failed.get(hex)
        if (f != null && f.fails >= SUM_TRIES) continue
        const at = Math.max(f?.at ?? 0, started + Math.min(...from.map(p => this.takenAfter(p, k))))
        if (at > Date.now()) { next = Math.min(next, at); continue }
        try {
          const got = await this.sumFetches.add(async () => await this.init.channel.fetchBlob(hex, { prefer: from, timeoutMs: this.init.fetchTimeoutMs, signal }), { signal })
          if (got.byteLength !== bytes) throw new SliceAggregationError(`${got.byteLength} bytes, expected ${bytes}`)
          if (st.offers.size > 1) return await this.settleConflict(k)
          return words(got)
        } catch (err) {
          if (signal.aborted) throw err
          const fails = (f?.fails ?? 0) + 1
          failed.set(hex, { fails, at: Date.now() + SUM_RETRY_MS * 2 ** (fails - 1) })
          this.init.log(`slice ${k}: could not fetch the announced sum ${hex.slice(0, 16)} (try ${fails} of ${SUM_TRIES}): ${(err as Error).message}`)
        }
        next = Date.now()
        break
      }
      const wait = next - Date.now()
      if (wait <= 0 && next === started + this.computeAt(k)) {
        const fallbackAt = started + SLICE_FALLBACK_STEPS * this.init.backupMs
        if (k !== this.position && !this.ownDone && Date.now() < fallbackAt) {
          // A backup takes on another's slice only once its own is done: in a swarm that is slow as a
          // whole (a busy machine) the owner is about as far along, and a second computation would only
          // add its ranges' bytes and work. From the fallback step on, every peer computes regardless.
          await Promise.race([st.changed, this.ownSettled, sleep(fallbackAt - Date.now(), signal)])
          continue
        }
        if (k !== this.position && retryable()) {
          // An announced sum still worth another try comes first (its retry time is in `failed`).
          await Promise.race([st.changed, sleep(SUM_RETRY_MS, signal)])
          continue
        }
        try {
          return words(await this.compute(k))
        } catch (err) {
          if (signal.aborted) throw err
          // An author out of reach for now (or for good): take an announced sum, or try again later.
          this.own.delete(k)
          this.init.log(`slice ${k}: could not compute it: ${(err as Error).message}`)
          failed.clear()
          await Promise.race([st.changed, sleep(this.init.backupMs, signal)])
          continue
        }
      }
      if (wait > 0) await Promise.race([st.changed, sleep(wait, signal)])
    }
  }

  /** Two different sums of slice k were announced: compute it and use ours (`compute` names who disagrees). */
  private async settleConflict (k: number): Promise<Uint32Array> {
    return words(await this.compute(k))
  }

  private wrongSum (peer: string, k: number, theirs: string, mine: string): void {
    this.init.log(`slice ${k}: ${peer} announced a sum ${theirs.slice(0, 16)} that is not the slice's sum ${mine.slice(0, 16)}`)
    this.init.onBadSum?.(peer, k)
  }

  /** Computes slice k (once): its ranges from every survivor, ring sum, masks removed; announced by survivors. */
  private async compute (k: number): Promise<Uint8Array> {
    let p = this.own.get(k)
    if (p == null) {
      p = this.computeSlice(k)
      this.own.set(k, p)
      this.slices[k].wake()
    }
    return await p
  }

  /** Σ over survivors of slice k of their masked vectors (memoized; a failed fetch is forgotten). */
  private async maskedSlice (k: number): Promise<Uint32Array> {
    let p = this.masked.get(k)
    if (p == null) {
      p = this.fetchSlice(k)
      this.masked.set(k, p)
      p.catch(() => { if (this.masked.get(k) === p) this.masked.delete(k) })
    }
    return await p
  }

  private async computeSlice (k: number): Promise<Uint8Array> {
    const masks = this.masks
    if (masks == null) throw new SliceAggregationError('slice computed before the masks are known')
    if (k !== this.position) {
      const why = this.slices[k].offers.size > 1 ? 'two different sums announced' : this.position < 0 ? 'as a peer outside the list' : `as backup step ${backupStep(this.position, k, this.count)}`
      this.init.log(`slice ${k}: computing it from every survivor's range (${why})`)
    }
    const { start } = sliceBounds(this.init.length, this.count, k)
    const sum = unmaskSum(await this.maskedSlice(k), masks, start)
    const bytes = uint32Bytes(sum)
    const hash = this.init.channel.putBlob(bytes)
    this.ownHash.set(k, hash)
    for (const [h, from] of this.slices[k].offers) if (h !== hash) for (const peer of from) this.wrongSum(peer, k, h, hash)
    if (this.position >= 0) {
      await this.init.announce(k, this.count, fromHex(hash)).catch(err => this.init.log(`slice ${k}: could not announce: ${(err as Error).message}`))
    }
    return bytes
  }

  /** Slice k of every survivor's masked vector, fetched from its author, summed in the ring. */
  private async fetchSlice (k: number): Promise<Uint32Array> {
    const { channel, survivors, signal, length } = this.init
    const { start, end } = sliceBounds(length, this.count, k)
    const parts: Uint32Array[] = new Array(survivors.length)
    let next = 0
    const worker = async (): Promise<void> => {
      while (next < survivors.length) {
        const i = next++
        const s = survivors[i]
        // a stream reset or a busy peer is worth a retry before the slice is given up for now
        parts[i] = words(await fetchRangeRetrying(channel, s.blobHash, 4 * start, 4 * (end - start), {
          from: s.id, timeoutMs: this.init.fetchTimeoutMs, signal, tries: RANGE_TRIES, retryMs: RANGE_RETRY_MS
        }))
      }
    }
    await Promise.all(Array.from({ length: Math.min(RANGE_CONCURRENCY, survivors.length) }, worker))
    return ringSum(parts, end - start)
  }
}

/**
 * `channel.fetchBlobRange` from the blob's author, tried up to `tries` times, the n-th retry after
 * n · `retryMs`; throws the last error (or at once when `signal` aborts).
 */
export async function fetchRangeRetrying (channel: SwarmChannel, hashHex: string, offset: number, length: number,
  opts: RetryOptions & { from: string, timeoutMs: number }): Promise<Uint8Array> {
  return await retrying(async () => await channel.fetchBlobRange(hashHex, offset, length, { from: opts.from, timeoutMs: opts.timeoutMs, signal: opts.signal }), opts)
}

/** The ring words of little-endian uint32 bytes. */
function words (bytes: Uint8Array): Uint32Array {
  return uint32FromBytes(bytes)
}

async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve() }, ms)
    const onAbort = (): void => { clearTimeout(t); reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}
