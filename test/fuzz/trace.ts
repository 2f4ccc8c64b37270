// A recorded happy-path round (4 peers, plain or secure aggregation) for the round-level fuzzers: every
// valid message of every phase, signed by the real peers, and the exact events each peer's machine took,
// so that a fresh RoundMachine can be brought to any point of the round by replaying a prefix. Effects
// are carried out as src/round/driver.ts does (real shares, masks and unmasking with secure aggregation);
// time is virtual and delivery FIFO.
import { RoundMachine } from '../../src/round/machine.ts'
import type { Effect, RoundEvent, RoundParams, TimerName } from '../../src/round/machine.ts'
import { SecureMember, clipToNorm, recoverSum, ringInput } from '../../src/round/secure.ts'
import { ringSum } from '../../src/secagg/index.ts'
import { openMessage, sealMessage } from '../../src/wire/envelope.ts'
import type { VerifiedMessage } from '../../src/wire/envelope.ts'
import { ENCODING_FLOAT32, ENCODING_RING32 } from '../../src/wire/constants.ts'
import { compareBytes, float32Bytes, sha256, toHex, uint32Bytes, uint32FromBytes } from '../../src/wire/hash.ts'
import type { RoundMessage } from '../../src/wire/messages.ts'
import { BASE, MODEL_LENGTH, sharedIdentities } from './fixtures.ts'
import type { Identity, Scenario } from './fixtures.ts'

export interface TraceEvent { ev: RoundEvent, now: number }

export interface TracePeer {
  ident: Identity
  params: RoundParams
  /** Every event its machine handled, in order (messages only after validate accepted them). */
  events: TraceEvent[]
  /** The SecureMember the peer's keys came from (secure aggregation). */
  secure?: SecureMember
}

export interface Trace {
  scenario: Scenario
  peers: TracePeer[]
  /** Every message published, in order. */
  messages: VerifiedMessage[]
}

/** The machine parameters the driver would use for this task and peer (see RoundDriver.runAttempt). */
export function machineParams (s: Scenario, ident: Identity, keys: { encPub: Uint8Array, maskPub: Uint8Array }, eligible = true): RoundParams {
  const t = s.task
  return {
    task: s.taskBytes,
    round: 1,
    attempt: 0,
    base: BASE,
    self: ident.bytes,
    selfId: ident.id,
    cohortSize: t.cohort.size,
    minSurvivors: t.cohort.minSurvivors,
    modelLength: MODEL_LENGTH,
    joinMs: t.timeouts.joinMs,
    cohortMs: t.timeouts.cohortMs,
    updateMs: t.timeouts.updateMs,
    survivorsMs: t.timeouts.survivorsMs,
    maxFallbacks: 3,
    eligible,
    expectedJoins: 0,
    encPub: keys.encPub,
    maskPub: keys.maskPub,
    secure: t.secureAggregation,
    secureThreshold: t.cohort.threshold,
    clipNorm: t.aggregation.clipNorm,
    weightCap: t.aggregation.weighting === 'uniform' ? 1 : t.aggregation.weightCap,
    dpNoise: t.privacy.dpFedAvg ? t.privacy.fedAvgNoise : 0
  }
}

interface Live extends TracePeer {
  machine: RoundMachine
  timers: Map<TimerName, number>
  envelopes: Map<string, VerifiedMessage>
  seen: Set<string>
}

/** Runs one round to the end (or as far as it gets in 200 steps) and returns what was recorded. */
export async function recordTrace (s: Scenario): Promise<Trace> {
  const idents = await sharedIdentities(4)
  const secureOn = s.task.secureAggregation
  const peers: Live[] = idents.map(ident => {
    const secure = secureOn ? new SecureMember({ ctx: { task: s.taskBytes, round: 1, attempt: 0 }, self: ident.bytes }) : undefined
    const keys = secure != null
      ? { encPub: secure.keys.enc.publicKey, maskPub: secure.keys.mask.publicKey }
      : { encPub: sha256(ident.bytes, Uint8Array.of(1)), maskPub: sha256(ident.bytes, Uint8Array.of(2)) }
    const params = machineParams(s, ident, keys)
    return { ident, params, events: [], secure, machine: new RoundMachine(params), timers: new Map(), envelopes: new Map(), seen: new Set() }
  })
  const messages: VerifiedMessage[] = []
  const queue: Array<{ vm: VerifiedMessage, to: Live }> = []
  let now = 0

  const handle = (p: Live, ev: RoundEvent): Effect[] => {
    p.events.push({ ev, now })
    return p.machine.handle(ev, now)
  }
  const hdr = (p: Live): Pick<RoundMessage, 'task' | 'round' | 'attempt' | 'base'> =>
    ({ task: s.taskBytes as Uint8Array<ArrayBuffer>, round: 1, attempt: 0, base: p.params.base as Uint8Array<ArrayBuffer> })

  const publish = async (from: Live, message: RoundMessage): Promise<void> => {
    const vm = await openMessage(await sealMessage(from.ident.key, message))
    messages.push(vm)
    await offer(from, vm)
    for (const p of peers) if (p !== from) queue.push({ vm, to: p })
  }
  const offer = async (p: Live, vm: VerifiedMessage): Promise<boolean> => {
    const hex = toHex(sha256(vm.bytes))
    if (p.seen.has(hex)) return false
    const v = p.machine.validate(vm)
    if (v.action === 'ignore') return false
    p.seen.add(hex)
    if (v.action !== 'accept') return false
    if (vm.message.update != null) p.envelopes.set(hex, vm)
    await run(p, handle(p, { type: 'message', message: vm, hash: sha256(vm.bytes) }))
    return true
  }
  const run = async (p: Live, effects: Effect[]): Promise<void> => {
    for (const e of effects) {
      switch (e.type) {
        case 'publish': await publish(p, e.message); break
        case 'publish-shares': {
          const { seedCommit, boxes } = await p.secure!.makeShares(e.members, e.threshold)
          await publish(p, { ...hdr(p), shares: { cohortHash: e.cohortHash as Uint8Array<ArrayBuffer>, seedCommit: seedCommit as Uint8Array<ArrayBuffer>, boxes, bundleHash: new Uint8Array(0), boxBytes: 0 } })
          break
        }
        case 'open-shares': try { p.secure?.openBundle(e.from, e.shares.boxes, e.members) } catch {} break
        case 'publish-update': {
          const delta = Float32Array.from({ length: MODEL_LENGTH }, (_, i) => Math.sin(i + peers.indexOf(p)) / 10)
          const weight = 100
          let vector: Uint8Array
          if (e.maskSet != null && e.scale != null) {
            const { delta: clipped } = clipToNorm(delta, p.params.clipNorm ?? 1)
            vector = uint32Bytes(p.secure!.mask(ringInput(clipped, weight / (p.params.weightCap ?? 1), p.params.clipNorm ?? 1, e.scale), e.maskSet))
          } else {
            vector = float32Bytes(delta)
          }
          await publish(p, {
            ...hdr(p),
            update: {
              cohortHash: e.cohortHash as Uint8Array<ArrayBuffer>,
              weight,
              encoding: e.maskSet != null ? ENCODING_RING32 : ENCODING_FLOAT32,
              length: MODEL_LENGTH,
              vector: vector as Uint8Array<ArrayBuffer>,
              blobHash: sha256(vector) as Uint8Array<ArrayBuffer>,
              scale: e.scale ?? 0
            }
          })
          break
        }
        case 'publish-unmask':
          await publish(p, { ...hdr(p), unmask: { survivorsHash: e.survivorsHash as Uint8Array<ArrayBuffer>, shares: p.secure!.unmaskShares(e.release, e.maskSet), sharesHash: new Uint8Array(0) } })
          break
        case 'set-timer': p.timers.set(e.name, now + e.ms); break
        case 'clear-timer': p.timers.delete(e.name); break
        case 'fetch-updates': break
        case 'aggregate': {
          let sum: Uint8Array
          if (e.secure != null) {
            const ordered = [...e.survivors].sort((x, y) => compareBytes(x.peer, y.peer))
            const vectors = ordered.map(x => uint32FromBytes(p.envelopes.get(toHex(x.updateHash))!.message.update!.vector))
            sum = uint32Bytes(await recoverSum({
              ctx: { task: s.taskBytes, round: 1, attempt: 0 },
              threshold: e.secure.threshold,
              maskSet: e.secure.maskSet,
              survivors: ordered.map(x => x.peer),
              maskedSum: ringSum(vectors, MODEL_LENGTH),
              unmasks: e.secure.unmasks,
              seedCommits: e.secure.seedCommits
            }))
          } else {
            sum = sha256(...e.survivors.map(x => x.updateHash))
          }
          await run(p, handle(p, { type: 'aggregated', modelHash: sha256(sum) }))
          break
        }
        case 'done':
          await publish(p, { ...hdr(p), result: { survivorsHash: e.survivorsHash as Uint8Array<ArrayBuffer>, modelHash: e.modelHash as Uint8Array<ArrayBuffer>, survivors: e.survivors, epsilon: undefined, cohortHash: p.machine.cohort?.hash as Uint8Array<ArrayBuffer> } })
          break
        default: break
      }
    }
  }

  for (const p of peers) {
    await run(p, handle(p, { type: 'start' }))
    await run(p, handle(p, { type: 'trained' }))
  }
  for (let step = 0; step < 200; step++) {
    for (let pass = 0; pass < 20; pass++) {
      while (queue.length > 0) {
        const d = queue.shift()!
        await offer(d.to, d.vm)
      }
      // messages ignored because they came early are offered again (the driver's pulls)
      let taken = false
      for (const p of peers) for (const vm of [...messages]) if (await offer(p, vm)) taken = true
      if (!taken && queue.length === 0) break
    }
    let best: { p: Live, name: TimerName, due: number } | undefined
    for (const p of peers) {
      if (p.machine.phase === 'done' || p.machine.phase === 'aborted') continue
      for (const [name, due] of p.timers) if (best == null || due < best.due) best = { p, name, due }
    }
    if (best == null) break
    now = Math.max(now, best.due)
    best.p.timers.delete(best.name)
    await run(best.p, handle(best.p, { type: 'timer', name: best.name }))
  }
  return { scenario: s, peers: peers.map(({ ident, params, events, secure }) => ({ ident, params, events, secure })), messages }
}

/** A fresh machine of `peer` brought to the state after its first `k` events. */
export function replay (peer: TracePeer, k: number): RoundMachine {
  const m = new RoundMachine(peer.params)
  for (const { ev, now } of peer.events.slice(0, k)) m.handle(ev, now)
  return m
}
