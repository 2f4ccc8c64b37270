/**
 * The masks part of bench/bench.ts: how fast one cohort member generates its secure-aggregation
 * masks (src/secagg `maskInput`: the self mask and one pairwise mask per other member, AES-CTR
 * keystreams added into a quantized model vector of d words), in MB of keystream per second, next to
 * the bare `MaskStream` expansion and the system CSPRNG (crypto.randomFillSync) filling as many bytes.
 * The same measurement as bench/secagg-mask.ts's maskMBps.
 */

import { randomBytes, randomFillSync } from 'node:crypto'
import { MaskStream, maskInput, quantizationScale, quantize } from '../../src/secagg/index.ts'
import type { PairwiseSeed } from '../../src/secagg/index.ts'
import { measure, progress, round } from './common.ts'
import type { Timing } from './common.ts'

export interface MasksOptions { small: boolean, length: number }

export interface MasksResult {
  /** Keystream MB/s of maskInput for one member: 4·d·n bytes (self mask + n−1 pairwise masks) per call. */
  mbPerSec: number
  /** The same from the fastest sample. */
  bestMbPerSec: number
  /** maskInput's time for one member, ms (median). */
  msPerMember: number
  /** MaskStream alone filling the same 4·d·n bytes. */
  streamMbPerSec: number
  /** crypto.randomFillSync filling the same 4·d·n bytes (reference). */
  randomFillMbPerSec: number
  length: number
  cohort: number
  reps: number
}

const PART = 'masks'
const MB = 1e6

export async function masksPart ({ small, length }: MasksOptions): Promise<MasksResult> {
  const n = small ? 6 : 50
  const reps = small ? 3 : 5
  const peers = Array.from({ length: n }, () => Uint8Array.from([0x00, 0x24, ...randomBytes(36)]))
  const selfSeed = new Uint8Array(randomBytes(32))
  const pairwise: PairwiseSeed[] = peers.slice(1).map(peer => ({ peer, seed: new Uint8Array(randomBytes(32)) }))
  const x = new Float32Array(length)
  for (let k = 0; k < length; k++) x[k] = (Math.random() - 0.5) * 0.2
  const input = quantize(x, quantizationScale({ bound: 1, summands: n }), { bound: 1 })
  const bytes = 4 * length * n
  progress(PART, `maskInput: d = ${length}, cohort ${n} (${(bytes / MB).toFixed(1)} MB of keystream per member), ${reps} samples`)
  const mbps = (ms: number): number => bytes / MB / (ms / 1000)

  const init = { self: peers[0], selfSeed, pairwise }
  const mask = await measure(() => maskInput(input, init), reps)
  const out = new Uint32Array(length)
  const stream = await measure(() => {
    const s = new MaskStream(selfSeed)
    for (let k = 0; k < n; k++) s.fill(out)
  }, reps)
  const raw = new Uint8Array(bytes)
  const fill = await measure(() => randomFillSync(raw), reps)
  const show = (what: string, t: Timing): void => progress(PART, `${what.padEnd(26)} ${t.medianMs.toFixed(1).padStart(8)} ms  ${mbps(t.medianMs).toFixed(0).padStart(6)} MB/s`)
  show('maskInput, one member', mask)
  show('MaskStream expansion', stream)
  show('crypto.randomFillSync', fill)
  return {
    mbPerSec: round(mbps(mask.medianMs), 1),
    bestMbPerSec: round(mbps(mask.minMs), 1),
    msPerMember: round(mask.medianMs, 2),
    streamMbPerSec: round(mbps(stream.medianMs), 1),
    randomFillMbPerSec: round(mbps(fill.medianMs), 1),
    length,
    cohort: n,
    reps
  }
}
