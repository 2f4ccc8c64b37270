/**
 * Round time and traffic with secure aggregation on vs off: the same simulated swarm (same task, seed and
 * partition) runs with `secureAggregation` off and on, alternating, in one process, and the per-round
 * medians are reported side by side with their ratios.
 *
 *   node --import tsx bench/secagg-round.ts [--peers N] [--rounds R] [--pairs P] [--eval-limit E]
 *   (table on stderr, JSON on stdout)
 */
import { createTask } from '../src/config/index.ts'
import { simulate } from '../sim/simulate.ts'
import type { RoundRow } from '../sim/report.ts'
import { intFlag, median } from './cli-args.ts'

const peers = intFlag('--peers', 10, 2)
const rounds = intFlag('--rounds', 5, 1)
const pairs = intFlag('--pairs', 1, 1)
const evalLimit = intFlag('--eval-limit', 1000, 1)

const log = (s: string): void => { process.stderr.write(`${s}\n`) }

interface ModeResult {
  secureAggregation: boolean
  roundSeconds: number
  bytesSentPerPeer: number
  bytesReceivedPerPeer: number
  finalAccuracy: number | null
  roundsAgreeing: number
}

const rows: Record<'on' | 'off', RoundRow[]> = { on: [], off: [] }
const finals: Record<'on' | 'off', Array<number | null>> = { on: [], off: [] }
for (let p = 0; p < pairs; p++) {
  for (const mode of ['off', 'on'] as const) {
    const task = createTask({ rounds, cohort: { size: peers, minSurvivors: 2 }, secureAggregation: mode === 'on' })
    log(`pair ${p + 1}/${pairs}: secure aggregation ${mode}, ${peers} peers, ${rounds} rounds`)
    const report = await simulate({ task, peers, transport: 'memory', processes: 0, dropout: 0, backend: 'auto', evalLimit })
    // Round 1 includes mesh set-up and worker warm-up: leave it out of the medians when there are more.
    rows[mode].push(...report.rounds.filter(r => rounds === 1 || r.round > 1))
    finals[mode].push(report.finalAccuracy)
  }
}

function summarize (mode: 'on' | 'off'): ModeResult {
  const r = rows[mode]
  return {
    secureAggregation: mode === 'on',
    roundSeconds: median(r.map(x => x.seconds)),
    bytesSentPerPeer: median(r.map(x => x.bytesSentPerPeer)),
    bytesReceivedPerPeer: median(r.map(x => x.bytesReceivedPerPeer)),
    finalAccuracy: finals[mode].at(-1) ?? null,
    roundsAgreeing: r.filter(x => x.peersAgreeing === x.peersCompleted).length
  }
}

const off = summarize('off')
const on = summarize('on')
const ratio = {
  roundSeconds: on.roundSeconds / off.roundSeconds,
  bytesSentPerPeer: on.bytesSentPerPeer / off.bytesSentPerPeer,
  bytesReceivedPerPeer: on.bytesReceivedPerPeer / off.bytesReceivedPerPeer
}
const mb = (b: number): string => (b / 1e6).toFixed(2)
log('mode  round s  sent MB/peer  recv MB/peer  final acc')
for (const m of [off, on]) {
  log(`${m.secureAggregation ? 'on ' : 'off'}   ${m.roundSeconds.toFixed(2).padStart(7)}  ${mb(m.bytesSentPerPeer).padStart(12)}  ${mb(m.bytesReceivedPerPeer).padStart(12)}  ${m.finalAccuracy == null ? '-' : (m.finalAccuracy * 100).toFixed(2) + '%'}`)
}
log(`on/off: round time ×${ratio.roundSeconds.toFixed(3)}, sent ×${ratio.bytesSentPerPeer.toFixed(3)}, received ×${ratio.bytesReceivedPerPeer.toFixed(3)}`)
process.stdout.write(JSON.stringify({ bench: 'secagg-round', peers, rounds, pairs, off, on, ratio, node: process.version }) + '\n')
process.exit(0)
