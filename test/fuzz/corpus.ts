// Valid encoded messages the fuzzers mutate, built with the real encoders from recorded rounds: the
// RoundMessage body of every kind (plain and secure rounds), signed envelopes, sync requests and
// responses, and signed chain pages. Also `sealBody`, which signs raw (possibly malformed) body bytes
// exactly as sealMessage signs an encoded RoundMessage.
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { signChainPage } from '../../src/round/chain-wire.ts'
import type { ChainLink } from '../../src/round/chain.ts'
import { ENVELOPE_DOMAIN, WIRE_VERSION } from '../../src/wire/constants.ts'
import { float32Bytes, fromHex, sha256, toHex } from '../../src/wire/hash.ts'
import { Envelope, RoundMessage, SignedChain, SyncRequest, SyncResponse } from '../../src/wire/messages.ts'
import { BASE, M0, header, makeIdentity, scenario, sharedIdentities } from './fixtures.ts'
import type { Identity, Mode, Scenario } from './fixtures.ts'
import { recordTrace } from './trace.ts'
import type { Trace } from './trace.ts'

/** The body kinds of a RoundMessage (one target each). */
export const BODY_KINDS = ['join', 'cohort', 'update', 'survivors', 'result', 'shares', 'maskSet', 'ack', 'unmask', 'sliceSum'] as const
export type BodyKind = typeof BODY_KINDS[number]

export function kindOf (m: RoundMessage): BodyKind | 'none' {
  for (const k of BODY_KINDS) if ((m as unknown as Record<string, unknown>)[k] != null) return k
  return 'none'
}

/** Signs `body` (bytes, valid or not) as sealMessage does and wraps it in an Envelope. */
export async function sealBody (key: PrivateKey, body: Uint8Array): Promise<Uint8Array> {
  const signed = new Uint8Array(ENVELOPE_DOMAIN.length + body.length)
  signed.set(ENVELOPE_DOMAIN)
  signed.set(body, ENVELOPE_DOMAIN.length)
  const signature = new Uint8Array(await key.sign(signed))
  const author = new Uint8Array(peerIdFromPrivateKey(key).toMultihash().bytes)
  return Envelope.encode({ version: WIRE_VERSION, author: author as Uint8Array<ArrayBuffer>, body: body as Uint8Array<ArrayBuffer>, signature: signature as Uint8Array<ArrayBuffer> })
}

export interface RoundCorpus {
  scenarios: Record<Mode, Scenario>
  traces: Record<Mode, Trace>
  /** Bodies (encoded RoundMessages) by mode and kind. */
  bodies: Record<Mode, Record<BodyKind, Uint8Array[]>>
  /** Every valid envelope of both rounds. */
  envelopes: Uint8Array[]
  /** Signers: the 4 cohort peers, then an outsider (Ed25519) and a secp256k1 outsider. */
  signers: Identity[]
}

let roundCorpus: Promise<RoundCorpus> | undefined

/** The recorded plain and secure rounds and their messages (built once per process). */
export async function getRoundCorpus (): Promise<RoundCorpus> {
  roundCorpus ??= (async () => {
    const scenarios = { plain: scenario('plain'), secure: scenario('secure') }
    const traces = { plain: await recordTrace(scenarios.plain), secure: await recordTrace(scenarios.secure) }
    const signers = [...await sharedIdentities(4), await makeIdentity(), await makeIdentity('secp256k1')]
    const bodies = {} as RoundCorpus['bodies']
    const envelopes: Uint8Array[] = []
    for (const mode of ['plain', 'secure'] as const) {
      const byKind = Object.fromEntries(BODY_KINDS.map(k => [k, [] as Uint8Array[]])) as Record<BodyKind, Uint8Array[]>
      for (const vm of traces[mode].messages) {
        const k = kindOf(vm.message)
        if (k !== 'none') byKind[k].push(Envelope.decode(vm.bytes).body)
        envelopes.push(vm.bytes)
      }
      const s = scenarios[mode]
      const survivors = traces[mode].messages.find(vm => vm.message.survivors != null)
      const survivorsHash = survivors != null ? sha256(survivors.bytes) : new Uint8Array(32)
      // SliceSum (in-network aggregation) is not in a 4-peer round: two hand-made ones.
      for (const [index, count] of [[0, 2], [1, 2]]) {
        byKind.sliceSum.push(RoundMessage.encode({ ...header(s), sliceSum: { survivorsHash: survivorsHash as Uint8Array<ArrayBuffer>, index, count, sumHash: sha256(Uint8Array.of(index)) as Uint8Array<ArrayBuffer> } }))
      }
      // Join with announced addresses (/ip4/127.0.0.1/tcp/4001 and /unix/x)
      byKind.join.push(RoundMessage.encode({ ...header(s), join: { encPub: new Uint8Array(32).fill(1) as Uint8Array<ArrayBuffer>, maskPub: new Uint8Array(32).fill(2) as Uint8Array<ArrayBuffer>, addrs: [fromHex('047f000001060fa1') as Uint8Array<ArrayBuffer>, Uint8Array.of(0x90, 0x03, 0x01, 0x78) as Uint8Array<ArrayBuffer>] } }))
      bodies[mode] = byKind
    }
    for (const k of BODY_KINDS) if (bodies.plain[k].length === 0) bodies.plain[k] = bodies.secure[k]
    return { scenarios, traces, bodies, envelopes, signers }
  })()
  return await roundCorpus
}

/** A chain of `n` links from BASE, with made-up (but well-formed) hashes; the last result is `head`. */
export function chainLinks (n: number, from = 1, base = toHex(BASE)): ChainLink[] {
  const links: ChainLink[] = []
  let prev = base
  for (let r = from; r < from + n; r++) {
    const resultHash = toHex(sha256(Uint8Array.of(r & 0xff, r >> 8)))
    links.push({ round: r, attempt: r % 2, baseHash: prev, cohortHash: toHex(sha256(Uint8Array.of(1, r))), survivorsHash: toHex(sha256(Uint8Array.of(2, r))), resultHash })
    prev = resultHash
  }
  return links
}

export interface SyncCorpus {
  requests: Uint8Array[]
  responses: Uint8Array[]
  /** Encoded SignedChain messages and the ChainPages inside them. */
  signedChains: Uint8Array[]
  pages: Uint8Array[]
  /** The bytes of the models the chains end at. */
  headModels: Uint8Array[]
}

/** Valid sync requests and responses for `s` (responses carry the round's envelopes and signed chain pages). */
export async function syncCorpus (s: Scenario, envelopes: readonly Uint8Array[], signers: readonly Identity[]): Promise<SyncCorpus> {
  const task = s.taskBytes as Uint8Array<ArrayBuffer>
  const hashes = envelopes.slice(0, 6).map(e => sha256(e) as Uint8Array<ArrayBuffer>)
  const requests = [
    SyncRequest.encode({ task, round: 1, attempt: 0, have: [] }),
    SyncRequest.encode({ task, round: 1, attempt: 0, have: hashes }),
    SyncRequest.encode({ task, round: 0, attempt: 0, have: [], chainFrom: 1 }),
    SyncRequest.encode({ task, round: 0, attempt: 0, have: [], chainFrom: 2, chainTo: 3 }),
    SyncRequest.encode({ task, round: 4, attempt: 0, have: [] }),
    SyncRequest.encode({ task, round: 4, attempt: 0, have: hashes.slice(0, 2), chainFrom: 1, chainTo: 0 })
  ]
  const signedChains: Uint8Array[] = []
  const pages: Uint8Array[] = []
  const chains: SignedChain[] = []
  const headModels: Uint8Array[] = []
  for (const [n, signer] of [[1, signers[0]], [3, signers[1]], [5, signers[5]]] as const) {
    const links = chainLinks(n)
    // the head is a real model (its bytes are in headModels), so a peer can adopt the chain
    const model = float32Bytes(M0.map(x => x + n))
    headModels.push(model)
    links[n - 1].resultHash = toHex(sha256(model))
    const sc = await signChainPage(signer.key, { task, head: { round: n, model: links[n - 1].resultHash }, links })
    chains.push(sc)
    signedChains.push(SignedChain.encode(sc))
    pages.push(sc.page)
  }
  const headModel = BASE as Uint8Array<ArrayBuffer>
  const responses = [
    SyncResponse.encode({ headRound: 0, headModel, envelopes: [] }),
    SyncResponse.encode({ headRound: 1, headModel, envelopes: envelopes.slice(0, 8) as Uint8Array<ArrayBuffer>[] }),
    SyncResponse.encode({ headRound: 3, headModel, envelopes: [], chain: chains[1] }),
    SyncResponse.encode({ headRound: 5, headModel, envelopes: envelopes.slice(0, 2) as Uint8Array<ArrayBuffer>[], chain: chains[2] }),
    SyncResponse.encode({ headRound: 1, headModel, envelopes: [], chain: chains[0] })
  ]
  return { requests, responses, signedChains, pages, headModels }
}
