/**
 * The round-record chain: one canonical link per completed round, `{ round, attempt, baseHash,
 * cohortHash, survivorsHash, resultHash }`, that every honest peer computes identically (the model the
 * round started from, the cohort and survivor list it agreed on, the model it produced). A late or
 * restarted peer fetches the links from its own round to a responder's head and checks them here before
 * it adopts the head model. Pure functions only: no I/O, no clock (the wire side is chain-wire.ts).
 *
 * What the links alone prove: rounds are consecutive from the asker's next round, every link starts
 * from the model the previous one produced (the first from the asker's own model) and the last one
 * produced the responder's head model, whose bytes are then fetched by that hash. What they cannot
 * prove: `attempt`, `cohortHash` and `survivorsHash` (nothing in the next link depends on them). Those
 * are vouched for, not verified: `rankChains` groups answers from different peers, counts one vote per
 * peer, and rejects a chain that contradicts, at any round both cover, a chain with more votes.
 */

/** One completed round. Hashes are lower-case hex SHA-256 (64 characters). */
export interface ChainLink {
  round: number
  attempt: number
  /** h[r-1]: hash of the model the round started from. */
  baseHash: string
  cohortHash: string
  survivorsHash: string
  /** h[r]: hash of the model the round produced. */
  resultHash: string
}

/** The fields of a link, in canonical order (also the order mutations and conflicts are reported in). */
export const LINK_FIELDS = ['round', 'attempt', 'baseHash', 'cohortHash', 'survivorsHash', 'resultHash'] as const
export type LinkField = typeof LINK_FIELDS[number]

/** A chain that fails verification, naming the first broken link. */
export class ChainError extends Error {
  override name = 'ChainError'
  /** Round of the broken link (or of the link that is missing). */
  readonly round: number
  constructor (message: string, round: number) {
    super(message)
    this.round = round
  }
}

/** What the asker knows before it looks at an answer. */
export interface ChainAnchor {
  /** Round of the first link wanted: the asker's last completed round + 1. */
  from: number
  /** Hash of the asker's current model M[from - 1]: the first link's `baseHash`. */
  base: string
}

/** A responder's head: its last completed round and the hash of its model. */
export interface ChainHead {
  round: number
  model: string
}

export interface VerifyChainInit extends ChainAnchor {
  /** The responder's head: the chain must end there (`resultHash` = `model`), or be a full page short of it. */
  head: ChainHead
  /** Links per page: a chain this long may stop before the head (the next page continues it). */
  pageLinks: number
}

const HASH = /^[0-9a-f]{64}$/

/** A value for a message: String() of a parsed {"toString": 1} would throw (found by test/fuzz on a corrupt round log). */
const shown = (v: unknown): string => typeof v === 'object' && v !== null ? 'an object' : String(v)

/** Why a link is malformed, or `undefined`. */
export function linkProblem (l: ChainLink): string | undefined {
  if (!Number.isSafeInteger(l.round) || l.round < 1) return `round ${shown(l.round)} is not a round number`
  if (!Number.isSafeInteger(l.attempt) || l.attempt < 0) return `attempt ${shown(l.attempt)} is not an attempt number`
  for (const f of ['baseHash', 'cohortHash', 'survivorsHash', 'resultHash'] as const) {
    if (typeof l[f] !== 'string' || !HASH.test(l[f])) return `${f} is not a 32-byte hash`
  }
  return undefined
}

const short = (h: string): string => `${h.slice(0, 12)}…`

/**
 * Checks a chain answer against the asker's anchor and the responder's head; throws a `ChainError`
 * naming the first broken link. Rules: at least one link; every link well-formed; rounds consecutive
 * from `from`; the first `baseHash` is `base`; every next `baseHash` is the previous `resultHash`; the
 * last link is the head round with `resultHash` = the head model, unless the answer is a full page
 * that stops short of the head.
 */
export function verifyChain (links: readonly ChainLink[], init: VerifyChainInit): void {
  const { from, base, head } = init
  if (links.length === 0) throw new ChainError(`no link for round ${from} (head is round ${head.round})`, from)
  if (links.length > init.pageLinks) throw new ChainError(`${links.length} links, more than a page of ${init.pageLinks}`, from)
  let prev: ChainLink | undefined
  for (const [i, l] of links.entries()) {
    const want = from + i
    const bad = linkProblem(l)
    if (bad != null) throw new ChainError(`link ${i} (round ${want}): ${bad}`, want)
    if (l.round !== want) throw new ChainError(`link ${i} is round ${l.round}, expected round ${want}`, want)
    if (prev == null) {
      if (l.baseHash !== base) throw new ChainError(`round ${l.round}: baseHash ${short(l.baseHash)} is not this peer's model ${short(base)}`, l.round)
    } else if (l.baseHash !== prev.resultHash) {
      throw new ChainError(`round ${l.round}: baseHash ${short(l.baseHash)} is not the resultHash ${short(prev.resultHash)} of round ${prev.round}`, l.round)
    }
    prev = l
  }
  const last = prev as ChainLink
  if (last.round > head.round) throw new ChainError(`round ${last.round}: the chain runs past the head round ${head.round}`, last.round)
  if (last.round < head.round) {
    if (links.length < init.pageLinks) throw new ChainError(`the chain stops at round ${last.round}, before the head round ${head.round}`, last.round + 1)
    return
  }
  if (last.resultHash !== head.model) {
    throw new ChainError(`round ${last.round}: resultHash ${short(last.resultHash)} is not the head model ${short(head.model)}`, last.round)
  }
}

/** `verifyChain` as a value: the reason, or `undefined` if the chain is good. */
export function chainProblem (links: readonly ChainLink[], init: VerifyChainInit): string | undefined {
  try {
    verifyChain(links, init)
    return undefined
  } catch (err) {
    if (err instanceof ChainError) return err.message
    throw err
  }
}

/** The first round both chains cover where their links differ, with the first differing field. */
export function chainConflict (a: readonly ChainLink[], b: readonly ChainLink[]): { round: number, field: LinkField } | undefined {
  const byRound = new Map(b.map(l => [l.round, l]))
  for (const l of a) {
    const o = byRound.get(l.round)
    if (o == null) continue
    const field = LINK_FIELDS.find(f => l[f] !== o[f])
    if (field != null) return { round: l.round, field }
  }
  return undefined
}

/** One peer's answer to a chain request. */
export interface ChainAnswer {
  peer: string
  head: ChainHead
  links: ChainLink[]
}

/** A verified chain and the peers that answered exactly it or a chain it does not contradict. */
export interface ChainCandidate {
  head: ChainHead
  links: ChainLink[]
  /** Peers that sent exactly this chain. */
  peers: string[]
  /** Peers whose (verified) chains agree with this one on every round both cover. */
  voters: string[]
}

export interface ChainRejection {
  peer: string
  reason: string
}

/**
 * Verifies every answer, groups identical chains, counts one vote per peer for every chain its own
 * does not contradict, and rejects a chain that contradicts one with more votes. Returns the rest best
 * first (most votes, then the furthest head) and every rejection with its reason. Answers from a peer
 * already seen count once (the first).
 */
export function rankChains (answers: readonly ChainAnswer[], init: ChainAnchor & { pageLinks: number }): { candidates: ChainCandidate[], rejected: ChainRejection[] } {
  const rejected: ChainRejection[] = []
  const groups = new Map<string, ChainCandidate>()
  const seen = new Set<string>()
  for (const a of answers) {
    if (seen.has(a.peer)) continue
    seen.add(a.peer)
    const problem = chainProblem(a.links, { ...init, head: a.head })
    if (problem != null) { rejected.push({ peer: a.peer, reason: problem }); continue }
    const key = JSON.stringify([a.head.round, a.head.model, a.links.map(l => LINK_FIELDS.map(f => l[f]))])
    const g = groups.get(key)
    if (g != null) g.peers.push(a.peer)
    else groups.set(key, { head: a.head, links: a.links, peers: [a.peer], voters: [] })
  }
  const all = [...groups.values()]
  for (const c of all) c.voters = all.filter(o => o === c || chainConflict(c.links, o.links) == null).flatMap(o => o.peers)
  const out: ChainCandidate[] = []
  for (const c of all) {
    const stronger = all.find(o => o.voters.length > c.voters.length && chainConflict(c.links, o.links) != null)
    if (stronger == null) { out.push(c); continue }
    const at = chainConflict(c.links, stronger.links)!
    for (const peer of c.peers) {
      rejected.push({ peer, reason: `round ${at.round}: ${at.field} differs from the chain vouched for by ${stronger.voters.length} peer(s)` })
    }
  }
  out.sort((x, y) => y.voters.length - x.voters.length || y.head.round - x.head.round)
  return { candidates: out, rejected }
}

/**
 * The links in a peer's round records (`RoundRecord`s as the data dir stores them: `modelHash` is the
 * link's `resultHash`; a record made by a sync carries the earlier links it adopted in `syncedLinks`).
 * Records without the link fields (older versions) are skipped. Oldest first, possibly with repeats.
 */
export function linksFromRecords (records: Iterable<Record<string, unknown>>): ChainLink[] {
  const out: ChainLink[] = []
  const take = (x: Record<string, unknown>, result: unknown): void => {
    const l = { round: x.round, attempt: x.attempt, baseHash: x.baseHash, cohortHash: x.cohortHash, survivorsHash: x.survivorsHash, resultHash: result } as ChainLink
    if (linkProblem(l) == null) out.push(l)
  }
  for (const rec of records) {
    if (typeof rec !== 'object' || rec == null) continue
    if (Array.isArray(rec.syncedLinks)) {
      for (const s of rec.syncedLinks) if (typeof s === 'object' && s != null) take(s as Record<string, unknown>, (s as Record<string, unknown>).resultHash)
    }
    take(rec, rec.modelHash)
  }
  return out
}

/**
 * The chain that ends at `head` (the model a peer restarts with), walked back through `baseHash` as far
 * as `links` reach: links of other tasks, forks or rounds after a lost checkpoint drop out. If the head's
 * own link is missing (the peer was killed between saving the checkpoint and appending the record), the
 * chain ends at the one link of the round before, when there is exactly one; the driver then fetches the
 * head's link from peers and keeps it only if it joins that link to the model the peer holds. Oldest first.
 */
export function chainEndingAt (links: Iterable<ChainLink>, head: ChainHead): ChainLink[] {
  const byKey = new Map<string, ChainLink>()
  for (const l of links) if (linkProblem(l) == null) byKey.set(`${l.round}/${l.resultHash}`, l)
  let tip = byKey.get(`${head.round}/${head.model}`)
  if (tip == null) {
    const before = [...byKey.values()].filter(l => l.round === head.round - 1)
    if (before.length !== 1) return []
    tip = before[0]
  }
  const out: ChainLink[] = []
  for (let l: ChainLink | undefined = tip; l != null; l = byKey.get(`${l.round - 1}/${l.baseHash}`)) out.push(l)
  return out.reverse()
}
