/**
 * Network and peer faults for the simulator (`fedswarm sim --faults <spec> [--fault-seed n]`), injected
 * at the boundary between a peer's round driver and the network (its SwarmChannel) and its local
 * training, so the real protocol meets them:
 *
 * - `loss:<p>`       each gossip message a peer receives is dropped with probability p (the peer neither
 *                    takes nor forwards it, as with gossipsub's Ignore);
 * - `delay:<ms>`     each gossip message a peer receives waits a uniform 0..ms before it is validated and
 *                    taken (gossipsub forwards it only after that);
 * - `partition:<a>-<b>` from second a to second b of the simulation the peers are split in two halves
 *                    (even / odd index): gossip from the other half is dropped, direct fetches (blobs,
 *                    ranges) across the split fail and sync requests go to this half only; then the
 *                    halves heal;
 * - `slow:<p>`       a fraction p of the peers (chosen by the seed) finish local training 3× later
 *                    (the extra time is a wait after real training).
 *
 * Crashes in every phase stay `--dropout`. Every random choice comes from a PRNG seeded by
 * `--fault-seed` and the peer's index, so a scenario is reproducible.
 */
import type { RequestOptions, SwarmChannel } from '../src/round/channel.ts'
import type { UpdateSource } from '../src/round/driver.ts'
import { seededRandom } from '../src/net/index.ts'

export interface FaultPlan {
  loss: number
  delayMs: number
  partition?: { from: number, to: number }
  slow: number
  seed: number
}

export const NO_FAULTS: Readonly<FaultPlan> = Object.freeze({ loss: 0, delayMs: 0, slow: 0, seed: 1 })

export class FaultSpecError extends Error {
  override name = 'FaultSpecError'
}

/** Parses `loss:0.1,delay:300,partition:3-4,slow:0.2`; throws FaultSpecError naming the bad part. */
export function parseFaults (spec: string, seed = 1): FaultPlan {
  const plan: FaultPlan = { ...NO_FAULTS, seed }
  for (const part of spec.split(',').map(s => s.trim()).filter(s => s !== '')) {
    const [name, value = ''] = part.split(':', 2)
    const num = (min: number, max: number): number => {
      const v = Number(value)
      if (value === '' || !Number.isFinite(v) || v < min || v > max) throw new FaultSpecError(`--faults ${name}: expected a number from ${min} to ${max}, got "${value}"`)
      return v
    }
    switch (name) {
      case 'loss': plan.loss = num(0, 0.9); break
      case 'delay': plan.delayMs = num(0, 60_000); break
      case 'slow': plan.slow = num(0, 1); break
      case 'partition': {
        const m = /^(\d+)-(\d+)$/.exec(value)
        if (m == null || Number(m[2]) <= Number(m[1])) throw new FaultSpecError(`--faults partition: expected seconds <from>-<to> (from < to), got "${value}"`)
        plan.partition = { from: Number(m[1]), to: Number(m[2]) }
        break
      }
      default: throw new FaultSpecError(`--faults: unknown fault "${name}" (loss, delay, partition, slow)`)
    }
  }
  return plan
}

export function describeFaults (plan: FaultPlan): string {
  const parts: string[] = []
  if (plan.loss > 0) parts.push(`${(plan.loss * 100).toFixed(0)}% gossip loss`)
  if (plan.delayMs > 0) parts.push(`gossip delayed up to ${plan.delayMs} ms`)
  if (plan.partition != null) parts.push(`partition from ${plan.partition.from} s to ${plan.partition.to} s`)
  if (plan.slow > 0) parts.push(`${(plan.slow * 100).toFixed(0)}% slow peers`)
  return parts.length === 0 ? 'no faults' : parts.join(', ')
}

export function hasFaults (plan: FaultPlan): boolean {
  return plan.loss > 0 || plan.delayMs > 0 || plan.partition != null || plan.slow > 0
}

export interface FaultContext {
  plan: FaultPlan
  /** This peer's index in the swarm. */
  index: number
  /** Seconds since the simulation started (for partitions). */
  elapsed: () => number
  /** Index of the peer with this PeerId string, if it is in the swarm. */
  indexOf: (peerId: string) => number | undefined
  /** Counts what was injected. */
  stats: FaultStats
}

export interface FaultStats { dropped: number, delayed: number, cut: number }

/** Whether peers a and b are on different sides of the partition now. */
function split (ctx: FaultContext, other: number | undefined): boolean {
  const p = ctx.plan.partition
  if (p == null || other == null) return false
  const t = ctx.elapsed()
  return t >= p.from && t < p.to && (ctx.index % 2) !== (other % 2)
}

/** `channel` with the plan's gossip loss, delay and partition applied to what this peer receives and fetches. */
export function faultyChannel (channel: SwarmChannel, ctx: FaultContext): SwarmChannel {
  const random = seededRandom(ctx.plan.seed * 7919 + ctx.index)
  const cut = (peer: string): boolean => split(ctx, ctx.indexOf(peer))
  return {
    ...channel,
    peerId: channel.peerId,
    listen (handler) {
      // A partition drops what a neighbour across it hands over: no message crosses, whoever wrote it.
      channel.listen(async (data, via) => {
        if (cut(via) || random() < ctx.plan.loss) {
          ctx.stats.dropped++
          return { action: 'ignore', reason: 'fault injection: dropped' }
        }
        if (ctx.plan.delayMs > 0) {
          ctx.stats.delayed++
          await new Promise(resolve => setTimeout(resolve, random() * ctx.plan.delayMs))
        }
        return await handler(data, via)
      })
    },
    async fetchBlob (hash: string, opts: RequestOptions & { prefer?: string[] } = {}): Promise<Uint8Array> {
      if (ctx.plan.partition != null && opts.prefer?.some(cut) === true) {
        ctx.stats.cut++
        opts = { ...opts, prefer: opts.prefer.filter(p => !cut(p)) }
      }
      return await channel.fetchBlob(hash, opts)
    },
    async requestSync (request, opts = {}) {
      // Sync requests go to peers on this side only while the partition lasts.
      const exclude = (peer: string): boolean => cut(peer) || opts.exclude?.(peer) === true
      return await channel.requestSync(request, { ...opts, exclude })
    },
    async fetchBlobRange (hash, offset, length, opts) {
      if (cut(opts.from)) {
        ctx.stats.cut++
        throw new Error(`fault injection: ${opts.from} is across the partition`)
      }
      return await channel.fetchBlobRange(hash, offset, length, opts)
    }
  }
}

/** `updates` with local training `factor`× slower for a slow peer (a wait after the real training). */
export function slowUpdates<U extends UpdateSource> (updates: U, factor: number): U {
  return {
    ...updates,
    train: async (...args: Parameters<U['train']>) => {
      const started = Date.now()
      const r = await updates.train(...(args as [any, any, any]))
      const extra = (Date.now() - started) * (factor - 1)
      const signal = (args[2] as { signal?: AbortSignal } | undefined)?.signal
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, extra)
        signal?.addEventListener('abort', () => { clearTimeout(t); resolve() }, { once: true })
      })
      return r
    }
  }
}

/** Which peer indices are slow under `plan` (seeded). */
export function slowPeers (plan: FaultPlan, peers: number): Set<number> {
  const random = seededRandom(plan.seed * 104729 + 17)
  const out = new Set<number>()
  for (let i = 0; i < peers; i++) if (random() < plan.slow) out.add(i)
  return out
}
