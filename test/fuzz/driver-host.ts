// A RoundDriver on a FakeChannel for the fuzzers: started (it runs round 1, attempt 0, in its Join phase,
// as a peer without data that follows the swarm), fed gossip through the validator it installed, and
// replaced by a fresh one every few hundred inputs or as soon as hostile input moved it off that attempt.
import { RoundDriver } from '../../src/round/driver.ts'
import type { DriverInit } from '../../src/round/driver.ts'
import type { ChainLink } from '../../src/round/chain.ts'
import type { Verdict } from '../../src/round/machine.ts'
import { FakeChannel } from './fake-channel.ts'
import { sealMessage } from '../../src/wire/envelope.ts'
import { sha256, toHex } from '../../src/wire/hash.ts'
import { chainLinks } from './corpus.ts'
import type { RoundCorpus } from './corpus.ts'
import { BASE, M0, header, makeIdentity } from './fixtures.ts'
import type { Identity, Scenario } from './fixtures.ts'
import { violation } from './harness.ts'

export const noUpdates: DriverInit['updates'] = {
  eligible: false,
  async train () { throw new Error('fuzz driver: no training') }
}

/** A driver that is constructed but not running (its sync answers and catch-up are still live). */
export function idleDriver (s: Scenario, ident: Identity, over: Partial<DriverInit> = {}): { driver: RoundDriver, channel: FakeChannel } {
  const channel = new FakeChannel(ident.id)
  const driver = new RoundDriver({ task: s.task, taskId: s.taskId, key: ident.key, channel, updates: noUpdates, model: { round: 0, params: M0 }, meshPeers: 0, log: () => {}, ...over })
  return { driver, channel }
}

/**
 * A driver at round 4 holding the chain of rounds 1-3 (so it serves chain pages) and four joins of
 * round 4 (so it serves history): its sync answer, for the sync fuzz targets.
 */
export async function syncServingDriver (c: RoundCorpus): Promise<NonNullable<FakeChannel['sync']>> {
  const s = c.scenarios.plain
  const links = chainLinks(3)
  links[2].resultHash = toHex(BASE)
  const { channel } = idleDriver(s, await makeIdentity(), { model: { round: 3, params: M0 }, chain: links })
  for (const signer of c.signers.slice(0, 4)) {
    await channel.gossip!(await sealMessage(signer.key, { ...header(s, { round: 4 }), join: { encPub: sha256(signer.bytes) as Uint8Array<ArrayBuffer>, maskPub: sha256(signer.bytes, signer.bytes) as Uint8Array<ArrayBuffer>, addrs: [] } }), 'fuzz')
  }
  await new Promise(resolve => setImmediate(resolve))
  return channel.sync!
}

export class DriverHost {
  driver!: RoundDriver
  channel!: FakeChannel
  private running?: Promise<void>
  private fed = 0

  constructor (readonly s: Scenario, readonly ident: Identity, readonly chain: ChainLink[] = []) {}

  static async start (s: Scenario, ident: Identity): Promise<DriverHost> {
    const h = new DriverHost(s, ident)
    await h.restart()
    return h
  }

  async restart (): Promise<void> {
    await this.stop()
    const { driver, channel } = idleDriver(this.s, this.ident)
    this.driver = driver
    this.channel = channel
    this.running = driver.run()
    for (let i = 0; i < 2000 && driver.currentPhase !== 'join'; i++) await new Promise(resolve => setTimeout(resolve, 1))
    if (driver.currentPhase !== 'join') throw new Error('fuzz driver did not reach its join phase')
  }

  /** Gossip validation of `data`, as gossipsub would ask it; the verdict is checked for shape. */
  async gossip (data: Uint8Array): Promise<Verdict> {
    const handler = this.channel.gossip
    if (handler == null) throw new Error('the driver installed no gossip validator')
    const v = await handler(data, 'fuzz-peer')
    checkVerdict(v, 'RoundDriver gossip validator')
    return v
  }

  /** Counts an input; replaces the driver when due or when it left round 1, attempt 0, phase join. */
  async tick (): Promise<void> {
    this.fed++
    const d = this.driver
    if (this.fed % 400 === 0 || d.currentRound !== 1 || d.currentAttempt !== 0 || d.currentPhase !== 'join') await this.restart()
  }

  async stop (): Promise<void> {
    if (this.running == null) return
    this.driver.stop()
    await this.running
    this.running = undefined
  }
}

/** A verdict is accept, or ignore / reject with a non-empty reason. */
export function checkVerdict (v: unknown, what: string): asserts v is Verdict {
  if (typeof v !== 'object' || v == null) violation(`${what} returned ${String(v)}, not a verdict`)
  const { action, reason } = v as { action?: unknown, reason?: unknown }
  if (action !== 'accept' && action !== 'ignore' && action !== 'reject') violation(`${what} returned action ${String(action)}`)
  if (action !== 'accept' && (typeof reason !== 'string' || reason === '')) violation(`${what} returned ${action} without a reason`)
}
