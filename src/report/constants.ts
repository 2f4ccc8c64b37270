/**
 * Defaults of the report and dashboard charts: sizes, the phase order of the stacked bars, colors.
 */

/** Plot area of one chart in CSS pixels (axes and legend come on top). */
export const CHART_WIDTH = 420
export const CHART_HEIGHT = 170

/** The phases of a round in the order they happen: the stacking order of the round-time bars. */
export const PHASE_ORDER: readonly string[] = Object.freeze(['join', 'cohort', 'shares', 'update', 'survivors', 'unmask', 'aggregate'])
/** One color per phase, in PHASE_ORDER (Tableau 10). */
export const PHASE_COLORS: readonly string[] = Object.freeze(['#4c78a8', '#f58518', '#b279a2', '#54a24b', '#e45756', '#72b7b2', '#eeca3b'])

/** Font of chart text: the system UI font, nothing to download. */
export const CHART_FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'
