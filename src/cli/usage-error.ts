/**
 * The error for bad command-line input: its message is printed as it is.
 */
export class UsageError extends Error {
  override name = 'UsageError'
}
