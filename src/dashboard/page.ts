/**
 * The dashboard page: one HTML document with inline CSS and a small inline script (no CDN, no
 * library). The server renders the page with the current numbers and charts; the script listens on
 * `/events` (Server-Sent Events) and copies each pushed field's text and each chart's SVG into place.
 */
import { chartFigure } from '../report/html.ts'
import { BASE_CSS, escapeHtml } from '../report/style.ts'
import type { DashboardView } from './view.ts'

const CARDS: ReadonlyArray<[field: string, label: string]> = [
  ['round', 'round'],
  ['completed', 'rounds done'],
  ['phase', 'phase'],
  ['peers', 'peers'],
  ['cohort', 'survivors / cohort'],
  ['accuracy', 'accuracy'],
  ['epsilon', 'ε spent'],
  ['bytes', 'bytes'],
  ['hash', 'last result'],
  ['agreement', 'swarm agreement']
]

const PAGE_CSS = `
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px 16px }
.live { font-size: 12px; padding: 2px 8px; border-radius: 10px; background: #e8f5e9; color: var(--ok) }
body[data-connected="no"] .live { background: #fdecea; color: var(--bad) }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px; margin-top: 14px }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 8px 12px }
.card .label { color: var(--muted); font-size: 12px }
.card .value { font-size: 17px; font-weight: 600; font-variant-numeric: tabular-nums; overflow-wrap: anywhere }
[data-status][data-value="ok"] .value { color: var(--ok) } [data-status][data-value="bad"] .value { color: var(--bad) }
.charts { grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)) }
.note:empty { display: none } .note { margin: 10px 0 0; color: var(--muted) }
`

/** Copies pushed fields and charts into the page; marks the page disconnected while the stream is down. */
const SCRIPT = `
(() => {
  const q = (sel) => Array.from(document.querySelectorAll(sel));
  const apply = (m) => {
    for (const [k, v] of Object.entries(m.fields || {})) for (const el of q('[data-field="' + k + '"]')) el.textContent = v;
    for (const [k, v] of Object.entries(m.status || {})) for (const el of q('[data-status="' + k + '"]')) el.dataset.value = v;
    for (const [id, svg] of Object.entries(m.charts || {})) for (const f of q('[data-chart="' + id + '"]')) {
      f.querySelector('.chart').innerHTML = svg;
      f.dataset.rounds = String(m.chartRounds);
    }
  };
  const es = new EventSource('/events');
  es.addEventListener('state', (ev) => { document.body.dataset.connected = 'yes'; apply(JSON.parse(ev.data)); });
  es.addEventListener('error', () => { document.body.dataset.connected = 'no'; for (const el of q('.live')) el.textContent = 'disconnected, retrying'; });
  es.addEventListener('open', () => { for (const el of q('.live')) el.textContent = 'live'; });
})();
`

export interface DashboardPageInit {
  view: DashboardView
  /** The charts, rendered: id, caption and SVG. */
  charts: ReadonlyArray<{ id: string, title: string, svg: string }>
  /** Rounds the charts show. */
  chartRounds: number
}

/** The whole page, with the current values in place (it is readable without its script too). */
export function renderDashboardPage (init: DashboardPageInit): string {
  const f = init.view.fields
  const field = (name: string): string => `<span data-field="${name}">${escapeHtml(f[name] ?? '')}</span>`
  const cards = CARDS.map(([name, label]) => {
    const status = init.view.status[name]
    const attrs = status != null ? ` data-status="${name}" data-value="${status}"` : ''
    return `<div class="card"${attrs}><div class="label">${escapeHtml(label)}</div><div class="value">${field(name)}</div></div>`
  }).join('\n')
  const figures = init.charts.map(c => chartFigure(c.id, c.title, c.svg, ` data-rounds="${init.chartRounds}"`)).join('\n')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fedswarm dashboard: ${escapeHtml(f.title ?? '')}</title>
<style>${BASE_CSS}${PAGE_CSS}</style>
</head>
<body data-connected="yes">
<header>
<h1>fedswarm: ${field('title')}</h1>
<span class="summary">${field('kind')}, ${field('state')}</span>
<span class="live">live</span>
</header>
<p class="note" data-field="note">${escapeHtml(f.note ?? '')}</p>
<section class="cards">
${cards}
</section>
<section class="charts">
${figures}
</section>
<footer>Read-only view of this process, updated on every phase change and round end. <a href="/state.json">state.json</a> · last update ${field('updated')}</footer>
<script>${SCRIPT}</script>
</body>
</html>
`
}
