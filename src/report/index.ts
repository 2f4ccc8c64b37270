/**
 * Reports and charts: Vega-Lite chart specs of a run's rounds, server-side SVG rendering, and the
 * self-contained HTML report of a simulation.
 */

export * from './constants.ts'
export { ReportError, type ReportErrorCode } from './errors.ts'
export type { ChartId, ChartRow, ReportInput, ReportRow } from './types.ts'
export {
  accuracyChart, bytesChart, chartSet, epsilonChart, lossChart, phasesChart, survivorsChart,
  type ChartOptions, type ChartSetOptions, type ChartSpec
} from './charts.ts'
export { renderChartSvg, type RenderOptions } from './render.ts'
export { runSettings, taskSettings, flagName, type SettingRow } from './settings.ts'
export { BASE_CSS, escapeHtml } from './style.ts'
export { chartFigure, renderReportHtml, type ReportHtmlInit } from './html.ts'
export { PhaseClock, type PhaseClockInit } from './phase-clock.ts'
export { formatBytes, formatPercent } from './format.ts'
