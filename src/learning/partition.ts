/**
 * Splitting a training set among simulated peers, deterministically from the task seed:
 * `iid` (shuffle, equal split), `dirichlet:<alpha>` (per-class proportions ~ Dir(alpha), label skew
 * growing as alpha shrinks) and `shards:<k>` (McMahan et al.'s pathological non-IID split: sort by
 * label, cut into peers*k shards, k random shards per peer).
 */

import { DIRICHLET_MAX_DRAWS, DIRICHLET_MIN_EXAMPLES, RNG_DOMAINS } from './constants.ts'
import { PartitionError } from './errors.ts'
import { parsePartition as parseTaskPartition } from '../config/partition.ts'
import type { Partition } from '../config/partition.ts'
import { createRng } from './prng.ts'
import type { Rng } from './prng.ts'

/** The parsed partition: the task module owns the syntax (`src/config/partition.ts`). */
export type PartitionSpec = Partition

/** What error messages say a partition must be. */
export const PARTITION_FORMS = 'iid, dirichlet:<alpha> (alpha > 0) or shards:<per-peer> (an integer >= 1)'

/** Parses `iid`, `dirichlet:<alpha>` or `shards:<per-peer>`; anything else is a `PartitionError` listing those. */
export function parsePartition (spec: string): PartitionSpec {
  try {
    return parseTaskPartition(spec)
  } catch {
    throw new PartitionError(`partition ${JSON.stringify(spec)} is not valid: use ${PARTITION_FORMS}`)
  }
}

/**
 * Indices of the examples each of `peers` peers gets (ascending within a peer): disjoint, together
 * covering every example, and the same for the same `labels`, `peers`, `spec` and `seed`.
 *
 * - `iid`: a seeded shuffle cut into `peers` parts whose sizes differ by at most one.
 * - `dirichlet:a`: for each class, proportions p ~ Dir(a) over the peers and the class's (shuffled)
 *   examples cut by p (largest remainders). Every peer must get `min(10, floor(n / peers))` examples:
 *   a split that misses this is redrawn (up to 100 draws, as NIID-Bench does), and if every draw
 *   misses, the last one is topped up with random examples taken from the largest peer.
 * - `shards:k`: examples sorted by label (ties by index), cut into `peers * k` shards of sizes differing
 *   by at most one, and each peer gets `k` of them at random. With shards no longer than the smallest
 *   class a peer sees at most `2k` labels (usually about `k`).
 */
export function partition (labels: Uint8Array, peers: number, spec: string, seed: number): Uint32Array[] {
  const p = parsePartition(spec)
  if (!Number.isSafeInteger(peers) || peers < 1) throw new PartitionError(`peers must be an integer >= 1, got ${peers}`)
  if (!Number.isFinite(seed)) throw new PartitionError(`seed must be a finite number, got ${seed}`)
  const n = labels.length
  if (n < peers) throw new PartitionError(`cannot split ${n} examples among ${peers} peers`)
  const rng = createRng(RNG_DOMAINS.partition, spec, seed, peers, n)
  let parts: Uint32Array[]
  switch (p.kind) {
    case 'iid': parts = iid(n, peers, rng); break
    case 'dirichlet': parts = dirichlet(labels, peers, p.alpha, rng); break
    case 'shards': {
      if (n < peers * p.shards) throw new PartitionError(`${spec}: cannot cut ${n} examples into ${peers} x ${p.shards} shards`)
      parts = shards(labels, peers, p.shards, rng)
      break
    }
  }
  for (const part of parts) part.sort()
  return parts
}

function iid (n: number, peers: number, rng: Rng): Uint32Array[] {
  const all = rng.shuffle(Uint32Array.from({ length: n }, (_, i) => i))
  return cut(all, peers)
}

/** Cuts `a` into `k` consecutive parts of sizes differing by at most one (the first ones larger). */
function cut (a: Uint32Array, k: number): Uint32Array[] {
  const out: Uint32Array[] = []
  const base = Math.floor(a.length / k)
  const extra = a.length % k
  let o = 0
  for (let i = 0; i < k; i++) {
    const len = base + (i < extra ? 1 : 0)
    out.push(a.slice(o, o + len))
    o += len
  }
  return out
}

function byClass (labels: Uint8Array): number[][] {
  const classes: number[][] = []
  for (let i = 0; i < labels.length; i++) (classes[labels[i]] ??= []).push(i)
  return classes.filter(c => c != null)
}

function dirichlet (labels: Uint8Array, peers: number, alpha: number, rng: Rng): Uint32Array[] {
  const classes = byClass(labels)
  const min = Math.min(DIRICHLET_MIN_EXAMPLES, Math.floor(labels.length / peers))
  let lists: number[][] = []
  for (let draw = 0; draw < DIRICHLET_MAX_DRAWS; draw++) {
    lists = Array.from({ length: peers }, () => [])
    for (const members of classes) {
      const idx = rng.shuffle(members.slice())
      const counts = apportion(rng.dirichlet(alpha, peers), idx.length)
      let o = 0
      for (let k = 0; k < peers; k++) {
        for (let j = 0; j < counts[k]; j++) lists[k].push(idx[o + j])
        o += counts[k]
      }
    }
    if (lists.every(l => l.length >= min)) break
  }
  // top-up: move random examples from the currently largest peer to each peer below the minimum
  for (let k = 0; k < peers; k++) {
    while (lists[k].length < min) {
      let big = 0
      for (let j = 1; j < peers; j++) if (lists[j].length > lists[big].length) big = j
      const donor = lists[big]
      const at = rng.int(donor.length)
      lists[k].push(donor[at])
      donor[at] = donor[donor.length - 1]
      donor.pop()
    }
  }
  return lists.map(l => Uint32Array.from(l))
}

/** Integer counts summing to `n` in proportion to `p` (largest remainders; ties to the lower index). */
function apportion (p: Float64Array, n: number): Uint32Array {
  const counts = new Uint32Array(p.length)
  const rem: Array<[number, number]> = []
  let used = 0
  for (let k = 0; k < p.length; k++) {
    const exact = p[k] * n
    counts[k] = Math.floor(exact)
    used += counts[k]
    rem.push([exact - counts[k], k])
  }
  rem.sort((a, b) => b[0] - a[0] || a[1] - b[1])
  for (let i = 0; used < n; i++, used++) counts[rem[i % rem.length][1]]++
  return counts
}

function shards (labels: Uint8Array, peers: number, perPeer: number, rng: Rng): Uint32Array[] {
  const sorted = Uint32Array.from({ length: labels.length }, (_, i) => i)
  sorted.sort((a, b) => labels[a] - labels[b] || a - b)
  const pieces = cut(sorted, peers * perPeer)
  const order = rng.shuffle(Uint32Array.from({ length: pieces.length }, (_, i) => i))
  const out: Uint32Array[] = []
  for (let k = 0; k < peers; k++) {
    const mine = Array.from(order.subarray(k * perPeer, (k + 1) * perPeer), s => pieces[s])
    const part = new Uint32Array(mine.reduce((s, x) => s + x.length, 0))
    let o = 0
    for (const m of mine) { part.set(m, o); o += m.length }
    out.push(part)
  }
  return out
}
