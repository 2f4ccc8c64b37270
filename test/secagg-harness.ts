// A small in-memory secure-aggregation round built only from the src/secagg primitives, for the
// secagg tests: keys, share boxes, masking, survivors, acks, the unmask guard, Shamir rebuilding and
// unmasking. It plays every member honestly; drop phases say who disappears when.
import { createHash, randomBytes } from 'node:crypto'
import {
  agree, combineShares, comparePeers, generateRoundKeys, maskInput, openShares, pairwiseMaskSeed,
  publicKeyOf, ringSum, sealShares, shareEncryptionKey, splitSecret, UnmaskGuard, unmaskSum
} from '../src/secagg/index.ts'
import type { DroppedPairwiseSeed, RoundKeys, SharePair, UnmaskDecision } from '../src/secagg/index.ts'

export const TASK = createHash('sha256').update('secagg test task').digest()

/**
 * When a member drops:
 * - 'none':   never; it releases shares in the Unmask phase;
 * - 'shares': before sending its share boxes (it never sent anything, nobody masks with it);
 * - 'masked': after its share boxes went out and the others fixed their masks with it, but before
 *             its masked input arrived (its input is not in the sum, its pairwise masks are);
 * - 'unmask': after its masked input arrived and it acked the survivor list, before it released
 *             any share (its input is in the sum; it contributes no shares).
 */
export type DropPhase = 'none' | 'shares' | 'masked' | 'unmask'

export interface Member {
  id: Uint8Array
  keys: RoundKeys
  selfSeed: Uint8Array
  input: Uint32Array
  drop: DropPhase
  /** The share pair this member holds of each sharer's secrets (by sharer index). */
  held: Map<number, SharePair>
  masked?: Uint32Array
}

export interface RoundSetup {
  ids: Uint8Array[]
  inputs: Uint32Array[]
  drops: DropPhase[]
  threshold: number
  round?: number
  attempt?: number
  /** Random integer in [0, k): which t holders' shares are used for each secret. */
  pick: (k: number) => number
}

export interface RoundOutcome {
  members: Member[]
  survivors: number[]
  dropped: number[]
  releasers: number[]
  survivorsHash: Uint8Array
  decisions: Map<number, UnmaskDecision>
  maskedSum: Uint32Array
  expectedSum: Uint32Array
  /** The unmasked sum, or undefined when fewer than t members released shares. */
  unmasked?: Uint32Array
}

export function hashList (survivors: Uint8Array[], dropped: Uint8Array[]): Uint8Array {
  const h = createHash('sha256')
  for (const p of survivors) h.update(Uint8Array.of(1, p.byteLength)).update(p)
  for (const p of dropped) h.update(Uint8Array.of(2, p.byteLength)).update(p)
  return new Uint8Array(h.digest())
}

/** `k` distinct indices out of `from`, chosen with `pick`. */
export function choose (from: number[], k: number, pick: (k: number) => number): number[] {
  const pool = from.slice()
  const out: number[] = []
  while (out.length < k && pool.length > 0) out.push(pool.splice(pick(pool.length), 1)[0])
  return out
}

/** Shares + Masked update phases: keys, Shamir splits, share boxes, pairwise seeds, masked inputs. */
export async function shareAndMask (setup: RoundSetup): Promise<Member[]> {
  const { ids, inputs, drops, threshold: t } = setup
  const n = ids.length
  const ctx = { task: TASK, round: setup.round ?? 1, attempt: setup.attempt ?? 0 }
  const members: Member[] = ids.map((id, i) => ({
    id, keys: generateRoundKeys(), selfSeed: new Uint8Array(randomBytes(32)), input: inputs[i], drop: drops[i], held: new Map()
  }))
  const sharers = members.map((_, i) => i).filter(i => members[i].drop !== 'shares')
  for (const i of sharers) {
    const me = members[i]
    const seedShares = await splitSecret(me.selfSeed, n, t)
    const keyShares = await splitSecret(me.keys.mask.privateKey, n, t)
    for (let k = 0; k < n; k++) {
      if (k === i) { me.held.set(i, { selfSeedShare: seedShares[k], maskKeyShare: keyShares[k] }); continue }
      const to = members[k]
      const box = sealShares({
        key: shareEncryptionKey(agree(me.keys.enc.privateKey, to.keys.enc.publicKey), { ...ctx, sender: me.id, recipient: to.id }),
        ...ctx, sender: me.id, recipient: to.id, selfSeedShare: seedShares[k], maskKeyShare: keyShares[k]
      })
      const opened = openShares({
        key: shareEncryptionKey(agree(to.keys.enc.privateKey, me.keys.enc.publicKey), { ...ctx, sender: me.id, recipient: to.id }),
        ...ctx, sender: me.id, recipient: to.id, box
      })
      to.held.set(i, opened)
    }
  }
  for (const i of sharers) {
    const me = members[i]
    const pairwise = sharers.filter(j => j !== i).map(j => ({
      peer: members[j].id,
      seed: pairwiseMaskSeed(agree(me.keys.mask.privateKey, members[j].keys.mask.publicKey), { ...ctx, peers: [me.id, members[j].id] })
    }))
    me.masked = maskInput(me.input, { self: me.id, selfSeed: me.selfSeed, pairwise })
  }
  return members
}

/** Runs a whole round; throws if any honest step misbehaves. */
export async function runRound (setup: RoundSetup): Promise<RoundOutcome> {
  const { ids, threshold: t, pick } = setup
  const ctx = { task: TASK, round: setup.round ?? 1, attempt: setup.attempt ?? 0 }
  const members = await shareAndMask(setup)
  const all = members.map((_, i) => i)
  const survivors = all.filter(i => members[i].drop === 'none' || members[i].drop === 'unmask')
  const dropped = all.filter(i => !survivors.includes(i))
  const releasers = all.filter(i => members[i].drop === 'none')
  const survivorIds = survivors.map(i => ids[i])
  const droppedIds = dropped.map(i => ids[i])
  const survivorsHash = hashList(survivorIds, droppedIds)
  const length = setup.inputs[0]?.length ?? 0
  const maskedSum = ringSum(survivors.map(i => members[i].masked as Uint32Array), length)
  const expectedSum = ringSum(survivors.map(i => members[i].input), length)

  // Survivors + Ack + Unmask: every survivor acks; every releaser asks its guard
  const decisions = new Map<number, UnmaskDecision>()
  for (const r of releasers) {
    const guard = new UnmaskGuard({ cohort: ids, threshold: t })
    guard.recordSurvivorList(survivorsHash, survivorIds, droppedIds)
    for (const s of survivors) guard.recordAck(ids[s], survivorsHash)
    decisions.set(r, guard.release(survivorsHash))
  }
  const outcome: RoundOutcome = { members, survivors, dropped, releasers, survivorsHash, decisions, maskedSum, expectedSum }
  if (releasers.length < t) return outcome

  // Aggregate: t shares per secret, from releasers chosen at random, rebuilt through Shamir
  const survivorSelfSeeds: Uint8Array[] = []
  for (const s of survivors) {
    const from = choose(releasers, t, pick)
    const shares = from.map(r => {
      const d = decisions.get(r)
      if (d === undefined || !d.ok || !d.selfSeedSharesOf.some(p => comparePeers(p, ids[s]) === 0)) throw new Error(`member ${r} did not release the self-seed share of ${s}`)
      return (members[r].held.get(s) as SharePair).selfSeedShare
    })
    survivorSelfSeeds.push(await combineShares(shares))
  }
  const droppedPairwise: DroppedPairwiseSeed[] = []
  for (const d of dropped) {
    if (members[d].drop === 'shares') continue // never shared: nobody masked with it
    const from = choose(releasers, t, pick)
    const shares = from.map(r => {
      const dec = decisions.get(r)
      if (dec === undefined || !dec.ok || !dec.maskKeySharesOf.some(p => comparePeers(p, ids[d]) === 0)) throw new Error(`member ${r} did not release the mask-key share of ${d}`)
      return (members[r].held.get(d) as SharePair).maskKeyShare
    })
    const priv = await combineShares(shares)
    const pub = publicKeyOf(priv)
    if (comparePeers(pub, members[d].keys.mask.publicKey) !== 0) throw new Error(`rebuilt mask key of ${d} does not match its public key`)
    for (const s of survivors) {
      const seed = pairwiseMaskSeed(agree(priv, members[s].keys.mask.publicKey), { ...ctx, peers: [ids[s], ids[d]] })
      droppedPairwise.push({ survivor: ids[s], dropped: ids[d], seed })
    }
  }
  outcome.unmasked = unmaskSum(maskedSum, { survivorSelfSeeds, droppedPairwise })
  return outcome
}
