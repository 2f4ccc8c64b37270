/**
 * Wire-level constants: protocol version, domain tags and size limits that every peer enforces.
 */

/** Version carried in every Envelope; a peer rejects any other. */
export const WIRE_VERSION = 1

/** Domain tag prefixed to a RoundMessage body before it is signed. */
export const ENVELOPE_DOMAIN = new TextEncoder().encode('fedswarm/envelope/v1')

/** Domain tag prefixed to an encoded ChainPage before its responder signs it (src/round/chain-wire.ts). */
export const CHAIN_DOMAIN = new TextEncoder().encode('fedswarm/chain/v1')

/**
 * gossipsub caps one frame at 4 MiB; 256 KiB of that is kept for the signature, key and piggy-backed
 * control messages, so one message carries at most this much. Anything larger is sent as a blob.
 */
export const MAX_GOSSIP_BYTES = 4 * 1024 * 1024 - 256 * 1024

/** Vectors at most this large travel inside the Update message; larger ones as a blob. */
export const DEFAULT_INLINE_LIMIT = 3 * 1024 * 1024

/** Upper bound on cohort members in one Cohort / Survivors message. */
export const MAX_COHORT = 1024

/** A Join carries at most this many multiaddrs of its author, each at most MAX_JOIN_ADDR_BYTES long. */
export const MAX_JOIN_ADDRS = 8
export const MAX_JOIN_ADDR_BYTES = 256

/** Encodings of an update vector. */
export const ENCODING_FLOAT32 = 1
/** A masked vector in Z_2^32 (secure aggregation). */
export const ENCODING_RING32 = 2

/**
 * Size bounds of one share box (nonce + sealed share pair + tag: 99 bytes with 33-byte shares), inline
 * in a Shares message or as a fixed-size slot of the author's bundle blob.
 */
export const MIN_BOX_BYTES = 29
export const MAX_BOX_BYTES = 4096
/** Bytes of one unmask share (a 32-byte secret's Shamir share: 32 y-bytes and the x-coordinate 1..255). */
export const UNMASK_SHARE_BYTES = 33
