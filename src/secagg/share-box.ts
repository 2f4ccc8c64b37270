/**
 * Share boxes: the pair of Shamir shares (of b_i and of the mask private key) that member i sends
 * to member j, encrypted with AES-256-GCM under the key from `shareEncryptionKey` (HKDF of
 * X25519(enc_i, enc_j), ordered i -> j).
 *
 *   box       = nonce (12 random bytes) || ciphertext || tag (16 bytes)
 *   AAD       = encodeContext([DOMAIN_SHARE_BOX, task, round, attempt, sender, recipient])
 *   plaintext = version (1 byte) || u16 len || selfSeedShare || u16 len || maskKeyShare
 *
 * The AAD binds the box to its task, round, attempt and both PeerIds, so a box cannot be replayed
 * into another round or redirected to another recipient. Opening throws ShareBoxError on any
 * mismatch: wrong key, wrong context, flipped bit, truncation, or a malformed plaintext.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { DOMAIN_SHARE_BOX, GCM_NONCE_LENGTH, GCM_TAG_LENGTH, MAX_SHARE_LENGTH, SHARE_BOX_VERSION, SHARE_KEY_LENGTH } from './constants.ts'
import { InvalidContextError, InvalidKeyError, ShareBoxError } from './errors.ts'
import { bytesEqual, concatBytes, encodeContext } from './bytes.ts'

/** What a share box is bound to. */
export interface ShareBoxContext {
  task: Uint8Array | string
  round: number
  attempt: number
  sender: Uint8Array
  recipient: Uint8Array
}

/** The two shares one member holds of another member's secrets. */
export interface SharePair {
  selfSeedShare: Uint8Array
  maskKeyShare: Uint8Array
}

export interface SealSharesInit extends ShareBoxContext, SharePair {
  /** 32-byte AES-256-GCM key from `shareEncryptionKey`. */
  key: Uint8Array
}

export interface OpenSharesInit extends ShareBoxContext {
  key: Uint8Array
  box: Uint8Array
}

/** The associated data of a box (exported for tests). */
export function shareBoxAad (ctx: ShareBoxContext): Uint8Array {
  if (!(ctx.sender instanceof Uint8Array) || !(ctx.recipient instanceof Uint8Array) || ctx.sender.byteLength === 0 || ctx.recipient.byteLength === 0) {
    throw new InvalidContextError('sender and recipient must be non-empty PeerIds')
  }
  if (bytesEqual(ctx.sender, ctx.recipient)) throw new InvalidContextError('a share box needs two different peers')
  return encodeContext([DOMAIN_SHARE_BOX, ctx.task, ctx.round, ctx.attempt, ctx.sender, ctx.recipient])
}

function checkKey (key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.byteLength !== SHARE_KEY_LENGTH) {
    throw new InvalidKeyError(`share-box key must be ${SHARE_KEY_LENGTH} bytes`)
  }
}

function u16 (n: number): Uint8Array {
  return Uint8Array.of(n >>> 8, n & 0xff)
}

function checkShare (share: Uint8Array, what: string): void {
  if (!(share instanceof Uint8Array) || share.byteLength === 0 || share.byteLength > MAX_SHARE_LENGTH) {
    throw new InvalidContextError(`${what} must be 1..${MAX_SHARE_LENGTH} bytes`)
  }
}

/** Encrypts one share pair from `sender` to `recipient`. */
export function sealShares (init: SealSharesInit): Uint8Array {
  checkKey(init.key)
  checkShare(init.selfSeedShare, 'selfSeedShare')
  checkShare(init.maskKeyShare, 'maskKeyShare')
  const aad = shareBoxAad(init)
  const plaintext = concatBytes([
    Uint8Array.of(SHARE_BOX_VERSION),
    u16(init.selfSeedShare.byteLength), init.selfSeedShare,
    u16(init.maskKeyShare.byteLength), init.maskKeyShare
  ])
  const nonce = randomBytes(GCM_NONCE_LENGTH)
  const cipher = createCipheriv('aes-256-gcm', init.key, nonce, { authTagLength: GCM_TAG_LENGTH })
  cipher.setAAD(aad)
  const body = concatBytes([cipher.update(plaintext), cipher.final()])
  return concatBytes([nonce, body, cipher.getAuthTag()])
}

function parsePlaintext (p: Uint8Array): SharePair {
  if (p.byteLength < 1 || p[0] !== SHARE_BOX_VERSION) throw new ShareBoxError('share box has an unknown version')
  let o = 1
  const take = (): Uint8Array => {
    if (o + 2 > p.byteLength) throw new ShareBoxError('share box plaintext is truncated')
    const len = (p[o] << 8) | p[o + 1]
    o += 2
    if (len === 0 || o + len > p.byteLength) throw new ShareBoxError('share box plaintext has a bad share length')
    const out = p.slice(o, o + len)
    o += len
    return out
  }
  const selfSeedShare = take()
  const maskKeyShare = take()
  if (o !== p.byteLength) throw new ShareBoxError('share box plaintext has trailing bytes')
  return { selfSeedShare, maskKeyShare }
}

/** Decrypts and checks a share box; throws ShareBoxError unless key, context and bytes all match. */
export function openShares (init: OpenSharesInit): SharePair {
  checkKey(init.key)
  const aad = shareBoxAad(init)
  const box = init.box
  if (!(box instanceof Uint8Array) || box.byteLength < GCM_NONCE_LENGTH + GCM_TAG_LENGTH + 1) {
    throw new ShareBoxError('share box is too short')
  }
  const nonce = box.subarray(0, GCM_NONCE_LENGTH)
  const body = box.subarray(GCM_NONCE_LENGTH, box.byteLength - GCM_TAG_LENGTH)
  const tag = box.subarray(box.byteLength - GCM_TAG_LENGTH)
  let plaintext: Uint8Array
  try {
    const decipher = createDecipheriv('aes-256-gcm', init.key, nonce, { authTagLength: GCM_TAG_LENGTH })
    decipher.setAAD(aad)
    decipher.setAuthTag(tag)
    plaintext = concatBytes([decipher.update(body), decipher.final()])
  } catch (err) {
    throw new ShareBoxError('share box does not authenticate (wrong key, context or bytes)', { cause: err })
  }
  return parsePlaintext(plaintext)
}
