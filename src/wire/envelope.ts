/**
 * Signed envelopes: encode, sign, decode and verify RoundMessages. Signatures are made with the
 * author's libp2p Ed25519 key over a domain tag and the body, so any peer can relay a message (over
 * gossip or the sync protocol) and every receiver can still check who wrote it.
 */
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { peerIdFromMultihash, peerIdFromPrivateKey } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { Envelope, RoundMessage } from './messages.ts'
import { ENVELOPE_DOMAIN, MAX_COHORT, MAX_GOSSIP_BYTES, MAX_JOIN_ADDRS, WIRE_VERSION } from './constants.ts'

/** A message that failed to decode or verify. `reason` is short and loggable. */
export class WireError extends Error {
  override name = 'WireError'
}

export interface VerifiedMessage {
  /** The encoded envelope as received (its sha256 identifies the message). */
  bytes: Uint8Array
  author: PeerId
  /** The author's PeerId as a string, cached. */
  authorId: string
  message: RoundMessage
}

function signedBytes (body: Uint8Array): Uint8Array {
  const out = new Uint8Array(ENVELOPE_DOMAIN.byteLength + body.byteLength)
  out.set(ENVELOPE_DOMAIN, 0)
  out.set(body, ENVELOPE_DOMAIN.byteLength)
  return out
}

export async function sealMessage (key: PrivateKey, message: RoundMessage): Promise<Uint8Array> {
  const body = RoundMessage.encode(message)
  const signature = new Uint8Array(await key.sign(signedBytes(body)))
  const author = new Uint8Array(peerIdFromPrivateKey(key).toMultihash().bytes)
  return Envelope.encode({ version: WIRE_VERSION, author, body, signature })
}

const decodeLimits = {
  limits: {
    join: { addrs: MAX_JOIN_ADDRS },
    cohort: { members: MAX_COHORT },
    survivors: { survivors: MAX_COHORT },
    shares: { boxes: MAX_COHORT },
    maskSet: { members: MAX_COHORT },
    unmask: { shares: MAX_COHORT }
  }
}

/** Decodes and verifies an envelope; throws WireError naming what is wrong. */
export async function openMessage (bytes: Uint8Array, maxBytes = MAX_GOSSIP_BYTES): Promise<VerifiedMessage> {
  if (bytes.byteLength > maxBytes) throw new WireError(`message of ${bytes.byteLength} bytes exceeds ${maxBytes}`)
  let env: Envelope
  try {
    env = Envelope.decode(bytes)
  } catch (err) {
    throw new WireError(`malformed envelope: ${(err as Error).message}`)
  }
  if (env.version !== WIRE_VERSION) throw new WireError(`unsupported wire version ${env.version}`)
  let author: PeerId
  try {
    author = peerIdFromMultihash(Digest.decode(env.author))
  } catch {
    throw new WireError('malformed author peer id')
  }
  if (author.publicKey == null) throw new WireError('author peer id carries no public key')
  let ok: boolean
  try {
    ok = await author.publicKey.verify(signedBytes(env.body), env.signature)
  } catch {
    // Ed25519 keys throw (a TypeError) for a signature that is not 64 bytes (found by test/fuzz)
    ok = false
  }
  if (!ok) throw new WireError('bad signature')
  let message: RoundMessage
  try {
    message = RoundMessage.decode(env.body, decodeLimits as any)
  } catch (err) {
    throw new WireError(`malformed round message: ${(err as Error).message}`)
  }
  return { bytes, author, authorId: author.toString(), message }
}
