/**
 * Secure aggregation inside a round: what one member computes (its Shares bundle, its masked update,
 * its Unmask shares) and what any peer computes to recover the survivors' exact ring sum from their
 * masked updates and `t` members' Unmask messages. The round machine decides when, and through its
 * UnmaskGuard whether, shares are released; this file does the crypto. No network, no clock.
 *
 * Inputs. Member i clips its delta to L2 norm C (so every coordinate is within ±C), multiplies it by
 * w_i / W (its FedAvg weight over the task's weight cap W, at most 1; 1 with uniform weighting) and
 * quantizes it at the scale `ringScale(C, |U1|)`, which is the largest power of two at which the sum of
 * |U1| such inputs can never wrap (see src/secagg/ring.ts for the formula). Every peer divides the
 * recovered sum by the same power of two and multiplies by W, so the FedAvg numerator is the same float
 * on every peer, bit for bit.
 */
import { randomBytes } from 'node:crypto'
import {
  agree, combineShares, encodeContext, generateRoundKeys, maskInput, openShares, pairwiseMaskSeed,
  publicKeyOf, quantizationScale, quantize, sealShares, shareEncryptionKey, splitSecret, unmaskSum
} from '../secagg/index.ts'
import type { DroppedPairwiseSeed, PairwiseSeed, RandomSource, RoundKeys, SharePair, UnmaskInit } from '../secagg/index.ts'
import { bytesEqual, compareBytes, sha256, toHex } from '../wire/hash.ts'
import { INT32_MAX } from '../secagg/constants.ts'
import { addDiscreteGaussianNoise, memberNoiseVariance } from '../dp/discrete-noise.ts'
import type { Member } from '../wire/messages.ts'
import { UNMASK_SHARE_BYTES } from '../wire/constants.ts'

/** `UnmaskEntry.kind`: a share of a survivor's self-mask seed b_s. */
export const SHARE_SELF_SEED = 1
/** `UnmaskEntry.kind`: a share of a dropped member's mask private key. */
export const SHARE_MASK_KEY = 2

/** One share of an Unmask message with what it is of (the wire form is positional: see `unmaskEntries`). */
export interface UnmaskEntry {
  peer: Uint8Array
  kind: typeof SHARE_SELF_SEED | typeof SHARE_MASK_KEY
  share: Uint8Array
}

/**
 * The shares of an Unmask message with their owners and kinds. The wire form lists one share per
 * mask-set member in mask-set (peer) order, empty where the sender holds none; the survivor list says
 * which secret each is of: b_s for a survivor, the mask key for a member of U1 that is not one.
 */
export function unmaskEntries (maskSet: readonly Uint8Array[], survivors: readonly Uint8Array[], shares: readonly Uint8Array[]): UnmaskEntry[] {
  const alive = new Set(survivors.map(toHex))
  const out: UnmaskEntry[] = []
  for (let k = 0; k < maskSet.length && k < shares.length; k++) {
    if (shares[k].byteLength === 0) continue
    out.push({ peer: maskSet[k], kind: alive.has(toHex(maskSet[k])) ? SHARE_SELF_SEED : SHARE_MASK_KEY, share: shares[k] })
  }
  return out
}

const DOMAIN_SEED_COMMIT = 'fedswarm/secagg/v1/seed-commit'
/** Consecutive t-windows of the available shares tried when a rebuilt secret fails its check. */
const MAX_COMBINATION_WINDOWS = 8

export class SecureRoundError extends Error {
  override name = 'SecureRoundError'
}

/** Where the secure round happens: every key, seed and box is bound to it. */
export interface SecureContext {
  task: Uint8Array
  round: number
  attempt: number
}

/** The binding commitment to b_i published in the Shares bundle: sha256 of the context, peer and seed. */
export function seedCommitment (ctx: SecureContext, peer: Uint8Array, seed: Uint8Array): Uint8Array {
  return sha256(encodeContext([DOMAIN_SEED_COMMIT, ctx.task, ctx.round, ctx.attempt, peer, seed]))
}

/** DP-FedAvg's distributed noise: noise multiplier σ and the Shamir threshold t it is split over. */
export interface RingNoise {
  sigma: number
  threshold: number
}

/** Standard deviations of noise kept inside the ring: the sum wraps with probability below 1e-20. */
const NOISE_ROOM_SIGMAS = 10

/**
 * The quantization scale for a mask set of `summands` members and clip norm `clipNorm`: the largest
 * power of two s at which the sum can never wrap. With DP-FedAvg noise each member also adds discrete
 * Gaussian noise of variance (σ·C·s)²/t, so the n members' noise has standard deviation σ·C·s·√(n/t),
 * and s is the largest power of two with
 *
 *     n · (C·s + 1) + 10 · σ·C·s·√(n/t) <= 2^31 - 1.
 */
export function ringScale (clipNorm: number, summands: number, noise?: RingNoise): number {
  if (noise == null || noise.sigma === 0) return quantizationScale({ bound: clipNorm, summands })
  const { sigma, threshold } = noise
  if (!(sigma > 0 && Number.isFinite(sigma)) || !(Number.isSafeInteger(threshold) && threshold >= 1)) {
    throw new SecureRoundError(`bad DP-FedAvg noise: sigma ${sigma}, threshold ${threshold}`)
  }
  const fits = (s: number): boolean => summands * (clipNorm * s + 1) + NOISE_ROOM_SIGMAS * sigma * clipNorm * s * Math.sqrt(summands / threshold) <= INT32_MAX
  let k = Math.floor(Math.log2((INT32_MAX - summands) / (summands * clipNorm + NOISE_ROOM_SIGMAS * sigma * clipNorm * Math.sqrt(summands / threshold))))
  while (k > -1074 && !fits(2 ** k)) k--
  while (fits(2 ** (k + 1))) k++
  const s = 2 ** k
  if (!(s > 0) || !fits(s)) throw new SecureRoundError(`no scale fits clip ${clipNorm}, ${summands} members and noise ${sigma}`)
  return s
}

/**
 * The noise multiplier the sum actually has, for the accountant: the noise standard deviation σ·C·s
 * over the L2 sensitivity of one member's ring input, C·s + √d (stochastic rounding moves each of the
 * d coordinates by less than 1).
 */
export function effectiveNoiseMultiplier (sigma: number, clipNorm: number, scale: number, length: number): number {
  return sigma * clipNorm * scale / (clipNorm * scale + Math.sqrt(length))
}

/**
 * Scales `delta` (already clipped to `clipNorm`) by `factor` <= 1 and quantizes it into the ring; with
 * DP-FedAvg `noise`, adds this member's share of the discrete Gaussian noise, variance (σ·C·s)²/t, so
 * that any t or more members' sum carries noise of standard deviation at least σ·C·s.
 */
export function ringInput (delta: Float32Array, factor: number, clipNorm: number, scale: number, rng?: RandomSource, noise?: RingNoise): Uint32Array {
  if (!(factor > 0 && factor <= 1)) throw new SecureRoundError(`weight factor ${factor} is outside (0, 1]`)
  const x = new Float64Array(delta.length)
  for (let k = 0; k < delta.length; k++) x[k] = delta[k] * factor
  const q = quantize(x, scale, { bound: clipNorm, rng })
  if (noise != null && noise.sigma > 0) {
    addDiscreteGaussianNoise(q, memberNoiseVariance({ sigma: noise.sigma, clip: clipNorm, scale, threshold: noise.threshold }), rng)
  }
  return q
}

/** Clips a vector to L2 norm `clipNorm` (a new vector when it had to be scaled, else the same one). */
export function clipToNorm (delta: Float32Array, clipNorm: number): { delta: Float32Array, norm: number, clipped: boolean } {
  let s = 0
  for (let k = 0; k < delta.length; k++) s += delta[k] * delta[k]
  const norm = Math.sqrt(s)
  if (norm <= clipNorm) return { delta, norm, clipped: false }
  const f = clipNorm / norm
  const out = new Float32Array(delta.length)
  // fround may push a coordinate a hair above f·|x|; the ring clamp and the norm slack absorb it.
  for (let k = 0; k < delta.length; k++) out[k] = delta[k] * f
  return { delta: out, norm, clipped: true }
}

export interface SecureMemberInit {
  ctx: SecureContext
  /** This member's PeerId bytes. */
  self: Uint8Array
  /** Its round keys (default: fresh ones). */
  keys?: RoundKeys
}

/** One member's side of one secure round attempt. */
export class SecureMember {
  readonly ctx: SecureContext
  readonly self: Uint8Array
  readonly keys: RoundKeys
  private selfSeed?: Uint8Array
  /** The shares this member holds of other members' secrets (and of its own), by peer hex. */
  private readonly held = new Map<string, SharePair>()

  constructor (init: SecureMemberInit) {
    this.ctx = init.ctx
    this.self = init.self
    this.keys = init.keys ?? generateRoundKeys()
  }

  /**
   * Draws b_i, splits b_i and the mask private key t-of-n over the cohort (share k for the k-th member
   * in peer order) and seals one box per other member, in the order of `members`. Keeps its own share pair.
   */
  async makeShares (members: readonly Member[], threshold: number): Promise<{ seedCommit: Uint8Array, boxes: Array<Uint8Array<ArrayBuffer>> }> {
    if (this.selfSeed != null) throw new SecureRoundError('shares were already made for this attempt')
    const index = members.findIndex(m => bytesEqual(m.peer, this.self))
    if (index < 0) throw new SecureRoundError('this peer is not a cohort member')
    const seed = new Uint8Array(randomBytes(32))
    this.selfSeed = seed
    const seedShares = await splitSecret(seed, members.length, threshold)
    const keyShares = await splitSecret(this.keys.mask.privateKey, members.length, threshold)
    const boxes: Array<Uint8Array<ArrayBuffer>> = []
    for (let k = 0; k < members.length; k++) {
      const m = members[k]
      const pair = { selfSeedShare: seedShares[k], maskKeyShare: keyShares[k] }
      if (k === index) {
        this.held.set(toHex(this.self), pair)
        continue
      }
      const ctx = { ...this.ctx, sender: this.self, recipient: m.peer }
      const key = shareEncryptionKey(agree(this.keys.enc.privateKey, m.encPub), ctx)
      boxes.push(sealShares({ ...ctx, key, ...pair }) as Uint8Array<ArrayBuffer>)
    }
    return { seedCommit: seedCommitment(this.ctx, this.self, seed), boxes }
  }

  /**
   * Opens the box addressed to this member in `from`'s bundle, whose boxes follow `members` (the cohort,
   * in peer order) without `from`; throws (ShareBoxError, …) if it is bad.
   */
  openBundle (from: Member, boxes: readonly Uint8Array[], members: readonly Member[]): void {
    if (bytesEqual(from.peer, this.self)) return
    const mine = boxes[boxSlot(from.peer, this.self, members)]
    if (mine == null) throw new SecureRoundError('the bundle has no box for this member')
    this.openBox(from, mine)
  }

  /**
   * Opens the box `from` sealed for this member (fetched from its bundle blob); throws (ShareBoxError)
   * if it does not open: the AAD names sender and recipient, so a box from another slot never does.
   */
  openBox (from: Member, box: Uint8Array): void {
    const ctx = { ...this.ctx, sender: from.peer, recipient: this.self }
    const key = shareEncryptionKey(agree(this.keys.enc.privateKey, from.encPub), ctx)
    this.held.set(toHex(from.peer), openShares({ ...ctx, key, box }))
  }

  /** Whether this member holds its shares of `peer`'s secrets. */
  holds (peer: Uint8Array): boolean {
    return this.held.has(toHex(peer))
  }

  /** y_i = x_i + PRG(b_i) + Σ_{j ∈ U1, j ≠ i} ±PRG(s_ij): the masked input for mask set U1. */
  mask (input: Uint32Array, maskSet: readonly Member[]): Uint32Array {
    if (this.selfSeed == null) throw new SecureRoundError('mask before shares')
    if (!maskSet.some(m => bytesEqual(m.peer, this.self))) throw new SecureRoundError('this peer is not in the mask set')
    const pairwise: PairwiseSeed[] = []
    for (const m of maskSet) {
      if (bytesEqual(m.peer, this.self)) continue
      const shared = agree(this.keys.mask.privateKey, m.maskPub)
      pairwise.push({ peer: m.peer, seed: pairwiseMaskSeed(shared, { ...this.ctx, peers: [this.self, m.peer] }) })
    }
    return maskInput(input, { self: this.self, selfSeed: this.selfSeed, pairwise })
  }

  /**
   * The Unmask shares for a release the guard allowed, positional over `maskSet` (peer order): the
   * share of b_p for a released survivor p, of p's mask key for a released dropped member, empty for
   * the rest and where this member holds none.
   */
  unmaskShares (release: { selfSeedSharesOf: Uint8Array[], maskKeySharesOf: Uint8Array[] }, maskSet: readonly Uint8Array[]): Array<Uint8Array<ArrayBuffer>> {
    const seeds = new Set(release.selfSeedSharesOf.map(toHex))
    const keys = new Set(release.maskKeySharesOf.map(toHex))
    return maskSet.map(p => {
      const hex = toHex(p)
      const pair = this.held.get(hex)
      const share = pair == null ? undefined : seeds.has(hex) ? pair.selfSeedShare : keys.has(hex) ? pair.maskKeyShare : undefined
      return (share ?? new Uint8Array(0)) as Uint8Array<ArrayBuffer>
    })
  }
}

export interface UnmaskMessage {
  /** The member that released the shares. */
  from: Uint8Array
  /** One per mask-set member in peer order (the Unmask wire form), empty where it released none. */
  shares: readonly Uint8Array[]
}

export interface RecoverInit {
  ctx: SecureContext
  /** Shamir threshold t. */
  threshold: number
  /** U1 with its announced keys: the members masks were made with, in peer order (the Unmask positions). */
  maskSet: readonly Member[]
  /** U2 ⊆ U1: the members whose masked inputs are in `maskedSum`. */
  survivors: readonly Uint8Array[]
  /** Ring sum of the survivors' masked inputs (or of one slice of them: see `offset`). */
  maskedSum: Uint32Array
  /** Word of the vectors `maskedSum` starts at (default 0: the whole vector). */
  offset?: number
  /** Unmask messages for this survivor list (at least t, from different members). */
  unmasks: readonly UnmaskMessage[]
  /** Seed commitments from the survivors' Shares bundles, by peer hex. */
  seedCommits: ReadonlyMap<string, Uint8Array>
}

/** The shares of the secret of the `index`-th mask-set member, in the order of their senders' PeerIds. */
function sharesOf (unmasks: readonly UnmaskMessage[], index: number): Uint8Array[] {
  const out: Array<{ from: Uint8Array, share: Uint8Array }> = []
  for (const u of unmasks) {
    const s = u.shares[index]
    if (s != null && s.byteLength > 0) out.push({ from: u.from, share: s })
  }
  return out.sort((a, b) => compareBytes(a.from, b.from)).map(x => x.share)
}

/**
 * Rebuilds a secret from t of `shares`, trying consecutive windows until `check` accepts it (a bad
 * share from one member is detected by the check, not by Shamir).
 */
async function rebuild (shares: Uint8Array[], t: number, check: (secret: Uint8Array) => boolean, what: string): Promise<Uint8Array> {
  if (shares.length < t) throw new SecureRoundError(`${what}: ${shares.length} shares, need ${t}`)
  for (let w = 0; w + t <= shares.length && w < MAX_COMBINATION_WINDOWS; w++) {
    try {
      const secret = await combineShares(shares.slice(w, w + t))
      if (check(secret)) return secret
    } catch { /* malformed share in this window: try the next */ }
  }
  throw new SecureRoundError(`${what}: no ${t} of the ${shares.length} shares rebuild it`)
}

/**
 * The masks left in the survivors' sum: rebuilds b_s of every survivor (checked against its commitment)
 * and the mask key of every member of U1 \ U2 (checked against its announced public key), and derives
 * the survivor–dropped pairwise seeds. `unmaskSum(slice, masks, offset)` then removes them from any
 * slice of the sum.
 */
export async function recoverMasks (init: Omit<RecoverInit, 'maskedSum' | 'offset'>): Promise<UnmaskInit> {
  const { ctx, threshold: t, maskSet, survivors, unmasks, seedCommits } = init
  const inSurvivors = new Set(survivors.map(toHex))
  const position = new Map(maskSet.map((m, k) => [toHex(m.peer), k]))
  const selfSeeds: Uint8Array[] = []
  for (const s of survivors) {
    const k = position.get(toHex(s))
    if (k == null) throw new SecureRoundError(`survivor ${toHex(s).slice(0, 16)} is not in the mask set`)
    const commit = seedCommits.get(toHex(s))
    if (commit == null) throw new SecureRoundError(`no seed commitment of survivor ${toHex(s).slice(0, 16)}`)
    selfSeeds.push(await rebuild(sharesOf(unmasks, k), t,
      seed => seed.byteLength === 32 && bytesEqual(seedCommitment(ctx, s, seed), commit),
      `self-mask seed of ${toHex(s).slice(0, 16)}`))
  }
  const droppedPairwise: DroppedPairwiseSeed[] = []
  for (let k = 0; k < maskSet.length; k++) {
    const d = maskSet[k]
    if (inSurvivors.has(toHex(d.peer))) continue
    const priv = await rebuild(sharesOf(unmasks, k), t, key => {
      try { return key.byteLength === 32 && bytesEqual(publicKeyOf(key), d.maskPub) } catch { return false }
    }, `mask key of ${toHex(d.peer).slice(0, 16)}`)
    for (const s of maskSet) {
      if (!inSurvivors.has(toHex(s.peer))) continue
      const seed = pairwiseMaskSeed(agree(priv, s.maskPub), { ...ctx, peers: [s.peer, d.peer] })
      droppedPairwise.push({ survivor: s.peer, dropped: d.peer, seed })
    }
  }
  return { survivorSelfSeeds: selfSeeds, droppedPairwise }
}

/** The survivors' exact ring sum Σ_{s ∈ U2} x_s (or the slice of it that `maskedSum` is). */
export async function recoverSum (init: RecoverInit): Promise<Uint32Array> {
  return unmaskSum(init.maskedSum, await recoverMasks(init), init.offset ?? 0)
}

/**
 * Slot of `recipient`'s box in `sender`'s bundle: its position among the cohort members other than the
 * sender, in peer order (`members` is the cohort, sorted). -1 if either is not a member.
 */
export function boxSlot (sender: Uint8Array, recipient: Uint8Array, members: readonly Member[]): number {
  if (!members.some(m => bytesEqual(m.peer, sender))) return -1
  return members.filter(m => !bytesEqual(m.peer, sender)).findIndex(m => bytesEqual(m.peer, recipient))
}

/**
 * A direct Unmask's blob: one UNMASK_SHARE_BYTES slot per mask-set member in the Unmask's order, all
 * zeros where the member released no share (a share's last byte, its x-coordinate, is never 0).
 */
export function unmaskBlob (shares: readonly Uint8Array[]): Uint8Array {
  const bytes = new Uint8Array(UNMASK_SHARE_BYTES * shares.length)
  shares.forEach((share, k) => {
    if (share.byteLength === 0) return
    if (share.byteLength !== UNMASK_SHARE_BYTES) throw new SecureRoundError(`unmask share ${k} has ${share.byteLength} bytes, not ${UNMASK_SHARE_BYTES}`)
    bytes.set(share, k * UNMASK_SHARE_BYTES)
  })
  return bytes
}

/** The shares of an `unmaskBlob` for a mask set of `members` (empty where the slot is all zeros); throws on a wrong size or x-coordinate. */
export function openUnmaskBlob (bytes: Uint8Array, members: number): Array<Uint8Array<ArrayBuffer>> {
  if (bytes.byteLength !== UNMASK_SHARE_BYTES * members) {
    throw new SecureRoundError(`unmask blob of ${bytes.byteLength} bytes for a mask set of ${members} (${UNMASK_SHARE_BYTES} bytes each)`)
  }
  return Array.from({ length: members }, (_, k) => {
    const slot = bytes.slice(k * UNMASK_SHARE_BYTES, (k + 1) * UNMASK_SHARE_BYTES)
    if (slot.every(b => b === 0)) return new Uint8Array(0)
    if (slot[UNMASK_SHARE_BYTES - 1] === 0) throw new SecureRoundError(`unmask blob slot ${k} is not a share (x-coordinate 0)`)
    return slot
  })
}

/** A bundle blob: the boxes back to back, box k at [k · size, (k + 1) · size). Every box must have that one size. */
export function bundleBlob (boxes: readonly Uint8Array[]): { bytes: Uint8Array, boxBytes: number } {
  const size = boxes[0]?.byteLength ?? 0
  const bytes = new Uint8Array(size * boxes.length)
  boxes.forEach((box, k) => {
    if (box.byteLength !== size) throw new SecureRoundError(`share box ${k} has ${box.byteLength} bytes, box 0 has ${size}`)
    bytes.set(box, k * size)
  })
  return { bytes, boxBytes: size }
}
