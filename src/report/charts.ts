/**
 * The charts of the simulation report and the dashboard as Vega-Lite specs, one function per chart.
 * They only describe the data (rounds on x); `render.ts` turns a spec into SVG on the server, so the
 * pages need no script library. Points mark every round, so a chart's marks count its rounds.
 */
import type { TopLevelSpec } from 'vega-lite'
import { CHART_FONT, CHART_HEIGHT, CHART_WIDTH, PHASE_COLORS, PHASE_ORDER } from './constants.ts'
import type { ChartId, ChartRow } from './types.ts'

export interface ChartOptions {
  /** Plot width in pixels (default CHART_WIDTH). */
  width?: number
  /** Plot height in pixels (default CHART_HEIGHT). */
  height?: number
  /** The task's last round: the x axis spans 1..rounds (default: the rounds in the data). */
  rounds?: number
}

/** A chart: its id (the `data-chart` attribute), a title for its caption and its spec. */
export interface ChartSpec {
  id: ChartId
  title: string
  spec: TopLevelSpec
}

type Values = Array<Record<string, unknown>>

/** The builders assemble plain objects; Vega-Lite validates them when they are compiled (render.ts). */
const asSpec = (spec: Record<string, unknown>): TopLevelSpec => spec as unknown as TopLevelSpec

function base (values: Values, o: ChartOptions): Record<string, any> {
  return {
    width: o.width ?? CHART_WIDTH,
    height: o.height ?? CHART_HEIGHT,
    background: 'white',
    padding: 6,
    data: { values },
    config: {
      font: CHART_FONT,
      axis: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 'normal', gridColor: '#eee' },
      legend: { labelFontSize: 11, titleFontSize: 11, orient: 'bottom', direction: 'horizontal' },
      view: { stroke: '#ddd' }
    }
  }
}

/** The round axis: integer ticks; spans 1..rounds when the task's round count is known. */
function roundAxis (rows: readonly ChartRow[], o: ChartOptions): Record<string, unknown> {
  const last = Math.max(1, o.rounds ?? 0, ...rows.map(r => r.round))
  return {
    field: 'round',
    type: 'quantitative',
    title: 'round',
    scale: { domain: [rows.length > 0 ? Math.min(1, ...rows.map(r => r.round)) : 1, last], nice: false },
    axis: { tickMinStep: 1, format: 'd' }
  }
}

function lineChart (values: Values, rows: readonly ChartRow[], o: ChartOptions, y: Record<string, unknown>, color?: Record<string, unknown>): TopLevelSpec {
  return asSpec({
    ...base(values, o),
    mark: { type: 'line', point: { filled: true, size: 40 }, strokeWidth: 2 },
    encoding: {
      x: roundAxis(rows, o),
      y,
      // A second series is dashed, so it stays visible where it runs on top of the first.
      ...(color != null ? { color, strokeDash: { field: color.field, type: 'nominal', title: null, scale: { domain: (color.scale as any)?.domain, range: [[1, 0], [5, 3]] } } } : {}),
      tooltip: [{ field: 'round', type: 'quantitative' }, { field: y.field as string, type: 'quantitative', format: (y.axis as any)?.format ?? '.4~g' }]
    }
  })
}

/** Test accuracy of each round's model. */
export function accuracyChart (rows: readonly ChartRow[], o: ChartOptions = {}): TopLevelSpec {
  const values = rows.filter(r => r.accuracy != null).map(r => ({ round: r.round, accuracy: r.accuracy }))
  return lineChart(values, rows, o, { field: 'accuracy', type: 'quantitative', title: 'test accuracy', scale: { zero: false }, axis: { format: '.0%' } })
}

/** Test loss of each round's model. */
export function lossChart (rows: readonly ChartRow[], o: ChartOptions = {}): TopLevelSpec {
  const values = rows.filter(r => r.loss != null).map(r => ({ round: r.round, loss: r.loss }))
  return lineChart(values, rows, o, { field: 'loss', type: 'quantitative', title: 'test loss', scale: { zero: false }, axis: { format: '.3~g' } })
}

/** ε spent after each round (the worst-off peer), with the budget as a dashed rule when there is one. */
export function epsilonChart (rows: readonly ChartRow[], o: ChartOptions & { targetEpsilon?: number } = {}): TopLevelSpec {
  const values = rows.filter(r => r.epsilon != null).map(r => ({ round: r.round, epsilon: r.epsilon }))
  const line = lineChart(values, rows, o, { field: 'epsilon', type: 'quantitative', title: 'ε spent' })
  const budget = o.targetEpsilon ?? 0
  if (!(budget > 0)) return line
  const { mark, encoding, data, ...rest } = line as unknown as Record<string, unknown>
  return asSpec({
    ...rest,
    layer: [
      { data, mark, encoding },
      {
        data: { values: [{ budget }] },
        mark: { type: 'rule', strokeDash: [6, 4], color: '#e45756' },
        encoding: { y: { field: 'budget', type: 'quantitative' } }
      }
    ]
  })
}

/** Bytes each peer sent and received in each round. */
export function bytesChart (rows: readonly ChartRow[], o: ChartOptions = {}): TopLevelSpec {
  const values = rows.flatMap(r => [
    { round: r.round, direction: 'sent', bytes: r.bytesSentPerPeer },
    { round: r.round, direction: 'received', bytes: r.bytesReceivedPerPeer }
  ])
  return lineChart(values, rows, o,
    { field: 'bytes', type: 'quantitative', title: 'bytes per peer', axis: { format: '~s' } },
    { field: 'direction', type: 'nominal', title: null, scale: { domain: ['sent', 'received'], range: ['#4c78a8', '#f58518'] } })
}

/** Seconds per round, split into its phases (stacked, in the order the phases happen). */
export function phasesChart (rows: readonly ChartRow[], o: ChartOptions = {}): TopLevelSpec {
  const values = rows.flatMap(r => Object.entries(r.phaseSeconds ?? {})
    .filter(([, s]) => s > 0)
    .map(([phase, seconds]) => ({ round: r.round, phase, seconds, order: phaseIndex(phase) })))
  const phases = [...PHASE_ORDER, ...new Set(values.map(v => v.phase).filter(p => !PHASE_ORDER.includes(p)))]
  const last = Math.max(1, o.rounds ?? 0, ...rows.map(r => r.round))
  return asSpec({
    ...base(values, o),
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'round', type: 'ordinal', title: 'round', scale: { domain: Array.from({ length: last }, (_, i) => i + 1) }, axis: { labelAngle: 0, labelOverlap: true } },
      y: { field: 'seconds', type: 'quantitative', title: 'seconds', stack: 'zero' },
      color: { field: 'phase', type: 'nominal', title: null, scale: { domain: phases, range: [...PHASE_COLORS, '#9d755d', '#bab0ac'] }, legend: { columns: 4 } },
      order: { field: 'order', type: 'quantitative' },
      tooltip: [{ field: 'round', type: 'ordinal' }, { field: 'phase', type: 'nominal' }, { field: 'seconds', type: 'quantitative', format: '.2f' }]
    }
  })
}

/** Cohort size and survivors (updates aggregated) of each round. */
export function survivorsChart (rows: readonly ChartRow[], o: ChartOptions = {}): TopLevelSpec {
  const values = rows.flatMap(r => [
    { round: r.round, series: 'cohort', peers: r.cohort },
    { round: r.round, series: 'survivors', peers: r.survivors }
  ])
  return lineChart(values, rows, o,
    { field: 'peers', type: 'quantitative', title: 'peers', scale: { zero: true }, axis: { tickMinStep: 1, format: 'd' } },
    { field: 'series', type: 'nominal', title: null, scale: { domain: ['cohort', 'survivors'], range: ['#4c78a8', '#54a24b'] } })
}

function phaseIndex (phase: string): number {
  const i = PHASE_ORDER.indexOf(phase)
  return i < 0 ? PHASE_ORDER.length : i
}

export interface ChartSetOptions extends ChartOptions {
  /** The privacy budget (ε); 0 or absent: none. */
  targetEpsilon?: number
  /** Include the ε chart even before any round has an ε (e.g. a DP task on the dashboard). */
  privacy?: boolean
  /** Include the phase chart even before any round has phase times. */
  phases?: boolean
}

/**
 * The charts for a run's rows: accuracy, loss, ε (when some round has one, or `privacy`), bytes,
 * phases (when some round has phase times, or `phases`) and survivors.
 */
export function chartSet (rows: readonly ChartRow[], o: ChartSetOptions = {}): ChartSpec[] {
  const charts: ChartSpec[] = [
    { id: 'accuracy', title: 'Test accuracy per round', spec: accuracyChart(rows, o) },
    { id: 'loss', title: 'Test loss per round', spec: lossChart(rows, o) }
  ]
  if (o.privacy === true || rows.some(r => r.epsilon != null)) {
    const budget = o.targetEpsilon != null && o.targetEpsilon > 0 ? ` (budget ${o.targetEpsilon})` : ''
    charts.push({ id: 'epsilon', title: `Privacy spent: ε per round${budget}`, spec: epsilonChart(rows, o) })
  }
  charts.push({ id: 'bytes', title: 'Bytes per peer per round', spec: bytesChart(rows, o) })
  if (o.phases === true || rows.some(r => r.phaseSeconds != null)) {
    charts.push({ id: 'phases', title: 'Round time by phase', spec: phasesChart(rows, o) })
  }
  charts.push({ id: 'survivors', title: 'Cohort and survivors per round', spec: survivorsChart(rows, o) })
  return charts
}
