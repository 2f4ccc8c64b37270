/**
 * Shamir t-of-n secret sharing over the audited `shamir-secret-sharing` package (GF(2^8), one
 * polynomial per byte, x-coordinates 1..255 appended as the last byte of each share, so a share is
 * one byte longer than the secret and there are at most 255 shares).
 *
 * The package accepts 2 <= t <= n <= 255 only. This wrapper also accepts t = 1 (and so n = 1):
 * a degree-0 polynomial, i.e. every share is the secret itself followed by a distinct x-coordinate
 * 1..n. Such shares use the package's layout, so the package's `combine` rebuilds them too
 * (interpolating a constant gives the constant). With t = 1 there is no secrecy, by definition.
 *
 * `combineShares` with a single share returns its y-bytes (interpolation through one point is the
 * constant polynomial), which is the secret only when t = 1: fewer than t shares give a value that
 * is independent of the secret. Combination does not detect wrong or foreign shares: check the
 * result where possible (e.g. a rebuilt mask private key against its announced public key).
 *
 * The package checks `value.constructor === Uint8Array`, so inputs are copied into plain
 * Uint8Arrays before they are handed over (a Buffer would be refused).
 */
import { combine, split } from 'shamir-secret-sharing'
import { MAX_SHARES } from './constants.ts'
import { InvalidSharesError, InvalidThresholdError } from './errors.ts'
import { plainBytes } from './bytes.ts'

/** Checks 1 <= t <= n <= 255 (integers); throws InvalidThresholdError otherwise. */
export function validateThreshold (n: number, t: number): void {
  if (!Number.isInteger(n) || !Number.isInteger(t) || t < 1 || t > n || n > MAX_SHARES) {
    throw new InvalidThresholdError(`threshold must satisfy 1 <= t <= n <= ${MAX_SHARES}, got t=${t} n=${n}`)
  }
}

/** The default threshold: a strict majority of the cohort, floor(n/2) + 1. */
export function majorityThreshold (n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new InvalidThresholdError(`cohort size must be a positive integer, got ${n}`)
  return Math.floor(n / 2) + 1
}

/** Splits `secret` into `n` shares, any `t` of which rebuild it. */
export async function splitSecret (secret: Uint8Array, n: number, t: number): Promise<Uint8Array[]> {
  validateThreshold(n, t)
  if (!(secret instanceof Uint8Array) || secret.byteLength === 0) throw new InvalidSharesError('secret must be a non-empty Uint8Array')
  if (t === 1) {
    const shares: Uint8Array[] = []
    for (let i = 0; i < n; i++) {
      const share = new Uint8Array(secret.byteLength + 1)
      share.set(secret)
      share[secret.byteLength] = i + 1
      shares.push(share)
    }
    return shares
  }
  return await split(plainBytes(secret), n, t)
}

/** Rebuilds a secret from shares (see the header for what fewer than t shares give). */
export async function combineShares (shares: Uint8Array[]): Promise<Uint8Array> {
  if (!Array.isArray(shares) || shares.length === 0) throw new InvalidSharesError('no shares to combine')
  if (shares.length > MAX_SHARES) throw new InvalidSharesError(`at most ${MAX_SHARES} shares, got ${shares.length}`)
  const length = shares[0]?.byteLength
  const xs = new Set<number>()
  for (const s of shares) {
    if (!(s instanceof Uint8Array) || s.byteLength < 2) throw new InvalidSharesError('each share must be a Uint8Array of at least 2 bytes')
    if (s.byteLength !== length) throw new InvalidSharesError('all shares must have the same length')
    const x = s[s.byteLength - 1]
    if (x === 0) throw new InvalidSharesError('share x-coordinate 0 is invalid')
    if (xs.has(x)) throw new InvalidSharesError(`two shares have the same x-coordinate ${x}`)
    xs.add(x)
  }
  if (shares.length === 1) return plainBytes(shares[0].subarray(0, length - 1))
  try {
    return await combine(shares.map(plainBytes))
  } catch (err) {
    throw new InvalidSharesError('shares do not combine', { cause: err })
  }
}
