// The two pages a user looks at, in a real browser (playwright-core driving Debian's headless
// Chromium): a real 3-peer `fedswarm sim --dashboard` whose live dashboard must show round >= 1 with an
// accuracy chart that has one point per completed round, then the sim's HTML report opened from disk
// (file://) with every chart an SVG with marks and no request leaving the file. Screenshots go to
// test-output/; with FEDSWARM_UPDATE_SCREENSHOTS=1 (or when missing) also to docs/img/.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'
import type { Browser, Page } from 'playwright-core'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(ROOT, 'bin/fedswarm.js')
const CHROMIUM = process.env.FEDSWARM_CHROMIUM ?? '/usr/bin/chromium'
const OUT = join(ROOT, 'test-output')
const DOCS_IMG = join(ROOT, 'docs/img')
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set FEDSWARM_CHROMIUM)`

/** Marks of a chart figure's SVG: points (symbols), bars (rects), lines and rules drawn from data. */
async function chartMarks (page: Page, id: string): Promise<{ svg: boolean, symbols: number, marks: number, rounds: string | null }> {
  return await page.evaluate((chart) => {
    // Runs in the page (this project's tsconfig has no DOM types).
    const doc = (globalThis as any).document
    const fig = doc.querySelector(`figure[data-chart="${chart}"]`)
    const svg = fig?.querySelector('svg')
    return {
      svg: svg != null,
      symbols: svg?.querySelectorAll('g.mark-symbol.role-mark > path').length ?? 0,
      marks: svg?.querySelectorAll('g.role-mark > *').length ?? 0,
      rounds: fig?.getAttribute('data-rounds') ?? null
    }
  }, id)
}

async function screenshot (page: Page, name: string, opts: { fullPage?: boolean, docs?: boolean } = {}): Promise<void> {
  await mkdir(OUT, { recursive: true })
  const file = join(OUT, name)
  await page.screenshot({ path: file, fullPage: opts.fullPage === true })
  const doc = join(DOCS_IMG, name)
  if (opts.docs === true && (process.env.FEDSWARM_UPDATE_SCREENSHOTS === '1' || !existsSync(doc))) {
    await mkdir(DOCS_IMG, { recursive: true })
    await copyFile(file, doc)
  }
}

test('dashboard of a running 3-peer sim, then its HTML report from disk, in headless Chromium', { skip, timeout: 240_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fedswarm-ui-'))
  await writeFile(join(dir, 'task.json'), JSON.stringify({
    name: 'ui-test', rounds: 3, model: { kind: 'mlp', hidden: [32] }, cohort: { size: 3, minSurvivors: 2 },
    timeouts: { joinMs: 1000, cohortMs: 1500, updateMs: 60000, survivorsMs: 10000 }
  }))
  const child = spawn(process.execPath, [BIN, 'sim', '--task', 'task.json', '--peers', '3', '--rounds', '3', '--eval-limit', '500',
    '--dashboard', '127.0.0.1:0', '--report', 'r.json'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', d => { stdout += String(d) })
  child.stderr.on('data', d => { stderr += String(d) })
  const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)))
  const kill = setTimeout(() => child.kill('SIGKILL'), 150_000)
  let browser: Browser | undefined
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const poll = setInterval(() => {
        const m = /dashboard on (http:\/\/\S+)/.exec(stdout)
        if (m != null) { clearInterval(poll); resolve(m[1]) }
      }, 50)
      void exited.then(code => { clearInterval(poll); reject(new Error(`sim exited (${code}) before serving the dashboard:\n${stdout}\n${stderr}`)) })
    })
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/)
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] })
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
    await page.goto(url)
    // Bounded wait until the page shows a completed round and an accuracy point for each of them.
    const deadline = Date.now() + 90_000
    let seen = { completed: 0, symbols: 0, rounds: null as string | null }
    while (Date.now() < deadline) {
      const completed = Number(await page.locator('[data-field="completed"]').first().textContent())
      const marks = await chartMarks(page, 'accuracy')
      seen = { completed, symbols: marks.symbols, rounds: marks.rounds }
      if (completed >= 1 && marks.symbols === completed && marks.rounds === String(completed)) break
      await page.waitForTimeout(200)
    }
    assert.ok(seen.completed >= 1, `the dashboard never showed a completed round: ${JSON.stringify(seen)}\n${stdout}`)
    assert.equal(seen.symbols, seen.completed, `accuracy points ${seen.symbols} != rounds completed ${seen.completed}`)
    const round = await page.locator('[data-field="round"]').first().textContent()
    assert.match(round ?? '', /^[1-3]\/3$/)
    const state = await (await page.request.get(new URL('/state.json', url).href)).json()
    assert.equal(state.kind, 'sim')
    assert.ok(state.rounds.length >= 1 && state.rounds[0].accuracy > 0.5, JSON.stringify(state.rounds))
    // For the picture, a little more history if the swarm gets there while the page watches.
    const more = Date.now() + 20_000
    while (Date.now() < more && child.exitCode == null && Number(await page.locator('[data-field="completed"]').first().textContent()) < 2) {
      await page.waitForTimeout(200)
    }
    await screenshot(page, 'dashboard.png', { docs: true })

    const code = await exited
    assert.equal(code, 0, `sim failed:\n${stdout}\n${stderr}`)
    assert.match(stdout, /report in r\.json and r\.html/)

    // The report, from disk: every chart an SVG with marks, nothing fetched from anywhere.
    const report = await browser.newPage({ viewport: { width: 1100, height: 1000 } })
    const requests: string[] = []
    report.on('request', r => { if (!r.url().startsWith('file:') && !r.url().startsWith('data:')) requests.push(r.url()) })
    await report.goto(pathToFileURL(join(dir, 'r.html')).href)
    const ids = await report.$$eval('figure[data-chart]', figs => figs.map(f => f.getAttribute('data-chart')!))
    assert.deepEqual(ids, ['accuracy', 'loss', 'bytes', 'phases', 'survivors'])
    for (const id of ids) {
      const m = await chartMarks(report, id)
      assert.ok(m.svg, `${id}: no svg`)
      assert.ok(m.marks > 0, `${id}: the svg has no marks`)
    }
    assert.equal((await chartMarks(report, 'accuracy')).symbols, 3, 'one accuracy point per round')
    assert.equal((await chartMarks(report, 'phases')).marks >= 3, true, 'phase bars')
    assert.deepEqual(requests, [], 'the report loads nothing')
    await screenshot(report, 'report.png', { docs: true })
    await screenshot(report, 'report-full.png', { fullPage: true })
  } finally {
    clearTimeout(kill)
    await browser?.close()
    if (child.exitCode == null) child.kill('SIGTERM')
    await exited
  }
})
