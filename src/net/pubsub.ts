/**
 * The one place that builds the pubsub service. Everything else in fedswarm talks to the
 * `PubSubService` interface below, which is the part of gossipsub we use; swapping to another
 * gossipsub package (e.g. a libp2p-3 release of `@chainsafe/libp2p-gossipsub`) means changing the
 * import and the `gossipsub(...)` call in `createPubSub`.
 *
 * Settings and why:
 * - `globalSignaturePolicy: 'StrictNoSign'`: gossipsub adds no author, seqno, key or signature and
 *   rejects messages that carry them; a message's id is the sha256 of its data. Every fedswarm payload
 *   is a signed envelope that its topic's validator verifies (the round layer knows who sent what from
 *   the envelope), so a gossipsub signature would be a second Ed25519 verification of every message by
 *   every peer (Ed25519 verification was 15.7% of a 50-peer, cohort-50 simulation's main thread with both
 *   signatures, 4.3% with the envelope's alone).
 *   Identical bytes are one message: a peer never publishes the same envelope twice.
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
 *   subscriber, so they do not depend on the mesh having formed or on every peer on the way taking them.
 *   The round driver turns it off per message for the members' small messages in tasks whose cohorts
 *   sum in slices (its `floods`): with it on every peer received each of them once from its author and
 *   again from most mesh neighbours. Off for every message, the chaos test with 15% gossip loss (6 peers)
 *   did not finish its rounds within its 400 s (twice, sessions 10 and 11), so small tasks keep it.
 * - local swarms (not `publicNetwork`): a mesh of 4 instead of 6, and IHAVE each heartbeat to max(4, a
 *   tenth of the other subscribers) instead of max(6, a quarter) (`GOSSIP_LOCAL_MESH`). A tally of
 *   everything gossipsub received (50 peers, cohort 50, `fedswarm sim --rounds 2`, per peer and round)
 *   counted 7,915 IHAVE ids (~270 KB) with gossipsub's defaults, 2,904 with one heartbeat of history; the
 *   mesh of 4 took the round messages received from 0.61 to 0.53 MB (one run each, with the connection
 *   monitor off, see create-node.ts). The history stays at 3 heartbeats: a restarted peer recovers what
 *   it missed through IHAVE (with one heartbeat, one of six runs of the crash chaos test ended with two
 *   models in a round; not diagnosed), and cutting the fan-out instead gave the same bytes at 50 peers.
 *   A public network keeps gossipsub's defaults: a larger mesh is harder to eclipse.
 * - peer scoring, by `publicNetwork` (see `pubsubScoreParams`):
 *   - false (simulations, local swarms; the default): gossipsub's default score parameters and
 *     thresholds, with loopback IPs exempt from the IP-colocation penalty, so a swarm of dozens
 *     of peers on 127.0.0.1 is not graylisted. Other addresses keep gossipsub's default penalty.
 *   - true (a public network): no exemption, loopback included: on the internet many peers on one
 *     IP is what a Sybil attack looks like, and a local attacker must not get a free pass. The
 *     penalty is doubled (-10 x s^2 for s peers beyond 10 on one IP) and explicit thresholds
 *     (constants `GOSSIP_PUBLIC_*`) say when such peers lose gossip (12+ on one IP), our own
 *     messages (13+) and then are graylisted (14+). We set no topic score parameters: fedswarm's
 *     round layer already verifies who sent what, and per-topic delivery scoring would punish
 *     peers that are merely slow at training. Caveat: gossipsub takes a peer's IP from the
 *     connection's remote address, and for a relayed connection that is the relay's IP, so every
 *     peer we reach through one relay counts as one IP; the threshold of 10 leaves room for a few
 *     NATed peers per relay, and `dcutr` moves peers that can hole-punch to direct connections.
 *   - both: the application score (P5, weight 1) is minus the peer's penalty points from
 *     `penalties.ts`: one per message it handed us that our validator rejected, decaying with a
 *     2-minute half-life. About 10, 50 and 80 quick rejects cross the gossip, publish and graylist
 *     thresholds (the public network's thresholds are the same or closer to zero).
 * - relayed connections: fedswarm's relays apply no limits (`RELAY_LIMIT_RELAYED_CONNECTIONS`), so
 *   a relayed connection is an ordinary connection and gossipsub runs over it. gossipsub does NOT
 *   run over *limited* connections (relays with the libp2p default 128 KiB / 2 min limits): we
 *   leave its `runOnLimitedConnection` off, since such a relay would cut a model update mid-frame.
 */

import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSubComponents, Message } from '@libp2p/gossipsub'
import type { PeerScoreParams, PeerScoreThresholds } from '@libp2p/gossipsub/score'
import type { PeerId, TypedEventTarget } from '@libp2p/interface'
import {
  GOSSIP_IP_COLOCATION_WHITELIST, GOSSIP_LOCAL_MESH, GOSSIP_MAX_FRAME_BYTES, GOSSIP_PUBLIC_GOSSIP_THRESHOLD, GOSSIP_PUBLIC_GRAYLIST_THRESHOLD,
  GOSSIP_PUBLIC_IP_COLOCATION_THRESHOLD, GOSSIP_PUBLIC_IP_COLOCATION_WEIGHT, GOSSIP_PUBLIC_PUBLISH_THRESHOLD
} from './constants.ts'
import type { PenaltyBox } from './penalties.ts'

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
  /** `floodPublish`: this message to every connected subscriber (true) or the mesh only (false). */
  publish(topic: string, data: Uint8Array, opts?: { floodPublish?: boolean }): Promise<{ recipients: PeerId[] }>
  reportMessageValidationResult(msgId: string, propagationSource: string, acceptance: Acceptance): void
}

export interface PubSubInit {
  /** Largest inbound RPC frame (default and maximum 4 MiB, gossipsub's own send cap). */
  maxFrameBytes?: number
  /**
   * Send own messages to every connected subscriber, not only mesh peers (default true: see the header).
   */
  floodPublish?: boolean
  /**
   * Score peers for a public network: no loopback exemption from the IP-colocation penalty,
   * stronger penalty, explicit thresholds (default false: local swarm settings).
   */
  publicNetwork?: boolean
  /** Application penalties (gossipsub's P5 score, weight 1): see `penalties.ts`. */
  penalties?: PenaltyBox
}

/** The peer scoring given to gossipsub; fields left out take gossipsub's defaults. */
export interface PubSubScoreSettings {
  scoreParams: Partial<PeerScoreParams>
  /** `undefined`: gossipsub's default thresholds (gossip -10, publish -50, graylist -80). */
  scoreThresholds?: Partial<PeerScoreThresholds>
}

/** The peer scoring for a public network or a local swarm (see the header of this file). */
export function pubsubScoreParams (publicNetwork: boolean): PubSubScoreSettings {
  if (!publicNetwork) {
    return { scoreParams: { IPColocationFactorWhitelist: new Set(GOSSIP_IP_COLOCATION_WHITELIST) } }
  }
  return {
    scoreParams: {
      IPColocationFactorWhitelist: new Set(),
      IPColocationFactorThreshold: GOSSIP_PUBLIC_IP_COLOCATION_THRESHOLD,
      IPColocationFactorWeight: GOSSIP_PUBLIC_IP_COLOCATION_WEIGHT
    },
    scoreThresholds: {
      gossipThreshold: GOSSIP_PUBLIC_GOSSIP_THRESHOLD,
      publishThreshold: GOSSIP_PUBLIC_PUBLISH_THRESHOLD,
      graylistThreshold: GOSSIP_PUBLIC_GRAYLIST_THRESHOLD
    }
  }
}

/** Adds the application score: minus a peer's penalty points (one per message we rejected from it). */
function withPenalties (settings: PubSubScoreSettings, penalties?: PenaltyBox): PubSubScoreSettings {
  if (penalties == null) return settings
  return { ...settings, scoreParams: { ...settings.scoreParams, appSpecificScore: (peer: string) => penalties.score(peer), appSpecificWeight: 1 } }
}

export function createPubSub (init: PubSubInit = {}): (components: GossipSubComponents) => PubSubService {
  const factory = gossipsub({
    globalSignaturePolicy: 'StrictNoSign',
    asyncValidation: true,
    allowPublishToZeroTopicPeers: true,
    fallbackToFloodsub: false,
    emitSelf: false,
    floodPublish: init.floodPublish ?? true,
    maxInboundDataLength: init.maxFrameBytes ?? GOSSIP_MAX_FRAME_BYTES,
    ...(init.publicNetwork === true ? {} : GOSSIP_LOCAL_MESH),
    ...withPenalties(pubsubScoreParams(init.publicNetwork === true), init.penalties)
  })
  // the gossipsub class has every method of PubSubService; its exported factory type is narrower
  return factory as unknown as (components: GossipSubComponents) => PubSubService
}
