/**
 * The round state machine: one attempt of one round, as seen by one peer. It does no I/O and reads no
 * clock: the driver feeds it events (start, verified messages, fired timers, local results) and carries
 * out the effects it returns (publish, set timers, fetch, aggregate). Every peer runs the same machine,
 * so the rules for leaders, fallbacks, cohorts and survivor lists live here and nowhere else.
 *
 * Leader rule: rank(p) = sha256(base || round || attempt || peerIdBytes); the joiner with the smallest
 * rank leads, the k-th smallest takes over after k * cohortMs if no cohort has appeared.
 *
 * With secure aggregation (`params.secure`) the attempt runs Join → Cohort → Shares → MaskSet → masked
 * Update → Survivors → Ack → Unmask → Aggregate (docs/secure-aggregation.md). The machine holds the
 * member's UnmaskGuard, so the rule "release shares for one consistent survivor list only, never both
 * secrets of one member" is enforced here, next to the validation of every message it depends on.
 */
import { peerIdFromMultihash, peerIdFromString } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { Phase, assertTransition } from './phases.ts'
import { bytesEqual, compareBytes, sha256, toHex } from '../wire/hash.ts'
import { RoundMessage, Cohort as CohortMsg, Survivors as SurvivorsMsg } from '../wire/messages.ts'
import type { Member, Survivor, Shares as SharesMsg, MaskSet as MaskSetMsg, Unmask as UnmaskMsg, SliceSum as SliceSumMsg } from '../wire/messages.ts'
import { ENCODING_FLOAT32, ENCODING_RING32, MAX_BOX_BYTES, MAX_COHORT, MAX_JOIN_ADDRS, MAX_JOIN_ADDR_BYTES, MIN_BOX_BYTES, UNMASK_SHARE_BYTES } from '../wire/constants.ts'
import type { VerifiedMessage } from '../wire/envelope.ts'
import { UnmaskGuard, majorityThreshold } from '../secagg/index.ts'
import type { UnmaskRelease } from '../secagg/index.ts'
import { ringScale } from './secure.ts'
import type { UnmaskMessage } from './secure.ts'

export interface RoundParams {
  task: Uint8Array
  round: number
  attempt: number
  /** Hash of M[r-1]. */
  base: Uint8Array
  /** This peer's PeerId bytes and string. */
  self: Uint8Array
  selfId: string
  cohortSize: number
  minSurvivors: number
  /** Length of the model vector; updates of another length are rejected. */
  modelLength: number
  joinMs: number
  cohortMs: number
  updateMs: number
  survivorsMs: number
  /** How many fallback leaders are tried before the attempt is abandoned. */
  maxFallbacks: number
  /** Whether this peer trains and may be picked (it has data and budget). */
  eligible: boolean
  /**
   * Joins expected (e.g. the previous round's survivors). If fewer have arrived when the join window
   * closes, it stays open once more for `joinMs`. 0 = no expectation.
   */
  expectedJoins?: number
  /** Fresh per-attempt public keys for the Join (used by secure aggregation). */
  encPub: Uint8Array
  maskPub: Uint8Array
  /** This peer's dialable addresses (multiaddr bytes) for its Join (default none). */
  addrs?: Uint8Array[]
  /** Secure aggregation on: the Shares / MaskSet / Ack / Unmask phases run and updates are masked. */
  secure?: boolean
  /** The task's Shamir threshold (0 = strict majority of the cohort). */
  secureThreshold?: number
  /** L2 clip norm: with `secure`, it fixes the quantization scale with the mask set's size. */
  clipNorm?: number
  /** Largest update weight accepted with `secure` (the task's weight cap). */
  weightCap?: number
  /** DP-FedAvg noise multiplier σ (0 = off): the scale leaves room for the members' noise. */
  dpNoise?: number
}

/** What the driver needs to recover the survivors' sum (secure aggregation). */
export interface SecureAggregate {
  threshold: number
  /** U1 with the members' keys. */
  maskSet: Member[]
  unmasks: UnmaskMessage[]
  /** Seed commitments from the Shares bundles, by peer hex. */
  seedCommits: Map<string, Uint8Array>
  scale: number
}

export type Verdict = { action: 'accept' } | { action: 'ignore' | 'reject', reason: string }

export type Effect =
  | { type: 'publish', message: RoundMessage }
  /**
   * Publish this peer's update for the given cohort (the driver holds the vector); with secure
   * aggregation, masked for `maskSet` at `scale`.
   */
  | { type: 'publish-update', cohortHash: Uint8Array, maskSet?: Member[], scale?: number }
  /** Secure aggregation: make and publish this member's Shares bundle for the committed cohort. */
  | { type: 'publish-shares', cohortHash: Uint8Array, members: Member[], threshold: number }
  /** Secure aggregation: open the box addressed to this member in `from`'s bundle (boxes follow `members`). */
  | { type: 'open-shares', from: Member, shares: SharesMsg, members: Member[] }
  /** Secure aggregation: publish this member's shares for the survivor list the guard released, positional over `maskSet`. */
  | { type: 'publish-unmask', survivorsHash: Uint8Array, release: UnmaskRelease, maskSet: Uint8Array[] }
  /** Secure aggregation, direct Unmask: fetch `peer`'s shares blob (sha256 `sharesHash`) and report it with 'unmask-shares'. */
  | { type: 'fetch-unmask', peer: string, survivorsHash: Uint8Array, sharesHash: Uint8Array }
  | { type: 'set-timer', name: TimerName, ms: number }
  | { type: 'clear-timer', name: TimerName }
  /** Gather these messages (updates, Shares bundles; by envelope hash) from peers. */
  | { type: 'fetch-updates', updates: Survivor[] }
  /** All named updates are held (and, secure, t members' shares): compute M[r] from them. */
  | { type: 'aggregate', survivors: Survivor[], survivorsHash: Uint8Array, secure?: SecureAggregate }
  | { type: 'done', modelHash: Uint8Array, survivorsHash: Uint8Array, survivors: number, cohort: number }
  | { type: 'abort', reason: string }
  | { type: 'phase', from: Phase, to: Phase }
  | { type: 'penalize', peer: string, reason: string }

export type TimerName = 'join' | 'leader' | 'cohort-deadline' | 'shares-deadline' | 'update-deadline' | 'straggler' | 'survivors-deadline' | 'spare-unmask'

export type RoundEvent =
  | { type: 'start' }
  | { type: 'message', message: VerifiedMessage, hash: Uint8Array }
  | { type: 'timer', name: TimerName }
  /** Local training is done: this peer has an update to publish. */
  | { type: 'trained' }
  /** The driver holds every update named by the survivor list. */
  | { type: 'updates-ready' }
  | { type: 'aggregated', modelHash: Uint8Array }
  /** Direct shares: the driver fetched and opened (or gave up on) this member's box in `peer`'s bundle blob. */
  | { type: 'box', peer: string, opened: boolean }
  /** A direct Unmask's shares, fetched by the hash `peer` signed (already checked against it) and split into slots. */
  | { type: 'unmask-shares', peer: string, survivorsHash: Uint8Array, shares: Uint8Array[] }

interface JoinInfo { peer: Uint8Array, id: string, rank: Uint8Array, encPub: Uint8Array, maskPub: Uint8Array }
interface CohortInfo { leader: string, rank: number, members: Member[], memberIds: Set<string>, hash: Uint8Array, threshold: number }
interface UpdateInfo { peer: Uint8Array, hash: Uint8Array }
interface SharesInfo { peer: Uint8Array, hash: Uint8Array, shares: SharesMsg }
interface MaskSetInfo { list: Survivor[], members: Member[], ids: Set<string>, scale: number }

/** Fraction of the cohort whose updates start the straggler clock. */
const STRAGGLER_QUORUM = 0.5

/**
 * Members of a mask set of n that publish their Unmask as soon as they may: t plus a margin of
 * max(2, ⌈n/10⌉) for members that died or hold too few shares; the others are spares.
 */
export function unmaskersWanted (t: number, n: number): number {
  return Math.min(n, t + Math.max(2, Math.ceil(n / 10)))
}
/** A spare publishes its Unmask only if, this fraction of `survivorsMs` after it could have, the Unmasks in cannot rebuild every secret. */
const SPARE_UNMASK_FRACTION = 0.25
const SPARE_UNMASK_MIN_MS = 500
/**
 * Once that fraction has arrived T ms after the attempt started (local training starts with it), the
 * leader waits at most T * STRAGGLER_FACTOR more (and at least STRAGGLER_MIN_MS) for the rest before it
 * fixes the survivor list.
 */
const STRAGGLER_FACTOR = 1.5
const STRAGGLER_MIN_MS = 2000

export function rankKey (base: Uint8Array, round: number, attempt: number, peer: Uint8Array): Uint8Array {
  const ra = new Uint8Array(8)
  const v = new DataView(ra.buffer)
  v.setUint32(0, round)
  v.setUint32(4, attempt)
  return sha256(base, ra, peer)
}

export function cohortHash (c: CohortMsg, leader: Uint8Array): Uint8Array {
  return sha256(leader, CohortMsg.encode(c))
}

export function survivorsHash (s: SurvivorsMsg, leader: Uint8Array): Uint8Array {
  return sha256(leader, SurvivorsMsg.encode(s))
}

export class RoundMachine {
  readonly params: RoundParams
  phase: Phase = Phase.Join
  readonly joins = new Map<string, JoinInfo>()
  /** Cohort hash (hex) each leader published: a second, different one is equivocation. */
  readonly leaderCohorts = new Map<string, string>()
  cohort?: CohortInfo
  readonly updates = new Map<string, UpdateInfo>()
  /** Updates seen before this peer committed to a cohort, re-checked on commit. */
  private readonly pendingUpdates = new Map<string, { info: UpdateInfo, cohortHash: Uint8Array, scale: number }>()
  /** The survivor list this round aggregates (with secure aggregation: the one t members unmasked). */
  survivors?: { list: Survivor[], hash: Uint8Array }
  /** Every survivor list the leader published, by hash (hex): more than one only if it equivocated. */
  readonly lists = new Map<string, { list: Survivor[], hash: Uint8Array }>()
  /** Secure aggregation: the first list this peer saw, the only one it acknowledges. */
  private firstList?: { list: Survivor[], hash: Uint8Array }
  /** Secure aggregation: Shares bundles by author (of this cohort, or pending before it). */
  readonly shares = new Map<string, SharesInfo>()
  /** Direct shares: whether this member got (fetched and opened) its box from each author, by PeerId string. */
  readonly boxes = new Map<string, boolean>()
  maskSet?: MaskSetInfo
  /** Secure aggregation: survivor-list hashes (hex) each peer acknowledged. */
  readonly acks = new Map<string, { peer: Uint8Array, hashes: Set<string> }>()
  /** Secure aggregation: Unmask messages by survivor-list hash (hex), then by author. */
  readonly unmasks = new Map<string, Map<string, UnmaskMessage>>()
  /** Direct Unmasks taken (their shares blob fetched or being fetched): survivor-list hash -> author -> author's PeerId bytes. */
  private readonly unmaskRefs = new Map<string, Map<string, Uint8Array>>()
  guard?: UnmaskGuard
  abortReason?: string
  private maskSetPublished = false
  private acked = false
  private released = false
  /** A spare member's release, published only if the Unmasks in by `spare-unmask` cannot rebuild every secret. */
  private spareRelease?: { hash: Uint8Array, release: UnmaskRelease, maskSet: Uint8Array[] }
  /** Why this member will not release shares in this attempt (a conflict, a bad list). */
  private refused?: string
  private trained = false
  private updatePublished = false
  private cohortPublished = false
  private survivorsPublished = false
  private stragglerArmed = false
  private survivorsExpected = false
  private joinExtended = false
  private startedAt = 0
  private now = 0
  private readonly selfRank: Uint8Array

  constructor (params: RoundParams) {
    this.params = params
    this.selfRank = rankKey(params.base, params.round, params.attempt, params.self)
  }

  get isMember (): boolean {
    return this.cohort?.memberIds.has(this.params.selfId) ?? false
  }

  get isLeader (): boolean {
    return this.cohort?.leader === this.params.selfId
  }

  private header (): Pick<RoundMessage, 'task' | 'round' | 'attempt' | 'base'> {
    const p = this.params
    return { task: p.task as Uint8Array<ArrayBuffer>, round: p.round, attempt: p.attempt, base: p.base as Uint8Array<ArrayBuffer> }
  }

  private go (to: Phase, out: Effect[]): void {
    assertTransition(this.phase, to)
    out.push({ type: 'phase', from: this.phase, to })
    this.phase = to
  }

  private abort (reason: string, out: Effect[]): Effect[] {
    if (this.phase === Phase.Done || this.phase === Phase.Aborted) return out
    this.abortReason = reason
    this.go(Phase.Aborted, out)
    out.push({ type: 'abort', reason })
    return out
  }

  /**
   * Checks a message against this round before it is accepted (gossip validation). The driver has
   * already checked the signature, task, round and attempt; this checks what depends on round state.
   */
  validate (vm: VerifiedMessage): Verdict {
    const m = vm.message
    const p = this.params
    if (!bytesEqual(m.task, p.task)) return { action: 'reject', reason: 'wrong task' }
    if (m.round !== p.round || m.attempt !== p.attempt) return { action: 'ignore', reason: 'other round' }
    if (!bytesEqual(m.base, p.base)) return { action: 'reject', reason: 'wrong base model' }
    const kinds = [m.join, m.cohort, m.update, m.survivors, m.result, m.shares, m.maskSet, m.ack, m.unmask, m.sliceSum].filter(x => x != null).length
    if (kinds !== 1) return { action: 'reject', reason: `message carries ${kinds} bodies, expected 1` }
    if ((m.shares ?? m.maskSet ?? m.ack ?? m.unmask ?? m.sliceSum) != null && p.secure !== true) return { action: 'reject', reason: 'secure-aggregation message, but secure aggregation is off' }
    if (m.join != null) {
      if (m.join.encPub.byteLength !== 32 || m.join.maskPub.byteLength !== 32) return { action: 'reject', reason: 'join keys must be 32 bytes' }
      if (m.join.addrs.length > MAX_JOIN_ADDRS || m.join.addrs.some(a => a.byteLength === 0 || a.byteLength > MAX_JOIN_ADDR_BYTES)) return { action: 'reject', reason: `join addresses: at most ${MAX_JOIN_ADDRS} of 1..${MAX_JOIN_ADDR_BYTES} bytes` }
      const prev = this.joins.get(vm.authorId)
      if (prev != null) {
        return bytesEqual(prev.encPub, m.join.encPub) && bytesEqual(prev.maskPub, m.join.maskPub)
          ? { action: 'ignore', reason: 'duplicate join' }
          : { action: 'reject', reason: 'second, different join' }
      }
      return { action: 'accept' }
    }
    if (m.cohort != null) return this.validateCohort(vm, m.cohort)
    if (m.update != null) {
      const u = m.update
      if (u.length !== p.modelLength) return { action: 'reject', reason: `update has ${u.length} parameters, model has ${p.modelLength}` }
      const maxWeight = p.secure === true ? (p.weightCap ?? 1e9) : 1e9
      if (!(Number.isFinite(u.weight) && u.weight > 0 && u.weight <= maxWeight)) return { action: 'reject', reason: `update weight ${u.weight} out of range (0, ${maxWeight}]` }
      if (u.blobHash.byteLength !== 32) return { action: 'reject', reason: 'update blob hash must be 32 bytes' }
      if (u.vector.byteLength !== 0 && u.vector.byteLength !== u.length * 4) return { action: 'reject', reason: 'inline vector length does not match' }
      const encoding = p.secure === true ? ENCODING_RING32 : ENCODING_FLOAT32
      if (u.encoding !== encoding) return { action: 'reject', reason: `update encoding ${u.encoding}, expected ${encoding}` }
      if (this.updates.has(vm.authorId) || this.pendingUpdates.has(vm.authorId)) return { action: 'reject', reason: 'duplicate update' }
      if (p.secure === true && this.maskSet != null) {
        if (!this.maskSet.ids.has(vm.authorId)) return { action: 'reject', reason: 'update from a member outside the mask set' }
        if (u.scale !== this.maskSet.scale) return { action: 'reject', reason: `update scale ${u.scale}, expected ${this.maskSet.scale}` }
      }
      if (this.cohort != null) {
        if (!this.cohort.memberIds.has(vm.authorId)) return { action: 'reject', reason: 'update from a non-member' }
        if (!bytesEqual(u.cohortHash, this.cohort.hash)) return { action: 'reject', reason: 'update for another cohort' }
      } else if (!this.joins.has(vm.authorId)) {
        // Before the cohort only joiners can turn out to be members (their join may still be on its way).
        return { action: 'ignore', reason: 'update before the cohort from a peer that did not join' }
      }
      return { action: 'accept' }
    }
    if (m.survivors != null) {
      if (this.lists.size > 0) {
        if (this.lists.has(toHex(survivorsHash(m.survivors, vm.author.toMultihash().bytes)))) return { action: 'ignore', reason: 'duplicate survivor list' }
        // With secure aggregation a second list from the leader is evidence of equivocation: taken (and
        // so relayed) once, it makes every honest member refuse to release shares.
        if (p.secure !== true || this.lists.size > 1 || vm.authorId !== this.cohort?.leader) return { action: 'reject', reason: 'conflicting survivor list' }
      }
      if (this.cohort == null) return { action: 'ignore', reason: 'survivor list before cohort' }
      if (p.secure === true && this.maskSet == null) return { action: 'ignore', reason: 'survivor list before the mask set' }
      if (vm.authorId !== this.cohort.leader) return { action: 'reject', reason: 'survivor list not from the cohort leader' }
      if (!bytesEqual(m.survivors.cohortHash, this.cohort.hash)) return { action: 'reject', reason: 'survivor list for another cohort' }
      const problem = this.entriesProblem(m.survivors.survivors, 'survivor list', 'update hash')
      return problem == null ? { action: 'accept' } : { action: 'reject', reason: problem }
    }
    if (m.shares != null) return this.validateShares(vm, m.shares)
    if (m.maskSet != null) return this.validateMaskSet(vm, m.maskSet)
    if (m.ack != null) {
      if (m.ack.survivorsHash.byteLength !== 32) return { action: 'reject', reason: 'ack hash must be 32 bytes' }
      if (this.cohort != null && !this.cohort.memberIds.has(vm.authorId)) return { action: 'reject', reason: 'ack from a non-member' }
      if (this.acks.get(vm.authorId)?.hashes.has(toHex(m.ack.survivorsHash)) === true) return { action: 'ignore', reason: 'duplicate ack' }
      // A member acking two different lists is evidence of a conflict: it is taken and relayed.
      return { action: 'accept' }
    }
    if (m.unmask != null) return this.validateUnmask(vm, m.unmask)
    if (m.sliceSum != null) return this.validateSliceSum(vm, m.sliceSum)
    // Results are tallied by the driver, which compares them across peers.
    return { action: 'accept' }
  }

  /** The expected threshold of a cohort of n members. */
  threshold (n: number): number {
    const p = this.params
    const floor = Math.min(p.minSurvivors, n)
    if (p.secure !== true) return floor
    const t = (p.secureThreshold ?? 0) > 0 ? Math.min(p.secureThreshold ?? 0, n) : majorityThreshold(n)
    return Math.max(floor, t)
  }

  /** Structure of a Shares bundle against a cohort; undefined when it is well formed. */
  private sharesProblem (authorId: string, sh: SharesMsg, cohort: CohortInfo): string | undefined {
    if (!cohort.memberIds.has(authorId)) return 'shares from a non-member'
    if (!bytesEqual(sh.cohortHash, cohort.hash)) return 'shares for another cohort'
    if (sh.seedCommit.byteLength !== 32) return 'seed commitment must be 32 bytes'
    const others = cohort.members.filter(m => peerKey(m.peer) !== authorId)
    if (sh.bundleHash.byteLength > 0 || sh.boxBytes !== 0) {
      // direct: the boxes stay with the author as one blob; each recipient fetches its own
      if (sh.boxes.length > 0) return 'shares carry both inline boxes and a bundle hash'
      if (sh.bundleHash.byteLength !== 32) return 'bundle hash must be 32 bytes'
      if (sh.boxBytes < MIN_BOX_BYTES || sh.boxBytes > MAX_BOX_BYTES) return 'share box of a bad size'
      return undefined
    }
    if (sh.boxes.length !== others.length) return `shares carry ${sh.boxes.length} boxes for ${others.length} other members`
    for (const box of sh.boxes) {
      if (box.byteLength < MIN_BOX_BYTES || box.byteLength > MAX_BOX_BYTES) return 'share box of a bad size'
    }
    return undefined
  }

  private validateShares (vm: VerifiedMessage, sh: SharesMsg): Verdict {
    const prev = this.shares.get(vm.authorId)
    if (prev != null) {
      // Envelopes are deterministic (Ed25519), so the same bundle is the same envelope.
      return bytesEqual(sha256(vm.bytes), prev.hash)
        ? { action: 'ignore', reason: 'duplicate shares' }
        : { action: 'reject', reason: 'second, different shares bundle' }
    }
    if (this.cohort == null) {
      return this.joins.has(vm.authorId) ? { action: 'accept' } : { action: 'ignore', reason: 'shares before the cohort from a peer that did not join' }
    }
    const problem = this.sharesProblem(vm.authorId, sh, this.cohort)
    return problem == null ? { action: 'accept' } : { action: 'reject', reason: problem }
  }

  private validateMaskSet (vm: VerifiedMessage, ms: MaskSetMsg): Verdict {
    if (this.cohort == null) return { action: 'ignore', reason: 'mask set before the cohort' }
    if (vm.authorId !== this.cohort.leader) return { action: 'reject', reason: 'mask set not from the cohort leader' }
    if (!bytesEqual(ms.cohortHash, this.cohort.hash)) return { action: 'reject', reason: 'mask set for another cohort' }
    if (this.maskSet != null) {
      return sameEntries(this.maskSet.list, ms.members) ? { action: 'ignore', reason: 'duplicate mask set' } : { action: 'reject', reason: 'leader equivocation: second, different mask set' }
    }
    const problem = this.entriesProblem(ms.members, 'mask set', 'shares hash')
    return problem == null ? { action: 'accept' } : { action: 'reject', reason: problem }
  }

  /**
   * The leader's (peer, hash) lists (mask set, survivor list): distinct members of the cohort (and of the
   * mask set, once there is one) in peer order, 32-byte hashes, at least t of them. Undefined when valid.
   */
  private entriesProblem (list: readonly Survivor[], what: string, hashName: string): string | undefined {
    const c = this.cohort
    if (c == null) return `${what} before the cohort`
    for (let i = 0; i < list.length; i++) {
      const id = peerKey(list[i].peer)
      if (!c.memberIds.has(id)) return `${what} names a non-member`
      if (this.maskSet != null && !this.maskSet.ids.has(id)) return `${what} names a member outside the mask set`
      if (list[i].updateHash.byteLength !== 32) return `bad ${hashName} in ${what}`
      if (i > 0 && compareBytes(list[i - 1].peer, list[i].peer) >= 0) return `${what} not sorted or has duplicates`
    }
    if (list.length < c.threshold) return `${what} has ${list.length} < ${c.threshold} members`
    return undefined
  }

  private validateUnmask (vm: VerifiedMessage, u: UnmaskMsg): Verdict {
    if (u.survivorsHash.byteLength !== 32) return { action: 'reject', reason: 'unmask hash must be 32 bytes' }
    if (this.maskSet == null || this.lists.size === 0) return { action: 'ignore', reason: 'unmask before the survivor list' }
    if (!this.maskSet.ids.has(vm.authorId)) return { action: 'reject', reason: 'unmask from a member outside the mask set' }
    const hex = toHex(u.survivorsHash)
    const target = this.lists.get(hex)
    // Shares for a list this peer has not seen: kept as evidence of a conflict (an ack of that list).
    if (target == null) {
      return this.acks.get(vm.authorId)?.hashes.has(hex) === true ? { action: 'ignore', reason: 'duplicate unmask for an unknown list' } : { action: 'accept' }
    }
    if (this.unmasks.get(hex)?.has(vm.authorId) === true || this.unmaskRefs.get(hex)?.has(vm.authorId) === true) return { action: 'ignore', reason: 'duplicate unmask' }
    if (u.sharesHash.byteLength > 0) {
      // Direct: the shares are a blob fetched by this hash (checked when it arrives).
      if (u.sharesHash.byteLength !== 32) return { action: 'reject', reason: 'unmask shares hash must be 32 bytes' }
      if (u.shares.length > 0) return { action: 'reject', reason: 'unmask carries both inline shares and a shares hash' }
      return { action: 'accept' }
    }
    // Positional: one share per mask-set member, its kind set by the list (secure.ts, unmaskEntries).
    if (u.shares.length !== this.maskSet.list.length) {
      return { action: 'reject', reason: `unmask carries ${u.shares.length} shares for a mask set of ${this.maskSet.list.length}` }
    }
    return this.checkShareSlots(u.shares) ?? { action: 'accept' }
  }

  /** An Unmask's shares (inline or from its blob): every slot UNMASK_SHARE_BYTES or empty. */
  private checkShareSlots (shares: readonly Uint8Array[]): Verdict | undefined {
    for (const share of shares) {
      if (share.byteLength !== UNMASK_SHARE_BYTES && share.byteLength !== 0) return { action: 'reject', reason: `unmask share must be ${UNMASK_SHARE_BYTES} bytes (or empty)` }
    }
    return undefined
  }

  /**
   * A slice of the survivors' sum (in-network aggregation): for a survivor list this peer holds, from one
   * of its survivors, with as many slices as survivors. Which of them may compute which slice, and what
   * to do with two different sums of one slice, is the driver's (src/round/slices.ts).
   */
  private validateSliceSum (vm: VerifiedMessage, s: SliceSumMsg): Verdict {
    if (s.survivorsHash.byteLength !== 32 || s.sumHash.byteLength !== 32) return { action: 'reject', reason: 'slice sum hashes must be 32 bytes' }
    const list = this.lists.get(toHex(s.survivorsHash))
    if (list == null) return { action: 'ignore', reason: 'slice sum for a survivor list this peer has not seen' }
    if (s.count !== list.list.length || s.index >= s.count) return { action: 'reject', reason: `slice ${s.index} of ${s.count} for a list of ${list.list.length} survivors` }
    if (!list.list.some(e => peerKey(e.peer) === vm.authorId)) return { action: 'reject', reason: 'slice sum from a peer outside the survivor list' }
    return { action: 'accept' }
  }

  private validateCohort (vm: VerifiedMessage, c: CohortMsg): Verdict {
    const p = this.params
    const n = c.members.length
    if (n === 0 || n > p.cohortSize || n > MAX_COHORT) return { action: 'reject', reason: `cohort of ${n} members (allowed 1..${p.cohortSize})` }
    if (c.threshold !== this.threshold(n) || c.threshold < 1) return { action: 'reject', reason: `cohort threshold ${c.threshold} does not match the task` }
    if (n < p.minSurvivors) return { action: 'reject', reason: `cohort of ${n} is smaller than minSurvivors ${p.minSurvivors}` }
    if (c.rank > p.maxFallbacks) return { action: 'reject', reason: `leader rank ${c.rank} beyond the allowed fallbacks` }
    for (let i = 0; i < n; i++) {
      const m = c.members[i]
      if (m.peer.byteLength === 0 || m.peer.byteLength > 64 || m.encPub.byteLength !== 32 || m.maskPub.byteLength !== 32) return { action: 'reject', reason: 'malformed cohort member' }
      if (i > 0 && compareBytes(c.members[i - 1].peer, m.peer) >= 0) return { action: 'reject', reason: 'cohort members not sorted or duplicated' }
    }
    const hash = toHex(cohortHash(c, vm.author.toMultihash().bytes))
    const prev = this.leaderCohorts.get(vm.authorId)
    if (prev != null && prev !== hash) return { action: 'reject', reason: 'leader equivocation: second, different cohort' }
    if (prev === hash) return { action: 'ignore', reason: 'duplicate cohort' }
    // Only a joiner ranked within the fallbacks may lead (as far as this peer knows the joiners), so
    // the leader cannot be chosen by whoever publishes first.
    const author = this.joins.get(vm.authorId)
    if (author == null) return { action: 'ignore', reason: 'cohort from a peer whose join this peer has not seen' }
    let better = 0
    for (const j of this.joins.values()) if (compareBytes(j.rank, author.rank) < 0) better++
    if (better > p.maxFallbacks) return { action: 'reject', reason: `cohort from the joiner ranked ${better}, beyond the ${p.maxFallbacks} fallbacks` }
    return { action: 'accept' }
  }

  /** Feeds one event at time `now` (ms, the driver's clock); returns the effects to carry out, in order. */
  handle (ev: RoundEvent, now = this.now): Effect[] {
    this.now = now
    const out: Effect[] = []
    if (this.phase === Phase.Aborted || (this.phase === Phase.Done && ev.type !== 'message')) return out
    switch (ev.type) {
      case 'start': return this.onStart(out)
      case 'timer': return this.onTimer(ev.name, out)
      case 'trained':
        this.trained = true
        return this.maybePublishUpdate(out)
      case 'updates-ready':
        if (this.params.secure === true) return this.progress(out)
        if (this.phase === Phase.Survivors && this.survivors != null) {
          this.go(Phase.Aggregate, out)
          out.push({ type: 'aggregate', survivors: this.survivors.list, survivorsHash: this.survivors.hash })
        }
        return out
      case 'aggregated':
        if (this.phase !== Phase.Aggregate || this.survivors == null || this.cohort == null) return out
        this.go(Phase.Done, out)
        out.push({ type: 'clear-timer', name: 'survivors-deadline' })
        out.push({ type: 'done', modelHash: ev.modelHash, survivorsHash: this.survivors.hash, survivors: this.survivors.list.length, cohort: this.cohort.members.length })
        return out
      case 'message': return this.onMessage(ev.message, ev.hash, out)
      case 'box':
        this.boxes.set(ev.peer, ev.opened)
        return this.phase === Phase.Shares ? this.afterShares(out) : out
      case 'unmask-shares':
        return this.onUnmaskShares(ev, out)
    }
  }

  private onStart (out: Effect[]): Effect[] {
    const p = this.params
    this.startedAt = this.now
    if (p.eligible) {
      out.push({ type: 'publish', message: { ...this.header(), join: { encPub: p.encPub as Uint8Array<ArrayBuffer>, maskPub: p.maskPub as Uint8Array<ArrayBuffer>, addrs: (p.addrs ?? []) as Array<Uint8Array<ArrayBuffer>> } } })
    }
    out.push({ type: 'set-timer', name: 'join', ms: p.joinMs })
    out.push({ type: 'set-timer', name: 'cohort-deadline', ms: p.joinMs + (p.maxFallbacks + 1) * p.cohortMs })
    return out
  }

  /** This peer's rank among the joiners it has seen (0 = leader). */
  selfLeaderRank (): number {
    if (!this.joins.has(this.params.selfId)) return Infinity
    let k = 0
    for (const j of this.joins.values()) if (compareBytes(j.rank, this.selfRank) < 0) k++
    return k
  }

  private onTimer (name: TimerName, out: Effect[]): Effect[] {
    const p = this.params
    switch (name) {
      case 'join': {
        const expected = Math.min(p.expectedJoins ?? 0, p.cohortSize)
        if (this.phase === Phase.Join && this.cohort == null && !this.joinExtended && this.joins.size < expected) {
          this.joinExtended = true
          out.push({ type: 'set-timer', name: 'join', ms: p.joinMs })
          out.push({ type: 'set-timer', name: 'cohort-deadline', ms: p.joinMs + (p.maxFallbacks + 1) * p.cohortMs })
          return out
        }
        if (this.phase === Phase.Join) this.go(Phase.Cohort, out)
        if (this.cohort != null) return out
        const k = this.selfLeaderRank()
        if (k <= p.maxFallbacks) out.push({ type: 'set-timer', name: 'leader', ms: k * p.cohortMs })
        return out
      }
      case 'leader': {
        if (this.cohort != null || this.cohortPublished) return out
        return this.publishCohort(this.selfLeaderRank(), out)
      }
      case 'cohort-deadline':
        if (this.cohort == null) return this.abort('no cohort before the deadline', out)
        return out
      case 'shares-deadline':
        if (this.phase === Phase.Shares && this.isLeader) return this.publishMaskSet(out)
        return out
      case 'update-deadline':
      case 'straggler':
        if (this.phase !== Phase.Update) return out
        if (this.isLeader) return this.publishSurvivors(out)
        return name === 'straggler' ? this.expectSurvivors(out) : out
      case 'survivors-deadline':
        if (this.phase !== Phase.Done) return this.abort(this.stuckReason(), out)
        return out
      case 'spare-unmask': {
        const held = this.spareRelease
        if (held == null || (this.phase !== Phase.Survivors && this.phase !== Phase.Unmask)) return out
        // not after a conflict (what was released for is no longer the only list), nor when not needed
        if (this.guard?.conflicted === true || this.shortestSecret(held.hash).shares >= (this.cohort?.threshold ?? 0)) return out
        this.spareRelease = undefined
        out.push({ type: 'publish-unmask', survivorsHash: held.hash, release: held.release, maskSet: held.maskSet })
        return out
      }
    }
  }

  /**
   * This member's place among the mask set for survivor list `hash`, ordered by sha256(hash || peer):
   * the first `unmaskersWanted` unmask at once, the rest only if needed.
   */
  private unmaskRank (hash: Uint8Array): number {
    const key = (peer: Uint8Array): Uint8Array => sha256(hash, peer)
    const mine = key(this.params.self)
    let rank = 0
    for (const e of this.maskSet?.list ?? []) if (!bytesEqual(e.peer, this.params.self) && compareBytes(key(e.peer), mine) < 0) rank++
    return rank
  }

  private publishCohort (rank: number, out: Effect[]): Effect[] {
    const p = this.params
    const picked = [...this.joins.values()]
      .sort((a, b) => compareBytes(a.rank, b.rank))
      .slice(0, p.cohortSize)
      .sort((a, b) => compareBytes(a.peer, b.peer))
    if (picked.length < p.minSurvivors) {
      // Not enough joiners: let the deadline abort the attempt; a later attempt may see more.
      return out
    }
    this.cohortPublished = true
    const cohort: CohortMsg = {
      rank,
      threshold: this.threshold(picked.length),
      members: picked.map(j => ({ peer: j.peer as Uint8Array<ArrayBuffer>, encPub: j.encPub as Uint8Array<ArrayBuffer>, maskPub: j.maskPub as Uint8Array<ArrayBuffer> }))
    }
    out.push({ type: 'publish', message: { ...this.header(), cohort } })
    return out
  }

  private onMessage (vm: VerifiedMessage, hash: Uint8Array, out: Effect[]): Effect[] {
    const m = vm.message
    if (m.join != null) {
      if (this.joins.has(vm.authorId)) return out
      const peer = vm.author.toMultihash().bytes
      this.joins.set(vm.authorId, {
        peer,
        id: vm.authorId,
        rank: rankKey(this.params.base, this.params.round, this.params.attempt, peer),
        encPub: m.join.encPub,
        maskPub: m.join.maskPub
      })
      return out
    }
    if (m.cohort != null) return this.onCohort(vm, m.cohort, out)
    if (m.update != null) {
      const info = { peer: vm.author.toMultihash().bytes, hash }
      const secure = this.params.secure === true
      if (this.cohort == null || (secure && this.maskSet == null)) {
        this.pendingUpdates.set(vm.authorId, { info, cohortHash: m.update.cohortHash, scale: m.update.scale })
        return out
      }
      if (!bytesEqual(m.update.cohortHash, this.cohort.hash) || !this.cohort.memberIds.has(vm.authorId)) return out
      if (secure && this.maskSet?.ids.has(vm.authorId) !== true) return out
      this.updates.set(vm.authorId, info)
      if (secure) return this.phase === Phase.Update ? this.afterUpdate(out) : this.progress(out)
      if (this.phase === Phase.Survivors && this.missingUpdates().length === 0) return this.handleInto(out, { type: 'updates-ready' })
      return this.afterUpdate(out)
    }
    if (m.survivors != null) return this.onSurvivors(vm, m.survivors, out)
    if (m.shares != null) {
      const info = { peer: vm.author.toMultihash().bytes, hash, shares: m.shares }
      this.shares.set(vm.authorId, info)
      if (this.cohort == null) return out // checked when this peer commits to a cohort
      this.openShares(info, out)
      return this.afterShares(out)
    }
    if (m.maskSet != null) return this.onMaskSet(m.maskSet, out)
    if (m.ack != null) {
      this.recordAck(vm, m.ack.survivorsHash)
      return this.progress(out)
    }
    if (m.unmask != null) {
      // Shares for a list imply an ack of it (and, for another list than ours, evidence of a conflict).
      const hex = toHex(m.unmask.survivorsHash)
      if (this.lists.has(hex) && m.unmask.sharesHash.byteLength === 0) {
        this.takeUnmask(hex, vm.authorId, vm.author.toMultihash().bytes, m.unmask.shares)
      } else if (this.lists.has(hex) && this.unmaskRefs.get(hex)?.has(vm.authorId) !== true) {
        // Direct: counted once its blob is here ('unmask-shares').
        let refs = this.unmaskRefs.get(hex)
        if (refs == null) { refs = new Map(); this.unmaskRefs.set(hex, refs) }
        refs.set(vm.authorId, vm.author.toMultihash().bytes)
        out.push({ type: 'fetch-unmask', peer: vm.authorId, survivorsHash: m.unmask.survivorsHash, sharesHash: m.unmask.sharesHash })
      }
      this.recordAck(vm, m.unmask.survivorsHash)
      return this.progress(out)
    }
    return out
  }

  private takeUnmask (hex: string, authorId: string, from: Uint8Array, shares: readonly Uint8Array[]): void {
    let byAuthor = this.unmasks.get(hex)
    if (byAuthor == null) { byAuthor = new Map(); this.unmasks.set(hex, byAuthor) }
    byAuthor.set(authorId, { from, shares })
  }

  /** A direct Unmask's shares arrived: counted like inline ones if they fit the mask set. */
  private onUnmaskShares (ev: { peer: string, survivorsHash: Uint8Array, shares: Uint8Array[] }, out: Effect[]): Effect[] {
    const hex = toHex(ev.survivorsHash)
    const from = this.unmaskRefs.get(hex)?.get(ev.peer)
    if (from == null || this.maskSet == null || this.unmasks.get(hex)?.has(ev.peer) === true) return out
    if (ev.shares.length !== this.maskSet.list.length || this.checkShareSlots(ev.shares) != null) {
      out.push({ type: 'penalize', peer: ev.peer, reason: `its unmask blob does not fit a mask set of ${this.maskSet.list.length}` })
      return out
    }
    this.takeUnmask(hex, ev.peer, from, ev.shares)
    return this.progress(out)
  }

  private recordAck (vm: VerifiedMessage, hash: Uint8Array): void {
    let a = this.acks.get(vm.authorId)
    if (a == null) { a = { peer: vm.author.toMultihash().bytes, hashes: new Set() }; this.acks.set(vm.authorId, a) }
    a.hashes.add(toHex(hash))
    this.guard?.recordAck(a.peer, hash)
  }

  /** Opens this member's box in a bundle of the committed cohort (the driver does the crypto). */
  private openShares (info: SharesInfo, out: Effect[]): void {
    if (!this.isMember || this.cohort == null) return
    const from = this.cohort.members.find(mb => bytesEqual(mb.peer, info.peer))
    if (from != null && !bytesEqual(info.peer, this.params.self)) out.push({ type: 'open-shares', from, shares: info.shares, members: this.cohort.members })
  }

  /**
   * The leader fixes the mask set once every member's bundle is in and, for bundles kept by their author
   * (direct shares), its own box fetches from them have settled.
   */
  private afterShares (out: Effect[]): Effect[] {
    if (this.cohort == null) return out
    if (this.phase === Phase.Shares) {
      if (!this.isLeader || this.shares.size < this.cohort.members.length) return out
      const settled = [...this.shares.entries()].every(([id, e]) => !this.direct(e) || this.boxes.has(id))
      return settled ? this.publishMaskSet(out) : out
    }
    return this.progress(out)
  }

  /** Whether `e` is another member's bundle kept by its author (direct shares). */
  private direct (e: SharesInfo): boolean {
    return e.shares.bundleHash.byteLength > 0 && !bytesEqual(e.peer, this.params.self)
  }

  private publishMaskSet (out: Effect[]): Effect[] {
    if (this.maskSetPublished || this.cohort == null) return out
    // Direct shares: a member whose box the leader could not fetch (crashed after publishing its
    // Shares, or not serving them) is left out of the mask set, so nobody masks with it. At the
    // deadline a fetch still under way does not count against its author (a busy peer is not a dead one).
    const list = [...this.shares.entries()]
      .filter(([id, e]) => !this.direct(e) || this.boxes.get(id) !== false)
      .map(([, e]) => e)
      .sort((a, b) => compareBytes(a.peer, b.peer))
      .map(e => ({ peer: e.peer as Uint8Array<ArrayBuffer>, updateHash: e.hash as Uint8Array<ArrayBuffer> }))
    if (list.length < this.cohort.threshold) {
      return this.abort(`only ${list.length} of ${this.cohort.members.length} members shared their keys (need ${this.cohort.threshold})`, out)
    }
    this.maskSetPublished = true
    out.push({ type: 'clear-timer', name: 'shares-deadline' })
    out.push({ type: 'publish', message: { ...this.header(), maskSet: { cohortHash: this.cohort.hash as Uint8Array<ArrayBuffer>, members: list } } })
    return out
  }

  private onMaskSet (ms: MaskSetMsg, out: Effect[]): Effect[] {
    const c = this.cohort
    if (this.maskSet != null || c == null || this.phase !== Phase.Shares) return out
    const p = this.params
    const members: Member[] = []
    for (const e of ms.members) {
      const m = c.members.find(mb => bytesEqual(mb.peer, e.peer))
      if (m == null) return out
      members.push(m)
    }
    const noise = (p.dpNoise ?? 0) > 0 ? { sigma: p.dpNoise ?? 0, threshold: c.threshold } : undefined
    this.maskSet = { list: ms.members, members, ids: new Set(members.map(m => peerKey(m.peer))), scale: ringScale(p.clipNorm ?? 1, members.length, noise) }
    this.guard = new UnmaskGuard({ cohort: members.map(m => m.peer), threshold: c.threshold, listAuthor: c.members.find(m => peerKey(m.peer) === c.leader)?.peer ?? leaderBytes(c.leader) })
    for (const a of this.acks.values()) for (const h of a.hashes) this.guard.recordAck(a.peer, h)
    this.go(Phase.Update, out)
    out.push({ type: 'clear-timer', name: 'shares-deadline' })
    out.push({ type: 'set-timer', name: 'survivors-deadline', ms: p.updateMs + p.survivorsMs })
    if (this.isLeader) out.push({ type: 'set-timer', name: 'update-deadline', ms: p.updateMs })
    this.takePending(c)
    const missing = this.missingShares()
    if (missing.length > 0) out.push({ type: 'fetch-updates', updates: missing })
    this.maybePublishUpdate(out)
    return this.afterUpdate(out)
  }

  /** Updates that arrived before this peer could check them (no cohort, or no mask set yet). */
  private takePending (c: CohortInfo): void {
    for (const [id, pu] of this.pendingUpdates) {
      if (!c.memberIds.has(id) || !bytesEqual(pu.cohortHash, c.hash)) continue
      if (this.params.secure === true && (this.maskSet?.ids.has(id) !== true || pu.scale !== this.maskSet.scale)) continue
      this.updates.set(id, pu.info)
    }
    this.pendingUpdates.clear()
  }

  /** Shows a survivor list to the guard: U2 as survivors, the rest of the mask set as dropped. */
  private recordList (entry: { list: Survivor[], hash: Uint8Array }): void {
    if (this.guard == null || this.maskSet == null) return
    const ids = new Set(entry.list.map(e => peerKey(e.peer)))
    this.guard.recordSurvivorList(entry.hash, entry.list.map(e => e.peer), this.maskSet.members.filter(m => !ids.has(peerKey(m.peer))).map(m => m.peer))
  }

  /**
   * Secure aggregation after the survivor list: ack the first list this member saw once it holds every
   * bundle of the mask set, release shares when the guard allows, and aggregate the list that t members
   * unmasked. A conflict (two lists) stops this member's own release but not the aggregation of a list
   * whose sum is already public: aborting then would only let a later attempt expose a second sum of the
   * same updates, and leave peers with different models.
   */
  private progress (out: Effect[]): Effect[] {
    const first = this.firstList
    const ms = this.maskSet
    const guard = this.guard
    const c = this.cohort
    if (this.params.secure !== true || first == null || ms == null || guard == null || c == null) return out
    if (this.phase !== Phase.Survivors && this.phase !== Phase.Unmask) return out
    const bundles = this.missingShares().length === 0
    const inMaskSet = ms.ids.has(this.params.selfId)
    if (inMaskSet && bundles && !this.acked && !guard.conflicted) {
      this.acked = true
      out.push({ type: 'publish', message: { ...this.header(), ack: { survivorsHash: first.hash as Uint8Array<ArrayBuffer> } } })
    }
    if (inMaskSet && this.acked && !this.released && this.refused == null) {
      const d = guard.release(first.hash)
      if (d.ok) {
        this.released = true
        const release = { survivorsHash: first.hash, release: d, maskSet: ms.list.map(e => e.peer) }
        if (this.unmaskRank(first.hash) < unmaskersWanted(c.threshold, ms.list.length)) {
          out.push({ type: 'publish-unmask', ...release })
        } else {
          // Enough members ahead of this one unmask at once; it stands by in case some of them are gone
          // or hold too few shares (every Unmask is gossiped to every peer: O(n²) bytes in all).
          this.spareRelease = { hash: first.hash, release: d, maskSet: release.maskSet }
          out.push({ type: 'set-timer', name: 'spare-unmask', ms: Math.max(SPARE_UNMASK_MIN_MS, Math.round(this.params.survivorsMs * SPARE_UNMASK_FRACTION)) })
        }
      } else if (d.reasons.some(r => r.code !== 'not-enough-acks')) {
        this.refused = d.reasons.filter(r => r.code !== 'not-enough-acks').map(r => r.message).join('; ')
      }
    }
    if (guard.conflicted && this.refused == null) this.refused = 'conflicting survivor lists for this cohort'
    // The list t members unmasked (honest members release for one list at most: see UnmaskGuard).
    const exposed = [...this.lists.values()].find(l => (this.unmasks.get(toHex(l.hash))?.size ?? 0) >= c.threshold)
    if (exposed != null && this.survivors != null && !bytesEqual(exposed.hash, this.survivors.hash)) {
      this.survivors = exposed
      const missing = this.missingUpdates()
      if (missing.length > 0) out.push({ type: 'fetch-updates', updates: missing })
    }
    const ready = bundles && this.missingUpdates().length === 0
    if (this.phase === Phase.Survivors && ready) this.go(Phase.Unmask, out)
    // t Unmask messages can still lack t shares of some secret (a member that could not get a box leaves
    // its slot empty): wait for more until every secret of the list can be rebuilt.
    if (this.phase === Phase.Unmask && ready && exposed != null && this.survivors != null && this.shortestSecret(this.survivors.hash).shares >= c.threshold) {
      this.go(Phase.Aggregate, out)
      const seedCommits = new Map<string, Uint8Array>()
      for (const e of this.shares.values()) seedCommits.set(toHex(e.peer), e.shares.seedCommit)
      out.push({
        type: 'aggregate',
        survivors: this.survivors.list,
        survivorsHash: this.survivors.hash,
        secure: { threshold: c.threshold, maskSet: ms.members, unmasks: [...(this.unmasks.get(toHex(this.survivors.hash))?.values() ?? [])], seedCommits, scale: ms.scale }
      })
    }
    return out
  }

  /** The mask-set member whose secret (for survivor list `hash`) the fewest Unmask messages carry a share of. */
  private shortestSecret (hash: Uint8Array): { index: number, shares: number } {
    const unmasks = [...(this.unmasks.get(toHex(hash))?.values() ?? [])]
    let least = { index: -1, shares: Infinity }
    const n = this.maskSet?.list.length ?? 0
    for (let k = 0; k < n; k++) {
      let count = 0
      for (const u of unmasks) if ((u.shares[k]?.byteLength ?? 0) > 0) count++
      if (count < least.shares) least = { index: k, shares: count }
    }
    return least
  }

  /** Why an attempt that ran out of time did not complete. */
  private stuckReason (): string {
    if (this.params.secure === true) {
      if (this.maskSet == null) return 'no mask set before the deadline'
      if (this.survivors == null) return 'no survivor list before the deadline'
      if (this.missingShares().length > 0) return `${this.missingShares().length} key-share bundle(s) of the mask set could not be found`
      if (this.missingUpdates().length > 0) return 'could not gather the survivors\' updates'
      const got = this.unmasks.get(toHex(this.survivors.hash))?.size ?? 0
      const least = this.shortestSecret(this.survivors.hash)
      if (got >= (this.cohort?.threshold ?? 0) && least.shares < (this.cohort?.threshold ?? 0)) {
        return `${got} members' shares in, but only ${least.shares} of them hold a share of the secret of ${peerKey(this.maskSet.list[least.index].peer)} (need ${this.cohort?.threshold ?? 0})`
      }
      if (this.phase === Phase.Aggregate) return `the survivors' sum was not computed before the deadline (${got} members' shares in)`
      const unfetched = [...(this.unmaskRefs.get(toHex(this.survivors.hash))?.keys() ?? [])].filter(id => this.unmasks.get(toHex(this.survivors!.hash))?.has(id) !== true).length
      return `${this.guard?.conflicted === true ? 'conflicting survivor lists for this cohort: ' : ''}only ${got} of the ${this.cohort?.threshold ?? 0} members' shares needed to unmask arrived${unfetched > 0 ? ` (${unfetched} more announced, their shares blob not fetched)` : ''}${this.refused != null ? ` (this member refused to unmask: ${this.refused})` : ''}`
    }
    return this.survivors == null ? 'no survivor list before the deadline' : 'could not gather the survivors\' updates'
  }

  private onCohort (vm: VerifiedMessage, c: CohortMsg, out: Effect[]): Effect[] {
    const leaderBytes = vm.author.toMultihash().bytes
    const hash = cohortHash(c, leaderBytes)
    const hex = toHex(hash)
    const prev = this.leaderCohorts.get(vm.authorId)
    if (prev != null && prev !== hex) {
      out.push({ type: 'penalize', peer: vm.authorId, reason: 'leader equivocation' })
      if (this.cohort?.leader === vm.authorId) return this.abort('leader equivocated', out)
      return out
    }
    this.leaderCohorts.set(vm.authorId, hex)
    if (this.cohort != null) return out // committed to one cohort per round
    const memberIds = new Set(c.members.map(m => peerKey(m.peer)))
    if (memberIds.has(this.params.selfId)) {
      // The cohort must carry exactly the keys this peer announced.
      const mine = c.members.find(m => peerKey(m.peer) === this.params.selfId)
      if (mine == null || !bytesEqual(mine.encPub, this.params.encPub) || !bytesEqual(mine.maskPub, this.params.maskPub)) {
        out.push({ type: 'penalize', peer: vm.authorId, reason: 'cohort misstates this peer\'s keys' })
        return out
      }
    }
    this.cohort = { leader: vm.authorId, rank: c.rank, members: c.members, memberIds, hash, threshold: c.threshold }
    out.push({ type: 'clear-timer', name: 'leader' })
    out.push({ type: 'clear-timer', name: 'cohort-deadline' })
    if (this.params.secure === true) return this.commitSecure(this.cohort, out)
    this.go(Phase.Update, out)
    out.push({ type: 'set-timer', name: 'survivors-deadline', ms: this.params.updateMs + this.params.survivorsMs })
    if (this.isLeader) out.push({ type: 'set-timer', name: 'update-deadline', ms: this.params.updateMs })
    this.takePending(this.cohort)
    this.maybePublishUpdate(out)
    return this.afterUpdate(out)
  }

  /** Secure aggregation: committed to a cohort, members share their keys and the leader collects. */
  private commitSecure (c: CohortInfo, out: Effect[]): Effect[] {
    const p = this.params
    this.go(Phase.Shares, out)
    out.push({ type: 'set-timer', name: 'survivors-deadline', ms: 2 * p.cohortMs + p.survivorsMs })
    if (this.isLeader) out.push({ type: 'set-timer', name: 'shares-deadline', ms: p.cohortMs })
    if (this.isMember) out.push({ type: 'publish-shares', cohortHash: c.hash, members: c.members, threshold: c.threshold })
    for (const [id, info] of [...this.shares]) {
      const problem = this.sharesProblem(id, info.shares, c)
      if (problem != null) {
        this.shares.delete(id)
        out.push({ type: 'penalize', peer: id, reason: problem })
        continue
      }
      this.openShares(info, out)
    }
    return this.afterShares(out)
  }

  private maybePublishUpdate (out: Effect[]): Effect[] {
    if (!this.trained || this.updatePublished || this.cohort == null || !this.isMember || this.phase !== Phase.Update) return out
    if (this.params.secure === true) {
      if (this.maskSet == null || !this.maskSet.ids.has(this.params.selfId)) return out
      this.updatePublished = true
      out.push({ type: 'publish-update', cohortHash: this.cohort.hash, maskSet: this.maskSet.members, scale: this.maskSet.scale })
      return out
    }
    this.updatePublished = true
    out.push({ type: 'publish-update', cohortHash: this.cohort.hash })
    return out
  }

  /**
   * After each update: the leader fixes the survivor list once every member's update is in, or when the
   * stragglers' time is up. Every other peer runs the same clock on what it sees, and from then on gives
   * the leader `survivorsMs` to publish the list: a leader that died after the cohort costs one short
   * timeout, not the whole update window.
   */
  private afterUpdate (out: Effect[]): Effect[] {
    if (this.cohort == null || this.phase !== Phase.Update) return out
    if (this.params.secure === true && this.maskSet == null) return out
    const n = this.maskSet?.members.length ?? this.cohort.members.length
    if (this.updates.size >= n) {
      if (this.isLeader) return this.publishSurvivors(out)
      return this.expectSurvivors(out)
    }
    if (!this.stragglerArmed && this.updates.size >= Math.max(this.cohort.threshold, Math.ceil(n * STRAGGLER_QUORUM))) {
      this.stragglerArmed = true
      out.push({ type: 'set-timer', name: 'straggler', ms: Math.max(STRAGGLER_MIN_MS, (this.now - this.startedAt) * STRAGGLER_FACTOR) })
    }
    return out
  }

  /** A non-leader's view: the survivor list is due now; wait at most `survivorsMs` for it. */
  private expectSurvivors (out: Effect[]): Effect[] {
    if (this.survivorsExpected) return out
    this.survivorsExpected = true
    out.push({ type: 'clear-timer', name: 'straggler' })
    out.push({ type: 'set-timer', name: 'survivors-deadline', ms: this.params.survivorsMs })
    return out
  }

  private publishSurvivors (out: Effect[]): Effect[] {
    if (this.survivorsPublished || this.cohort == null) return out
    const list = [...this.updates.values()]
      .sort((a, b) => compareBytes(a.peer, b.peer))
      .map(u => ({ peer: u.peer as Uint8Array<ArrayBuffer>, updateHash: u.hash as Uint8Array<ArrayBuffer> }))
    if (list.length < this.cohort.threshold) {
      return this.abort(`only ${list.length} of ${this.maskSet?.members.length ?? this.cohort.members.length} updates arrived (need ${this.cohort.threshold})`, out)
    }
    this.survivorsPublished = true
    out.push({ type: 'clear-timer', name: 'update-deadline' })
    out.push({ type: 'clear-timer', name: 'straggler' })
    out.push({ type: 'publish', message: { ...this.header(), survivors: { cohortHash: this.cohort.hash as Uint8Array<ArrayBuffer>, survivors: list } } })
    return out
  }

  private onSurvivors (vm: VerifiedMessage, s: SurvivorsMsg, out: Effect[]): Effect[] {
    const hash = survivorsHash(s, vm.author.toMultihash().bytes)
    const entry = { list: s.survivors, hash }
    if (this.params.secure === true && this.firstList != null && this.guard != null && this.maskSet != null) {
      // A second list from the leader: the guard refuses from now on; whichever list t members unmasked
      // (at most one can get honest members' shares) is still what the round aggregates.
      if (this.lists.has(toHex(hash))) return out
      this.lists.set(toHex(hash), entry)
      this.recordList(entry)
      out.push({ type: 'penalize', peer: vm.authorId, reason: 'leader equivocation: second, different survivor list' })
      return this.progress(out)
    }
    if (this.survivors != null || this.cohort == null || this.phase !== Phase.Update) return out
    this.survivors = entry
    this.lists.set(toHex(hash), entry)
    this.go(Phase.Survivors, out)
    if (this.params.secure === true && this.guard != null && this.maskSet != null) {
      this.firstList = entry
      this.recordList(entry)
      out.push({ type: 'set-timer', name: 'survivors-deadline', ms: 2 * this.params.survivorsMs })
      const missing = [...this.missingUpdates(), ...this.missingShares()]
      if (missing.length > 0) out.push({ type: 'fetch-updates', updates: missing })
      return this.progress(out)
    }
    const missing = this.missingUpdates()
    if (missing.length > 0) {
      out.push({ type: 'fetch-updates', updates: missing })
      return out
    }
    return this.handleInto(out, { type: 'updates-ready' })
  }

  /** Mask-set entries whose Shares bundle this peer does not hold (or holds a different one of). */
  missingShares (): Survivor[] {
    return (this.maskSet?.list ?? []).filter(e => {
      const sh = this.shares.get(peerKey(e.peer))
      return sh == null || !bytesEqual(sh.hash, e.updateHash)
    })
  }

  /** Messages this peer still has to gather for the attempt: updates named by the survivor list, bundles of the mask set. */
  missingMessages (): Survivor[] {
    return [...this.missingUpdates(), ...this.missingShares()]
  }

  /** Survivor entries whose update this peer does not hold (or holds a different one of). */
  missingUpdates (): Survivor[] {
    return (this.survivors?.list ?? []).filter(e => {
      const u = this.updates.get(peerKey(e.peer))
      return u == null || !bytesEqual(u.hash, e.updateHash)
    })
  }

  private handleInto (out: Effect[], ev: RoundEvent): Effect[] {
    out.push(...this.handle(ev))
    return out
  }
}

/** PeerId bytes of a PeerId string. */
function leaderBytes (id: string): Uint8Array {
  return peerIdFromString(id).toMultihash().bytes
}

function sameEntries (a: readonly Survivor[], b: readonly Survivor[]): boolean {
  return a.length === b.length && a.every((e, i) => bytesEqual(e.peer, b[i].peer) && bytesEqual(e.updateHash, b[i].updateHash))
}

/** Longest PeerId (multihash bytes) taken as one: Ed25519 ids are 38 bytes, sha256-hashed ones 34. */
const MAX_PEER_ID_BYTES = 64

/** PeerId string of PeerId multihash bytes, memoized: survivor and member lists carry raw bytes. */
const keyCache = new Map<string, string>()
export function peerKey (bytes: Uint8Array): string {
  // A PeerId multihash is short; anything longer is invalid and never cached (a rejected message must not
  // leave megabytes behind; found by test/fuzz).
  if (bytes.byteLength > MAX_PEER_ID_BYTES) return `invalid:${toHex(bytes.subarray(0, 16))}…(${bytes.byteLength} bytes)`
  const hex = toHex(bytes)
  let id = keyCache.get(hex)
  if (id == null) {
    try {
      id = peerIdFromMultihash(Digest.decode(bytes)).toString()
    } catch {
      id = `invalid:${hex}`
    }
    if (keyCache.size > 10000) keyCache.clear()
    keyCache.set(hex, id)
  }
  return id
}
