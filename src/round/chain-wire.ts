/**
 * Chain pages on the wire (src/wire/messages.proto: ChainLink, ChainPage, SignedChain): hex links to
 * protobuf and back, and the responder's Ed25519 signature over "fedswarm/chain/v1" || page. The
 * signature pins a page on the peer that sent it, whoever relayed the bytes, so a rejected chain is
 * logged against the right peer and one peer counts as one vote (src/round/chain.ts).
 */
import type { PrivateKey, PublicKey } from '@libp2p/interface'
import { peerIdFromMultihash, peerIdFromPrivateKey } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { ChainPage, SignedChain } from '../wire/messages.ts'
import type { ChainLink as WireLink } from '../wire/messages.ts'
import { CHAIN_DOMAIN } from '../wire/constants.ts'
import { bytesEqual, fromHex, toHex } from '../wire/hash.ts'
import type { ChainAnswer, ChainHead, ChainLink } from './chain.ts'

/** A chain answer that cannot be decoded or whose signature does not verify. */
export class ChainWireError extends Error {
  override name = 'ChainWireError'
}

const buf = (hex: string): Uint8Array<ArrayBuffer> => fromHex(hex) as Uint8Array<ArrayBuffer>

export function linkToWire (l: ChainLink): WireLink {
  return { round: l.round, attempt: l.attempt, baseHash: buf(l.baseHash), cohortHash: buf(l.cohortHash), survivorsHash: buf(l.survivorsHash), resultHash: buf(l.resultHash) }
}

export function linkFromWire (l: WireLink): ChainLink {
  return { round: l.round, attempt: l.attempt, baseHash: toHex(l.baseHash), cohortHash: toHex(l.cohortHash), survivorsHash: toHex(l.survivorsHash), resultHash: toHex(l.resultHash) }
}

function signed (page: Uint8Array): Uint8Array {
  const out = new Uint8Array(CHAIN_DOMAIN.byteLength + page.byteLength)
  out.set(CHAIN_DOMAIN, 0)
  out.set(page, CHAIN_DOMAIN.byteLength)
  return out
}

/** Whether `sig` is `key`'s signature of `data`; false also where verify throws (an Ed25519 key throws a TypeError for a signature that is not 64 bytes: found by test/fuzz). */
async function verifies (key: PublicKey, data: Uint8Array, sig: Uint8Array): Promise<boolean> {
  try {
    return await key.verify(data, sig)
  } catch {
    return false
  }
}

/** Encodes and signs a page of `links` and the responder's head with the responder's key. */
export async function signChainPage (key: PrivateKey, page: { task: Uint8Array, head: ChainHead, links: readonly ChainLink[] }): Promise<SignedChain> {
  const bytes = ChainPage.encode({
    task: page.task as Uint8Array<ArrayBuffer>,
    headRound: page.head.round,
    headModel: buf(page.head.model),
    links: page.links.map(linkToWire)
  })
  const signature = new Uint8Array(await key.sign(signed(bytes))) as Uint8Array<ArrayBuffer>
  return { signer: new Uint8Array(peerIdFromPrivateKey(key).toMultihash().bytes) as Uint8Array<ArrayBuffer>, page: bytes, signature }
}

/**
 * Verifies the signature and decodes the page; throws a `ChainWireError` (naming the claimed signer
 * where it can) if the signature is bad, the page is malformed, longer than `maxLinks`, or for
 * another task. The answer's `peer` is the signer's PeerId.
 */
export async function openChainPage (s: SignedChain, opts: { task: Uint8Array, maxLinks: number }): Promise<ChainAnswer> {
  let peer
  try {
    peer = peerIdFromMultihash(Digest.decode(s.signer))
  } catch {
    throw new ChainWireError('chain page with a malformed signer')
  }
  if (peer.publicKey == null || !(await verifies(peer.publicKey, signed(s.page), s.signature))) {
    throw new ChainWireError(`chain page claiming to be from ${peer.toString()} has a bad signature`)
  }
  let page: ChainPage
  try {
    page = ChainPage.decode(s.page, { limits: { links: opts.maxLinks } } as any)
  } catch (err) {
    throw new ChainWireError(`chain page from ${peer.toString()} is malformed: ${(err as Error).message}`)
  }
  if (!bytesEqual(page.task, opts.task)) throw new ChainWireError(`chain page from ${peer.toString()} is for another task`)
  if (page.headModel.byteLength !== 32) throw new ChainWireError(`chain page from ${peer.toString()} has a malformed head model hash`)
  return { peer: peer.toString(), head: { round: page.headRound, model: toHex(page.headModel) }, links: page.links.map(linkFromWire) }
}
