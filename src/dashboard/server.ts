/**
 * The dashboard's HTTP endpoint (node:http, no framework), read-only:
 *
 * - `GET /`: the page (current numbers and charts, inline CSS and script);
 * - `GET /events`: Server-Sent Events, one `state` event on connect and after every change of the
 *   store (coalesced: at most one per `pushIntervalMs`), carrying the page's fields and, when the
 *   rounds changed, the re-rendered chart SVGs;
 * - `GET /state.json`: the store's state as JSON.
 *
 * A bad address, a port in use or an address this host does not have is a one-line `DashboardError`
 * naming the address.
 */
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { listenHttp, listenReason } from '../http/listen.ts'
import { renderChartSvg } from '../report/render.ts'
import { DEFAULT_HEARTBEAT_MS, DEFAULT_PUSH_INTERVAL_MS, SSE_RETRY_MS } from './constants.ts'
import { parseDashboardAddress } from './address.ts'
import type { DashboardAddress } from './address.ts'
import { DashboardError } from './errors.ts'
import { renderDashboardPage } from './page.ts'
import type { DashboardStore } from './state.ts'
import { dashboardCharts, dashboardView } from './view.ts'

export interface DashboardServerInit {
  /** Where to listen: `host:port` (see `parseDashboardAddress`) or a parsed address. */
  listen: string | DashboardAddress
  store: DashboardStore
  /** Least time between two pushes (default DEFAULT_PUSH_INTERVAL_MS). */
  pushIntervalMs?: number
  /** SSE keep-alive comment interval (default DEFAULT_HEARTBEAT_MS). */
  heartbeatMs?: number
  /** Called when rendering a chart fails (default: ignored; the page keeps the last charts). */
  onError?(err: Error): void
  /** Closes the server when aborted. */
  signal?: AbortSignal
}

export interface DashboardServer {
  /** `http://<host>:<port>/` with the port actually bound. */
  readonly url: string
  readonly address: DashboardAddress
  /** Pushes the current state now (e.g. the final one before closing). */
  flush(): Promise<void>
  close(): Promise<void>
}

interface RenderedCharts {
  version: number
  rounds: number
  charts: Array<{ id: string, title: string, svg: string }>
}

/** Starts the dashboard endpoint. */
export async function createDashboardServer (init: DashboardServerInit): Promise<DashboardServer> {
  init.signal?.throwIfAborted()
  const given = typeof init.listen === 'string' ? init.listen : `${init.listen.host}:${init.listen.port}`
  const address = typeof init.listen === 'string' ? parseDashboardAddress(init.listen) : init.listen
  const store = init.store
  const pushInterval = init.pushIntervalMs ?? DEFAULT_PUSH_INTERVAL_MS
  const clients = new Set<ServerResponse>()
  let rendered: RenderedCharts | undefined
  let rendering: Promise<RenderedCharts> | undefined
  let lastPushedVersion = -1
  let lastPush = 0
  let pushTimer: NodeJS.Timeout | undefined
  let pushing: Promise<void> = Promise.resolve()
  let closed = false

  /** The charts of the store's current rounds, rendered once per rounds version. */
  const charts = async (): Promise<RenderedCharts> => {
    const version = store.roundsVersion
    if (rendered?.version === version) return rendered
    if (rendering != null) {
      const r = await rendering
      if (r.version === store.roundsVersion) return r
    }
    rendering = (async () => {
      const state = store.state
      const out: RenderedCharts = { version, rounds: state.rounds.length, charts: [] }
      for (const c of dashboardCharts(state)) {
        try {
          out.charts.push({ id: c.id, title: c.title, svg: await renderChartSvg(c.spec, { signal: init.signal }) })
        } catch (err) {
          init.onError?.(err as Error)
          out.charts.push({ id: c.id, title: c.title, svg: rendered?.charts.find(x => x.id === c.id)?.svg ?? '' })
        }
      }
      rendered = out
      return out
    })()
    try {
      return await rendering
    } finally {
      rendering = undefined
    }
  }

  /** One SSE `state` event: fields always, charts when `withCharts`. */
  const message = async (withCharts: boolean): Promise<string> => {
    const r = await charts()
    const state = store.state
    const payload = {
      state,
      ...dashboardView(state),
      chartRounds: r.rounds,
      ...(withCharts ? { charts: Object.fromEntries(r.charts.map(c => [c.id, c.svg])) } : {})
    }
    return `event: state\ndata: ${JSON.stringify(payload)}\n\n`
  }

  const push = async (): Promise<void> => {
    pushTimer = undefined
    lastPush = Date.now()
    if (clients.size === 0) return
    const withCharts = store.roundsVersion !== lastPushedVersion
    const version = store.roundsVersion
    const text = await message(withCharts)
    lastPushedVersion = version
    for (const res of clients) res.write(text)
  }
  const schedule = (): void => {
    if (closed || pushTimer !== undefined) return
    pushTimer = setTimeout(() => { pushing = pushing.then(push).catch(err => init.onError?.(err as Error)) }, Math.max(0, lastPush + pushInterval - Date.now()))
  }
  const unsubscribe = store.subscribe(schedule)
  const heartbeat = setInterval(() => { for (const res of clients) res.write(': ping\n\n') }, init.heartbeatMs ?? DEFAULT_HEARTBEAT_MS)
  heartbeat.unref()

  const answer = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed (the dashboard is read-only)\n')
      return
    }
    const head = req.method === 'HEAD'
    if (path === '/' || path === '/index.html') {
      const r = await charts()
      const html = renderDashboardPage({ view: dashboardView(store.state), charts: r.charts, chartRounds: r.rounds })
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(head ? undefined : html)
    } else if (path === '/state.json') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(head ? undefined : `${JSON.stringify(store.state, null, 2)}\n`)
    } else if (path === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' })
      if (head) { res.end(); return }
      res.write(`retry: ${SSE_RETRY_MS}\n\n`)
      res.write(await message(true))
      clients.add(res)
      req.on('close', () => clients.delete(res))
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
    }
  }

  const server = createServer((req, res) => {
    answer(req, res).catch(err => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
      res.end(`dashboard error: ${(err as Error).message}\n`)
    })
  })
  await listenHttp(server, address).catch((err: NodeJS.ErrnoException) => {
    throw new DashboardError(`cannot serve the dashboard on ${given}: ${listenReason(err, address.host)}`, given, { code: 'ERR_DASHBOARD_LISTEN', cause: err })
  }).catch((err) => {
    unsubscribe()
    clearInterval(heartbeat)
    throw err
  })
  const bound = server.address() as AddressInfo
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address

  let closing: Promise<void> | undefined
  const flush = async (): Promise<void> => {
    clearTimeout(pushTimer)
    pushing = pushing.then(push).catch(err => init.onError?.(err as Error))
    await pushing
  }
  const close = async (): Promise<void> => {
    closing ??= (async () => {
      closed = true
      unsubscribe()
      clearInterval(heartbeat)
      // What changed since the last push (e.g. the final state) still goes out.
      if (pushTimer !== undefined) await flush()
      await pushing
      for (const res of clients) res.end()
      clients.clear()
      await new Promise<void>(resolve => {
        server.close(() => resolve())
        server.closeAllConnections()
      })
    })()
    await closing
  }
  init.signal?.addEventListener('abort', () => { void close() }, { once: true })
  return { url: `http://${host}:${bound.port}/`, address: { host: address.host, port: bound.port }, flush, close }
}
