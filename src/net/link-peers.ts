/**
 * Wires up peers for a simulation: node i dials its ring neighbour i+1 plus random others (a
 * seeded PRNG, so the same seed gives the same graph) until it has dialled `degree` peers. The
 * ring alone makes the graph connected; the chords shorten paths so gossip spreads in few hops.
 */

import { DEFAULT_DIAL_TIMEOUT_MS, DEFAULT_LINK_CONCURRENCY, DEFAULT_LINK_DEGREE, DEFAULT_LINK_SEED } from './constants.ts'
import type { PeerNode } from './create-node.ts'
import { NetError, reasonOf } from './errors.ts'

export interface LinkPeersOptions {
  /** Peers each node dials (default 3, at most n-1). */
  degree?: number
  /** PRNG seed for the chords (default 1). */
  seed?: number
  /** Time one dial may take (default 10 s). */
  timeoutMs?: number
  signal?: AbortSignal
}

export interface LinkFailure {
  from: number
  to: number
  reason: string
}

export interface LinkResult {
  /** Index pairs [dialler, dialled] that were connected. */
  edges: Array<[number, number]>
}

/** Some dials of `linkPeers` failed; the others stay connected. */
export class LinkPeersError extends NetError {
  static override readonly name = 'LinkPeersError'
  override readonly name = 'LinkPeersError'
  readonly failures: LinkFailure[]
  readonly edges: Array<[number, number]>
  constructor (failures: LinkFailure[], edges: Array<[number, number]>) {
    const first = failures[0]
    super(`${failures.length} of ${failures.length + edges.length} peer links failed, first: node ${first?.from} -> node ${first?.to}: ${first?.reason}`)
    this.failures = failures
    this.edges = edges
  }
}

/** mulberry32: a small, fast, seedable PRNG (uniform in [0, 1)). */
export function seededRandom (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The planned [dialler, dialled] pairs for `n` nodes: ring + seeded random chords, no duplicates. */
export function planLinks (n: number, degree: number, seed: number): Array<[number, number]> {
  if (n < 2) return []
  const d = Math.max(1, Math.min(Math.floor(degree), n - 1))
  const random = seededRandom(seed)
  const seen = new Set<string>()
  const key = (a: number, b: number): string => a < b ? `${a}-${b}` : `${b}-${a}`
  const plan: Array<[number, number]> = []
  const add = (a: number, b: number): boolean => {
    if (a === b || seen.has(key(a, b))) return false
    seen.add(key(a, b))
    plan.push([a, b])
    return true
  }
  for (let i = 0; i < n; i++) {
    let dialled = add(i, (i + 1) % n) ? 1 : 0
    for (let tries = 0; dialled < d && tries < 20 * n; tries++) {
      if (add(i, Math.floor(random() * n))) dialled++
    }
  }
  return plan
}

/**
 * Connects `nodes` (ring + chords, each dialling `degree` others). Dials run a few at a time.
 * Throws `LinkPeersError` if any dial failed (the successful links remain).
 */
export async function linkPeers (nodes: readonly PeerNode[], options: LinkPeersOptions = {}): Promise<LinkResult> {
  options.signal?.throwIfAborted()
  const plan = planLinks(nodes.length, options.degree ?? DEFAULT_LINK_DEGREE, options.seed ?? DEFAULT_LINK_SEED)
  const timeoutMs = options.timeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS
  const edges: Array<[number, number]> = []
  const failures: LinkFailure[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < plan.length) {
      const [from, to] = plan[next++]
      const addrs = nodes[to].getMultiaddrs()
      try {
        if (addrs.length === 0) throw new Error('it has no listen address')
        const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(options.signal == null ? [] : [options.signal])])
        await nodes[from].dial(addrs, { signal })
        edges.push([from, to])
      } catch (err) {
        failures.push({ from, to, reason: reasonOf(err) })
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(DEFAULT_LINK_CONCURRENCY, plan.length) }, worker))
  options.signal?.throwIfAborted()
  if (failures.length > 0) throw new LinkPeersError(failures, edges)
  return { edges }
}
