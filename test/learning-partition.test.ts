// Partitioners on real MNIST labels and on random label vectors: iid sizes, disjoint covering,
// Dirichlet label skew growing as alpha shrinks, shards' label counts, determinism per seed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { PartitionError, loadDataset, parsePartition, partition } from '../src/learning/index.ts'

const { trainY: mnist } = await loadDataset({ kind: 'mnist' })

function assertDisjointCover (parts: Uint32Array[], n: number): void {
  const seen = new Uint8Array(n)
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) {
      assert.ok(p[i] < n, `index ${p[i]} out of range`)
      assert.equal(seen[p[i]], 0, `index ${p[i]} given twice`)
      seen[p[i]] = 1
      if (i > 0) assert.ok(p[i] > p[i - 1], 'ascending')
    }
  }
  assert.ok(seen.every(s => s === 1), 'every example is given out')
}

/** Mean over peers of the share of their most common label (0.1 = balanced over 10 classes, 1 = one label). */
function skew (parts: Uint32Array[], labels: Uint8Array): number {
  let sum = 0
  for (const p of parts) {
    const h = new Array(10).fill(0)
    for (const i of p) h[labels[i]]++
    sum += Math.max(...h) / p.length
  }
  return sum / parts.length
}

test('parsePartition: the three forms, and errors listing them', () => {
  assert.deepEqual(parsePartition('iid'), { kind: 'iid' })
  assert.deepEqual(parsePartition('dirichlet:0.5'), { kind: 'dirichlet', alpha: 0.5 })
  assert.deepEqual(parsePartition('dirichlet:1e-2'), { kind: 'dirichlet', alpha: 0.01 })
  assert.deepEqual(parsePartition('shards:2'), { kind: 'shards', shards: 2 })
  for (const bad of ['', 'IID', 'dirichlet', 'dirichlet:', 'dirichlet:0', 'dirichlet:-1', 'dirichlet:abc', 'shards:0', 'shards:1.5', 'shards:', 'uniform']) {
    assert.throws(() => parsePartition(bad), (e: Error) => e instanceof PartitionError && e.message.includes(JSON.stringify(bad)) &&
      e.message.includes('iid, dirichlet:<alpha> (alpha > 0) or shards:<per-peer> (an integer >= 1)'), bad)
  }
  fc.assert(fc.property(fc.string(), s => {
    try { parsePartition(s) } catch (e) { assert.ok(e instanceof PartitionError) }
  }))
})

test('iid: disjoint, covering, sizes equal within one (property)', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 400 }), fc.integer({ min: 1, max: 30 }), fc.integer(), (n, peers, seed) => {
    fc.pre(n >= peers)
    const labels = Uint8Array.from({ length: n }, (_, i) => i % 7)
    const parts = partition(labels, peers, 'iid', seed)
    assert.equal(parts.length, peers)
    assertDisjointCover(parts, n)
    const sizes = parts.map(p => p.length)
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1)
  }), { numRuns: 200 })
  const parts = partition(mnist, 10, 'iid', 1)
  assert.ok(parts.every(p => p.length === 6000))
  assert.ok(skew(parts, mnist) < 0.15)
})

test('dirichlet: small alpha is skewed, large alpha is near iid; every peer gets examples', () => {
  const skewed = partition(mnist, 10, 'dirichlet:0.1', 1)
  const mild = partition(mnist, 10, 'dirichlet:100', 1)
  assertDisjointCover(skewed, mnist.length)
  assertDisjointCover(mild, mnist.length)
  const s = skew(skewed, mnist)
  const m = skew(mild, mnist)
  assert.ok(s > 0.5, `alpha 0.1 skew ${s}`)
  assert.ok(m < 0.15, `alpha 100 skew ${m}`)
  // tiny alpha and many peers: the minimum is still met (redraw, then top-up)
  const tiny = partition(mnist.subarray(0, 2000), 50, 'dirichlet:0.01', 3)
  assertDisjointCover(tiny, 2000)
  assert.ok(tiny.every(p => p.length >= 10), `smallest ${Math.min(...tiny.map(p => p.length))}`)
  fc.assert(fc.property(fc.integer({ min: 20, max: 300 }), fc.integer({ min: 1, max: 12 }), fc.double({ min: 0.01, max: 10, noNaN: true }), fc.integer(), (n, peers, alpha, seed) => {
    const labels = Uint8Array.from({ length: n }, (_, i) => (i * 7) % 5)
    const parts = partition(labels, peers, `dirichlet:${alpha}`, seed)
    assertDisjointCover(parts, n)
    assert.ok(parts.every(p => p.length >= Math.min(10, Math.floor(n / peers))))
  }), { numRuns: 100 })
})

test('shards: McMahan split, each peer sees at most k * (labels a shard can span) labels', () => {
  const smallestClass = Math.min(...Array.from({ length: 10 }, (_, c) => mnist.filter(y => y === c).length))
  for (const k of [1, 2, 3]) {
    const parts = partition(mnist, 10, `shards:${k}`, 5)
    assertDisjointCover(parts, mnist.length)
    const labelCounts = parts.map(p => new Set(Array.from(p, i => mnist[i])).size)
    // a shard spans at most 1 + ceil(shard / smallest class) labels: 2 when shards are no longer than a class
    const perShard = 1 + Math.ceil(Math.ceil(mnist.length / (10 * k)) / smallestClass)
    assert.ok(labelCounts.every(c => c <= k * perShard), `k=${k}: ${labelCounts}`)
    if (k >= 2) assert.ok(labelCounts.every(c => c <= 2 * k), `k=${k}: ${labelCounts}`)
    assert.ok(labelCounts.reduce((a, b) => a + b, 0) / parts.length <= k + 1, `k=${k}: ${labelCounts}`)
    const sizes = parts.map(p => p.length)
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= k)
  }
  const parts = partition(mnist, 100, 'shards:2', 1) // the paper's setting: 200 shards of 300
  assert.ok(parts.every(p => p.length === 600))
  assert.throws(() => partition(mnist.subarray(0, 10), 4, 'shards:3', 1), PartitionError)
})

test('partitions are deterministic per seed and differ across seeds', () => {
  for (const spec of ['iid', 'dirichlet:0.5', 'shards:2']) {
    const a = partition(mnist, 10, spec, 11)
    const b = partition(mnist, 10, spec, 11)
    const c = partition(mnist, 10, spec, 12)
    assert.deepEqual(a, b, spec)
    assert.notDeepEqual(a, c, spec)
  }
  assert.throws(() => partition(mnist.subarray(0, 3), 4, 'iid', 1), (e: Error) => e instanceof PartitionError && /3 examples among 4 peers/.test(e.message))
  assert.throws(() => partition(mnist, 0, 'iid', 1), PartitionError)
  assert.throws(() => partition(mnist, 2, 'random', 1), PartitionError)
})
