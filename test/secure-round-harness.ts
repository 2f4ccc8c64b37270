// A synchronous network of RoundMachines with secure aggregation on, for test/secure-round.test.ts.
// It carries out every effect the way src/round/driver.ts does, with real crypto: real Ed25519 keys
// and signed envelopes (sealMessage / openMessage), one SecureMember per peer per attempt whose keys
// go in the Join, real Shamir shares in real share boxes, masked ring updates (clipToNorm, ringInput,
// SecureMember.mask, ENCODING_RING32, inline vector + blob hash) and recoverSum over the Update
// envelopes each peer accepted. Time is virtual: timers are kept per peer and fired, earliest first,
// only once no message is in flight, by handle({ type: 'timer', name }, now).
//
// Delivery: a published message goes to its author at once (as the driver's publish does) and to
// every other peer through a pool of pending deliveries, taken in FIFO order or in a seeded random
// order. A dead peer (alive = false) receives and sends nothing. Before the clock moves, every live
// peer "pulls" the attempt's messages it did not take yet (the driver's pullAttempt / fetch-updates
// over the sync protocol), so a message ignored because it came early is offered again. A filter can
// hold deliveries back (a partitioned or adversarially scheduled network) until heal().
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { RoundMachine, peerKey, rankKey, Phase, survivorsHash } from '../src/round/index.ts'
import type { Effect, RoundParams, SecureAggregate, TimerName } from '../src/round/index.ts'
import { SecureMember, boxSlot, bundleBlob, clipToNorm, openUnmaskBlob, recoverSum, ringInput, unmaskBlob, unmaskEntries } from '../src/round/secure.ts'
import type { UnmaskEntry } from '../src/round/secure.ts'
import { seededRandom } from '../src/net/link-peers.ts'
import { majorityThreshold, ringSum } from '../src/secagg/index.ts'
import { openMessage, sealMessage, sha256, toHex, compareBytes, bytesEqual, uint32Bytes, uint32FromBytes, ENCODING_RING32 } from '../src/wire/index.ts'
import type { RoundMessage, Survivor, VerifiedMessage } from '../src/wire/index.ts'

export const TASK = sha256(new TextEncoder().encode('secure-round task'))
export const BASE = sha256(new TextEncoder().encode('secure-round M0'))
export const ROUND = 1

export interface Identity { key: PrivateKey, id: string, bytes: Uint8Array }

export async function makeIdentities (n: number): Promise<Identity[]> {
  const out: Identity[] = []
  for (let i = 0; i < n; i++) {
    const key = await generateKeyPair('Ed25519')
    const pid = peerIdFromPrivateKey(key)
    out.push({ key, id: pid.toString(), bytes: pid.toMultihash().bytes })
  }
  return out
}

/** Identities in leader-rank order for an attempt (rank 0 leads when every one of them joins). */
export function byRank (ids: Identity[], attempt: number): Identity[] {
  return [...ids].sort((a, b) => compareBytes(rankKey(BASE, ROUND, attempt, a.bytes), rankKey(BASE, ROUND, attempt, b.bytes)))
}

/**
 * When a peer dies (it stops receiving and sending):
 * - 'shares': on receiving the cohort, before it publishes its Shares bundle (not in the mask set);
 * - 'serve': right after publishing its Shares: its bundle went out, but with direct shares (boxes kept by
 *   their author and fetched from it) nobody can fetch a box from it any more;
 * - 'update': on receiving the mask set, after its bundle went out (in U1, never sends its update);
 * - 'unmask': on receiving the survivor list (its update is in it; it never acks nor unmasks);
 * - 'ack': after it acked the survivor list, when its guard releases and before its Unmask goes out;
 * - 'none': never.
 */
export type DropPhase = 'none' | 'shares' | 'serve' | 'update' | 'unmask' | 'ack'

export interface RoundConfig {
  attempt: number
  cohortSize: number
  minSurvivors: number
  modelLength: number
  secureThreshold: number
  clipNorm: number
  weightCap: number
  /** DP-FedAvg noise multiplier σ (0 / absent = off). */
  dpNoise?: number
  joinMs?: number
  cohortMs?: number
  updateMs?: number
  survivorsMs?: number
  /**
   * Direct shares (the driver does this for cohorts of `aggregation.sliceFrom` or more): each member keeps
   * its boxes as one bundle blob and gossips its hash; a recipient fetches its box from the author (alive
   * at that moment) and tells its machine ('box' event). Default false: boxes inline in the Shares message.
   */
  direct?: boolean
}

/** The threshold the machine computes for a cohort of n (RoundMachine.threshold), written out again. */
export function expectedThreshold (cfg: RoundConfig, n: number): number {
  const floor = Math.min(cfg.minSurvivors, n)
  const t = cfg.secureThreshold > 0 ? Math.min(cfg.secureThreshold, n) : majorityThreshold(n)
  return Math.max(floor, t)
}

export interface AggregateRecord {
  survivors: Survivor[]
  survivorsHash: Uint8Array
  secure?: SecureAggregate
  sum?: Uint32Array
  error?: string
}

export interface Peer {
  ident: Identity
  id: string
  bytes: Uint8Array
  machine: RoundMachine
  secure: SecureMember
  alive: boolean
  drop: DropPhase
  /** Local update (before clipping) and example count. */
  delta: Float32Array
  examples: number
  /** The quantized, unmasked ring input x_i and the masked y_i this peer published. */
  input?: Uint32Array
  masked?: Uint32Array
  effects: Array<{ trigger: string, effect: Effect }>
  timers: Map<TimerName, { due: number, seq: number }>
  /** Update envelopes this peer accepted, by envelope hash (the driver's cur.envelopes). */
  envelopes: Map<string, VerifiedMessage>
  /** Envelope hashes this peer accepted or rejected (not offered again). */
  seen: Set<string>
  aggregates: AggregateRecord[]
  aborts: Array<{ reason: string, trigger: string, at: number }>
  openErrors: string[]
  diedAt?: string
  /** Direct shares: whether this peer keeps its boxes as a bundle blob, and the blob. */
  direct: boolean
  bundle?: Uint8Array
}

export interface PeerInit {
  drop?: DropPhase
  eligible?: boolean
  delta?: Float32Array
  examples?: number
}

export function makePeer (ident: Identity, cfg: RoundConfig, init: PeerInit = {}): Peer {
  const secure = new SecureMember({ ctx: { task: TASK, round: ROUND, attempt: cfg.attempt }, self: ident.bytes })
  const params: RoundParams = {
    task: TASK,
    round: ROUND,
    attempt: cfg.attempt,
    base: BASE,
    self: ident.bytes,
    selfId: ident.id,
    cohortSize: cfg.cohortSize,
    minSurvivors: cfg.minSurvivors,
    modelLength: cfg.modelLength,
    joinMs: cfg.joinMs ?? 1000,
    cohortMs: cfg.cohortMs ?? 1000,
    updateMs: cfg.updateMs ?? 5000,
    survivorsMs: cfg.survivorsMs ?? 5000,
    maxFallbacks: 3,
    eligible: init.eligible ?? true,
    encPub: secure.keys.enc.publicKey,
    maskPub: secure.keys.mask.publicKey,
    secure: true,
    secureThreshold: cfg.secureThreshold,
    clipNorm: cfg.clipNorm,
    weightCap: cfg.weightCap,
    dpNoise: cfg.dpNoise ?? 0
  }
  return {
    ident,
    id: ident.id,
    bytes: ident.bytes,
    machine: new RoundMachine(params),
    secure,
    alive: true,
    drop: init.drop ?? 'none',
    delta: init.delta ?? new Float32Array(cfg.modelLength),
    examples: init.examples ?? cfg.weightCap,
    effects: [],
    timers: new Map(),
    envelopes: new Map(),
    seen: new Set(),
    aggregates: [],
    aborts: [],
    openErrors: [],
    direct: cfg.direct === true
  }
}

/** A message on the wire: who sent it, its verified envelope and its hash. */
export interface Published { from: string, vm: VerifiedMessage, hash: Uint8Array, hex: string, at: number }

export function kindOf (m: RoundMessage): string {
  for (const k of ['join', 'cohort', 'shares', 'maskSet', 'update', 'survivors', 'ack', 'unmask', 'result'] as const) {
    if (m[k] != null) return k
  }
  return 'empty'
}

function terminal (p: Peer): boolean {
  return p.machine.phase === Phase.Done || p.machine.phase === Phase.Aborted
}

/** Small seeded PRNG for delivery order: the one the simulator links peers with. */
export const seededRng = seededRandom

/** Every direct Unmask blob any net published, by sha256 (hex): content-addressed, so one map serves all. */
const UNMASK_BLOBS = new Map<string, Uint8Array>()

export class SecureNet {
  now = 0
  readonly peers: Peer[]
  readonly byId = new Map<string, Peer>()
  /** Every message published in this attempt, in publication order. */
  readonly log: Published[] = []
  /** Replaces the shares a direct Unmask fetch hands to peer `to` (tests of a bad blob). */
  unmaskFetch?: (to: Peer, author: string, shares: Uint8Array[]) => Uint8Array[]
  /** The peers that hold each direct Unmask blob in this net, by hash (hex); the bytes are in UNMASK_BLOBS. */
  readonly unmaskHolders = new Map<string, Set<string>>()
  private pending: Array<{ item: Published, to: Peer }> = []
  /** Deliveries the filter held back. */
  held: Array<{ item: Published, to: Peer }> = []
  private seq = 0
  rng?: () => number
  /** Whether `item` may reach `to` now; a blocked delivery waits in `held` until heal(). */
  filter?: (item: Published, to: Peer) => boolean
  /** Called before an honest peer publishes; returning false swallows the message (never sent). */
  intercept?: (from: Peer, message: RoundMessage) => boolean
  verdicts: Array<{ to: string, from: string, kind: string, action: string, reason?: string }> = []

  constructor (peers: Peer[], rng?: () => number) {
    this.peers = peers
    for (const p of peers) this.byId.set(p.id, p)
    this.rng = rng
  }

  get live (): Peer[] { return this.peers.filter(p => p.alive) }

  /** Starts every peer at time 0 (start, then `trained` for eligible ones: training is instant). */
  async start (): Promise<void> {
    for (const p of this.peers) {
      await this.run(p, p.machine.handle({ type: 'start' }, this.now), 'start')
      if (p.machine.params.eligible) await this.run(p, p.machine.handle({ type: 'trained' }, this.now), 'trained')
    }
  }

  kill (p: Peer, why: string): void {
    if (!p.alive) return
    p.alive = false
    p.diedAt = why
  }

  /** Seals and publishes a message of an honest peer: its author takes it at once, the others later. */
  async publish (from: Peer, message: RoundMessage): Promise<Published | undefined> {
    if (this.intercept != null && !this.intercept(from, message)) return undefined
    const item = await this.wire(from.ident, message)
    for (const p of this.peers) if (p !== from) this.pending.push({ item, to: p })
    await this.offer(from, item)
    return item
  }

  /** Publishes a message signed by `ident` (e.g. an adversary) to `to` (default: every peer). */
  async publishAs (ident: Identity, message: RoundMessage, to: Peer[] = this.peers): Promise<Published> {
    const item = await this.wire(ident, message)
    for (const p of to) if (p.id !== ident.id) this.pending.push({ item, to: p })
    return item
  }

  private async wire (ident: Identity, message: RoundMessage): Promise<Published> {
    const vm = await openMessage(await sealMessage(ident.key, message))
    const hash = sha256(vm.bytes)
    const item = { from: ident.id, vm, hash, hex: toHex(hash), at: this.now }
    this.log.push(item)
    return item
  }

  /** Lets every held delivery through and removes the filter. */
  heal (): void {
    this.filter = undefined
    this.pending.push(...this.held)
    this.held = []
  }

  /** Gossip validation then handle, as the driver's onGossip/accept; dead or finished peers take nothing. */
  async offer (p: Peer, item: Published): Promise<'accept' | 'ignore' | 'reject' | 'skip'> {
    if (!p.alive || terminal(p) || p.seen.has(item.hex)) return 'skip'
    const m = item.vm.message
    if ((p.drop === 'shares' && m.cohort != null) || (p.drop === 'update' && m.maskSet != null) || (p.drop === 'unmask' && m.survivors != null)) {
      this.kill(p, `drop:${p.drop}`)
      return 'skip'
    }
    const v = p.machine.validate(item.vm)
    this.verdicts.push({ to: p.id, from: item.from, kind: kindOf(m), action: v.action, reason: 'reason' in v ? v.reason : undefined })
    if (v.action === 'ignore') return 'ignore'
    p.seen.add(item.hex)
    if (v.action === 'reject') return 'reject'
    if (m.update != null) p.envelopes.set(item.hex, item.vm)
    await this.run(p, p.machine.handle({ type: 'message', message: item.vm, hash: item.hash }, this.now), `message:${kindOf(m)}`)
    return 'accept'
  }

  private header (p: Peer): Pick<RoundMessage, 'task' | 'round' | 'attempt' | 'base'> {
    const q = p.machine.params
    return { task: q.task as Uint8Array<ArrayBuffer>, round: q.round, attempt: q.attempt, base: q.base as Uint8Array<ArrayBuffer> }
  }

  /** Carries out a peer's effects the way RoundDriver.effect does. */
  async run (p: Peer, effects: Effect[], trigger: string): Promise<void> {
    for (const e of effects) {
      if (!p.alive) return
      // (a spare unmasker's release arms its 'spare-unmask' timer instead: it dies there too)
      if ((e.type === 'publish-unmask' || (e.type === 'set-timer' && e.name === 'spare-unmask')) && p.drop === 'ack') {
        this.kill(p, 'drop:ack')
        return
      }
      p.effects.push({ trigger, effect: e })
      switch (e.type) {
        case 'publish':
          await this.publish(p, e.message)
          break
        case 'publish-shares': {
          const { seedCommit, boxes } = await p.secure.makeShares(e.members, e.threshold)
          const shares = { cohortHash: e.cohortHash as Uint8Array<ArrayBuffer>, seedCommit: seedCommit as Uint8Array<ArrayBuffer>, boxes, bundleHash: new Uint8Array(0), boxBytes: 0 }
          if (p.direct && boxes.length > 0) {
            const blob = bundleBlob(boxes)
            p.bundle = blob.bytes
            Object.assign(shares, { boxes: [], bundleHash: sha256(blob.bytes), boxBytes: blob.boxBytes })
          }
          await this.publish(p, { ...this.header(p), shares })
          if (p.drop === 'serve') {
            this.kill(p, 'drop:serve')
            return
          }
          break
        }
        case 'open-shares':
          if (e.shares.bundleHash.byteLength > 0) {
            // As the driver's fetchBox: a byte range of the author's bundle blob, from the author only.
            const author = this.peers.find(q => bytesEqual(q.bytes, e.from.peer))
            let opened = false
            if (author?.alive === true && author.bundle != null && bytesEqual(sha256(author.bundle), e.shares.bundleHash)) {
              const at = boxSlot(e.from.peer, p.bytes, e.members) * e.shares.boxBytes
              try {
                p.secure.openBox(e.from, author.bundle.subarray(at, at + e.shares.boxBytes))
                opened = true
              } catch (err) {
                p.openErrors.push((err as Error).message)
              }
            }
            await this.run(p, p.machine.handle({ type: 'box', peer: author?.id ?? peerKey(e.from.peer), opened }, this.now), 'box')
            break
          }
          try {
            p.secure.openBundle(e.from, e.shares.boxes, e.members)
          } catch (err) {
            p.openErrors.push((err as Error).message)
          }
          break
        case 'publish-update': {
          if (e.maskSet == null || e.scale == null) throw new Error('secure harness: publish-update without a mask set')
          const q = p.machine.params
          const clipNorm = q.clipNorm ?? 1
          const weightCap = q.weightCap ?? 1
          const { delta } = clipToNorm(p.delta, clipNorm)
          const weight = Math.min(p.examples, weightCap)
          // As the driver: with DP-FedAvg the member adds its share of the noise (threshold t of the cohort).
          const sigma = q.dpNoise ?? 0
          const noise = sigma > 0 ? { sigma, threshold: p.machine.cohort!.threshold } : undefined
          const input = ringInput(delta, weight / weightCap, clipNorm, e.scale, undefined, noise)
          const masked = p.secure.mask(input, e.maskSet)
          p.input = input
          p.masked = masked
          const vector = uint32Bytes(masked)
          await this.publish(p, {
            ...this.header(p),
            update: {
              cohortHash: e.cohortHash as Uint8Array<ArrayBuffer>,
              weight,
              encoding: ENCODING_RING32,
              length: p.delta.length,
              vector: vector as Uint8Array<ArrayBuffer>,
              blobHash: sha256(vector) as Uint8Array<ArrayBuffer>,
              scale: e.scale
            }
          })
          break
        }
        case 'publish-unmask': {
          const shares = p.secure.unmaskShares(e.release, e.maskSet)
          if (p.direct) {
            // As the driver: the shares as a blob, its hash gossiped
            const blob = unmaskBlob(shares)
            const sharesHash = sha256(blob)
            this.unmaskHolders.set(toHex(sharesHash), new Set([p.id]))
            UNMASK_BLOBS.set(toHex(sharesHash), blob)
            await this.publish(p, { ...this.header(p), unmask: { survivorsHash: e.survivorsHash as Uint8Array<ArrayBuffer>, shares: [], sharesHash: sharesHash as Uint8Array<ArrayBuffer> } })
            break
          }
          await this.publish(p, { ...this.header(p), unmask: { survivorsHash: e.survivorsHash as Uint8Array<ArrayBuffer>, shares, sharesHash: new Uint8Array(0) } })
          break
        }
        case 'fetch-unmask': {
          // As the driver's fetchUnmask: by hash, from any live peer that holds the blob (its author or a
          // peer that fetched it)
          const holders = this.unmaskHolders.get(toHex(e.sharesHash))
          const blob = UNMASK_BLOBS.get(toHex(e.sharesHash))
          if (holders == null || blob == null || ![...holders].some(id => this.byId.get(id)?.alive === true)) break
          holders.add(p.id)
          const opened = openUnmaskBlob(blob, p.machine.maskSet!.list.length)
          const shares = this.unmaskFetch?.(p, e.peer, opened) ?? opened
          await this.run(p, p.machine.handle({ type: 'unmask-shares', peer: e.peer, survivorsHash: e.survivorsHash, shares }, this.now), 'unmask-shares')
          break
        }
        case 'set-timer':
          p.timers.set(e.name, { due: this.now + e.ms, seq: this.seq++ })
          break
        case 'clear-timer':
          p.timers.delete(e.name)
          break
        case 'fetch-updates':
          // The pull before every clock step gathers them (see pump()).
          break
        case 'aggregate': {
          const rec: AggregateRecord = { survivors: e.survivors, survivorsHash: e.survivorsHash, secure: e.secure }
          p.aggregates.push(rec)
          if (e.secure == null) {
            rec.error = 'aggregate without secure aggregation'
            break
          }
          try {
            rec.sum = await this.recover(p, e.survivors, e.secure)
          } catch (err) {
            // The driver logs and settles the attempt as aborted.
            rec.error = (err as Error).message
            break
          }
          await this.run(p, p.machine.handle({ type: 'aggregated', modelHash: sha256(uint32Bytes(rec.sum)) }, this.now), 'aggregated')
          break
        }
        case 'abort':
          p.aborts.push({ reason: e.reason, trigger, at: this.now })
          break
        case 'done':
        case 'phase':
        case 'penalize':
          break
      }
    }
  }

  /** RoundDriver.secureAverage up to the ring sum: the survivors' masked vectors summed and unmasked. */
  async recover (p: Peer, survivors: Survivor[], secure: SecureAggregate): Promise<Uint32Array> {
    const ordered = [...survivors].sort((x, y) => compareBytes(x.peer, y.peer))
    const vectors: Uint32Array[] = []
    for (const s of ordered) {
      const vm = p.envelopes.get(toHex(s.updateHash))
      if (vm == null) throw new Error(`update of ${toHex(s.peer).slice(0, 16)} missing`)
      const u = vm.message.update!
      if (!bytesEqual(sha256(u.vector), u.blobHash)) throw new Error('update does not match its hash')
      vectors.push(uint32FromBytes(u.vector))
    }
    return await recoverSum({
      ctx: { task: TASK, round: ROUND, attempt: p.machine.params.attempt },
      threshold: secure.threshold,
      maskSet: secure.maskSet,
      survivors: ordered.map(s => s.peer),
      maskedSum: ringSum(vectors, p.machine.params.modelLength),
      unmasks: secure.unmasks,
      seedCommits: secure.seedCommits
    })
  }

  /** Delivers until nothing is in flight and no pull brings anything new. */
  async pump (): Promise<void> {
    for (let rounds = 0; rounds < 1000; rounds++) {
      while (this.pending.length > 0) {
        const i = this.rng != null ? Math.floor(this.rng() * this.pending.length) : 0
        const [d] = this.pending.splice(i, 1)
        if (this.filter != null && !this.filter(d.item, d.to)) {
          this.held.push(d)
          continue
        }
        await this.offer(d.to, d.item)
      }
      let taken = false
      for (const p of this.peers) {
        for (let k = 0; k < this.log.length; k++) {
          const item = this.log[k]
          if (!p.alive || terminal(p) || p.seen.has(item.hex)) continue
          if (this.filter != null && !this.filter(item, p)) continue
          if (this.held.some(h => h.item === item && h.to === p)) continue
          if (item.from === p.id) continue
          if ((await this.offer(p, item)) === 'accept') taken = true
        }
      }
      if (!taken && this.pending.length === 0) return
    }
    throw new Error('pump did not converge')
  }

  /**
   * Delivers everything, then fires the earliest pending timer of a live, unfinished peer, and again,
   * until none is left (or `stop` says so, or the next timer is after `limitMs`).
   */
  async settle (opts: { stop?: () => boolean, limitMs?: number } = {}): Promise<void> {
    for (let steps = 0; steps < 10_000; steps++) {
      await this.pump()
      if (opts.stop?.() === true) return
      let best: { p: Peer, name: TimerName, due: number, seq: number } | undefined
      for (const p of this.peers) {
        if (!p.alive || terminal(p)) continue
        for (const [name, tm] of p.timers) {
          if (best == null || tm.due < best.due || (tm.due === best.due && tm.seq < best.seq)) best = { p, name, ...tm }
        }
      }
      if (best == null || best.due > (opts.limitMs ?? Infinity)) return
      this.now = Math.max(this.now, best.due)
      best.p.timers.delete(best.name)
      await this.run(best.p, best.p.machine.handle({ type: 'timer', name: best.name }, this.now), `timer:${best.name}`)
    }
    throw new Error('settle did not converge')
  }
}

/**
 * Every Unmask in a log, with its author and its shares read as (peer, kind, share) against the mask set
 * and the survivor list it names, both from the same log (the wire form is positional).
 */
export function unmasksIn (log: Published[]): Array<{ from: string, fromBytes: Uint8Array, survivorsHash: Uint8Array, shares: UnmaskEntry[] }> {
  const maskSet = log.find(i => i.vm.message.maskSet != null)?.vm.message.maskSet?.members.map(e => e.peer)
  const lists = new Map<string, Uint8Array[]>()
  for (const i of log) {
    const s = i.vm.message.survivors
    if (s != null) lists.set(toHex(survivorsHash(s, i.vm.author.toMultihash().bytes)), s.survivors.map(e => e.peer))
  }
  return log.filter(i => i.vm.message.unmask != null).map(i => {
    const u = i.vm.message.unmask!
    const list = lists.get(toHex(u.survivorsHash))
    if (maskSet == null || list == null) throw new Error(`unmask of ${i.from} for a mask set or survivor list that is not in the log`)
    // a direct Unmask's shares are in the blob its hash names
    const blob = u.sharesHash.byteLength > 0 ? UNMASK_BLOBS.get(toHex(u.sharesHash)) : undefined
    if (u.sharesHash.byteLength > 0 && blob == null) throw new Error(`unmask of ${i.from}: no blob ${toHex(u.sharesHash).slice(0, 16)}`)
    const shares = blob != null ? openUnmaskBlob(blob, maskSet.length) : u.shares
    return { from: i.from, fromBytes: i.vm.author.toMultihash().bytes, survivorsHash: u.survivorsHash, shares: unmaskEntries(maskSet, list, shares) }
  })
}

/** A random update vector with coordinates in [-amp, amp]. */
export function randomDelta (length: number, amp: number, rng: () => number): Float32Array {
  const v = new Float32Array(length)
  for (let k = 0; k < length; k++) v[k] = (rng() * 2 - 1) * amp
  return v
}

export function hex (b: Uint8Array): string { return toHex(b) }

export function sameBytes (a: Uint32Array, b: Uint32Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
}
