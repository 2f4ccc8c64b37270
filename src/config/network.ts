/**
 * Network files (`networks/*.json`): which task a public or local swarm trains, where its bootstrap
 * peers are and which libp2p services its peers run. `loadNetwork('testnet')` reads the package's
 * `networks/testnet.json`; anything with a slash or ending in `.json` is a path.
 *
 * ```json
 * {
 *   "version": 1,                         // required, the file format (NETWORK_VERSION)
 *   "name": "testnet",                    // required, letters, digits, . _ - (names the data dir)
 *   "description": "…",                   // optional
 *   "protocolVersion": "fedswarm/1",      // required, must be the protocol this build speaks
 *   "task": { … } | "tasks/mnist.json",   // required, an inline task or a task file relative to this file
 *   "bootstrap": ["/dns4/…/tcp/4001/p2p/12D3…"],   // default [], multiaddrs ending in /p2p/<peer-id>
 *   "dht": true,                          // default true: Kademlia DHT (peer routing, task rendezvous)
 *   "relay": true,                        // default true: circuit-relay client + DCUtR hole punching
 *   "mdns": false,                        // default false: discover peers on the local network
 *   "publicNetwork": true                 // default true: AutoNAT, public addresses preferred in the DHT
 * }
 * ```
 *
 * Every problem is a one-line `NetworkError` naming the file and the field (task fields are checked
 * by `createTask` and named `task.<field>`).
 */

import { readdir, readFile } from 'node:fs/promises'
import { dirname, isAbsolute, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { multiaddr } from '@multiformats/multiaddr'
import { NETWORK_NAME_PATTERN, NETWORK_VERSION, PROTOCOL_VERSION } from './constants.ts'
import { didYouMean } from './did-you-mean.ts'
import { TaskError, describeValue, oneLine } from './errors.ts'
import { createTask, isPlainObject } from './task.ts'
import { describeJsonError, readTaskFile } from './task-file.ts'
import { taskId as computeTaskId } from './task-id.ts'
import type { Task } from './types.ts'

/** Where the bundled network files live: `<package>/networks/`. */
export const NETWORKS_DIR = fileURLToPath(new URL('../../networks/', import.meta.url))

/** Top-level fields of a network file, in the order they are checked. */
export const NETWORK_FIELDS = Object.freeze([
  'version', 'name', 'description', 'protocolVersion', 'task', 'bootstrap', 'dht', 'relay', 'mdns', 'publicNetwork'
] as const)

export type NetworkErrorCode = 'ERR_NETWORK_INVALID' | 'ERR_NETWORK_NOT_FOUND' | 'ERR_NETWORK_READ' | 'ERR_NETWORK_NO_BOOTSTRAP'

export class NetworkError extends Error {
  static readonly name = 'NetworkError'
  override readonly name = 'NetworkError'
  /** The network file concerned (as shown in the message). */
  readonly file: string
  /** The offending field (`bootstrap[1]`, `task.rounds`), `undefined` for file-level errors. */
  readonly field: string | undefined
  readonly code: NetworkErrorCode

  constructor (message: string, init: { file: string, field?: string, code?: NetworkErrorCode, cause?: unknown }) {
    super(oneLine(message), init.cause === undefined ? undefined : { cause: init.cause })
    this.file = init.file
    this.field = init.field
    this.code = init.code ?? 'ERR_NETWORK_INVALID'
  }
}

/** A validated network file, defaults filled in and its task resolved. */
export interface Network {
  version: number
  name: string
  description?: string
  protocolVersion: string
  /** The task the network trains, defaults filled in. */
  task: Task
  /** Its content id (hex sha256 of the canonical task). */
  taskId: string
  /** Where the task came from: the task file's path, or `<network file>#task` when inline. */
  taskSource: string
  /** Bootstrap multiaddrs, each ending in `/p2p/<peer-id>` (may be empty). */
  bootstrap: string[]
  dht: boolean
  relay: boolean
  mdns: boolean
  publicNetwork: boolean
  /** Absolute path of the network file. */
  file: string
}

export interface LoadNetworkOptions {
  /** Directory that relative paths are resolved against (default `process.cwd()`). */
  cwd?: string
  /** Directory of the bundled networks (default `NETWORKS_DIR`). */
  networksDir?: string
  signal?: AbortSignal
}

/** Whether `nameOrPath` is a path (has a slash or ends in `.json`) rather than a bundled network's name. */
export function isNetworkPath (nameOrPath: string): boolean {
  return nameOrPath.includes('/') || nameOrPath.includes('\\') || nameOrPath.endsWith('.json')
}

/** Names of the bundled networks (`networks/*.json`), sorted. */
export async function bundledNetworks (networksDir = NETWORKS_DIR): Promise<string[]> {
  try {
    return (await readdir(networksDir)).filter(n => n.endsWith('.json')).map(n => n.slice(0, -5)).sort()
  } catch {
    return []
  }
}

/**
 * Reads and validates a network file: a bundled network by name (`local`, `testnet`) or a path.
 * Throws a one-line `NetworkError` (or a `TaskError` for a bad task file it points to).
 */
export async function loadNetwork (nameOrPath: string, options: LoadNetworkOptions = {}): Promise<Network> {
  options.signal?.throwIfAborted()
  const networksDir = options.networksDir ?? NETWORKS_DIR
  let path: string
  let shown: string
  if (isNetworkPath(nameOrPath)) {
    path = resolve(options.cwd ?? process.cwd(), nameOrPath)
    shown = nameOrPath
  } else {
    const known = await bundledNetworks(networksDir)
    if (!NETWORK_NAME_PATTERN.test(nameOrPath) || !known.includes(nameOrPath)) {
      const guess = didYouMean(nameOrPath, known)
      throw new NetworkError(`unknown network "${nameOrPath}" (${guess !== undefined ? `did you mean ${guess}? ` : ''}known: ${known.join(', ') || 'none'}; or pass the path of a network file)`, {
        file: nameOrPath, code: 'ERR_NETWORK_NOT_FOUND'
      })
    }
    path = resolve(networksDir, `${nameOrPath}.json`)
    shown = path
  }

  let text: string
  try {
    text = await readFile(path, { encoding: 'utf8', signal: options.signal })
  } catch (err: any) {
    if (err?.name === 'AbortError') throw err
    if (err?.code === 'ENOENT') throw new NetworkError(`network file ${shown} not found`, { file: shown, code: 'ERR_NETWORK_NOT_FOUND', cause: err })
    if (err?.code === 'EISDIR') throw new NetworkError(`network file ${shown} is a directory, not a JSON file`, { file: shown, code: 'ERR_NETWORK_READ', cause: err })
    throw new NetworkError(`cannot read network file ${shown}: ${oneLine(String(err?.message ?? err))}`, { file: shown, code: 'ERR_NETWORK_READ', cause: err })
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err: any) {
    throw new NetworkError(`${shown}: not valid JSON: ${describeJsonError(String(err?.message ?? err), text)}`, { file: shown, cause: err })
  }
  return await parseNetwork(json, { file: shown, path, signal: options.signal })
}

export interface ParseNetworkOptions {
  /** The file as shown in messages. */
  file: string
  /** Its absolute path: a task path is relative to its directory. */
  path: string
  signal?: AbortSignal
}

/** Validates a parsed network file (see the header for the fields) and resolves its task. */
export async function parseNetwork (json: unknown, options: ParseNetworkOptions): Promise<Network> {
  const file = options.file
  const fail = (field: string, expected: string, got: unknown): never => {
    const found = got === undefined ? 'missing' : `got ${describeValue(got)}`
    throw new NetworkError(`${file}: ${field} must be ${expected} (${found})`, { file, field })
  }
  if (!isPlainObject(json)) fail('the network file', 'a JSON object', json)
  const o = json as Record<string, unknown>
  for (const key of Object.keys(o)) {
    if ((NETWORK_FIELDS as readonly string[]).includes(key)) continue
    const guess = didYouMean(key, NETWORK_FIELDS)
    throw new NetworkError(`${file}: unknown field ${key} (${guess !== undefined ? `did you mean ${guess}?` : `allowed: ${NETWORK_FIELDS.join(', ')}`})`, { file, field: key })
  }
  if (o.version !== NETWORK_VERSION) fail('version', `${NETWORK_VERSION}`, o.version)
  if (typeof o.name !== 'string' || !NETWORK_NAME_PATTERN.test(o.name)) {
    fail('name', 'a name of 1-64 letters, digits, ".", "_" or "-" starting with a letter or digit', o.name)
  }
  if (o.description !== undefined && typeof o.description !== 'string') fail('description', 'a string', o.description)
  if (typeof o.protocolVersion !== 'string') fail('protocolVersion', `"${PROTOCOL_VERSION}"`, o.protocolVersion)
  if (o.protocolVersion !== PROTOCOL_VERSION) {
    throw new NetworkError(`${file}: protocolVersion ${describeValue(o.protocolVersion)} is not spoken by this fedswarm (it speaks "${PROTOCOL_VERSION}"); update fedswarm or use a network file for "${PROTOCOL_VERSION}"`, { file, field: 'protocolVersion' })
  }

  const bootstrap: string[] = []
  if (o.bootstrap !== undefined) {
    if (!Array.isArray(o.bootstrap)) fail('bootstrap', 'an array of multiaddrs ending in /p2p/<peer-id>', o.bootstrap)
    ;(o.bootstrap as unknown[]).forEach((address, i) => {
      const problem = bootstrapAddressProblem(address)
      if (problem !== undefined) {
        throw new NetworkError(`${file}: bootstrap[${i}] ${problem} (got ${describeValue(address)})`, { file, field: `bootstrap[${i}]` })
      }
      bootstrap.push(address as string)
    })
  }
  const flag = (key: 'dht' | 'relay' | 'mdns' | 'publicNetwork', fallback: boolean): boolean => {
    const value = o[key]
    if (value === undefined) return fallback
    if (typeof value !== 'boolean') fail(key, 'true or false', value)
    return value as boolean
  }
  const dht = flag('dht', true)
  const relay = flag('relay', true)
  const mdns = flag('mdns', false)
  const publicNetwork = flag('publicNetwork', true)

  let task: Task
  let taskSource: string
  if (isPlainObject(o.task)) {
    taskSource = `${file}#task`
    task = createTask(o.task, { source: `${file}: task` })
  } else if (typeof o.task === 'string' && o.task !== '') {
    const taskPath = isAbsolute(o.task) ? o.task : resolve(dirname(options.path), o.task)
    taskSource = taskPath
    try {
      task = (await readTaskFile(taskPath, { signal: options.signal })).task
    } catch (err) {
      if (err instanceof TaskError && err.code !== 'ERR_TASK_INVALID') {
        throw new NetworkError(`${file}: task: ${err.message}`, { file, field: 'task', cause: err })
      }
      throw err
    }
  } else {
    return fail('task', 'a task object or the path of a task file (relative to the network file)', o.task)
  }

  return {
    version: NETWORK_VERSION,
    name: o.name as string,
    ...(o.description !== undefined ? { description: o.description as string } : {}),
    protocolVersion: PROTOCOL_VERSION,
    task,
    taskId: computeTaskId(task),
    taskSource,
    bootstrap,
    dht,
    relay,
    mdns,
    publicNetwork,
    file: options.path
  }
}

/** Why `address` is not a usable bootstrap address, or `undefined`. */
export function bootstrapAddressProblem (address: unknown): string | undefined {
  if (typeof address !== 'string' || address === '') return 'must be a multiaddr string ending in /p2p/<peer-id>'
  let components
  try {
    components = multiaddr(address).getComponents()
  } catch (err) {
    return `is not a valid multiaddr (${oneLine(String((err as Error).message ?? err))})`
  }
  if (components.findLast(c => c.name === 'p2p')?.value == null) return 'has no /p2p/<peer-id> part'
  return undefined
}
