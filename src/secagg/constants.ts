/**
 * Defaults and fixed sizes of secure aggregation. Domain strings version every derivation, so a
 * change of format is a change of string and can never collide with older keys, seeds or boxes.
 */

/** Length of an X25519 public or private key and of a shared secret, in bytes. */
export const X25519_KEY_LENGTH = 32

/** Length of a self-mask seed `b_i` and of a pairwise mask seed `s_ij` (an AES-256 key). */
export const SEED_LENGTH = 32

/** Length of a share-encryption key (AES-256-GCM). */
export const SHARE_KEY_LENGTH = 32

/** AES-GCM nonce (96 bits, random per box) and tag lengths. */
export const GCM_NONCE_LENGTH = 12
export const GCM_TAG_LENGTH = 16

/** HKDF info strings (node's hkdfSync accepts at most 1024 bytes of info). */
export const MAX_HKDF_INFO_LENGTH = 1024

/** `shamir-secret-sharing` works over GF(2^8): x-coordinates 1..255, so at most 255 shares. */
export const MAX_SHARES = 255

/** Largest value of a signed 32-bit ring element: sums must stay in [-(2^31 - 1), 2^31 - 1]. */
export const INT32_MAX = 0x7fffffff

/** Domain strings, one per derivation. */
export const DOMAIN_MASK_SEED = 'fedswarm/secagg/v1/pairwise-mask-seed'
export const DOMAIN_SHARE_KEY = 'fedswarm/secagg/v1/share-encryption-key'
export const DOMAIN_SHARE_BOX = 'fedswarm/secagg/v1/share-box'

/** Version byte at the start of a share box's plaintext. */
export const SHARE_BOX_VERSION = 1

/** Largest share the share box accepts (a 32-byte secret makes a 33-byte share). */
export const MAX_SHARE_LENGTH = 1024

/** Uniform draws per refill of the default stochastic-rounding randomness. */
export const RANDOM_CHUNK = 16_384

/** Elements of keystream expanded per step while masking (keeps the working set in cache). */
export const MASK_CHUNK = 16_384
