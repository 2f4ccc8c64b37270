/**
 * The HTTP endpoint Prometheus scrapes: `GET /metrics` answers with the text exposition format of one
 * registry (node:http, no framework). `--metrics <host>:<port>` values are parsed here too.
 */

import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Registry } from 'prom-client'
import { listenHttp, listenReason, parseHostPort } from '../http/listen.ts'
import { EXAMPLE_METRICS_PORT, METRICS_PATH } from './constants.ts'
import { MetricsError } from './errors.ts'

export interface MetricsAddress {
  host: string
  port: number
}

/**
 * Parses `host:port`, `[v6]:port` or `:port` (all interfaces). Port 0 picks a free port. Throws a
 * one-line `MetricsError` naming the value.
 */
export function parseMetricsAddress (value: string): MetricsAddress {
  const parsed = parseHostPort(value, '0.0.0.0')
  if ('problem' in parsed) {
    throw new MetricsError(`invalid metrics address "${value}": ${parsed.problem} (expected <host>:<port>, e.g. 127.0.0.1:${EXAMPLE_METRICS_PORT})`, value)
  }
  return parsed
}

export interface MetricsServerInit {
  /** Where to listen: `host:port` (see `parseMetricsAddress`) or a parsed address. */
  listen: string | MetricsAddress
  registry: Registry
  /** Closes the server when aborted. */
  signal?: AbortSignal
}

export interface MetricsServer {
  /** `http://<host>:<port>/metrics` with the port actually bound. */
  readonly url: string
  readonly address: MetricsAddress
  close(): Promise<void>
}

/**
 * Starts the endpoint. A bad address, a port in use or an address this host does not have is a
 * one-line `MetricsError` naming the address.
 */
export async function createMetricsServer (init: MetricsServerInit): Promise<MetricsServer> {
  init.signal?.throwIfAborted()
  const given = typeof init.listen === 'string' ? init.listen : `${init.listen.host}:${init.listen.port}`
  const address = typeof init.listen === 'string' ? parseMetricsAddress(init.listen) : init.listen
  const server = createServer((req, res) => { void answer(init.registry, req, res) })
  await listenHttp(server, address).catch((err: NodeJS.ErrnoException) => {
    throw new MetricsError(`cannot serve metrics on ${given}: ${listenReason(err, address.host)}`, given, { code: 'ERR_METRICS_LISTEN', cause: err })
  })
  const bound = server.address() as AddressInfo
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address
  let closed: Promise<void> | undefined
  const close = async (): Promise<void> => {
    closed ??= new Promise<void>(resolve => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
    await closed
  }
  init.signal?.addEventListener('abort', () => { void close() }, { once: true })
  return { url: `http://${host}:${bound.port}${METRICS_PATH}`, address: { host: address.host, port: bound.port }, close }
}

async function answer (registry: Registry, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n')
    return
  }
  if (path === '/') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`fedswarm: metrics at ${METRICS_PATH}\n`)
    return
  }
  if (path !== METRICS_PATH) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
    return
  }
  try {
    const text = await registry.metrics()
    res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text)
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`cannot collect metrics: ${(err as Error).message}\n`)
  }
}
