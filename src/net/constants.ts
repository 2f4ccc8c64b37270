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
