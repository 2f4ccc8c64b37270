/**
 * Defaults and limits of the networking layer: listen addresses, connection manager limits,
 * gossipsub message size, and the blob and sync protocols. Every `Init` field in `src/net/`
 * that is left out takes its value from here.
 */

/** Listen on every IPv4 interface, on a port the OS picks. */
export const DEFAULT_LISTEN: readonly string[] = Object.freeze(['/ip4/0.0.0.0/tcp/0'])

/** How long one dial (address resolution, socket, Noise, Yamux) may take. */
export const DEFAULT_DIAL_TIMEOUT_MS = 10_000

/**
 * Largest gossipsub RPC frame, both ways. The sender's length-prefix encoder in gossipsub has a
 * fixed 4 MiB cap (it-length-prefixed's default, not configurable through gossipsub's options): a
 * larger RPC is silently not sent. Receivers accept the same, so no honest frame is ever dropped.
 */
export const GOSSIP_MAX_FRAME_BYTES = 4 * 1024 * 1024

/**
 * Room in one RPC frame for everything besides the payload: topic, author, seqno, signature,
 * key, and control messages piggy-backed on the same RPC (up to 5000 IHAVE ids of ~48 bytes).
 */
export const GOSSIP_RPC_OVERHEAD_BYTES = 256 * 1024

/**
 * Largest gossip message payload (the `data` of one message): the frame cap minus the overhead,
 * 3.75 MiB. Anything larger travels over the blob protocol.
 */
export const DEFAULT_MAX_MESSAGE_BYTES = GOSSIP_MAX_FRAME_BYTES - GOSSIP_RPC_OVERHEAD_BYTES

/**
 * Connection manager limits for about 50 peers in one process (each with a few connections) or
 * a bootstrap peer that many child processes on the same host dial at once.
 */
export const DEFAULT_MAX_CONNECTIONS = 128
export const DEFAULT_MAX_PARALLEL_DIALS = 64
export const DEFAULT_MAX_INCOMING_PENDING_CONNECTIONS = 64
/** Inbound connections per second from one host (libp2p's default of 5 throttles a local swarm). */
export const DEFAULT_INBOUND_CONNECTION_THRESHOLD = 100

/** IP addresses exempt from gossipsub's IP-colocation penalty (a local swarm shares one IP). */
export const GOSSIP_IP_COLOCATION_WHITELIST: readonly string[] = Object.freeze(['127.0.0.1', '::1'])

/** How often `waitForMesh` looks at the mesh. */
export const MESH_POLL_INTERVAL_MS = 50
export const DEFAULT_MESH_MIN_PEERS = 1
export const DEFAULT_MESH_TIMEOUT_MS = 15_000

/**
 * A topic validator that has not answered by then counts as `ignore`. gossipsub keeps an
 * unvalidated message in its cache for `mcacheLength` (5) heartbeats of 1 s, so a later
 * verdict could no longer forward it.
 */
export const DEFAULT_VALIDATE_TIMEOUT_MS = 4_000

/** Blob protocol: fetch content by sha256. */
export const BLOB_PROTOCOL = '/fedswarm/blob/1.0.0'
/** Largest blob a peer serves or fetches unless told otherwise. */
export const DEFAULT_MAX_BLOB_BYTES = 256 * 1024 * 1024
/** In-memory blob store capacity. */
export const DEFAULT_BLOB_STORE_BYTES = 512 * 1024 * 1024
/** Overall time `fetchBlob` may take. */
export const DEFAULT_BLOB_FETCH_TIMEOUT_MS = 60_000
/** Time one peer gets to answer a blob request before the next peer is asked. */
export const DEFAULT_BLOB_PEER_TIMEOUT_MS = 20_000

/** Sync protocol: generic request/response. */
export const SYNC_PROTOCOL = '/fedswarm/sync/1.0.0'
export const DEFAULT_MAX_SYNC_REQUEST_BYTES = 64 * 1024
export const DEFAULT_MAX_SYNC_RESPONSE_BYTES = 64 * 1024 * 1024
export const DEFAULT_SYNC_TIMEOUT_MS = 30_000

/** Time a server gives the remote to send its request (and a sync handler to answer). */
export const DEFAULT_SERVE_TIMEOUT_MS = 30_000

/** Streams of one protocol open at once on one connection, each way. */
export const DEFAULT_MAX_PROTOCOL_STREAMS = 32

/** `linkPeers`: each node dials this many others (one ring neighbour + random chords). */
export const DEFAULT_LINK_DEGREE = 3
export const DEFAULT_LINK_SEED = 1
/** `linkPeers` dials at most this many connections at once. */
export const DEFAULT_LINK_CONCURRENCY = 16

/** `dialBootstrap`: time each bootstrap address gets. */
export const DEFAULT_BOOTSTRAP_DIAL_TIMEOUT_MS = 5_000

/**
 * Kademlia protocol of fedswarm's own DHT (`dht: true`). A private protocol id keeps fedswarm
 * peers out of the IPFS Amino DHT and IPFS peers out of ours: only fedswarm peers answer it.
 */
export const DHT_PROTOCOL = '/fedswarm/kad/1.0.0'
/**
 * How often the DHT looks itself up to refresh its view of the closest peers (kad-dht's default
 * is 5 min; the first lookup runs 1 s after start). Our networks are small and churn a lot.
 */
export const DHT_QUERY_SELF_INTERVAL_MS = 60_000

/** `keepConnected`: below this many connected peers, dial known peers (default of `minPeers`). */
export const DEFAULT_MIN_PEERS = 4
/** `keepConnected`: how often the connection count is checked (also on every disconnect and discovery). */
export const DEFAULT_KEEP_CONNECTED_INTERVAL_MS = 5_000
/** `keepConnected`: peers dialled at once per check, whatever the shortfall. */
export const DEFAULT_KEEP_CONNECTED_MAX_DIALS = 4
/** `keepConnected`: a peer that could not be dialled waits this long, doubling per failure up to the max. */
export const DEFAULT_KEEP_CONNECTED_BACKOFF_MS = 5_000
export const DEFAULT_KEEP_CONNECTED_MAX_BACKOFF_MS = 5 * 60_000
/** `keepConnected`: with no dialable peer known, look up our own id in the DHT at most this often. */
export const DEFAULT_KEEP_CONNECTED_LOOKUP_INTERVAL_MS = 15_000
/** `keepConnected`: time one such DHT lookup may take. */
export const DEFAULT_KEEP_CONNECTED_LOOKUP_TIMEOUT_MS = 10_000

/**
 * Circuit relay v2 server (`relayServer: true`): at most this many peers hold a reservation
 * (libp2p's default is 15). Every reserved peer keeps a connection to the relay, so a relay node
 * should run with `maxConnections` well above this (e.g. 2-3x); the default of 128 is not.
 */
export const RELAY_MAX_RESERVATIONS = 128
/**
 * libp2p's circuit relay v2 default limits per relayed connection (the spec's and go-libp2p's):
 * 128 KiB of data (both directions together) and 2 min. They are documented here because
 * fedswarm's relays do NOT apply them, see `RELAY_LIMIT_RELAYED_CONNECTIONS`.
 */
export const LIBP2P_RELAY_DEFAULT_DATA_LIMIT_BYTES = 128 * 1024
/**
 * Whether a fedswarm relay limits relayed connections (false). With any limit, libp2p 3 marks
 * the relayed connection "limited": gossipsub ignores it (its topology does not run on limited
 * connections), streams of protocols that did not opt in (sync, blob) are refused, and a dial by
 * peer id never reuses it but opens a new circuit. And 128 KiB would not carry a single model
 * update (3.75 MiB gossip frames, blobs up to 256 MiB). So the relay applies no limit: relayed
 * connections are ordinary connections to libp2p and every fedswarm protocol runs over them
 * unchanged. The cost is the relay's bandwidth, bounded only by `RELAY_MAX_RESERVATIONS`, the
 * relay's `maxConnections` and libp2p's hop-stream limits; `dcutr: true` moves pairs that can
 * hole-punch onto a direct connection.
 */
export const RELAY_LIMIT_RELAYED_CONNECTIONS = false
/** A relay reservation lasts this long and is refreshed by the client before it ends (libp2p's default). */
export const RELAY_RESERVATION_TTL_MS = 2 * 60 * 60_000

/** `waitForRelayAddress`: how long to wait for a relay reservation to give us a `/p2p-circuit` address. */
export const DEFAULT_RELAY_ADDRESS_TIMEOUT_MS = 20_000

/**
 * gossipsub peer scoring with `publicNetwork: true` (see `pubsubScoreParams` in `pubsub.ts`).
 * Without topic score parameters a peer's score is the IP-colocation term, -10 x s^2 for s peers
 * beyond 10 on one IP, plus gossipsub's behaviour penalty (broken IWANT promises, GRAFT while
 * backed off). The thresholds map to colocation surplus: 12+ peers on one IP (s = 2, -40) get no
 * gossip, 13+ (-90) none of our own messages, 14+ (-160) are graylisted (their RPCs ignored).
 */
/**
 * gossipsub's mesh and gossip in local swarms (not `publicNetwork`; src/net/pubsub.ts says why): a mesh of
 * 4 (3..8, at least 2 kept by score, 1 outbound), IHAVE each heartbeat to max(4, a tenth of the other
 * subscribers). A public network keeps gossipsub's defaults (6, 4..12, 4, 2; max(6, a quarter)).
 */
export const GOSSIP_LOCAL_MESH = Object.freeze({ D: 4, Dlo: 3, Dhi: 8, Dscore: 2, Dout: 1, Dlazy: 4, gossipFactor: 0.1 })
export const GOSSIP_PUBLIC_IP_COLOCATION_THRESHOLD = 10
export const GOSSIP_PUBLIC_IP_COLOCATION_WEIGHT = -10
export const GOSSIP_PUBLIC_GOSSIP_THRESHOLD = -10
export const GOSSIP_PUBLIC_PUBLISH_THRESHOLD = -50
export const GOSSIP_PUBLIC_GRAYLIST_THRESHOLD = -150
