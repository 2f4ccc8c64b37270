// "No unbounded allocation" for repeated fields: every `repeated` field in src/wire/messages.proto must
// have a count limit where it is decoded from the wire, and a case here that builds a message one entry
// over that limit and checks that the real decode path refuses it (and takes one at the limit). A new
// repeated field without a case, or a decode call in src/ without `limits` for a message that holds a
// repeated field, fails test/fuzz.test.ts.
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ChainWireError, openChainPage } from '../../src/round/chain-wire.ts'
import { ROUND_DEFAULTS } from '../../src/round/constants.ts'
import { MAX_COHORT, MAX_JOIN_ADDRS } from '../../src/wire/constants.ts'
import { WireError, openMessage, sealMessage } from '../../src/wire/envelope.ts'
import { sha256 } from '../../src/wire/hash.ts'
import { ChainPage, SyncRequest, SyncResponse } from '../../src/wire/messages.ts'
import type { RoundMessage, SignedChain } from '../../src/wire/messages.ts'
import { CHAIN_DOMAIN } from '../../src/wire/constants.ts'
import { chainLinks } from './corpus.ts'
import { idleDriver } from './driver-host.ts'
import { BASE, header, makeIdentity, scenario } from './fixtures.ts'

const PROTO = fileURLToPath(new URL('../../src/wire/messages.proto', import.meta.url))

/** `Message.field` of every repeated field in messages.proto. */
export function repeatedFields (proto = readFileSync(PROTO, 'utf8')): string[] {
  const out: string[] = []
  let message = ''
  for (const line of proto.split('\n')) {
    const m = /^\s*message\s+(\w+)/.exec(line)
    if (m != null) message = m[1]
    const r = /^\s*repeated\s+\w+\s+(\w+)\s*=/.exec(line)
    if (r != null) out.push(`${message}.${r[1]}`)
  }
  return out
}

/** Messages that hold a repeated field, directly or in a nested message (their decoding needs limits). */
export function messagesNeedingLimits (proto = readFileSync(PROTO, 'utf8')): string[] {
  const fields = new Map<string, Array<{ type: string, repeated: boolean }>>()
  let message = ''
  for (const line of proto.split('\n')) {
    const m = /^\s*message\s+(\w+)/.exec(line)
    if (m != null) { message = m[1]; fields.set(message, []) }
    const f = /^\s*(repeated\s+|optional\s+)?(\w+)\s+\w+\s*=\s*\d+/.exec(line)
    if (f != null && message !== '') fields.get(message)!.push({ type: f[2], repeated: (f[1] ?? '').trim() === 'repeated' })
  }
  const needs = (name: string, seen = new Set<string>()): boolean => {
    if (seen.has(name)) return false
    seen.add(name)
    return (fields.get(name) ?? []).some(f => f.repeated || (fields.has(f.type) && needs(f.type, seen)))
  }
  return [...fields.keys()].filter(n => needs(n))
}

/** `file:line` of every `X.decode(` in src/ (generated code aside) where X needs limits and the call passes none. */
export function decodesWithoutLimits (): string[] {
  const names = messagesNeedingLimits()
  const call = new RegExp(`\\b(${names.join('|')})\\.decode\\(`)
  const out: string[] = []
  const root = fileURLToPath(new URL('../../src/', import.meta.url))
  for (const file of readdirSync(root, { recursive: true }) as string[]) {
    if (!file.endsWith('.ts') || file.endsWith('wire/messages.ts')) continue
    readFileSync(join(root, file), 'utf8').split('\n').forEach((line, i) => {
      if (call.test(line) && !/limits/i.test(line)) out.push(`src/${file}:${i + 1}`)
    })
  }
  return out
}

const b = (n: number, fill: number): Uint8Array<ArrayBuffer> => new Uint8Array(n).fill(fill) as Uint8Array<ArrayBuffer>
const peer = (i: number): Uint8Array<ArrayBuffer> => Uint8Array.of(0, 36, 8, 1, 18, 32, ...new Uint8Array(30), i >> 8, i & 0xff) as Uint8Array<ArrayBuffer>

/** `count` entries of a repeated body field, sealed: openMessage must refuse limit + 1. */
function roundCase (limit: number, body: (count: number) => Partial<RoundMessage>): () => Promise<void> {
  return async () => {
    const s = scenario('plain')
    const id = await makeIdentity()
    const seal = async (n: number): Promise<Uint8Array> => await sealMessage(id.key, { ...header(s), ...body(n) } as RoundMessage)
    await openMessage(await seal(limit)) // at the limit: decodes
    const over = await openMessage(await seal(limit + 1)).then(() => undefined, (err: unknown) => err)
    if (!(over instanceof WireError)) throw new Error(`${limit + 1} entries were not refused with a WireError (got ${String(over)})`)
  }
}

export const LIMIT_CASES: Record<string, () => Promise<void>> = {
  'Join.addrs': roundCase(MAX_JOIN_ADDRS, n => ({ join: { encPub: b(32, 1), maskPub: b(32, 2), addrs: Array.from({ length: n }, () => Uint8Array.of(4, 127, 0, 0, 1) as Uint8Array<ArrayBuffer>) } })),
  'Cohort.members': roundCase(MAX_COHORT, n => ({ cohort: { rank: 0, threshold: 1, members: Array.from({ length: n }, (_, i) => ({ peer: peer(i), encPub: b(32, 1), maskPub: b(32, 2) })) } })),
  'Survivors.survivors': roundCase(MAX_COHORT, n => ({ survivors: { cohortHash: b(32, 3), survivors: Array.from({ length: n }, (_, i) => ({ peer: peer(i), updateHash: b(32, 4) })) } })),
  'Shares.boxes': roundCase(MAX_COHORT, n => ({ shares: { cohortHash: b(32, 3), seedCommit: b(32, 5), boxes: Array.from({ length: n }, () => b(29, 6)), bundleHash: new Uint8Array(0), boxBytes: 0 } })),
  'MaskSet.members': roundCase(MAX_COHORT, n => ({ maskSet: { cohortHash: b(32, 3), members: Array.from({ length: n }, (_, i) => ({ peer: peer(i), updateHash: b(32, 4) })) } })),
  'Unmask.shares': roundCase(MAX_COHORT, n => ({ unmask: { survivorsHash: b(32, 3), shares: Array.from({ length: n }, () => b(33, 7)), sharesHash: new Uint8Array(0) } })),
  'SyncRequest.have': async () => {
    const s = scenario('plain')
    const { channel } = idleDriver(s, await makeIdentity())
    const req = (n: number): Uint8Array => SyncRequest.encode({ task: s.taskBytes as Uint8Array<ArrayBuffer>, round: 1, attempt: 0, have: Array.from({ length: n }, () => b(32, 9)) })
    await channel.sync!(req(ROUND_DEFAULTS.maxSyncEnvelopes), 'x')
    const over = await channel.sync!(req(ROUND_DEFAULTS.maxSyncEnvelopes + 1), 'x').then(() => undefined, (err: unknown) => err)
    if (!(over instanceof Error) || over.name !== 'MaxLengthError') throw new Error(`a request with ${ROUND_DEFAULTS.maxSyncEnvelopes + 1} hashes was answered (got ${String(over)})`)
  },
  'SyncResponse.envelopes': async () => {
    // the driver decodes answers with the limit: over it, the answer is dropped and none of its envelopes taken
    const s = scenario('plain')
    const id = await makeIdentity()
    const env = await sealMessage(id.key, { ...header(s, { round: 2 }), join: { encPub: b(32, 1), maskPub: b(32, 2), addrs: [] } })
    const res = (n: number): Uint8Array => SyncResponse.encode({ headRound: 0, headModel: BASE as Uint8Array<ArrayBuffer>, envelopes: Array.from({ length: n }, () => env as Uint8Array<ArrayBuffer>) })
    SyncResponse.decode(res(ROUND_DEFAULTS.maxSyncEnvelopes), { limits: { envelopes: ROUND_DEFAULTS.maxSyncEnvelopes } } as any)
    const { driver, channel } = idleDriver(s, await makeIdentity())
    channel.answers = [res(ROUND_DEFAULTS.maxSyncEnvelopes + 1)]
    const pull = (driver as unknown as { pullEnvelopes: (w: (h: string) => boolean, s: AbortSignal) => Promise<void> }).pullEnvelopes
    let asked = 0
    await pull.call(driver, () => { asked++; return true }, new AbortController().signal)
    if (asked > 0) throw new Error(`the driver looked at ${asked} envelopes of an answer over the limit`)
  },
  'ChainPage.links': async () => {
    const s = scenario('plain')
    const id = await makeIdentity()
    const max = ROUND_DEFAULTS.chainPageLinks
    const signed = async (n: number): Promise<SignedChain> => {
      const links = chainLinks(n).map(l => ({ round: l.round, attempt: l.attempt, baseHash: sha256(Uint8Array.of(1)) as Uint8Array<ArrayBuffer>, cohortHash: b(32, 1), survivorsHash: b(32, 2), resultHash: b(32, 3) }))
      const page = ChainPage.encode({ task: s.taskBytes as Uint8Array<ArrayBuffer>, headRound: n, headModel: b(32, 3), links })
      const data = new Uint8Array(CHAIN_DOMAIN.length + page.length)
      data.set(CHAIN_DOMAIN)
      data.set(page, CHAIN_DOMAIN.length)
      return { signer: id.bytes as Uint8Array<ArrayBuffer>, page, signature: new Uint8Array(await id.key.sign(data)) as Uint8Array<ArrayBuffer> }
    }
    await openChainPage(await signed(max), { task: s.taskBytes, maxLinks: max })
    const over = await openChainPage(await signed(max + 1), { task: s.taskBytes, maxLinks: max }).then(() => undefined, (err: unknown) => err)
    if (!(over instanceof ChainWireError)) throw new Error(`a page of ${max + 1} links was opened (got ${String(over)})`)
  }
}
