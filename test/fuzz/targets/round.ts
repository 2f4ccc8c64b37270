// Round messages on gossip. wire:envelope: whole envelopes, random or mutated (not re-signed). Then one
// target per body kind: a mutated (or random) RoundMessage body, signed
// by a cohort peer, an outsider or a secp256k1 key (sometimes with the envelope mutated too), goes
//   1. through openMessage (the decoder: returns, or throws a WireError),
//   2. through RoundMachine.validate — and handle, when accepted, then the rest of the round — on a
//      fresh machine replayed to a random point of a recorded plain or secure round (never throws;
//      verdicts are accept / ignore / reject with a reason),
//   3. through the gossip validator of a running RoundDriver (never throws; a verdict as above; its
//      asynchronous accept path raises no uncaught exception).
import fc from 'fast-check'
import { WireError, openMessage } from '../../../src/wire/envelope.ts'
import type { VerifiedMessage } from '../../../src/wire/envelope.ts'
import { sha256 } from '../../../src/wire/hash.ts'
import { Envelope, RoundMessage } from '../../../src/wire/messages.ts'
import { BODY_KINDS, getRoundCorpus, sealBody } from '../corpus.ts'
import type { BodyKind, RoundCorpus } from '../corpus.ts'
import { DriverHost, checkVerdict } from '../driver-host.ts'
import { makeIdentity } from '../fixtures.ts'
import type { Mode } from '../fixtures.ts'
import { hexPreview, outcome } from '../harness.ts'
import type { FuzzTarget, TargetRun } from '../harness.ts'
import { applyMutation, binaryInputArb, mutationArb } from '../mutate.ts'
import { semanticArb } from '../obj-mutate.ts'
import type { Mutation } from '../mutate.ts'
import { replay } from '../trace.ts'
import type { TracePeer } from '../trace.ts'

interface RoundInput { mode: Mode, body: Uint8Array, signer: number, envelope: Mutation[] | null, peer: number, prefix: number }

const MiB = 1024 * 1024
const never = (): boolean => false

/** Calls `fn`, which must neither throw nor hang. */
async function must<T> (what: string, fn: () => Promise<T> | T): Promise<T> {
  const r = await outcome(what, fn, never)
  return (r as { value: T }).value
}

/** The machine of `peer` after `k` of its recorded events, given `vm`: its verdict (and, if accepted, the rest of the round). */
async function machineCheck (peer: TracePeer, k: number, vm: VerifiedMessage): Promise<string> {
  const m = replay(peer, k)
  const now = peer.events[k - 1]?.now ?? 0
  const v = await must('RoundMachine.validate', () => m.validate(vm))
  checkVerdict(v, 'RoundMachine.validate')
  if (v.action !== 'accept') return `machine-${v.action}`
  await must('RoundMachine.handle of an accepted message', () => m.handle({ type: 'message', message: vm, hash: sha256(vm.bytes) }, now))
  for (const { ev, now } of peer.events.slice(k)) {
    if (ev.type === 'message' && m.validate(ev.message).action !== 'accept') continue
    await must(`RoundMachine.handle(${ev.type}) after an accepted fuzzed message`, () => m.handle(ev, now))
  }
  return 'machine-accept'
}

function roundTarget (kind: BodyKind): FuzzTarget {
  return {
    name: `round:${kind}`,
    what: `RoundMessage{${kind}}: openMessage, RoundMachine.validate/handle at every point of a recorded plain and secure round, RoundDriver gossip validator`,
    // the driver keeps up to 64 MiB of early messages by design (ROUND_DEFAULTS.maxBufferedBytes)
    retainBytes: 160 * MiB,
    async setup (): Promise<TargetRun<RoundInput>> {
      const c: RoundCorpus = await getRoundCorpus()
      const hosts = { plain: await DriverHost.start(c.scenarios.plain, await makeIdentity()), secure: await DriverHost.start(c.scenarios.secure, await makeIdentity()) }
      const arbitrary = fc.constantFrom<Mode>('plain', 'secure').chain(mode => fc.record({
        mode: fc.constant(mode),
        body: fc.oneof(
          { weight: 1, arbitrary: semanticArb(c.bodies[mode][kind], RoundMessage.decode, RoundMessage.encode, BODY_KINDS.flatMap(k => c.bodies[mode][k])) },
          { weight: 1, arbitrary: binaryInputArb(c.bodies[mode][kind]) }
        ),
        signer: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: fc.constantFrom(4, 5) }),
        envelope: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 3 }) }),
        peer: fc.nat(3),
        prefix: fc.nat()
      }))
      let fed = 0
      return {
        arbitrary,
        size: (i) => i.body.byteLength,
        fedBytes: () => fed,
        show: (i) => `${i.mode} body ${hexPreview(i.body)} signer ${i.signer}${i.envelope != null ? ` envelope mutations ${JSON.stringify(i.envelope, (_k, v) => typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? `<${v.length} bytes>` : v)}` : ''} peer ${i.peer} prefix ${i.prefix}`,
        async run (i) {
          let bytes = await sealBody(c.signers[i.signer].key, i.body)
          for (const op of i.envelope ?? []) bytes = applyMutation(bytes, op, c.envelopes)
          fed = bytes.byteLength
          const opened = await outcome('openMessage', () => openMessage(bytes), err => err instanceof WireError)
          let label = 'wire-error'
          if ('value' in opened) {
            const peer = c.traces[i.mode].peers[i.peer]
            label = await machineCheck(peer, i.prefix % (peer.events.length + 1), opened.value)
          }
          // the driver opens the envelope again first: an input it cannot open it rejects right there, so
          // one in eight of those is enough to check that path
          if (label === 'wire-error' && i.prefix % 8 !== 0) return label
          const host = hosts[i.mode]
          const v = await must('RoundDriver gossip validator', () => host.gossip(bytes))
          await host.tick()
          return `${label}/driver-${v.action}`
        },
        async teardown () {
          await hosts.plain.stop()
          await hosts.secure.stop()
        }
      }
    }
  }
}

/** Whole envelopes (not re-signed): random bytes and mutated valid envelopes of both rounds. */
const envelopeTarget: FuzzTarget = {
  name: 'wire:envelope',
  what: 'Envelope bytes (random, or valid envelopes mutated: author, signature, version, body framing) → openMessage (WireError only) → RoundDriver gossip validator',
  async setup (): Promise<TargetRun<Uint8Array>> {
    const c: RoundCorpus = await getRoundCorpus()
    const host = await DriverHost.start(c.scenarios.plain, await makeIdentity())
    return {
      arbitrary: fc.oneof({ weight: 1, arbitrary: semanticArb(c.envelopes, Envelope.decode, Envelope.encode) }, { weight: 3, arbitrary: binaryInputArb(c.envelopes) }),
      size: (b) => b.byteLength,
      show: (b) => hexPreview(b),
      async run (bytes) {
        const opened = await outcome('openMessage', () => openMessage(bytes), err => err instanceof WireError)
        const v = await must('RoundDriver gossip validator', () => host.gossip(bytes))
        await host.tick()
        return `${'value' in opened ? 'opened' : 'wire-error'}/driver-${v.action}`
      },
      async teardown () { await host.stop() }
    }
  }
}

export function roundTargets (): FuzzTarget[] {
  return [envelopeTarget, ...BODY_KINDS.map(roundTarget)]
}
