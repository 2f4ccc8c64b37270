// The sync protocol's messages at the round layer, and chain pages:
// - sync:request — a SyncRequest (mutated, random) to RoundDriver's sync answer (as serveSync calls
//   it): an Error or a SyncResponse within the response limit, never anything else;
// - sync:response — a SyncResponse (carrying envelopes and signed chain pages) as the answer to the
//   driver's own requests: its message pull and its chain sync (catch-up) take it without throwing;
// - chain:page — a ChainPage signed by a real key (or a mutated SignedChain) to openChainPage (a
//   ChainWireError or an answer), then rankChains over it and valid answers (never throws).
import fc from 'fast-check'
import type { RoundDriver } from '../../../src/round/driver.ts'
import { ChainWireError, openChainPage } from '../../../src/round/chain-wire.ts'
import { rankChains } from '../../../src/round/chain.ts'
import type { ChainAnswer } from '../../../src/round/chain.ts'
import { ROUND_DEFAULTS } from '../../../src/round/constants.ts'
import { DEFAULT_MAX_SYNC_RESPONSE_BYTES } from '../../../src/net/constants.ts'
import { CHAIN_DOMAIN } from '../../../src/wire/constants.ts'
import { toHex } from '../../../src/wire/hash.ts'
import { ChainPage, SignedChain, SyncRequest, SyncResponse } from '../../../src/wire/messages.ts'
import { getRoundCorpus, syncCorpus } from '../corpus.ts'
import type { SyncCorpus } from '../corpus.ts'
import { idleDriver, syncServingDriver } from '../driver-host.ts'
import { BASE, makeIdentity } from '../fixtures.ts'
import { hexPreview, outcome, violation } from '../harness.ts'
import type { FuzzTarget, TargetRun } from '../harness.ts'
import { binaryInputArb } from '../mutate.ts'
import { semanticArb } from '../obj-mutate.ts'

const MiB = 1024 * 1024
const never = (): boolean => false
const show = (b: Uint8Array): string => hexPreview(b)

/** The private steps of the driver this file calls directly (typed here; checked at setup). */
interface DriverInternals {
  pullEnvelopes: (want: (hashHex: string) => boolean, signal: AbortSignal) => Promise<void>
  syncHead: (signal: AbortSignal) => Promise<boolean>
}

function internals (d: RoundDriver): DriverInternals {
  const i = d as unknown as DriverInternals
  if (typeof i.pullEnvelopes !== 'function' || typeof i.syncHead !== 'function') {
    throw new Error('RoundDriver no longer has pullEnvelopes / syncHead: update test/fuzz/targets/sync.ts')
  }
  return i
}

async function corpora (): Promise<{ sync: SyncCorpus, c: Awaited<ReturnType<typeof getRoundCorpus>> }> {
  const c = await getRoundCorpus()
  const envelopes = c.traces.plain.messages.map(vm => vm.bytes)
  return { c, sync: await syncCorpus(c.scenarios.plain, envelopes, c.signers) }
}

const syncRequest: FuzzTarget = {
  name: 'sync:request',
  what: 'SyncRequest bytes → RoundDriver sync answer (history of a round, signed chain pages): an Error or a SyncResponse ≤ 64 MiB',
  async setup (): Promise<TargetRun<Uint8Array>> {
    const { c, sync } = await corpora()
    const answer = await syncServingDriver(c)
    return {
      arbitrary: fc.oneof({ weight: 1, arbitrary: semanticArb(sync.requests, SyncRequest.decode, SyncRequest.encode) }, { weight: 1, arbitrary: binaryInputArb(sync.requests) }),
      size: (b) => b.byteLength,
      show,
      async run (b) {
        const r = await outcome('RoundDriver sync answer', () => answer(b, 'fuzz-peer'), err => err instanceof Error)
        if ('error' in r) return `error:${r.error.name}`
        if (!(r.value instanceof Uint8Array)) violation('the sync answer is not a Uint8Array')
        if (r.value.byteLength > DEFAULT_MAX_SYNC_RESPONSE_BYTES) violation(`a sync answer of ${r.value.byteLength} bytes`)
        const res = SyncResponse.decode(r.value, { limits: { envelopes: ROUND_DEFAULTS.maxSyncEnvelopes } } as any)
        return res.chain != null ? 'answer+chain' : `answer(${Math.min(res.envelopes.length, 9)} envelopes)`
      }
    }
  }
}

const syncResponse: FuzzTarget = {
  name: 'sync:response',
  what: 'SyncResponse bytes (envelopes, signed chain pages) as the answer to a RoundDriver\'s message pull and chain sync: no throw',
  // each input runs the driver's catch-up once; the driver is created per input
  callAllocBytes: (n) => 32 * MiB + 64 * n,
  async setup (): Promise<TargetRun<Uint8Array>> {
    const { c, sync } = await corpora()
    const s = c.scenarios.plain
    const ident = await makeIdentity()
    return {
      arbitrary: fc.oneof({ weight: 1, arbitrary: semanticArb(sync.responses, SyncResponse.decode, SyncResponse.encode) }, { weight: 1, arbitrary: binaryInputArb(sync.responses) }),
      size: (b) => b.byteLength,
      show,
      async run (b) {
        const { driver, channel } = idleDriver(s, ident)
        channel.answers = [b]
        for (const m of sync.headModels) channel.putBlob(m)
        const d = internals(driver)
        const signal = new AbortController().signal
        await outcome('RoundDriver message pull', () => d.pullEnvelopes(() => true, signal), never)
        const r = await outcome('RoundDriver chain sync', () => d.syncHead(signal), never) as { value: boolean }
        driver.stop()
        return r.value ? 'adopted' : 'not adopted'
      }
    }
  }
}

interface PageInput { page: Uint8Array, signer: number, signed: Uint8Array | null }

const chainPage: FuzzTarget = {
  name: 'chain:page',
  what: 'ChainPage bytes signed by a real key, or mutated SignedChain bytes → openChainPage (ChainWireError only) → rankChains with valid answers (no throw)',
  async setup (): Promise<TargetRun<PageInput>> {
    const { c, sync } = await corpora()
    const task = c.scenarios.plain.taskBytes
    const valid: ChainAnswer[] = []
    for (const sc of sync.signedChains) valid.push(await openChainPage(SignedChain.decode(sc), { task, maxLinks: ROUND_DEFAULTS.chainPageLinks }))
    const pageArb = fc.oneof({ weight: 1, arbitrary: semanticArb(sync.pages, ChainPage.decode, ChainPage.encode) }, { weight: 1, arbitrary: binaryInputArb(sync.pages) })
    return {
      arbitrary: fc.record({
        page: pageArb,
        signer: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: fc.constantFrom(4, 5) }),
        signed: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: binaryInputArb(sync.signedChains) })
      }),
      size: (i) => i.page.byteLength + (i.signed?.byteLength ?? 0),
      show: (i) => `page ${hexPreview(i.page)} signer ${i.signer} signed ${i.signed != null ? hexPreview(i.signed) : '-'}`,
      async run (i) {
        let sc: SignedChain
        if (i.signed != null) {
          const d = await outcome('SignedChain.decode', () => SignedChain.decode(i.signed!), err => err instanceof Error)
          if ('error' in d) return 'undecodable'
          sc = d.value
        } else {
          const signer = c.signers[i.signer]
          // signed as signChainPage signs an encoded page: "fedswarm/chain/v1" || page
          const data = new Uint8Array(CHAIN_DOMAIN.length + i.page.length)
          data.set(CHAIN_DOMAIN)
          data.set(i.page, CHAIN_DOMAIN.length)
          sc = { signer: signer.bytes as Uint8Array<ArrayBuffer>, page: i.page as Uint8Array<ArrayBuffer>, signature: new Uint8Array(await signer.key.sign(data)) as Uint8Array<ArrayBuffer> }
        }
        const r = await outcome('openChainPage', () => openChainPage(sc, { task, maxLinks: ROUND_DEFAULTS.chainPageLinks }), err => err instanceof ChainWireError)
        if ('error' in r) return 'ChainWireError'
        const ranked = await outcome('rankChains', () => rankChains([r.value, ...valid], { from: 1, base: toHex(BASE), pageLinks: ROUND_DEFAULTS.chainPageLinks }), never) as { value: ReturnType<typeof rankChains> }
        return ranked.value.rejected.some(x => x.peer === r.value.peer) ? 'opened, rejected' : 'opened, ranked'
      }
    }
  }
}

export function syncTargets (): FuzzTarget[] {
  return [syncRequest, syncResponse, chainPage]
}
