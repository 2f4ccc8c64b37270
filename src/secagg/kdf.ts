/**
 * Key derivation from X25519 shared secrets with HKDF-SHA256 (RFC 5869, empty salt). The info
 * string binds a domain string, the task id, the round, the attempt and the two PeerIds, so a seed
 * or key is never reused across tasks, rounds, attempts, pairs or purposes:
 *
 * - `pairwiseMaskSeed`: the PeerIds are sorted (byte order), so both members derive the same s_ij.
 * - `shareEncryptionKey`: the PeerIds are ordered sender -> recipient, so i -> j and j -> i use
 *   different AES-GCM keys.
 */
import { hkdfSync } from 'node:crypto'
import { DOMAIN_MASK_SEED, DOMAIN_SHARE_KEY, MAX_HKDF_INFO_LENGTH, SEED_LENGTH, SHARE_KEY_LENGTH, X25519_KEY_LENGTH } from './constants.ts'
import { InvalidContextError, InvalidKeyError } from './errors.ts'
import { bytesEqual, comparePeers, encodeContext } from './bytes.ts'

/** Where a derivation happens: the task id (bytes or string), the round and the attempt. */
export interface RoundContext {
  task: Uint8Array | string
  round: number
  attempt: number
}

/** Context of a pairwise mask seed: the two PeerIds, in any order. */
export interface PairContext extends RoundContext {
  peers: readonly [Uint8Array, Uint8Array]
}

/** Context of a share-encryption key: who encrypts to whom. */
export interface DirectedContext extends RoundContext {
  sender: Uint8Array
  recipient: Uint8Array
}

function hkdf (shared: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (!(shared instanceof Uint8Array) || shared.byteLength !== X25519_KEY_LENGTH) {
    throw new InvalidKeyError(`shared secret must be ${X25519_KEY_LENGTH} bytes`)
  }
  if (info.byteLength > MAX_HKDF_INFO_LENGTH) {
    throw new InvalidContextError(`HKDF info is ${info.byteLength} bytes, more than ${MAX_HKDF_INFO_LENGTH}`)
  }
  return new Uint8Array(hkdfSync('sha256', shared, new Uint8Array(0), info, length))
}

function checkPeers (a: Uint8Array, b: Uint8Array): void {
  if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array) || a.byteLength === 0 || b.byteLength === 0) {
    throw new InvalidContextError('PeerIds must be non-empty byte arrays')
  }
  if (bytesEqual(a, b)) throw new InvalidContextError('the two PeerIds of a derivation must differ')
}

/** The info string of a pairwise mask seed (exported for tests and for documentation). */
export function pairwiseMaskInfo (ctx: PairContext): Uint8Array {
  const [a, b] = ctx.peers
  checkPeers(a, b)
  const [lo, hi] = comparePeers(a, b) < 0 ? [a, b] : [b, a]
  return encodeContext([DOMAIN_MASK_SEED, ctx.task, ctx.round, ctx.attempt, lo, hi])
}

/** The info string of a share-encryption key. */
export function shareEncryptionInfo (ctx: DirectedContext): Uint8Array {
  checkPeers(ctx.sender, ctx.recipient)
  return encodeContext([DOMAIN_SHARE_KEY, ctx.task, ctx.round, ctx.attempt, ctx.sender, ctx.recipient])
}

/** s_ij: the 32-byte pairwise mask seed from X25519(mask_i, mask_j); symmetric in the two peers. */
export function pairwiseMaskSeed (shared: Uint8Array, ctx: PairContext): Uint8Array {
  return hkdf(shared, pairwiseMaskInfo(ctx), SEED_LENGTH)
}

/** The 32-byte AES-256-GCM key for shares from `sender` to `recipient`, from X25519(enc_i, enc_j). */
export function shareEncryptionKey (shared: Uint8Array, ctx: DirectedContext): Uint8Array {
  return hkdf(shared, shareEncryptionInfo(ctx), SHARE_KEY_LENGTH)
}
