/**
 * Where `fedswarm sim` writes its reports: the JSON (`--report`) and the HTML page (`--report-html`, by
 * default next to the JSON: `r.json` → `r.html`; `--no-report-html` skips it), and the flags a report
 * records.
 */
import { writeFile } from 'node:fs/promises'
import { renderReportHtml } from '../report/index.ts'
import type { ReportInput } from '../report/index.ts'

/** Options that only say where output goes; they are not part of a run's settings. */
const OUTPUT_OPTIONS = new Set(['report', 'reportHtml', 'dashboard', 'json', 'quiet', 'verbose'])

/** The HTML report's path: `--report-html`, else the JSON report's with `.html`, else none. */
export function reportHtmlPath (o: { report?: string, reportHtml?: string | boolean }): string | undefined {
  if (typeof o.reportHtml === 'string') return o.reportHtml
  if (o.reportHtml === false || o.report == null) return undefined
  return /\.json$/i.test(o.report) ? o.report.replace(/\.json$/i, '.html') : `${o.report}.html`
}

/** The flags of a run (as parsed, defaults included), without the output options. */
export function runFlags (o: object): Record<string, string | boolean> {
  const flags: Record<string, string | boolean> = {}
  for (const [k, v] of Object.entries(o)) {
    if (OUTPUT_OPTIONS.has(k) || v === undefined) continue
    if (typeof v === 'string' || typeof v === 'boolean') flags[k] = v
    else if (Array.isArray(v)) flags[k] = v.join(',')
  }
  return flags
}

/** Renders the report page and writes it. */
export async function writeReportHtml (path: string, report: ReportInput, options: { signal?: AbortSignal } = {}): Promise<void> {
  const html = await renderReportHtml(report, { signal: options.signal })
  await writeFile(path, html, { signal: options.signal })
}
