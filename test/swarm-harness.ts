// A real swarm in one process for adversarial tests: honest peers (libp2p memory transport, real
// RoundDrivers, real MNIST training, real crypto) plus bare nodes that an adversary drives by hand with
// raw signed envelopes on the task topic. Used by test/swarm-secagg.test.ts and test/chaos/adversarial.test.ts.
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { taskId as computeTaskId } from '../src/config/index.ts'
import type { Task } from '../src/config/types.ts'
import { initialParams, loadDataset, partition } from '../src/learning/index.ts'
import type { Trainer } from '../src/learning/index.ts'
import { createPeerNode, createGossip, linkPeers } from '../src/net/index.ts'
import type { Gossip, PeerNode } from '../src/net/index.ts'
import { createSwarmChannel } from '../src/net/swarm-channel.ts'
import { RoundDriver } from '../src/round/driver.ts'
import type { LocalUpdate, RoundRecord } from '../src/round/driver.ts'
import type { SwarmChannel } from '../src/round/channel.ts'
import { rankKey } from '../src/round/machine.ts'
import { createUpdateSource } from '../src/peer/update-source.ts'
import { compareBytes, float32Bytes, openMessage, sealMessage, sha256 } from '../src/wire/index.ts'
import type { RoundMessage, VerifiedMessage } from '../src/wire/index.ts'

export interface Seen { vm: VerifiedMessage, hash: Uint8Array, at: number }

/** Polls `fn` every 10 ms until it returns a value (not undefined), or throws after `timeoutMs`. */
export async function waitFor<T> (what: string, fn: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (true) {
    const v = fn()
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(10)
  }
}

/** Resolves true when every promise settled, false after `ms`. */
export async function within (ms: number, running: Array<Promise<void>>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const done = await Promise.race([
    Promise.all(running).then(() => true),
    new Promise<boolean>(resolve => { timer = setTimeout(() => resolve(false), ms) })
  ])
  clearTimeout(timer)
  return done
}

export interface Swarm {
  id: string
  m0: Float32Array
  keys: PrivateKey[]
  nodes: PeerNode[]
  drivers: RoundDriver[]
  logs: string[][]
  records: RoundRecord[][]
  /** Every envelope an honest peer handed to its channel, in order (ground truth of what it sent). */
  sent: Array<{ from: number, bytes: Uint8Array }>
  /** The result of each honest peer's local training (round 1). */
  trained: Array<LocalUpdate | undefined>
  start: (signal: AbortSignal) => Array<Promise<void>>
}

/**
 * `peers` honest peers with real drivers, plus `extraNodes` bare nodes (with keys) for hand-driven
 * peers, all linked in a full mesh (every peer can reach every other directly).
 */
export async function honestSwarm (opts: {
  task: Task
  peers: number
  extraNodes: number
  name: string
  examples: number
  trainer: Trainer
  /** Replaces a peer's channel publish (to make it vanish); gets the real one. */
  wrapPublish?: (i: number, data: Uint8Array, real: (d: Uint8Array) => Promise<void>) => Promise<void>
  /** Whether peer i still answers sync requests. */
  serving?: (i: number) => boolean
  /** Delay (ms) before peer i's driver gets to see (and validate) a gossip message; 0 = none. */
  inboundDelay?: (i: number, data: Uint8Array) => number
}): Promise<Swarm> {
  const { task, peers, extraNodes } = opts
  const id = computeTaskId(task)
  const data = await loadDataset(task.dataset)
  const parts = partition(data.trainY, peers, 'iid', 1).map(p => p.subarray(0, opts.examples))
  const m0 = initialParams(task.model, data.inputShape, data.classes, task.seed)
  const keys: PrivateKey[] = []
  for (let i = 0; i < peers + extraNodes; i++) keys.push(await generateKeyPair('Ed25519'))
  if (extraNodes > 0) {
    // The hand-driven node must be the rank-0 joiner of attempt 0: only a joiner ranked within the
    // fallbacks may lead, so an adversary has to win (or, here, be dealt) the rank like anyone else.
    const base = sha256(float32Bytes(m0))
    const rankOf = (k: PrivateKey): Uint8Array => rankKey(base, 1, 0, peerIdFromPrivateKey(k).toMultihash().bytes)
    // The lowest-ranked of the peers + 1 keys becomes the hand-driven node's. (Redrawing only its key
    // until it beat the others failed about 1 time in 150: when an honest key ranked below ~1/1000, no
    // thousand draws beat it.)
    const ranks = keys.map(rankOf)
    const lowest = ranks.indexOf(ranks.slice().sort(compareBytes)[0])
    ;[keys[lowest], keys[peers]] = [keys[peers], keys[lowest]]
    const best = keys.slice(0, peers).map(rankOf).sort(compareBytes)[0]
    assert.ok(compareBytes(rankOf(keys[peers]), best) < 0, 'the hand-driven node is not the rank-0 joiner')
  }
  const nodes: PeerNode[] = []
  for (let i = 0; i < peers + extraNodes; i++) {
    nodes.push(await createPeerNode({ listen: [`/memory/${opts.name}-${process.pid}-${i}`], transports: ['memory'], privateKey: keys[i] }))
  }
  await linkPeers(nodes, { degree: nodes.length - 1, seed: 1 })
  const logs: string[][] = []
  const records: RoundRecord[][] = []
  const sent: Array<{ from: number, bytes: Uint8Array }> = []
  const trained: Array<LocalUpdate | undefined> = []
  const drivers: RoundDriver[] = []
  for (let i = 0; i < peers; i++) {
    const real = createSwarmChannel(nodes[i], { taskId: id })
    const realPublish = async (d: Uint8Array, o?: { flood?: boolean }): Promise<void> => { sent.push({ from: i, bytes: d }); await real.publish(d, o) }
    const channel: SwarmChannel = {
      ...real,
      listen: (handler) => real.listen(async (d, from) => {
        const ms = opts.inboundDelay?.(i, d) ?? 0
        if (ms > 0) await sleep(ms)
        return await handler(d, from)
      }),
      publish: async (d, o) => {
        const publishIt = async (x: Uint8Array): Promise<void> => await realPublish(x, o)
        await (opts.wrapPublish != null ? opts.wrapPublish(i, d, publishIt) : publishIt(d))
      },
      serveSync: (handler) => real.serveSync(async (req, from) => {
        if (opts.serving != null && !opts.serving(i)) throw new Error('this peer is gone')
        return await handler(req, from)
      })
    }
    const source = createUpdateSource({ task, trainer: opts.trainer, dataset: task.dataset, indices: parts[i], salt: i })
    logs.push([])
    records.push([])
    trained.push(undefined)
    drivers.push(new RoundDriver({
      task,
      taskId: id,
      key: keys[i],
      channel,
      updates: {
        eligible: source.eligible,
        train: async (base, round, o) => { const r = await source.train(base, round, o); trained[i] = r; return r }
      },
      model: { round: 0, params: m0 },
      meshPeers: Math.min(peers - 1, 3),
      log: (line) => { logs[i].push(line) },
      onRound: (rec) => { records[i].push(rec) }
    }))
  }
  return { id, m0, keys, nodes, drivers, logs, records, sent, trained, start: (signal) => drivers.map(d => d.run({ signal })) }
}

// ------------------------------------------------------------------------------------------ adversary

export interface Adversary {
  gossip: Gossip
  topic: string
  bytes: Uint8Array
  id: string
  /** Every message of the task topic it received, verified, in arrival order. */
  seen: Seen[]
  /** Every envelope it published. */
  sent: Uint8Array[]
  seal: (message: RoundMessage) => Promise<Uint8Array>
  /** Publishes sealed bytes (and records them). */
  send: (bytes: Uint8Array) => Promise<void>
  publish: (message: RoundMessage) => Promise<Uint8Array>
  /** The latest message of each honest author in (round 1, attempt) that `pick` selects. */
  fromEach: (attempt: number, pick: (s: Seen) => boolean) => Map<string, Seen>
}

export function adversary (node: PeerNode, key: PrivateKey, topic: string, honestIds: Set<string>): Adversary {
  // A plain gossip wrapper without a validator: it takes (and relays) everything.
  const gossip = createGossip(node)
  gossip.subscribe(topic)
  const seen: Seen[] = []
  gossip.onMessage(topic, async (msg) => {
    try { seen.push({ vm: await openMessage(msg.data), hash: sha256(msg.data), at: Date.now() }) } catch { /* not ours to judge */ }
  })
  const sent: Uint8Array[] = []
  const send = async (bytes: Uint8Array): Promise<void> => {
    sent.push(bytes)
    await gossip.publish(topic, bytes)
  }
  return {
    gossip,
    topic,
    bytes: node.peerId.toMultihash().bytes,
    id: node.peerId.toString(),
    seen,
    sent,
    seal: async (message) => await sealMessage(key, message),
    send,
    publish: async (message) => {
      const bytes = await sealMessage(key, message)
      await send(bytes)
      return bytes
    },
    fromEach: (attempt, pick) => {
      const by = new Map<string, Seen>()
      for (const s of seen) {
        if (s.vm.message.round === 1 && s.vm.message.attempt === attempt && honestIds.has(s.vm.authorId) && pick(s)) by.set(s.vm.authorId, s)
      }
      return by
    }
  }
}
