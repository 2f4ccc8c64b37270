/**
 * The dashboard's state as the page shows it: text for each `data-field` element, a state for each
 * `data-status` element (ok / bad / unknown) and the charts. Formatting happens here, on the server, so
 * the page's script only copies text and SVG into place.
 */
import { chartSet } from '../report/charts.ts'
import type { ChartSpec } from '../report/charts.ts'
import { formatBytes, formatPercent } from '../report/format.ts'
import type { DashboardState } from './state.ts'

export interface DashboardView {
  fields: Record<string, string>
  status: Record<string, 'ok' | 'bad' | 'unknown'>
}

/** Text of every field of the page. */
export function dashboardView (s: DashboardState): DashboardView {
  const last = s.rounds.at(-1)
  const completed = last?.round ?? 0
  const budget = s.task.targetEpsilon > 0 ? ` of ${s.task.targetEpsilon}` : ''
  const peers = s.kind === 'sim'
    ? `${s.peers.connected}/${s.peers.total ?? s.peers.connected} up`
    : `${s.peers.connected} connected`
  const phase = s.phase == null
    ? (s.state === 'running' ? 'between attempts' : '–')
    : `${s.phase}${s.attempt != null && s.attempt > 0 ? ` (attempt ${s.attempt + 1})` : ''}${s.inPhase != null ? `, ${s.inPhase}/${s.peers.connected} peers` : ''}`
  return {
    fields: {
      title: `${s.task.name} (${s.task.id.slice(0, 12)})`,
      kind: s.kind === 'sim' ? 'simulated swarm' : `peer ${s.peerId ?? ''}`.trim(),
      state: s.state,
      round: `${s.round ?? completed}/${s.task.rounds}`,
      completed: String(completed),
      phase,
      peers,
      cohort: last != null ? `${last.survivors}/${last.cohort}` : '–',
      accuracy: formatPercent(last?.accuracy),
      loss: last?.loss == null ? '–' : last.loss.toFixed(4),
      epsilon: s.epsilon == null ? (s.task.dp ? `0${budget}` : 'no DP') : `${s.epsilon.toFixed(3)}${budget} (δ ${s.task.delta})`,
      bytes: `${formatBytes(s.bytes.sent)} out, ${formatBytes(s.bytes.received)} in`,
      hash: last?.modelHash.slice(0, 16) ?? '–',
      agreement: last == null ? '–' : `${last.agreed === true ? 'agreed' : last.agreed === false ? 'DISAGREED' : 'unknown'} (${last.agreement})`,
      note: s.note ?? '',
      updated: s.updatedAt
    },
    status: {
      agreement: last?.agreed === true ? 'ok' : last?.agreed === false ? 'bad' : 'unknown',
      state: s.state === 'running' || s.state === 'finished' ? 'ok' : s.state === 'stopped' ? 'bad' : 'unknown',
      epsilon: s.task.targetEpsilon > 0 && s.epsilon != null && s.epsilon > s.task.targetEpsilon ? 'bad' : 'ok'
    }
  }
}

/** The charts of the dashboard: the report's, with the ε chart for DP tasks and the phase chart when timed. */
export function dashboardCharts (s: DashboardState): ChartSpec[] {
  return chartSet(s.rounds, { rounds: s.task.rounds, targetEpsilon: s.task.targetEpsilon, privacy: s.task.dp, phases: true, width: 380, height: 150 })
}
