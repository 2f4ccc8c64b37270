/**
 * What the small HTTP endpoints (`--metrics`, `--dashboard`) share: parsing `host:port`, `[v6]:port`
 * or `:port`, and listening with a one-line reason for each way that fails. Each endpoint wraps the
 * reason in its own named error, naming the address the user gave.
 */
import type { Server } from 'node:http'
import { isIP } from 'node:net'

export interface HostPort {
  host: string
  port: number
}

/** `{ host, port }`, or `{ problem }` saying what is wrong with `value`. `:port` takes `emptyHost`. */
export function parseHostPort (value: string, emptyHost: string): HostPort | { problem: string } {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):([^:]*)$/.exec(value.trim())
  if (m == null) return { problem: /:/.test(value) ? 'not <host>:<port>' : 'no port' }
  const host = m[1] ?? m[2]
  if (m[1] != null && isIP(m[1]) !== 6) return { problem: `${m[1]} is not an IPv6 address` }
  if (!/^\d{1,5}$/.test(m[3]) || Number(m[3]) > 65535) return { problem: m[3] === '' ? 'no port' : `port ${m[3]} is not a number from 0 to 65535` }
  return { host: host === '' ? emptyHost : host, port: Number(m[3]) }
}

/** Why listening on `host` failed, in a few words. */
export function listenReason (err: NodeJS.ErrnoException, host: string): string {
  switch (err.code) {
    case 'EADDRINUSE': return 'address in use'
    case 'EADDRNOTAVAIL': return 'this host has no such address'
    case 'EACCES': return 'permission denied'
    case 'ENOTFOUND': case 'EAI_AGAIN': return `cannot resolve host ${host}`
    default: return err.message
  }
}

/** Starts `server` on `address`; rejects with the listen error (see `listenReason`). */
export async function listenHttp (server: Server, address: HostPort): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => reject(err)
    server.once('error', onError)
    server.listen(address.port, address.host, () => {
      server.off('error', onError)
      resolve()
    })
  })
}
