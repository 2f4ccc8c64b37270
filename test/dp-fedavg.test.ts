// DP-FedAvg under secure aggregation, with dropouts: the noise in the unmasked sum has the configured
// variance. Members run the real round machine and the real member crypto (the secure-round harness
// carries out every effect as the driver does, DP noise included); their updates are zero, so the
// unmasked sum of the survivors is their noise alone. Per coordinate it must have variance
// |U2| · σ_m² with σ_m² = (σ·C·s)²/t, which is at least (σ·C·s)² since |U2| >= t.
import { test } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import assert from 'node:assert/strict'
import { SecureNet, byRank, expectedThreshold, makeIdentities, makePeer } from './secure-round-harness.ts'
import type { DropPhase, RoundConfig } from './secure-round-harness.ts'
import { memberNoiseVariance } from '../src/dp/discrete-noise.ts'
import { ringScale } from '../src/round/secure.ts'
import { createPrivacyLedger } from '../src/dp/ledger.ts'
import type { LedgerEntry } from '../src/dp/ledger.ts'
import { createTask, taskId as computeTaskId } from '../src/config/index.ts'
import { createTrainer, initialParams, loadDataset, partition } from '../src/learning/index.ts'
import { createPeerNode, linkPeers } from '../src/net/index.ts'
import type { PeerNode } from '../src/net/index.ts'
import { createSwarmChannel } from '../src/net/swarm-channel.ts'
import { RoundDriver } from '../src/round/driver.ts'
import type { RoundRecord } from '../src/round/driver.ts'
import { createUpdateSource } from '../src/peer/update-source.ts'
import { simulate } from '../sim/simulate.ts'

const L = 4096
const SIGMA = 0.8
const CLIP = 2

interface RoundNoise { ratio: number, survivors: number, t: number, perMember: number }

/** One round of n members (drops as given) with zero updates; the survivors' summed noise, normalized. */
async function noiseRound (n: number, drops: DropPhase[], attempt: number): Promise<RoundNoise> {
  const ids = byRank((await makeIdentities(n)), attempt)
  const cfg: RoundConfig = { attempt, cohortSize: n, minSurvivors: 2, modelLength: L, secureThreshold: 0, clipNorm: CLIP, weightCap: 1, dpNoise: SIGMA }
  const peers = ids.map((id, i) => makePeer(id, cfg, { drop: drops[i], delta: new Float32Array(L), examples: 1 }))
  const net = new SecureNet(peers)
  await net.start()
  await net.settle()
  const live = net.live
  assert.ok(live.length > 0)
  const agg = live[0].aggregates[0]
  assert.ok(agg?.sum != null, `no aggregate: ${JSON.stringify(live[0].aborts)}`)
  for (const p of live) assert.deepEqual(p.aggregates[0]?.sum, agg.sum, 'every live peer recovers the same noisy sum')
  const t = expectedThreshold(cfg, n)
  const u1 = peers.filter(p => p.drop !== 'shares').length
  const u2 = agg.survivors.length
  const scale = live[0].machine.maskSet!.scale
  assert.equal(scale, ringScale(CLIP, u1, { sigma: SIGMA, threshold: t }), 'the scale leaves room for the noise')
  const perMember = memberNoiseVariance({ sigma: SIGMA, clip: CLIP, scale, threshold: t })
  let ss = 0
  for (let k = 0; k < L; k++) { const x = agg.sum[k] | 0; ss += x * x }
  return { ratio: ss / L / (u2 * perMember), survivors: u2, t, perMember }
}

test('DP-FedAvg: the unmasked sum carries noise of the configured variance, with members dropping in every phase', { timeout: 120_000 }, async () => {
  const plans: Array<{ n: number, drops: DropPhase[] }> = [
    { n: 5, drops: ['none', 'none', 'none', 'none', 'none'] },
    { n: 6, drops: ['none', 'none', 'none', 'update', 'none', 'none'] },
    { n: 7, drops: ['none', 'shares', 'none', 'none', 'update', 'none', 'none'] },
    { n: 8, drops: ['none', 'none', 'update', 'none', 'none', 'unmask', 'none', 'none'] },
    { n: 6, drops: ['none', 'none', 'none', 'none', 'none', 'shares'] }
  ]
  const rounds: RoundNoise[] = []
  for (let i = 0; i < plans.length; i++) rounds.push(await noiseRound(plans[i].n, plans[i].drops, i))
  // Each round's ratio has standard error sqrt(2/L) (a chi-square over L coordinates); pooled over the
  // rounds the mean ratio has standard error sqrt(2/(L·R)). Accept within 5 of them.
  const se = Math.sqrt(2 / (L * rounds.length))
  console.log(`DP-FedAvg noise variance / expected per round: ${rounds.map(r => `${r.ratio.toFixed(4)} (${r.survivors} survivors, t ${r.t})`).join(", ")}`)
  const mean = rounds.reduce((s, r) => s + r.ratio, 0) / rounds.length
  assert.ok(Math.abs(mean - 1) < 5 * se, `summed noise variance / expected = ${mean.toFixed(4)} (rounds: ${rounds.map(r => r.ratio.toFixed(3)).join(', ')}; tolerance ±${(5 * se).toFixed(4)})`)
  for (const r of rounds) {
    assert.ok(Math.abs(r.ratio - 1) < 6 * Math.sqrt(2 / L), `one round's ratio ${r.ratio}`)
    // What privacy needs: at least the configured noise, (σ·C·s)² = t·σ_m², in every completed sum.
    assert.ok(r.survivors >= r.t, `${r.survivors} survivors < t = ${r.t}`)
  }
  // The same measurements reject wrong variances: 10% more or less, or every member adding the whole
  // noise (σ·C·s)² instead of its 1/t share.
  for (const f of [1.1, 0.9]) assert.ok(Math.abs(mean / f - 1) > 5 * se, `a variance ${f}× the configured one would pass`)
  const unsplit = rounds.reduce((s, r) => s + r.ratio / r.t, 0) / rounds.length
  assert.ok(Math.abs(unsplit - 1) > 5 * se, 'a variance without the 1/t split would pass')
})

test('a peer whose privacy budget is spent stops joining, says so, and keeps following the swarm', { timeout: 180_000 }, async () => {
  const task = createTask({
    rounds: 2,
    model: { kind: 'mlp', hidden: [16] },
    cohort: { size: 4, minSurvivors: 2 },
    timeouts: { joinMs: 1000, cohortMs: 1500, updateMs: 60000, survivorsMs: 10000 },
    privacy: { dpFedAvg: true, fedAvgNoise: 2, targetEpsilon: 4 }
  })
  const id = computeTaskId(task)
  const data = await loadDataset(task.dataset)
  const parts = partition(data.trainY, 4, 'iid', 1).map(p => p.subarray(0, 600))
  const m0 = initialParams(task.model, data.inputShape, data.classes, task.seed)
  const trainer = createTrainer({ backend: 'auto' })
  const nodes: PeerNode[] = []
  const drivers: RoundDriver[] = []
  const records: RoundRecord[][] = [[], [], [], []]
  const logs: string[][] = [[], [], [], []]
  const spent: LedgerEntry[][] = [[], [], [], []]
  const controller = new AbortController()
  try {
    const keys = await Promise.all([0, 1, 2, 3].map(async () => await generateKeyPair('Ed25519')))
    for (let i = 0; i < 4; i++) nodes.push(await createPeerNode({ listen: [`/memory/dp-budget-${process.pid}-${i}`], transports: ['memory'], privateKey: keys[i] }))
    await linkPeers(nodes, { degree: 3, seed: 1 })
    // Peer 0 restarts with a ledger that already holds three rounds: the budget (ε 4 at σ 2) allows three
    // (PLD: ε 1.99, 2.94, 3.71, 4.38 after 1-4 rounds), so peer 0 cannot join round 1 and the others can join both.
    const ledgerOf = (i: number) => {
      const entries: LedgerEntry[] = []
      if (i === 0) for (const r of [-3, -2, -1]) entries.push({ round: 1000 + r, mechanism: 'dp-fedavg', noiseMultiplier: 2, sampleRate: 1, steps: 1 })
      return createPrivacyLedger({ delta: task.privacy.delta, targetEpsilon: task.privacy.targetEpsilon, entries })
    }
    assert.ok(!ledgerOf(1).wouldExceed({ round: 1, mechanism: 'dp-fedavg', noiseMultiplier: 1.99, sampleRate: 1, steps: 1 }))
    const running: Array<Promise<void>> = []
    for (let i = 0; i < 4; i++) {
      const d = new RoundDriver({
        task, taskId: id, key: keys[i],
        channel: createSwarmChannel(nodes[i], { taskId: id }),
        updates: createUpdateSource({ task, trainer, dataset: task.dataset, indices: parts[i], salt: i }),
        model: { round: 0, params: m0 },
        meshPeers: 3,
        ledger: ledgerOf(i),
        onPrivacySpent: (e) => { spent[i].push(e) },
        log: (line) => { logs[i].push(line) },
        onRound: (rec) => { records[i].push(rec) }
      })
      drivers.push(d)
      running.push(d.run({ signal: controller.signal }))
    }
    let timer: NodeJS.Timeout | undefined
    await Promise.race([Promise.all(running), new Promise(resolve => { timer = setTimeout(resolve, 150_000) })])
    clearTimeout(timer)
    for (let i = 0; i < 4; i++) assert.equal(records[i].length, 2, `peer ${i} completed ${records[i].length} rounds: ${logs[i].join(' | ')}`)
    for (let r = 0; r < 2; r++) assert.equal(new Set(records.map(rs => rs[r].modelHash)).size, 1, `round ${r + 1}: peers disagree`)
    // Peer 0 followed as an observer: never a member, nothing spent, and it said why.
    assert.ok(records[0].every(r => !r.member), 'the peer without budget was a cohort member')
    assert.equal(spent[0].length, 0)
    assert.ok(logs[0].some(l => /privacy budget spent: one more round would take ε from [\d.]+ to [\d.]+, above the target 4/.test(l)), logs[0].join(' | '))
    // The others spent one entry per round, and their ε is what the accountant gives for two rounds.
    for (let i = 1; i < 4; i++) {
      assert.deepEqual(spent[i].map(e => e.round), [1, 2])
      assert.ok(records[i].every(r => r.member && r.cohort === 3))
      const expected = createPrivacyLedger({ delta: task.privacy.delta, targetEpsilon: 0, entries: spent[i] }).epsilon().epsilon
      assert.equal(records[i][1].epsilon, expected)
      assert.ok(expected <= task.privacy.targetEpsilon)
    }
  } finally {
    controller.abort()
    for (const d of drivers) d.stop()
    await Promise.all(nodes.map(async n => await n.stop()))
    await trainer.close()
  }
})

test('sim: the epsilon column is filled and the swarm stops when every peer\'s budget is spent', { timeout: 180_000 }, async () => {
  const task = createTask({
    rounds: 6,
    model: { kind: 'mlp', hidden: [16] },
    cohort: { size: 3, minSurvivors: 2 },
    timeouts: { joinMs: 1000, cohortMs: 1500, updateMs: 60000, survivorsMs: 10000 },
    privacy: { dpFedAvg: true, fedAvgNoise: 2, targetEpsilon: 4 }
  })
  const report = await simulate({ task, peers: 3, transport: 'memory', processes: 0, dropout: 0, backend: 'auto', evalLimit: 500 })
  // ε of k rounds at σ ≈ 2 (δ 1e-5): 2.2, 3.2, 4.0+ — so two rounds fit in a budget of 4.
  const perRound = (k: number): number => createPrivacyLedger({
    delta: task.privacy.delta,
    targetEpsilon: 0,
    entries: Array.from({ length: k }, (_, i) => ({ round: i + 1, mechanism: 'dp-fedavg' as const, noiseMultiplier: 2, sampleRate: 1, steps: 1 }))
  }).epsilon().epsilon
  const fits = [1, 2, 3, 4, 5, 6].filter(k => perRound(k) <= 4).length
  assert.equal(report.rounds.length, fits, `rounds run: ${report.rounds.length}, rounds that fit the budget at σ 2: ${fits}`)
  assert.match(report.stopped ?? '', /every peer's privacy budget \(ε ≤ 4\) is spent after round/)
  for (const row of report.rounds) {
    assert.equal(row.peersAgreeing, row.peersCompleted)
    assert.ok(row.epsilon != null && row.epsilon <= 4, `round ${row.round}: ε ${row.epsilon}`)
    // σ_eff is a hair below σ (rounding sensitivity), so ε is a hair above the σ = 2 value.
    assert.ok(Math.abs(row.epsilon - perRound(row.round)) / perRound(row.round) < 1e-3, `round ${row.round}: ε ${row.epsilon} vs ${perRound(row.round)}`)
  }
})
