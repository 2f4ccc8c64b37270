/**
 * Number formatting shared by the report, the dashboard and the terminal lines.
 */

/** 1234567 → `1.2 MB` (decimal units, like the sim's round lines). */
export function formatBytes (n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`
  return `${Math.round(n)} B`
}

/** 0.9123 → `91.23%`; null → `–`. */
export function formatPercent (x: number | null | undefined): string {
  return x == null ? '–' : `${(x * 100).toFixed(2)}%`
}
