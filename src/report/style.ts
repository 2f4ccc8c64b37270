/**
 * What the report page and the dashboard share: the inline style sheet (no web fonts, no external
 * files) and HTML escaping.
 */

/** The style sheet both pages inline. */
export const BASE_CSS = `
:root { color-scheme: light; --fg: #1d2330; --muted: #5b6475; --line: #e3e6ec; --ok: #2e7d32; --bad: #c62828; --bg: #f6f7f9 }
* { box-sizing: border-box }
body { margin: 0; padding: 20px 24px 40px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg) }
h1 { font-size: 20px; margin: 0 0 4px } h2 { font-size: 16px; margin: 28px 0 10px } h3 { font-size: 14px; margin: 16px 0 6px; color: var(--muted) }
.summary { color: var(--muted); margin: 0 }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(470px, 1fr)); gap: 14px; margin-top: 16px }
figure { margin: 0; padding: 10px 12px 6px; background: #fff; border: 1px solid var(--line); border-radius: 8px }
figcaption { font-weight: 600; margin-bottom: 4px }
figure .chart svg { max-width: 100%; height: auto; display: block }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); font-size: 13px }
th, td { text-align: left; padding: 4px 10px; border-bottom: 1px solid var(--line); vertical-align: top }
th { color: var(--muted); font-weight: 600 }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums }
code, .hash { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px }
.ok { color: var(--ok) } .bad { color: var(--bad); font-weight: 600 }
footer { margin-top: 28px; color: var(--muted); font-size: 12px }
`

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml (text: string): string {
  return text.replace(/[&<>"']/g, c => ESCAPES[c])
}
