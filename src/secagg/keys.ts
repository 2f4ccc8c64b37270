/**
 * Round keys: two fresh X25519 key pairs per member per round (one to encrypt Shamir shares, one to
 * agree on pairwise mask seeds), as raw 32-byte strings so that a private key can be Shamir-shared
 * and, once rebuilt by the other members, used again. Key agreement rejects low-order points.
 *
 * Raw keys go in and out of node:crypto through the fixed DER prefixes of RFC 8410 (PKCS#8 and SPKI
 * for id-X25519, OID 1.3.101.110), which works on every Node >= 22.
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { X25519_KEY_LENGTH } from './constants.ts'
import { InvalidKeyError, LowOrderPointError } from './errors.ts'
import { concatBytes } from './bytes.ts'

const PKCS8_PREFIX = Uint8Array.from(Buffer.from('302e020100300506032b656e04220420', 'hex'))
const SPKI_PREFIX = Uint8Array.from(Buffer.from('302a300506032b656e032100', 'hex'))

/** An X25519 key pair as raw bytes (32 + 32). */
export interface RawKeyPair {
  publicKey: Uint8Array
  privateKey: Uint8Array
}

/** A member's keys for one round: `enc` encrypts its shares, `mask` agrees on pairwise mask seeds. */
export interface RoundKeys {
  enc: RawKeyPair
  mask: RawKeyPair
}

function checkLength (key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.byteLength !== X25519_KEY_LENGTH) {
    throw new InvalidKeyError(`X25519 ${what} key must be ${X25519_KEY_LENGTH} bytes, got ${key instanceof Uint8Array ? key.byteLength : typeof key}`)
  }
}

function lastBytes (der: Buffer): Uint8Array {
  return Uint8Array.from(der.subarray(der.byteLength - X25519_KEY_LENGTH))
}

function privateKeyObject (privRaw: Uint8Array): KeyObject {
  checkLength(privRaw, 'private')
  try {
    return createPrivateKey({ key: Buffer.from(concatBytes([PKCS8_PREFIX, privRaw])), format: 'der', type: 'pkcs8' })
  } catch (err) {
    throw new InvalidKeyError('X25519 private key does not import', { cause: err })
  }
}

function publicKeyObject (pubRaw: Uint8Array): KeyObject {
  checkLength(pubRaw, 'public')
  try {
    return createPublicKey({ key: Buffer.from(concatBytes([SPKI_PREFIX, pubRaw])), format: 'der', type: 'spki' })
  } catch (err) {
    throw new InvalidKeyError('X25519 public key does not import', { cause: err })
  }
}

/** A fresh X25519 key pair from node:crypto, as raw bytes. */
export function generateKeyPair (): RawKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519')
  return {
    publicKey: lastBytes(publicKey.export({ format: 'der', type: 'spki' })),
    privateKey: lastBytes(privateKey.export({ format: 'der', type: 'pkcs8' }))
  }
}

/** Two fresh X25519 key pairs for one round: share encryption and mask agreement. */
export function generateRoundKeys (): RoundKeys {
  return { enc: generateKeyPair(), mask: generateKeyPair() }
}

/**
 * The public key of a raw private key. Use it to check a mask private key rebuilt from Shamir shares
 * against the public key the member announced (Shamir combination does not detect bad shares).
 */
export function publicKeyOf (privRaw: Uint8Array): Uint8Array {
  return lastBytes(createPublicKey(privateKeyObject(privRaw)).export({ format: 'der', type: 'spki' }))
}

/**
 * X25519(privRaw, pubRaw): the 32-byte shared secret. Throws LowOrderPointError when the result
 * is all zero (a low-order or otherwise degenerate public key; RFC 7748 section 6.1), and
 * InvalidKeyError when a key has the wrong length.
 */
export function agree (privRaw: Uint8Array, pubRaw: Uint8Array): Uint8Array {
  const privateKey = privateKeyObject(privRaw)
  const publicKey = publicKeyObject(pubRaw)
  let shared: Buffer
  try {
    shared = diffieHellman({ privateKey, publicKey })
  } catch (err) {
    // OpenSSL refuses to derive an all-zero secret ("failed during derivation")
    throw new LowOrderPointError(undefined, { cause: err })
  }
  let acc = 0
  for (let i = 0; i < shared.byteLength; i++) acc |= shared[i]
  if (acc === 0 || shared.byteLength !== X25519_KEY_LENGTH) throw new LowOrderPointError()
  return Uint8Array.from(shared)
}
