/**
 * Cost of the secure-aggregation primitives (src/secagg) for one model vector of `--length` words and
 * a cohort of `--cohort` members: mask-stream expansion, maskInput, quantize, unmaskSum (no drop / two
 * dropped), per-member key + share work and share opening, next to raw crypto.randomFillSync speed.
 *
 *   node --import tsx bench/secagg-mask.ts [--length D] [--cohort N] [--reps R]   (table on stderr, JSON on stdout)
 */

import { randomBytes, randomFillSync } from 'node:crypto'
import {
  MaskStream, agree, combineShares, generateRoundKeys, majorityThreshold, maskInput, openShares, quantizationScale,
  quantize, ringSum, sealShares, shareEncryptionKey, splitSecret, unmaskSum
} from '../src/secagg/index.ts'
import type { DroppedPairwiseSeed, PairwiseSeed, RoundKeys } from '../src/secagg/index.ts'
import { intFlag } from './cli-args.ts'
import { measure } from './suite/common.ts'
import type { Timing } from './suite/common.ts'

const length = intFlag('--length', 199_210, 1) // MNIST 2NN: 784·200 + 200 + 200·200 + 200 + 200·10 + 10
const cohort = intFlag('--cohort', 10, 3) // two members must be able to drop and leave a survivor
const reps = intFlag('--reps', 5, 1)

const MB = 1e6
const log = (s: string): void => { process.stderr.write(`${s}\n`) }



const mbps = (bytes: number, ms: number): number => bytes / MB / (ms / 1000)
const round = (x: number, digits = 2): number => Number(x.toFixed(digits))
function row (what: string, tm: Timing, bytes?: number): void {
  const rate = bytes === undefined ? '' : `  ${mbps(bytes, tm.medianMs).toFixed(0).padStart(6)} MB/s (best ${mbps(bytes, tm.minMs).toFixed(0)})`
  log(`${what.padEnd(46)} ${tm.medianMs.toFixed(3).padStart(9)} ms (min ${tm.minMs.toFixed(3)})${rate}`)
}

// ---- a cohort: PeerIds (38-byte identity multihashes of Ed25519 keys), seeds, inputs ----
const n = cohort
const peers = Array.from({ length: n }, () => Uint8Array.from([0x00, 0x24, ...randomBytes(36)]))
const selfSeeds = Array.from({ length: n }, () => new Uint8Array(randomBytes(32)))
const pairSeed: Uint8Array[][] = Array.from({ length: n }, () => new Array<Uint8Array>(n))
for (let i = 0; i < n; i++) {
  for (let j = i + 1; j < n; j++) pairSeed[i][j] = pairSeed[j][i] = new Uint8Array(randomBytes(32))
}
const pairwiseOf = (i: number): PairwiseSeed[] => peers.flatMap((peer, j) => j === i ? [] : [{ peer, seed: pairSeed[i][j] }])
const bound = 1
const scale = quantizationScale({ bound, summands: n })
const floats = Array.from({ length: n }, () => {
  const x = new Float32Array(length)
  for (let k = 0; k < length; k++) x[k] = (Math.random() - 0.5) * 0.2
  return x
})
const inputs = floats.map(x => quantize(x, scale, { bound }))
const maskBytes = 4 * length * n // keystream of one member's maskInput: self mask + n-1 pairwise masks

log(`secagg-mask: length ${length}, cohort ${n} (t = ${majorityThreshold(n)}), ${reps} reps, node ${process.version}`)

// ---- correctness check before timing: masks cancel, unmasking gives the plain ring sum ----
const masked = inputs.map((x, i) => maskInput(x, { self: peers[i], selfSeed: selfSeeds[i], pairwise: pairwiseOf(i) }))
const equal = (a: Uint32Array, b: Uint32Array): boolean => a.length === b.length && a.every((v, k) => v === b[k])
const survivors = Array.from({ length: n - 2 }, (_, i) => i)
const dropped = [n - 2, n - 1]
const droppedPairwise: DroppedPairwiseSeed[] = survivors.flatMap(s => dropped.map(d => ({ survivor: peers[s], dropped: peers[d], seed: pairSeed[s][d] })))
const sumAll = ringSum(masked)
const sumSurvivors = ringSum(survivors.map(i => masked[i]))
if (!equal(unmaskSum(sumAll, { survivorSelfSeeds: selfSeeds, droppedPairwise: [] }), ringSum(inputs)) ||
    !equal(unmaskSum(sumSurvivors, { survivorSelfSeeds: survivors.map(i => selfSeeds[i]), droppedPairwise }), ringSum(survivors.map(i => inputs[i])))) {
  throw new Error('unmasking does not give the sum of the inputs')
}

// 1. one MaskStream: 4·d·n bytes of keystream in n fills of d words
const streamOut = new Uint32Array(length)
const stream = await measure(() => {
  const s = new MaskStream(selfSeeds[0])
  for (let k = 0; k < n; k++) s.fill(streamOut)
}, reps)
row(`MaskStream expansion (${n} × ${length} words)`, stream, maskBytes)

// 2. maskInput for member 0
const init0 = { self: peers[0], selfSeed: selfSeeds[0], pairwise: pairwiseOf(0) }
const mask = await measure(() => maskInput(inputs[0], init0), reps)
row(`maskInput, one member (1 + ${n - 1} masks)`, mask, maskBytes)

// 3. quantize d floats (stochastic rounding draws 2 uint32 per coordinate from the system CSPRNG)
const quant = await measure(() => quantize(floats[0], scale, { bound }), reps)
row(`quantize ${length} floats (scale 2^${Math.log2(scale)})`, quant, 4 * length)

// 4. unmaskSum: n self masks; then n-2 survivors' self masks + 2·(n-2) dropped pairwise masks
const unmaskNoDrop = await measure(() => unmaskSum(sumAll, { survivorSelfSeeds: selfSeeds, droppedPairwise: [] }), reps)
row(`unmaskSum, no drop (${n} self seeds)`, unmaskNoDrop, 4 * length * n)
const survivorSeeds = survivors.map(i => selfSeeds[i])
const unmaskTwo = await measure(() => unmaskSum(sumSurvivors, { survivorSelfSeeds: survivorSeeds, droppedPairwise }), reps)
row(`unmaskSum, 2 dropped (${n - 2} self + ${2 * (n - 2)} pairwise)`, unmaskTwo, 4 * length * (3 * (n - 2)))

// 5. per-member share work, as member 0: keys, two splits, n-1 agreements + KDF + seals
const ctx = { task: 'bench-secagg-mask', round: 1, attempt: 0 }
const t = majorityThreshold(n)
const cohortKeys: RoundKeys[] = Array.from({ length: n }, () => generateRoundKeys())
async function memberShares (): Promise<Uint8Array[]> {
  const keys = generateRoundKeys()
  const selfSeed = new Uint8Array(randomBytes(32))
  const seedShares = await splitSecret(selfSeed, n, t)
  const keyShares = await splitSecret(keys.mask.privateKey, n, t)
  const boxes: Uint8Array[] = []
  for (let j = 1; j < n; j++) {
    const key = shareEncryptionKey(agree(keys.enc.privateKey, cohortKeys[j].enc.publicKey), { ...ctx, sender: peers[0], recipient: peers[j] })
    boxes.push(sealShares({ ...ctx, sender: peers[0], recipient: peers[j], key, selfSeedShare: seedShares[j], maskKeyShare: keyShares[j] }))
  }
  return boxes
}
const shares = await measure(memberShares, reps)
row(`shares, one member (keys, 2 splits, ${n - 1} seals)`, shares)

// openShares of the n-1 boxes member 0 receives (keys derived beforehand, not timed)
const inbox = await Promise.all(Array.from({ length: n - 1 }, async (_, k) => {
  const j = k + 1
  const [seedShares, keyShares] = [await splitSecret(selfSeeds[j], n, t), await splitSecret(cohortKeys[j].mask.privateKey, n, t)]
  const sendKey = shareEncryptionKey(agree(cohortKeys[j].enc.privateKey, cohortKeys[0].enc.publicKey), { ...ctx, sender: peers[j], recipient: peers[0] })
  const box = sealShares({ ...ctx, sender: peers[j], recipient: peers[0], key: sendKey, selfSeedShare: seedShares[0], maskKeyShare: keyShares[0] })
  const key = shareEncryptionKey(agree(cohortKeys[0].enc.privateKey, cohortKeys[j].enc.publicKey), { ...ctx, sender: peers[j], recipient: peers[0] })
  return { ...ctx, sender: peers[j], recipient: peers[0], key, box }
}))
const opened = await measure(() => inbox.map(box => openShares(box)), reps)
row(`openShares, ${n - 1} boxes`, opened)
// the shares really work: t members' shares of member 1's self seed rebuild it
const probe = await splitSecret(selfSeeds[1], n, t)
if (!equal(new Uint32Array((await combineShares(probe.slice(0, t))).buffer), new Uint32Array(selfSeeds[1].buffer))) throw new Error('shares do not rebuild the secret')

// 6. reference: the system CSPRNG filling the same 4·d·n bytes
const raw = new Uint8Array(maskBytes)
const fill = await measure(() => randomFillSync(raw), reps)
row(`crypto.randomFillSync ${maskBytes} bytes`, fill, maskBytes)
log(`maskInput / randomFillSync speed: ${(mbps(maskBytes, mask.medianMs) / mbps(maskBytes, fill.medianMs)).toFixed(2)}; MaskStream / randomFillSync: ${(mbps(maskBytes, stream.medianMs) / mbps(maskBytes, fill.medianMs)).toFixed(2)}`)

// results: from the median timing; best: the same quantities from the minimum timing
const summarize = (pick: (tm: Timing) => number): Record<string, number> => ({
  streamMBps: round(mbps(maskBytes, pick(stream)), 1),
  maskMsPerMember: round(pick(mask), 3),
  maskMBps: round(mbps(maskBytes, pick(mask)), 1),
  quantizeMs: round(pick(quant), 3),
  quantizeMBps: round(mbps(4 * length, pick(quant)), 1),
  unmaskMsNoDrop: round(pick(unmaskNoDrop), 3),
  unmaskMsTwoDropped: round(pick(unmaskTwo), 3),
  sharesMsPerMember: round(pick(shares), 3),
  openSharesMs: round(pick(opened), 3),
  randomFillMBps: round(mbps(maskBytes, pick(fill)), 1)
})
process.stdout.write(`${JSON.stringify({
  bench: 'secagg-mask',
  length,
  cohort,
  reps,
  results: summarize(tm => tm.medianMs),
  best: summarize(tm => tm.minMs),
  node: process.version
})}\n`)
