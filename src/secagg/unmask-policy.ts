/**
 * The unmask policy of one member for one cohort (one round attempt): what it may release in the
 * Unmask phase. This is the heart of Invariant 2 ("an honest member never releases both secrets of
 * the same member in a round"). Pure logic: no crypto, no network, no clock.
 *
 * For a survivor list L = (survivors, dropped), announced under hash H by the leader, the guard
 * releases "my share of b_s for every survivor s, my share of the mask key of every dropped d"
 * only if all of these hold:
 *
 *   (a) at least q distinct cohort members other than the list's author (the leader) acknowledged
 *       exactly H, where q = min(t, members other than the author). The author's own acks are
 *       evidence for (b) but never count: a leader that is also a member would otherwise add its ack
 *       to each of two halves of the honest members and get both lists released (with t = n/2 + 1 and
 *       n odd, the n - 1 honest members split into two groups of t - 1). Without the author's acks,
 *       two lists would need 2q acks from the other members, who ack once each, and 2q > n - 1;
 *   (b) no other list was ever seen for this cohort: no second hash in a Survivors message or in
 *       any member's Ack, and no second content under the same hash (Bonawitz's consistency check;
 *       with t > n/2 two lists can never both gather t honest acks);
 *   (c) survivors and dropped are disjoint, free of duplicates and of non-members, and together are
 *       exactly the cohort (Flower's SecAgg+ client does not check this);
 *   (d) at least t survivors (fewer cannot be unmasked, so releasing would only leak);
 *   (e) it never released for another list in this cohort;
 *   (f) per member, across all calls: never the share of b_i after the mask-key share of i, nor
 *       the other way round.
 *
 * (f) is implied by (b) and (e) but is checked on its own, as defence in depth. A refusal lists
 * every check that failed, not just the first. Asking again for the list already released gives
 * the same answer (nothing new leaks). Once a conflict is seen the guard stays refused: a member
 * that acks two lists, or a leader that publishes two, stops the round (privacy over liveness).
 *
 * One guard per cohort: a new attempt or cohort needs a new guard. The guard treats hashes as
 * opaque; the caller must compute H from the list it passes to `recordSurvivorList`.
 */
import { InvalidThresholdError } from './errors.ts'
import { toHex } from './bytes.ts'

export type SurvivorsHash = Uint8Array | string

export interface UnmaskGuardInit {
  /** PeerIds of the cohort members (the holders of each other's shares). */
  cohort: Uint8Array[]
  /** Shamir threshold t of the cohort, 1 <= t <= cohort size. */
  threshold: number
  /**
   * The PeerId that writes the survivor lists (the round's leader). Its acks are recorded as evidence
   * of the lists it saw but do not count toward the ack quorum (rule (a)).
   */
  listAuthor?: Uint8Array
}

export type UnmaskRefusalCode =
  | 'unknown-list'
  | 'not-enough-acks'
  | 'conflicting-list'
  | 'not-a-partition'
  | 'too-few-survivors'
  | 'released-other-list'
  | 'both-secrets'

export interface UnmaskRefusalReason {
  code: UnmaskRefusalCode
  /** One line, for logs. */
  message: string
  /** The member concerned, for 'both-secrets'. */
  member?: Uint8Array
}

/** What to release: this member's share of b_s for each s, and of the mask key of each d. */
export interface UnmaskRelease {
  ok: true
  selfSeedSharesOf: Uint8Array[]
  maskKeySharesOf: Uint8Array[]
}

export interface UnmaskRefusal {
  ok: false
  reasons: UnmaskRefusalReason[]
}

export type UnmaskDecision = UnmaskRelease | UnmaskRefusal

interface SeenList {
  survivors: Uint8Array[]
  dropped: Uint8Array[]
  /** Canonical content key, to detect a second content under the same hash. */
  content: string
}

function hashKey (h: SurvivorsHash): string {
  return typeof h === 'string' ? h.toLowerCase() : toHex(h)
}

function short (hex: string): string {
  return hex.length > 16 ? `${hex.slice(0, 16)}…` : hex
}

export class UnmaskGuard {
  private readonly members: Map<string, Uint8Array>
  private readonly threshold: number
  private readonly author: string | undefined
  /** Acks needed from members other than the list author. */
  private readonly quorum: number
  private readonly lists = new Map<string, SeenList>()
  private readonly acks = new Map<string, Set<string>>()
  /** Every hash seen, in a Survivors message or in an Ack. */
  private readonly hashes = new Set<string>()
  private sameHashConflict = false
  private releasedHash: string | undefined
  private readonly releasedSelfSeed = new Set<string>()
  private readonly releasedMaskKey = new Set<string>()

  constructor (init: UnmaskGuardInit) {
    this.members = new Map()
    for (const p of init.cohort) this.members.set(toHex(p), p)
    const n = this.members.size
    if (n !== init.cohort.length) throw new InvalidThresholdError('cohort has duplicate members')
    if (!Number.isInteger(init.threshold) || init.threshold < 1 || init.threshold > n) {
      throw new InvalidThresholdError(`threshold must satisfy 1 <= t <= ${n}, got ${init.threshold}`)
    }
    this.threshold = init.threshold
    this.author = init.listAuthor == null ? undefined : toHex(init.listAuthor)
    const voters = this.author != null && this.members.has(this.author) ? n - 1 : n
    // A cohort whose only member wrote the list has nobody else to ask (and nothing to hide from).
    this.quorum = Math.min(init.threshold, voters)
  }

  /** Whether two different lists (or two contents under one hash) were seen: the guard stays refused. */
  get conflicted (): boolean {
    return this.hashes.size > 1 || this.sameHashConflict
  }

  /** Acks a list needs before shares are released (see rule (a)). */
  get ackQuorum (): number {
    return this.quorum
  }

  /** How many distinct cohort members other than the list author acknowledged `hash`. */
  ackCount (hash: SurvivorsHash): number {
    return this.acks.get(hashKey(hash))?.size ?? 0
  }

  /**
   * Records that cohort member `from` acknowledged the list with hash `survivorsHash`. Returns
   * false (and records nothing) for a non-member. An ack for a hash other than the one seen so far
   * is a conflicting list. The list author's ack is evidence of its hash only.
   */
  recordAck (from: Uint8Array, survivorsHash: SurvivorsHash): boolean {
    const who = toHex(from)
    if (!this.members.has(who)) return false
    const h = hashKey(survivorsHash)
    this.hashes.add(h)
    if (who === this.author) return true
    let set = this.acks.get(h)
    if (set === undefined) { set = new Set(); this.acks.set(h, set) }
    set.add(who)
    return true
  }

  /** Records a survivor list seen under `hash` (from the leader's Survivors message). */
  recordSurvivorList (hash: SurvivorsHash, survivors: Uint8Array[], dropped: Uint8Array[]): void {
    const h = hashKey(hash)
    const content = `${survivors.map(toHex).join(',')}|${dropped.map(toHex).join(',')}`
    this.hashes.add(h)
    const before = this.lists.get(h)
    if (before !== undefined) {
      if (before.content !== content) this.sameHashConflict = true
      return
    }
    this.lists.set(h, { survivors: survivors.slice(), dropped: dropped.slice(), content })
  }

  /** Decides whether to release shares for the list `hash`; see the header for the rules. */
  release (hash: SurvivorsHash): UnmaskDecision {
    const h = hashKey(hash)
    const reasons: UnmaskRefusalReason[] = []
    const list = this.lists.get(h)
    if (list === undefined) reasons.push({ code: 'unknown-list', message: `no survivor list seen with hash ${short(h)}` })

    const acks = this.ackCount(h)
    if (acks < this.quorum) reasons.push({ code: 'not-enough-acks', message: `${acks} acks for ${short(h)} from members other than the list's author, need ${this.quorum}` })

    if (this.conflicted) {
      const others = [...this.hashes].filter(x => x !== h).map(short)
      reasons.push({
        code: 'conflicting-list',
        message: others.length > 0 ? `another survivor list was seen for this cohort (${others.join(', ')})` : `two different lists were seen under hash ${short(h)}`
      })
    }

    if (this.releasedHash !== undefined && this.releasedHash !== h) {
      reasons.push({ code: 'released-other-list', message: `shares were already released for list ${short(this.releasedHash)}` })
    }

    if (list !== undefined) {
      const partition = this.checkPartition(list)
      if (partition !== undefined) reasons.push({ code: 'not-a-partition', message: partition })
      if (list.survivors.length < this.threshold) {
        reasons.push({ code: 'too-few-survivors', message: `${list.survivors.length} survivors, need at least ${this.threshold}` })
      }
      for (const s of list.survivors) {
        if (this.releasedMaskKey.has(toHex(s))) {
          reasons.push({ code: 'both-secrets', message: `mask-key share of ${short(toHex(s))} was released, so its self-seed share never will be`, member: s })
        }
      }
      for (const d of list.dropped) {
        if (this.releasedSelfSeed.has(toHex(d))) {
          reasons.push({ code: 'both-secrets', message: `self-seed share of ${short(toHex(d))} was released, so its mask-key share never will be`, member: d })
        }
      }
    }

    if (reasons.length > 0 || list === undefined) return { ok: false, reasons }

    this.releasedHash = h
    for (const s of list.survivors) this.releasedSelfSeed.add(toHex(s))
    for (const d of list.dropped) this.releasedMaskKey.add(toHex(d))
    return { ok: true, selfSeedSharesOf: list.survivors.slice(), maskKeySharesOf: list.dropped.slice() }
  }

  /** Undefined if survivors and dropped partition the cohort; else what is wrong. */
  private checkPartition (list: SeenList): string | undefined {
    const seen = new Set<string>()
    for (const [name, peers] of [['survivors', list.survivors], ['dropped', list.dropped]] as const) {
      for (const p of peers) {
        const k = toHex(p)
        if (!this.members.has(k)) return `${name} lists ${short(k)}, which is not a cohort member`
        if (seen.has(k)) return `${short(k)} appears twice across survivors and dropped`
        seen.add(k)
      }
    }
    if (seen.size !== this.members.size) return `survivors and dropped cover ${seen.size} of ${this.members.size} cohort members`
    return undefined
  }
}
