/**
 * fedswarm's networking layer: libp2p peer nodes (with optional DHT, circuit relay, AutoNAT and
 * hole punching for public networks), typed gossip with validators, the blob protocol (content by
 * sha256), the sync protocol (request/response) and simulation helpers.
 */

export { createPeerNode, getNodeConfig, nodeBytes } from './create-node.ts'
export type { PeerNode, PeerNodeInit, PeerNodeServices, PeerNodeConfig } from './create-node.ts'
export { dialBootstrap } from './bootstrap.ts'
export { createDht, preferPublicAddresses } from './dht.ts'
export type { DhtInit } from './dht.ts'
export { keepConnected } from './keep-connected.ts'
export type { KeepConnected, KeepConnectedInit } from './keep-connected.ts'
export { relayAddressOf, waitForRelayAddress } from './relay.ts'
export type { WaitForRelayAddressOptions } from './relay.ts'
export type { DialBootstrapOptions, DialBootstrapResult } from './bootstrap.ts'
export { createGossip } from './gossip.ts'
export type {
  Gossip, GossipInit, GossipMessage, GossipStats, MessageHandler, PublishResult, Validator, Verdict, VerdictAction,
  WaitForMeshOptions
} from './gossip.ts'
export { createBlobStore, normalizeHash, sha256Hex } from './blob-store.ts'
export type { BlobSource, BlobStore, BlobStoreInit } from './blob-store.ts'
export { fetchBlob, fetchBlobRange, serveBlobs } from './blob-protocol.ts'
export type { BlobServer, FetchBlobOptions, FetchBlobRangeOptions, ServeBlobsOptions } from './blob-protocol.ts'
export { requestSync, serveSync } from './sync-protocol.ts'
export type { RequestSyncOptions, ServeSyncOptions, SyncHandler, SyncServer } from './sync-protocol.ts'
export { LinkPeersError, linkPeers, planLinks, seededRandom } from './link-peers.ts'
export type { LinkFailure, LinkPeersOptions, LinkResult } from './link-peers.ts'
export { ByteMetrics, diffByteCounts } from './byte-metrics.ts'
export type { ByteCount, ByteCounts } from './byte-metrics.ts'
export { createPubSub, pubsubScoreParams } from './pubsub.ts'
export type { PubSubInit, PubSubScoreSettings, PubSubService } from './pubsub.ts'
export { isCircuitAddress, memoryAddress, parseMultiaddr, transportOf } from './transports.ts'
export type { TransportName } from './transports.ts'
export { createLogger } from './logger.ts'
export type { NetLogger } from './logger.ts'
export * from './errors.ts'
export * from './constants.ts'
