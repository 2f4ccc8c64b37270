/**
 * Masking and unmasking of ring vectors (Bonawitz et al. 2017, section 4).
 *
 * Member i sends y_i = x_i + PRG(b_i) + Σ_j σ_ij · PRG(s_ij) (mod 2^32), where b_i is its self-mask
 * seed, s_ij = s_ji the pairwise seed with member j, and σ_ij = +1 if i < j (PeerId byte order),
 * −1 otherwise. Over a set S of members the pairwise masks between two members of S cancel, so
 *
 *   Σ_{i∈S} y_i = Σ_{i∈S} x_i + Σ_{i∈S} PRG(b_i) + Σ_{i∈S, d∉S} σ_id · PRG(s_id).
 *
 * `unmaskSum` removes the two remaining terms: the self masks of the survivors (b_i rebuilt from
 * shares) and the pairwise masks survivors added with members d that dropped after the masks were
 * fixed (s_id re-derived from d's rebuilt mask private key).
 *
 * Both walk the vector in chunks of MASK_CHUNK words, one AES-CTR stream per seed, so no temporary
 * vector of full length is allocated per peer.
 */
import { MASK_CHUNK } from './constants.ts'
import { InvalidMaskInputError } from './errors.ts'
import { bytesEqual, comparePeers, toHex } from './bytes.ts'
import { MaskStream } from './prg.ts'

/** One pairwise seed of a member: the other member's PeerId and s_ij. */
export interface PairwiseSeed {
  peer: Uint8Array
  seed: Uint8Array
}

export interface MaskInit {
  /** This member's PeerId (multihash bytes). */
  self: Uint8Array
  /** b_i: this member's fresh 32-byte self-mask seed. */
  selfSeed: Uint8Array
  /** s_ij for every other member j whose shares were received (the members masks are fixed with). */
  pairwise: PairwiseSeed[]
}

/** A pairwise mask a survivor added with a member that dropped after the masks were fixed. */
export interface DroppedPairwiseSeed {
  survivor: Uint8Array
  dropped: Uint8Array
  seed: Uint8Array
}

export interface UnmaskInit {
  /** b_i of every survivor (every member whose masked input is in the sum). */
  survivorSelfSeeds: Uint8Array[]
  /** s_sd for every (survivor s, dropped d) pair whose mask is in the sum. */
  droppedPairwise: DroppedPairwiseSeed[]
}

/** The sign member `self` gives PRG(s_ij) in its own input: +1 if self < peer (byte order), else −1. */
export function maskSign (self: Uint8Array, peer: Uint8Array): 1 | -1 {
  const c = comparePeers(self, peer)
  if (c === 0) throw new InvalidMaskInputError('a member has no pairwise mask with itself')
  return c < 0 ? 1 : -1
}

interface SignedStream { stream: MaskStream, add: boolean }

/** out += Σ ±stream, chunk by chunk. */
function applyStreams (out: Uint32Array, streams: SignedStream[]): Uint32Array {
  const n = out.length
  for (let off = 0; off < n; off += MASK_CHUNK) {
    const len = Math.min(MASK_CHUNK, n - off)
    const o = out.subarray(off, off + len)
    for (const { stream, add } of streams) {
      const m = stream.next(len)
      if (add) for (let i = 0; i < len; i++) o[i] = o[i] + m[i]
      else for (let i = 0; i < len; i++) o[i] = o[i] - m[i]
    }
  }
  return out
}

/** y = input + PRG(selfSeed) + Σ_j ±PRG(s_ij) (mod 2^32); a new vector, `input` is left alone. */
export function maskInput (input: Uint32Array, init: MaskInit): Uint32Array {
  const { self, selfSeed, pairwise } = init
  const streams: SignedStream[] = [{ stream: new MaskStream(selfSeed), add: true }]
  const seen = new Set<string>()
  for (const { peer, seed } of pairwise) {
    const key = toHex(peer)
    if (seen.has(key)) throw new InvalidMaskInputError(`peer ${key.slice(0, 16)}… appears twice among the pairwise seeds`)
    seen.add(key)
    streams.push({ stream: new MaskStream(seed), add: maskSign(self, peer) > 0 })
  }
  return applyStreams(Uint32Array.from(input), streams)
}

/**
 * Removes the survivors' self masks and the survivor–dropped pairwise masks from the ring sum of
 * the survivors' masked inputs; returns the sum of their inputs (a new vector). With `offset`,
 * `maskedSum` is the slice of the sum that starts at word `offset` of the vectors (in-network
 * aggregation unmasks one slice at a time).
 */
export function unmaskSum (maskedSum: Uint32Array, init: UnmaskInit, offset = 0): Uint32Array {
  const streams: SignedStream[] = []
  for (const seed of init.survivorSelfSeeds) streams.push({ stream: new MaskStream(seed, offset), add: false })
  for (const { survivor, dropped, seed } of init.droppedPairwise) {
    if (bytesEqual(survivor, dropped)) throw new InvalidMaskInputError('a survivor cannot be its own dropped peer')
    // the survivor added σ · PRG(s); take it away
    streams.push({ stream: new MaskStream(seed, offset), add: maskSign(survivor, dropped) < 0 })
  }
  return applyStreams(Uint32Array.from(maskedSum), streams)
}
