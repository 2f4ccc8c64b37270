/**
 * The round state machine: one attempt of one round, as seen by one peer. It does no I/O and reads no
 * clock: the driver feeds it events (start, verified messages, fired timers, local results) and carries
 * out the effects it returns (publish, set timers, fetch, aggregate). Every peer runs the same machine,
 * so the rules for leaders, fallbacks, cohorts and survivor lists live here and nowhere else.
 *
 * Leader rule: rank(p) = sha256(base || round || attempt || peerIdBytes); the joiner with the smallest
 * rank leads, the k-th smallest takes over after k * cohortMs if no cohort has appeared.
 */
import { peerIdFromMultihash } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { Phase, assertTransition } from './phases.ts'
import { bytesEqual, compareBytes, sha256, toHex } from '../wire/hash.ts'
import { RoundMessage, Cohort as CohortMsg, Survivors as SurvivorsMsg } from '../wire/messages.ts'
import type { Member, Survivor } from '../wire/messages.ts'
import { MAX_COHORT } from '../wire/constants.ts'
import type { VerifiedMessage } from '../wire/envelope.ts'

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
  /** Fresh per-round public keys for the Join (used by secure aggregation). */
  encPub: Uint8Array
  maskPub: Uint8Array
}

export type Verdict = { action: 'accept' } | { action: 'ignore' | 'reject', reason: string }

export type Effect =
  | { type: 'publish', message: RoundMessage }
  /** Publish this peer's update for the given cohort (the driver holds the vector). */
  | { type: 'publish-update', cohortHash: Uint8Array }
  | { type: 'set-timer', name: TimerName, ms: number }
  | { type: 'clear-timer', name: TimerName }
  /** Gather these updates (by envelope hash) from peers; answer with `updates-ready` or let the timer run out. */
  | { type: 'fetch-updates', updates: Survivor[] }
  /** All named updates are held: compute M[r] from them. */
  | { type: 'aggregate', survivors: Survivor[], survivorsHash: Uint8Array }
  | { type: 'done', modelHash: Uint8Array, survivorsHash: Uint8Array, survivors: number, cohort: number }
  | { type: 'abort', reason: string }
  | { type: 'phase', from: Phase, to: Phase }
  | { type: 'penalize', peer: string, reason: string }

export type TimerName = 'join' | 'leader' | 'cohort-deadline' | 'update-deadline' | 'straggler' | 'survivors-deadline'

export type RoundEvent =
  | { type: 'start' }
  | { type: 'message', message: VerifiedMessage, hash: Uint8Array }
  | { type: 'timer', name: TimerName }
  /** Local training is done: this peer has an update to publish. */
  | { type: 'trained' }
  /** The driver holds every update named by the survivor list. */
  | { type: 'updates-ready' }
  | { type: 'aggregated', modelHash: Uint8Array }

interface JoinInfo { peer: Uint8Array, id: string, rank: Uint8Array, encPub: Uint8Array, maskPub: Uint8Array }
interface CohortInfo { leader: string, rank: number, members: Member[], memberIds: Set<string>, hash: Uint8Array, threshold: number }
interface UpdateInfo { peer: Uint8Array, hash: Uint8Array }

/** Fraction of the cohort whose updates start the straggler clock. */
const STRAGGLER_QUORUM = 0.5
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
  private readonly pendingUpdates = new Map<string, { info: UpdateInfo, cohortHash: Uint8Array }>()
  survivors?: { list: Survivor[], hash: Uint8Array }
  abortReason?: string
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
    const kinds = [m.join, m.cohort, m.update, m.survivors, m.result].filter(x => x != null).length
    if (kinds !== 1) return { action: 'reject', reason: `message carries ${kinds} bodies, expected 1` }
    if (m.join != null) {
      if (m.join.encPub.byteLength !== 32 || m.join.maskPub.byteLength !== 32) return { action: 'reject', reason: 'join keys must be 32 bytes' }
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
      if (!(Number.isFinite(u.weight) && u.weight > 0 && u.weight <= 1e9)) return { action: 'reject', reason: `update weight ${u.weight} out of range` }
      if (u.blobHash.byteLength !== 32) return { action: 'reject', reason: 'update blob hash must be 32 bytes' }
      if (u.vector.byteLength !== 0 && u.vector.byteLength !== u.length * 4) return { action: 'reject', reason: 'inline vector length does not match' }
      if (this.updates.has(vm.authorId) || this.pendingUpdates.has(vm.authorId)) return { action: 'reject', reason: 'duplicate update' }
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
      if (this.survivors != null) {
        return bytesEqual(this.survivors.hash, survivorsHash(m.survivors, vm.author.toMultihash().bytes))
          ? { action: 'ignore', reason: 'duplicate survivor list' }
          : { action: 'reject', reason: 'conflicting survivor list' }
      }
      if (this.cohort == null) return { action: 'ignore', reason: 'survivor list before cohort' }
      if (vm.authorId !== this.cohort.leader) return { action: 'reject', reason: 'survivor list not from the cohort leader' }
      if (!bytesEqual(m.survivors.cohortHash, this.cohort.hash)) return { action: 'reject', reason: 'survivor list for another cohort' }
      const list = m.survivors.survivors
      for (let i = 0; i < list.length; i++) {
        if (!this.cohort.memberIds.has(peerKey(list[i].peer))) return { action: 'reject', reason: 'survivor list names a non-member' }
        if (list[i].updateHash.byteLength !== 32) return { action: 'reject', reason: 'bad update hash in survivor list' }
        if (i > 0 && compareBytes(list[i - 1].peer, list[i].peer) >= 0) return { action: 'reject', reason: 'survivor list not sorted or has duplicates' }
      }
      if (list.length < this.cohort.threshold) return { action: 'reject', reason: `survivor list has ${list.length} < ${this.cohort.threshold} members` }
      return { action: 'accept' }
    }
    // Results are tallied by the driver, which compares them across peers.
    return { action: 'accept' }
  }

  private validateCohort (vm: VerifiedMessage, c: CohortMsg): Verdict {
    const p = this.params
    const n = c.members.length
    if (n === 0 || n > p.cohortSize || n > MAX_COHORT) return { action: 'reject', reason: `cohort of ${n} members (allowed 1..${p.cohortSize})` }
    if (c.threshold !== Math.min(p.minSurvivors, n) || c.threshold < 1) return { action: 'reject', reason: `cohort threshold ${c.threshold} does not match the task` }
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
    }
  }

  private onStart (out: Effect[]): Effect[] {
    const p = this.params
    this.startedAt = this.now
    if (p.eligible) {
      out.push({ type: 'publish', message: { ...this.header(), join: { encPub: p.encPub as Uint8Array<ArrayBuffer>, maskPub: p.maskPub as Uint8Array<ArrayBuffer> } } })
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
      case 'update-deadline':
      case 'straggler':
        if (this.phase !== Phase.Update) return out
        if (this.isLeader) return this.publishSurvivors(out)
        return name === 'straggler' ? this.expectSurvivors(out) : out
      case 'survivors-deadline':
        if (this.phase !== Phase.Done) {
          return this.abort(this.survivors == null ? 'no survivor list before the deadline' : 'could not gather the survivors\' updates', out)
        }
        return out
    }
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
      threshold: Math.min(p.minSurvivors, picked.length),
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
      if (this.cohort == null) {
        this.pendingUpdates.set(vm.authorId, { info, cohortHash: m.update.cohortHash })
        return out
      }
      if (!bytesEqual(m.update.cohortHash, this.cohort.hash) || !this.cohort.memberIds.has(vm.authorId)) return out
      this.updates.set(vm.authorId, info)
      if (this.phase === Phase.Survivors && this.missingUpdates().length === 0) return this.handleInto(out, { type: 'updates-ready' })
      return this.afterUpdate(out)
    }
    if (m.survivors != null) return this.onSurvivors(vm, m.survivors, out)
    return out
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
    this.go(Phase.Update, out)
    out.push({ type: 'set-timer', name: 'survivors-deadline', ms: this.params.updateMs + this.params.survivorsMs })
    if (this.isLeader) out.push({ type: 'set-timer', name: 'update-deadline', ms: this.params.updateMs })
    for (const [id, pu] of this.pendingUpdates) {
      if (memberIds.has(id) && bytesEqual(pu.cohortHash, hash)) this.updates.set(id, pu.info)
    }
    this.pendingUpdates.clear()
    this.maybePublishUpdate(out)
    return this.afterUpdate(out)
  }

  private maybePublishUpdate (out: Effect[]): Effect[] {
    if (this.trained && !this.updatePublished && this.cohort != null && this.isMember && this.phase === Phase.Update) {
      this.updatePublished = true
      out.push({ type: 'publish-update', cohortHash: this.cohort.hash })
    }
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
    const n = this.cohort.members.length
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
      return this.abort(`only ${list.length} of ${this.cohort.members.length} updates arrived (need ${this.cohort.threshold})`, out)
    }
    this.survivorsPublished = true
    out.push({ type: 'clear-timer', name: 'update-deadline' })
    out.push({ type: 'clear-timer', name: 'straggler' })
    out.push({ type: 'publish', message: { ...this.header(), survivors: { cohortHash: this.cohort.hash as Uint8Array<ArrayBuffer>, survivors: list } } })
    return out
  }

  private onSurvivors (vm: VerifiedMessage, s: SurvivorsMsg, out: Effect[]): Effect[] {
    if (this.survivors != null || this.cohort == null || this.phase !== Phase.Update) return out
    this.survivors = { list: s.survivors, hash: survivorsHash(s, vm.author.toMultihash().bytes) }
    this.go(Phase.Survivors, out)
    const missing = this.missingUpdates()
    if (missing.length > 0) {
      out.push({ type: 'fetch-updates', updates: missing })
      return out
    }
    return this.handleInto(out, { type: 'updates-ready' })
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

/** PeerId string of PeerId multihash bytes, memoized: survivor and member lists carry raw bytes. */
const keyCache = new Map<string, string>()
export function peerKey (bytes: Uint8Array): string {
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
