// The report's charts and HTML page without a browser: chart specs per round data, SVG rendering by
// Vega, and a page that holds every chart as inline SVG with marks and loads nothing from anywhere.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  PhaseClock, accuracyChart, chartSet, phasesChart, renderChartSvg, renderReportHtml, runSettings, taskSettings
} from '../src/report/index.ts'
import type { ReportInput, ReportRow } from '../src/report/index.ts'
import { reportHtmlPath, runFlags } from '../src/cli/sim-report-file.ts'
import { meanPhaseSeconds } from '../sim/report.ts'
import type { PeerRecord } from '../sim/report.ts'

const row = (round: number, over: Partial<ReportRow> = {}): ReportRow => ({
  round,
  cohort: 5,
  survivors: round === 2 ? 4 : 5,
  accuracy: 0.8 + round / 100,
  loss: 1 / round,
  epsilon: null,
  bytesSentPerPeer: 1e6 * round,
  bytesReceivedPerPeer: 1.1e6,
  modelHash: round.toString(16).padStart(64, '0'),
  peersCompleted: 5,
  peersAgreeing: 5,
  seconds: 2.5,
  phaseSeconds: { join: 1, cohort: 0.2, shares: 0.1, update: 1, survivors: 0.1, unmask: 0.05, aggregate: 0.02 },
  ...over
})

const report = (rows: ReportRow[], task: Record<string, unknown> = {}): ReportInput => ({
  task: { name: 'mnist-2nn', rounds: 4, privacy: { targetEpsilon: 0, delta: 1e-5 }, model: { kind: 'mlp', hidden: [200, 200] }, ...task },
  taskId: 'ab'.repeat(32),
  peers: 5,
  transport: 'memory',
  processes: 0,
  backend: 'wasm',
  startedAt: '2025-01-01T00:00:00.000Z',
  seconds: 12.3,
  rounds: rows,
  mismatches: rows.filter(r => r.peersAgreeing !== r.peersCompleted).length,
  finalAccuracy: rows.at(-1)?.accuracy ?? null,
  dropout: 0,
  flags: { peers: '5', dpFedavg: true }
})

/** Elements inside each `<g class="... role-mark ...">` group of an SVG string (data marks, not axes). */
function markCounts (svg: string): Map<string, number> {
  const counts = new Map<string, number>()
  const re = /<g class="mark-(\w+) role-mark[^"]*"[^>]*>/g
  for (let m = re.exec(svg); m != null; m = re.exec(svg)) {
    // Count the direct children up to the group's end: marks are leaf <path>/<line>/<text> elements.
    const rest = svg.slice(m.index + m[0].length)
    const body = rest.slice(0, rest.indexOf('</g>'))
    counts.set(m[1], (counts.get(m[1]) ?? 0) + (body.match(/<(path|line|text|rect)\b/g)?.length ?? 0))
  }
  return counts
}

function figures (html: string): Map<string, string> {
  const out = new Map<string, string>()
  const re = /<figure data-chart="([^"]+)"[^>]*>([\s\S]*?)<\/figure>/g
  for (let m = re.exec(html); m != null; m = re.exec(html)) out.set(m[1], m[2])
  return out
}

test('chartSet: ε only with DP data or a DP task, phases only when timed', () => {
  const plain = [row(1, { phaseSeconds: undefined }), row(2, { phaseSeconds: undefined })]
  assert.deepEqual(chartSet(plain).map(c => c.id), ['accuracy', 'loss', 'bytes', 'survivors'])
  assert.deepEqual(chartSet([row(1, { epsilon: 0.5 })]).map(c => c.id), ['accuracy', 'loss', 'epsilon', 'bytes', 'phases', 'survivors'])
  assert.deepEqual(chartSet([], { privacy: true, phases: true }).map(c => c.id), ['accuracy', 'loss', 'epsilon', 'bytes', 'phases', 'survivors'])
  assert.match(chartSet([row(1, { epsilon: 1 })], { targetEpsilon: 3 }).find(c => c.id === 'epsilon')!.title, /budget 3/)
})

test('chart specs carry the run\'s data: one accuracy point per evaluated round, phases stacked in order', async () => {
  const rows = [row(1), row(2, { accuracy: null }), row(3)]
  const acc = accuracyChart(rows) as any
  assert.deepEqual(acc.data.values.map((v: any) => v.round), [1, 3], 'rounds without an evaluation have no point')
  const svg = await renderChartSvg(acc)
  assert.equal(markCounts(svg).get('symbol'), 2)
  const phases = phasesChart(rows) as any
  assert.equal(phases.data.values.length, 3 * 7)
  assert.deepEqual(phases.encoding.color.scale.domain.slice(0, 3), ['join', 'cohort', 'shares'])
  assert.equal(markCounts(await renderChartSvg(phases)).get('rect'), 3 * 7)
})

test('renderReportHtml: every chart is a figure with an inline SVG with marks, nothing external, text escaped', async () => {
  const rows = [row(1, { epsilon: 0.4 }), row(2, { epsilon: 0.8, peersAgreeing: 4 }), row(3, { epsilon: 1.1 })]
  const html = await renderReportHtml(report(rows, { name: 'evil <script>alert(1)</script>', privacy: { targetEpsilon: 2, delta: 1e-5 } }))
  const figs = figures(html)
  assert.deepEqual([...figs.keys()], ['accuracy', 'loss', 'epsilon', 'bytes', 'phases', 'survivors'])
  for (const [id, body] of figs) {
    assert.match(body, /<svg[^>]*class="marks"/, `${id} has an svg`)
    const marks = [...markCounts(body).values()].reduce((a, b) => a + b, 0)
    assert.ok(marks > 0, `${id} has marks`)
  }
  assert.equal(markCounts(figs.get('accuracy')!).get('symbol'), 3)
  assert.equal(markCounts(figs.get('epsilon')!).get('rule'), 1, 'the budget rule')
  // Self-contained: no external src/href, no script, no stylesheet link.
  assert.doesNotMatch(html, /\s(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i)
  assert.doesNotMatch(html, /<script|<link\b|@import|url\(\s*["']?https?:/i)
  assert.doesNotMatch(html, /<script>alert/)
  assert.match(html, /evil &lt;script&gt;/)
  assert.match(html, /DISAGREE/)
  assert.match(html, /data-table="task"[\s\S]*model\.hidden[\s\S]*200, 200/)
  assert.match(html, /--peers 5 --dp-fedavg/)
})

test('renderReportHtml with no rounds still renders (empty charts)', async () => {
  const html = await renderReportHtml(report([]))
  assert.deepEqual([...figures(html).keys()], ['accuracy', 'loss', 'bytes', 'survivors'])
})

test('settings: run rows and flattened task fields', () => {
  const run = runSettings({ ...report([row(1)]), processes: 2, transport: 'tcp', evalLimit: 500 })
  assert.deepEqual(run.find(r => r.name === 'transport'), { name: 'transport', value: 'tcp over 2 processes' })
  assert.deepEqual(run.find(r => r.name === 'evaluation'), { name: 'evaluation', value: '500 test examples' })
  assert.deepEqual(taskSettings({ a: { b: 1, c: [2, 3] }, d: null }), [{ name: 'a.b', value: '1' }, { name: 'a.c', value: '2, 3' }, { name: 'd', value: '–' }])
})

test('sim report files: the HTML path defaults next to the JSON; flags leave out output options', () => {
  assert.equal(reportHtmlPath({ report: 'out/r.json' }), 'out/r.html')
  assert.equal(reportHtmlPath({ report: 'r' }), 'r.html')
  assert.equal(reportHtmlPath({ report: 'r.json', reportHtml: 'x.html' }), 'x.html')
  assert.equal(reportHtmlPath({ report: 'r.json', reportHtml: false }), undefined)
  assert.equal(reportHtmlPath({}), undefined)
  assert.equal(reportHtmlPath({ reportHtml: 'only.html' }), 'only.html')
  assert.deepEqual(runFlags({ peers: '3', json: true, report: 'r.json', dashboard: ':0', dpSgd: true, hidden: undefined }), { peers: '3', dpSgd: true })
})

test('phase times: a clock per peer, the mean over peers per round', () => {
  let t = 0
  const clock = new PhaseClock({ now: () => t })
  clock.enter('join', 1); t = 1000
  clock.enter('cohort', 1); t = 1500
  clock.enter('aborted', 1); t = 1600
  clock.enter('join', 1); t = 2600
  clock.enter('update', 1); t = 4600
  clock.enter('done', 1)
  clock.enter('join', 2); t = 5000
  assert.deepEqual(clock.take(1), { join: 2000, cohort: 500, update: 2000 })
  assert.deepEqual(clock.take(2), { join: 400 }, 'an open phase counts up to now')
  assert.equal(clock.take(1), undefined)
  const rec = (phaseMs?: Record<string, number>): PeerRecord => ({ phaseMs } as unknown as PeerRecord)
  assert.deepEqual(meanPhaseSeconds([rec({ join: 1000, update: 3000 }), rec({ join: 2000 }), rec()]), { join: 1.5, update: 1.5 })
  assert.equal(meanPhaseSeconds([rec()]), undefined)
})
