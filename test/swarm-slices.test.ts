// In-network aggregation in real swarms (the simulator: real libp2p peers over the memory transport, the
// real round protocol): with a mask set of at least `aggregation.sliceFrom` members, survivors sum slices
// of each other's masked vectors and every peer fetches the slice sums. Every round agrees, and a peer
// receives a small multiple of one masked vector (4d bytes) where the gossip-everything path costs about
// cohort × 4d; with peers crashing mid-round, the rounds that complete still agree.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createTask } from '../src/config/index.ts'
import { simulate } from '../sim/simulate.ts'
import type { SimReport } from '../sim/report.ts'

const PEERS = 8
const HIDDEN = 128
const D = 784 * HIDDEN + HIDDEN + HIDDEN * 10 + 10

const task = (over: Record<string, unknown> = {}) => createTask({
  rounds: 2,
  model: { kind: 'mlp', hidden: [HIDDEN] },
  cohort: { size: PEERS, minSurvivors: 3 },
  secureAggregation: true,
  timeouts: { joinMs: 1500, cohortMs: 2000, updateMs: 60000, survivorsMs: 30000 },
  ...over
})

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

function agreed (report: SimReport): void {
  for (const row of report.rounds) {
    if (row.peersCompleted === 0) continue
    assert.equal(row.peersAgreeing, row.peersCompleted, `round ${row.round}: ${row.peersAgreeing} of ${row.peersCompleted} agree`)
  }
}

test(`${PEERS} peers sum in slices: every round agrees, a peer receives < 3 × 4d per round (gossip-everything: > 5 × 4d)`, { timeout: 300_000 }, async () => {
  const sliced = await simulate({ task: task(), peers: PEERS, transport: 'memory', processes: 0, dropout: 0, backend: 'auto', evalLimit: 500 })
  assert.equal(sliced.rounds.length, 2)
  agreed(sliced)
  for (const row of sliced.rounds) assert.equal(row.peersCompleted, PEERS)
  const gossiped = await simulate({ task: task({ aggregation: { sliceFrom: 0 } }), peers: PEERS, transport: 'memory', processes: 0, dropout: 0, backend: 'auto', evalLimit: 500 })
  agreed(gossiped)
  const floor = 4 * D
  const slicedIn = median(sliced.rounds.map(r => r.bytesReceivedPerPeer)) / floor
  const gossipIn = median(gossiped.rounds.map(r => r.bytesReceivedPerPeer)) / floor
  assert.ok(slicedIn < 3, `sliced: ${slicedIn.toFixed(2)} × 4d received per peer`)
  assert.ok(gossipIn > 5, `gossip-everything: ${gossipIn.toFixed(2)} × 4d received per peer`)
  // both paths train: the same task from the same M[0] reaches a useful model
  assert.ok((sliced.finalAccuracy ?? 0) > 0.8 && (gossiped.finalAccuracy ?? 0) > 0.8, `accuracy ${sliced.finalAccuracy} / ${gossiped.finalAccuracy}`)
})

test('sliced rounds with peers crashing mid-round: rounds complete and every completed round agrees', { timeout: 400_000 }, async () => {
  const report = await simulate({ task: task({ rounds: 3 }), peers: PEERS, transport: 'memory', processes: 0, dropout: 0.2, backend: 'auto', evalLimit: 500 })
  agreed(report)
  const completed = report.rounds.filter(r => r.peersCompleted > 0)
  assert.ok(completed.length >= 2, `${completed.length} of 3 rounds completed`)
})
