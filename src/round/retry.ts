/**
 * One bounded retry loop for the round's fetches (ranges, share boxes, unmask blobs): a stream reset or a
 * busy peer is worth another try before the caller gives up.
 */

export interface RetryOptions {
  /** Tries in all (at least 1). */
  tries: number
  /** The n-th retry waits n · retryMs. */
  retryMs: number
  signal: AbortSignal
}

/** Runs `fn` up to `tries` times; throws its last error, or at once when `signal` aborts. */
export async function retrying<T> (fn: () => Promise<T>, { tries, retryMs, signal }: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn()
    } catch (err) {
      if (signal.aborted || attempt >= tries) throw err
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve() }, retryMs * attempt)
        const onAbort = (): void => { clearTimeout(t); reject(signal.reason) }
        signal.addEventListener('abort', onAbort, { once: true })
      })
    }
  }
}
