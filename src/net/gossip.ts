/**
 * A thin, typed wrapper over the node's gossipsub: subscribe, per-topic validators that return a
 * `Verdict`, handlers that only ever see accepted messages, publish with a visible "nobody
 * listened" result, a wait for the topic mesh, and the node's byte counters.
 *
 * Validation: gossipsub runs with `asyncValidation`, so a new message is neither delivered nor
 * forwarded until this wrapper reports a verdict. Before the topic validator runs, messages larger
 * than `maxMessageBytes` are rejected here. gossipsub runs with `StrictNoSign` (`pubsub.ts`): messages
 * carry no author, so a topic's payloads must authenticate themselves (fedswarm's are signed envelopes,
 * verified by the topic validator). A validator that throws counts as `reject`; one that has not
 * answered after `validateTimeoutMs` counts as `ignore`. Every reject is logged once (gossipsub drops
 * duplicates before they reach us) with the reason and the peer that forwarded it. One wrapper per
 * node, because it owns validation.
 *
 * Gossip is lossy until the mesh has formed: call `waitForMesh` before a peer's first publish.
 */

import { setTimeout as sleep } from 'node:timers/promises'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MESH_MIN_PEERS, DEFAULT_MESH_TIMEOUT_MS, DEFAULT_VALIDATE_TIMEOUT_MS, MESH_POLL_INTERVAL_MS } from './constants.ts'
import { getNodeConfig, nodeBytes } from './create-node.ts'
import type { PeerNode } from './create-node.ts'
import type { ByteCounts } from './byte-metrics.ts'
import { GossipError, MeshTimeoutError, MessageTooLargeError, reasonOf } from './errors.ts'
import { createLogger } from './logger.ts'
import type { NetLogger } from './logger.ts'
import type { PubSubMessageEvent, PubSubService } from './pubsub.ts'

export type VerdictAction = 'accept' | 'ignore' | 'reject'

/** What a topic validator decides: accept (deliver and forward), ignore (drop), reject (drop and penalise). */
export interface Verdict {
  action: VerdictAction
  reason?: string
}

export interface GossipMessage {
  data: Uint8Array
  topic: string
  /** The neighbour that forwarded it to us. */
  propagationSource: PeerId
  /** gossipsub message id (the sha256 of `data`). */
  msgId: string
}

export type Validator = (msg: GossipMessage) => Verdict | Promise<Verdict>
export type MessageHandler = (msg: GossipMessage) => void | Promise<void>

export interface GossipInit {
  /** Where rejects and handler errors are logged (default `fedswarm:gossip`, silent unless `DEBUG` includes `fedswarm`). */
  log?: NetLogger
  /** Largest payload accepted and published (default: the node's `maxMessageBytes`). */
  maxMessageBytes?: number
  /** A validator that takes longer counts as `ignore` (default 4 s). */
  validateTimeoutMs?: number
}

export interface PublishResult {
  topic: string
  /** Peers the message was sent to directly. */
  recipients: PeerId[]
  /** True when the message went to no peer (no subscribed peer connected, or sending failed). */
  noPeers: boolean
}

export interface WaitForMeshOptions {
  /** Resolve once the mesh has this many peers (default 1). */
  minPeers?: number
  /** Throw `MeshTimeoutError` after this long (default 15 s). */
  timeoutMs?: number
  signal?: AbortSignal
}

export interface GossipStats {
  accepted: number
  ignored: number
  rejected: number
  published: number
  publishedToNobody: number
}

export interface Gossip {
  readonly node: PeerNode
  readonly maxMessageBytes: number
  subscribe(topic: string): void
  unsubscribe(topic: string): void
  /** Sets (or with `undefined` removes) the validator of a topic; without one every message is accepted. */
  setValidator(topic: string, validator: Validator | undefined): void
  /** Calls `handler` for every accepted message on `topic`; returns a function that removes it. */
  onMessage(topic: string, handler: MessageHandler): () => void
  /**
   * `flood`: true sends to every connected subscriber, false to the mesh only; absent, the router's
   * `floodPublish` decides.
   */
  publish(topic: string, data: Uint8Array, options?: { signal?: AbortSignal, flood?: boolean }): Promise<PublishResult>
  /** Resolves with the mesh size once the topic mesh has at least `minPeers` peers. */
  waitForMesh(topic: string, options?: WaitForMeshOptions): Promise<number>
  /** Connected peers that subscribe to `topic`. */
  topicPeers(topic: string): PeerId[]
  /** Peers in our mesh for `topic` (the ones we forward to). */
  meshPeers(topic: string): PeerId[]
  /** Bytes this node sent and received on the wire (all protocols; see `byte-metrics.ts`). */
  bytes(): ByteCounts
  stats(): GossipStats
  /** Detaches the wrapper (validators and handlers); the node keeps running. */
  close(): void
}

const attached = new WeakMap<PeerNode, Gossip>()

export function createGossip (node: PeerNode, init: GossipInit = {}): Gossip {
  if (attached.has(node)) {
    throw new GossipError(`node ${node.peerId} already has a gossip wrapper; share it or close() it first`)
  }
  const gossip = new GossipWrapper(node, init)
  attached.set(node, gossip)
  return gossip
}

class GossipWrapper implements Gossip {
  readonly node: PeerNode
  readonly maxMessageBytes: number
  private readonly pubsub: PubSubService
  private readonly log: NetLogger
  private readonly validateTimeoutMs: number
  private readonly validators = new Map<string, Validator>()
  private readonly handlers = new Map<string, Set<MessageHandler>>()
  private readonly counters: GossipStats = { accepted: 0, ignored: 0, rejected: 0, published: 0, publishedToNobody: 0 }
  private closed = false

  constructor (node: PeerNode, init: GossipInit) {
    this.node = node
    this.pubsub = node.services.pubsub
    this.log = init.log ?? createLogger('gossip')
    this.maxMessageBytes = init.maxMessageBytes ?? getNodeConfig(node).maxMessageBytes
    if (!Number.isInteger(this.maxMessageBytes) || this.maxMessageBytes < 1 || this.maxMessageBytes > DEFAULT_MAX_MESSAGE_BYTES) {
      throw new GossipError(`maxMessageBytes must be an integer from 1 to ${DEFAULT_MAX_MESSAGE_BYTES} (gossipsub's frame cap), got ${this.maxMessageBytes}`)
    }
    this.validateTimeoutMs = init.validateTimeoutMs ?? DEFAULT_VALIDATE_TIMEOUT_MS
    this.onPubSubMessage = this.onPubSubMessage.bind(this)
    this.pubsub.addEventListener('gossipsub:message', this.onPubSubMessage)
  }

  subscribe (topic: string): void {
    this.pubsub.subscribe(topic)
  }

  unsubscribe (topic: string): void {
    this.pubsub.unsubscribe(topic)
  }

  setValidator (topic: string, validator: Validator | undefined): void {
    if (validator == null) this.validators.delete(topic)
    else this.validators.set(topic, validator)
  }

  onMessage (topic: string, handler: MessageHandler): () => void {
    let set = this.handlers.get(topic)
    if (set == null) {
      set = new Set()
      this.handlers.set(topic, set)
    }
    set.add(handler)
    return () => { this.handlers.get(topic)?.delete(handler) }
  }

  async publish (topic: string, data: Uint8Array, options: { signal?: AbortSignal, flood?: boolean } = {}): Promise<PublishResult> {
    options.signal?.throwIfAborted()
    if (data.byteLength > this.maxMessageBytes) {
      throw new MessageTooLargeError(topic, data.byteLength, this.maxMessageBytes)
    }
    let recipients: PeerId[]
    try {
      ({ recipients } = await this.pubsub.publish(topic, data, options.flood != null ? { floodPublish: options.flood } : undefined))
    } catch (err) {
      throw new GossipError(`cannot publish ${data.byteLength} bytes on topic ${topic}: ${reasonOf(err)}`, { cause: err })
    }
    this.counters.published++
    const noPeers = recipients.length === 0
    if (noPeers) {
      this.counters.publishedToNobody++
      this.log(`published ${data.byteLength} bytes on ${topic} but it reached no peer (none subscribed and connected, or sending failed)`)
    }
    return { topic, recipients, noPeers }
  }

  async waitForMesh (topic: string, options: WaitForMeshOptions = {}): Promise<number> {
    const minPeers = options.minPeers ?? DEFAULT_MESH_MIN_PEERS
    const timeoutMs = options.timeoutMs ?? DEFAULT_MESH_TIMEOUT_MS
    if (!this.pubsub.getTopics().includes(topic)) {
      throw new GossipError(`cannot wait for the mesh of topic ${topic}: this node has not subscribed to it`)
    }
    const deadline = Date.now() + timeoutMs
    while (true) {
      options.signal?.throwIfAborted()
      const peers = this.pubsub.getMeshPeers(topic).length
      if (peers >= minPeers) return peers
      const left = deadline - Date.now()
      if (left <= 0) throw new MeshTimeoutError(topic, peers, minPeers, timeoutMs)
      await sleep(Math.min(MESH_POLL_INTERVAL_MS, left), undefined, { signal: options.signal })
    }
  }

  topicPeers (topic: string): PeerId[] {
    return this.pubsub.getSubscribers(topic)
  }

  meshPeers (topic: string): PeerId[] {
    return this.pubsub.getMeshPeers(topic).map(id => peerIdFromString(id))
  }

  bytes (): ByteCounts {
    return nodeBytes(this.node)
  }

  stats (): GossipStats {
    return { ...this.counters }
  }

  close (): void {
    if (this.closed) return
    this.closed = true
    this.pubsub.removeEventListener('gossipsub:message', this.onPubSubMessage)
    this.validators.clear()
    this.handlers.clear()
    if (attached.get(this.node) === this) attached.delete(this.node)
  }

  private onPubSubMessage (evt: CustomEvent<PubSubMessageEvent>): void {
    this.handle(evt.detail).catch(err => {
      // handle() catches everything itself; this is the last line of defence
      this.log(`unexpected error while handling a gossip message: ${reasonOf(err)}`)
    })
  }

  private async handle ({ propagationSource, msgId, msg }: PubSubMessageEvent): Promise<void> {
    const topic = msg.topic
    const source = propagationSource.toString()
    let verdict: Verdict
    let message: GossipMessage | undefined
    if (msg.data.byteLength > this.maxMessageBytes) {
      verdict = { action: 'reject', reason: `oversize: ${msg.data.byteLength} bytes > limit ${this.maxMessageBytes}` }
    } else {
      message = { data: msg.data, topic, propagationSource, msgId }
      verdict = await this.runValidator(message)
    }

    try {
      this.pubsub.reportMessageValidationResult(msgId, source, verdict.action)
    } catch (err) {
      this.log(`could not report the validation result of a message on ${topic}: ${reasonOf(err)}`)
    }

    if (verdict.action === 'reject') {
      this.counters.rejected++
      // gossipsub's application score: the peer that handed us the message pays (see penalties.ts)
      getNodeConfig(this.node).penalties.penalise(source)
      this.log(`rejected message on ${topic} via ${source}: ${verdict.reason ?? 'no reason given'}`)
      return
    }
    if (verdict.action === 'ignore') {
      this.counters.ignored++
      this.log(`ignored message on ${topic} via ${source}: ${verdict.reason ?? 'no reason given'}`)
      return
    }
    this.counters.accepted++
    if (message == null || this.closed) return
    for (const handler of [...(this.handlers.get(topic) ?? [])]) {
      try {
        await handler(message)
      } catch (err) {
        this.log(`message handler for ${topic} threw on a message via ${source}: ${reasonOf(err)}`)
      }
    }
  }

  private async runValidator (message: GossipMessage): Promise<Verdict> {
    const validator = this.validators.get(message.topic)
    if (validator == null) return { action: 'accept' }
    let timer: ReturnType<typeof setTimeout> | undefined
    try {
      const timeout = new Promise<Verdict>(resolve => {
        timer = setTimeout(() => {
          resolve({ action: 'ignore', reason: `validator did not answer within ${this.validateTimeoutMs} ms` })
        }, this.validateTimeoutMs)
      })
      const verdict = await Promise.race([Promise.resolve().then(() => validator(message)), timeout])
      if (verdict == null || !['accept', 'ignore', 'reject'].includes(verdict.action)) {
        return { action: 'reject', reason: `validator returned an invalid verdict: ${JSON.stringify(verdict) ?? String(verdict)}` }
      }
      return verdict
    } catch (err) {
      return { action: 'reject', reason: `validator threw: ${reasonOf(err)}` }
    } finally {
      if (timer !== undefined) clearTimeout(timer)
    }
  }
}
