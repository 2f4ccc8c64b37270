/**
 * Named errors of secure aggregation. Every message is one line saying what was wrong; the `code`
 * lets callers branch without parsing text. `err instanceof SecAggError` catches all of them.
 */

export type SecAggErrorCode =
  | 'ERR_SECAGG'
  | 'ERR_INVALID_KEY'
  | 'ERR_LOW_ORDER_POINT'
  | 'ERR_INVALID_SEED'
  | 'ERR_INVALID_CONTEXT'
  | 'ERR_INVALID_THRESHOLD'
  | 'ERR_INVALID_SHARES'
  | 'ERR_SHARE_BOX'
  | 'ERR_QUANTIZATION'
  | 'ERR_LENGTH_MISMATCH'
  | 'ERR_INVALID_MASK_INPUT'

function oneLine (message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim()
}

/** Base class of every secure-aggregation error. */
export class SecAggError extends Error {
  static readonly name: string = 'SecAggError'
  override readonly name: string = 'SecAggError'
  readonly code: SecAggErrorCode

  constructor (message: string, code: SecAggErrorCode = 'ERR_SECAGG', options?: { cause?: unknown }) {
    super(oneLine(message), options?.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
  }
}

/** A key of the wrong length or type, or one that node:crypto refuses to import. */
export class InvalidKeyError extends SecAggError {
  static override readonly name = 'InvalidKeyError'
  override readonly name = 'InvalidKeyError'
  constructor (message = 'invalid X25519 key', options?: { cause?: unknown }) {
    super(message, 'ERR_INVALID_KEY', options)
  }
}

/** X25519 gave the all-zero shared secret: the peer's public key is a low-order point. */
export class LowOrderPointError extends SecAggError {
  static override readonly name = 'LowOrderPointError'
  override readonly name = 'LowOrderPointError'
  constructor (message = 'X25519 public key is a low-order point (all-zero shared secret)', options?: { cause?: unknown }) {
    super(message, 'ERR_LOW_ORDER_POINT', options)
  }
}

/** A seed that is not 32 bytes. */
export class InvalidSeedError extends SecAggError {
  static override readonly name = 'InvalidSeedError'
  override readonly name = 'InvalidSeedError'
  constructor (message = 'mask seed must be 32 bytes') {
    super(message, 'ERR_INVALID_SEED')
  }
}

/** A derivation or box context that cannot be encoded (bad round, equal peers, info too long...). */
export class InvalidContextError extends SecAggError {
  static override readonly name = 'InvalidContextError'
  override readonly name = 'InvalidContextError'
  constructor (message = 'invalid secure-aggregation context') {
    super(message, 'ERR_INVALID_CONTEXT')
  }
}

/** Shamir parameters outside 1 <= t <= n <= 255. */
export class InvalidThresholdError extends SecAggError {
  static override readonly name = 'InvalidThresholdError'
  override readonly name = 'InvalidThresholdError'
  constructor (message = 'threshold must satisfy 1 <= t <= n <= 255') {
    super(message, 'ERR_INVALID_THRESHOLD')
  }
}

/** Shares that cannot be combined (none, too many, different lengths, duplicate x-coordinates). */
export class InvalidSharesError extends SecAggError {
  static override readonly name = 'InvalidSharesError'
  override readonly name = 'InvalidSharesError'
  constructor (message = 'invalid Shamir shares', options?: { cause?: unknown }) {
    super(message, 'ERR_INVALID_SHARES', options)
  }
}

/** A share box that does not open: wrong key, wrong context (AAD), tampered or malformed. */
export class ShareBoxError extends SecAggError {
  static override readonly name = 'ShareBoxError'
  override readonly name = 'ShareBoxError'
  constructor (message = 'share box does not open', options?: { cause?: unknown }) {
    super(message, 'ERR_SHARE_BOX', options)
  }
}

/** Quantization parameters that cannot work, or an input that cannot be quantized (NaN). */
export class QuantizationError extends SecAggError {
  static override readonly name = 'QuantizationError'
  override readonly name = 'QuantizationError'
  constructor (message = 'invalid quantization') {
    super(message, 'ERR_QUANTIZATION')
  }
}

/** Two ring vectors of different lengths. */
export class LengthMismatchError extends SecAggError {
  static override readonly name = 'LengthMismatchError'
  override readonly name = 'LengthMismatchError'
  constructor (message = 'vector lengths differ') {
    super(message, 'ERR_LENGTH_MISMATCH')
  }
}

/** A masking or unmasking request that is inconsistent (own PeerId among the pairs, duplicates...). */
export class InvalidMaskInputError extends SecAggError {
  static override readonly name = 'InvalidMaskInputError'
  override readonly name = 'InvalidMaskInputError'
  constructor (message = 'invalid masking input') {
    super(message, 'ERR_INVALID_MASK_INPUT')
  }
}
