/**
 * The one place that builds the pubsub service. Everything else in fedswarm talks to the
 * `PubSubService` interface below, which is the part of gossipsub we use; swapping to another
 * gossipsub package (e.g. a libp2p-3 release of `@chainsafe/libp2p-gossipsub`) means changing the
 * import and the `gossipsub(...)` call in `createPubSub`.
 *
 * Settings and why:
 * - `globalSignaturePolicy: 'StrictSign'`: every message carries author, seqno, key and signature,
 *   so the round layer knows who sent what.
 * - `asyncValidation: true`: gossipsub neither delivers nor forwards a message until the app
 *   reports a verdict; `createGossip` runs the topic validator and reports accept/ignore/reject.
 * - `maxInboundDataLength`: 4 MiB, the same fixed cap gossipsub's encoder applies when sending, so
 *   a frame any gossipsub peer can send is never dropped (a dropped frame makes gossipsub stop
 *   gossiping with that peer until it reconnects). Payloads over the node's `maxMessageBytes` are
 *   rejected per message by `createGossip` instead.
 * - `allowPublishToZeroTopicPeers: true`: publishing with nobody subscribed is not an exception;
 *   `publish` returns zero recipients and `createGossip` reports it.
 * - `fallbackToFloodsub: false`: all fedswarm peers speak gossipsub.
 * - `floodPublish` (default on, gossipsub's default): a peer's own messages go to every connected
 *   subscriber, so they do not depend on the mesh having formed; costs bytes for large messages.
 * - loopback IPs exempt from the IP-colocation penalty, so a local swarm on 127.0.0.1 is not
 *   graylisted; a public network keeps the penalty for every other address.
 */

import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSubComponents, Message } from '@libp2p/gossipsub'
import type { PeerId, TypedEventTarget } from '@libp2p/interface'
import { GOSSIP_IP_COLOCATION_WHITELIST, GOSSIP_MAX_FRAME_BYTES } from './constants.ts'

export type Acceptance = 'accept' | 'ignore' | 'reject'

export interface PubSubMessageEvent {
  /** The peer that handed us the message (not necessarily its author). */
  propagationSource: PeerId
  msgId: string
  msg: Message
}

export interface PubSubEvents {
  /** A new (not duplicate) message on a subscribed topic, before validation. */
  'gossipsub:message': CustomEvent<PubSubMessageEvent>
  'subscription-change': CustomEvent<{ peerId: PeerId, subscriptions: Array<{ topic: string, subscribe: boolean }> }>
}

/** What fedswarm uses of a gossipsub router. */
export interface PubSubService extends TypedEventTarget<PubSubEvents> {
  subscribe(topic: string): void
  unsubscribe(topic: string): void
  getTopics(): string[]
  /** Peers that told us they subscribe to `topic`. */
  getSubscribers(topic: string): PeerId[]
  /** Peer ids (strings) in our mesh for `topic`. */
  getMeshPeers(topic: string): string[]
  publish(topic: string, data: Uint8Array): Promise<{ recipients: PeerId[] }>
  reportMessageValidationResult(msgId: string, propagationSource: string, acceptance: Acceptance): void
}

export interface PubSubInit {
  /** Largest inbound RPC frame (default and maximum 4 MiB, gossipsub's own send cap). */
  maxFrameBytes?: number
  /**
   * Send own messages to every connected subscriber, not only mesh peers (default true: better
   * delivery before the mesh settles, more bytes for large messages).
   */
  floodPublish?: boolean
}

export function createPubSub (init: PubSubInit = {}): (components: GossipSubComponents) => PubSubService {
  const factory = gossipsub({
    globalSignaturePolicy: 'StrictSign',
    asyncValidation: true,
    allowPublishToZeroTopicPeers: true,
    fallbackToFloodsub: false,
    emitSelf: false,
    floodPublish: init.floodPublish ?? true,
    maxInboundDataLength: init.maxFrameBytes ?? GOSSIP_MAX_FRAME_BYTES,
    scoreParams: {
      IPColocationFactorWhitelist: new Set(GOSSIP_IP_COLOCATION_WHITELIST)
    }
  })
  // the gossipsub class has every method of PubSubService; its exported factory type is narrower
  return factory as unknown as (components: GossipSubComponents) => PubSubService
}
