// A RoundDriver on a FakeChannel for the fuzzers: started (it runs round 1, attempt 0, in its Join phase,
// as a peer without data that follows the swarm), fed gossip through the validator it installed, and
// replaced by a fresh one every few hundred inputs or as soon as hostile input moved it off that attempt.
import { RoundDriver } from '../../src/round/driver.ts'
import type { DriverInit } from '../../src/round/driver.ts'
import type { ChainLink } from '../../src/round/chain.ts'
import type { Verdict } from '../../src/round/machine.ts'
import { FakeChannel } from './fake-channel.ts'
import { M0 } from './fixtures.ts'
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
