// The fuzz harness: runs one target for N fast-check generated inputs and checks, around every call,
// the properties every target shares — the code under test returns or throws an allowed Error (never a
// non-Error, never an unexpected class), finishes within a time bound, allocates a bounded amount for
// its input, raises no uncaught exception or unhandled rejection, and retains no unbounded memory
// across batches (measured after a forced GC). Violations are collected, not thrown, so one run counts
// every failing input.
import fc from 'fast-check'
import v8 from 'node:v8'
import vm from 'node:vm'

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc') as () => void

// The round code under test arms timers of up to an hour (the fuzzed tasks' phase timeouts); they must
// not keep a fuzz process alive once its targets are done.
const setTimeoutOriginal = globalThis.setTimeout
globalThis.setTimeout = ((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
  const t = setTimeoutOriginal(fn, ms, ...args)
  if ((ms ?? 0) >= 60_000) t.unref()
  return t
}) as typeof setTimeout

/** A property violation found while running one input. */
export class FuzzViolation extends Error {
  override name = 'FuzzViolation'
}

export function violation (message: string): never {
  throw new FuzzViolation(message)
}

/** One ready target: inputs and what to do with each. */
export interface TargetRun<T> {
  arbitrary: fc.Arbitrary<T>
  /** Runs one input; throws FuzzViolation on a property failure; returns an outcome label to count. */
  run: (input: T) => Promise<string> | string
  /** Input size in bytes (for the allocation bound) and a short rendering (for failure reports). */
  size: (input: T) => number
  /** The size of what the last run actually fed in, where the run builds more than the input (say, an envelope around it). */
  fedBytes?: () => number
  show?: (input: T) => string
  teardown?: () => Promise<void>
}

export interface FuzzTarget {
  name: string
  /** What is fed to what, one line (for the report). */
  what: string
  /** Runs of this target per requested run (network targets run fewer inputs; default 1). */
  scale?: number
  /** Heap + ArrayBuffer bytes one call may add for an input of `n` bytes (default 16 MiB + 32 n). */
  callAllocBytes?: (n: number) => number
  /** Bytes the target may keep after a GC, above its level after the first batch (default 32 MiB). */
  retainBytes?: number
  setup: () => Promise<TargetRun<any>>
}

export interface TargetResult {
  name: string
  runs: number
  ms: number
  failures: number
  examples: string[]
  outcomes: Record<string, number>
  /** Largest (heap + ArrayBuffer) growth over the first batch, after a GC, in bytes. */
  retainedBytes: number
  /** Slowest single run (input, target code and checks), ms, and that input. */
  slowestMs: number
  slowestInput?: string
  seed: number
}

export interface RunOptions {
  runs: number
  seed: number
  /** Progress lines (default: none). */
  log?: (line: string) => void
}

const MiB = 1024 * 1024

/** Time bound of one call: generous, the machines these run on are shared and slow. */
export const CALL_LIMIT_MS = Number(process.env.FUZZ_CALL_LIMIT_MS ?? 10_000)

/** Awaits `p`; a violation if it takes longer than `ms` (the promise is left to settle on its own). */
export async function within<T> (p: Promise<T> | T, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new FuzzViolation(`${what} did not finish within ${ms} ms (hang)`)), ms)
  })
  try {
    return await Promise.race([Promise.resolve(p), timeout])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Calls `fn` (the code under test): its value, or the error it threw if `allowed` accepts it. A thrown
 * non-Error, a disallowed Error or a call over the time limit is a violation.
 */
export async function outcome<T> (what: string, fn: () => Promise<T> | T, allowed: (err: Error) => boolean, limitMs = CALL_LIMIT_MS): Promise<{ value: T } | { error: Error }> {
  const started = performance.now()
  let result: { value: T } | { error: Error }
  try {
    result = { value: await within(fn(), limitMs, what) }
  } catch (err) {
    if (err instanceof FuzzViolation) throw err
    if (!(err instanceof Error)) violation(`${what} threw a non-Error: ${String(err)}`)
    if (!allowed(err)) violation(`${what} threw ${err.constructor.name} (${err.name}): ${err.message.slice(0, 300)}`)
    result = { error: err }
  }
  const ms = performance.now() - started
  if (ms > limitMs) violation(`${what} took ${ms.toFixed(0)} ms (limit ${limitMs} ms)`)
  return result
}

export function hexPreview (b: Uint8Array, max = 96): string {
  const hex = Buffer.from(b.buffer, b.byteOffset, Math.min(b.byteLength, max)).toString('hex')
  return `${b.byteLength} bytes: ${hex}${b.byteLength > max ? '…' : ''}`
}

/** Heap bytes in use after a full GC. */
export function heapAfterGc (): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

/** Heap + ArrayBuffer bytes after two full GCs (ArrayBuffer memory is swept in the background). */
async function settledHeldBytes (): Promise<number> {
  await new Promise(resolve => setImmediate(resolve))
  gc()
  await new Promise(resolve => setTimeout(resolve, 10))
  gc()
  const m = process.memoryUsage()
  return m.heapUsed + m.arrayBuffers
}

/** Runs `target` for `options.runs × scale` inputs. Never throws for a property failure: see `failures`. */
export async function runTarget (target: FuzzTarget, options: RunOptions): Promise<TargetResult> {
  const runs = Math.max(1, Math.round(options.runs * (target.scale ?? 1)))
  const result: TargetResult = { name: target.name, runs: 0, ms: 0, failures: 0, examples: [], outcomes: {}, retainedBytes: 0, slowestMs: 0, seed: options.seed }
  const record = (message: string): void => {
    result.failures++
    if (result.examples.length < 5) result.examples.push(message)
  }
  const stray: string[] = []
  const onUncaught = (err: unknown): void => { stray.push(`uncaught exception: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`) }
  const onRejection = (err: unknown): void => { stray.push(`unhandled rejection: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`) }
  process.on('uncaughtException', onUncaught)
  process.on('unhandledRejection', onRejection)
  const started = performance.now()
  const t = await target.setup()
  const callAlloc = target.callAllocBytes ?? ((n: number) => 16 * MiB + 32 * n)
  const batch = Math.max(50, Math.min(2000, Math.floor(runs / 6)))
  let baseline: number | undefined
  let previous: number | undefined
  try {
    await fc.check(fc.asyncProperty(t.arbitrary, async (input) => {
      const index = result.runs++
      const size = t.size(input)
      const before = process.memoryUsage()
      const t0 = performance.now()
      try {
        const label = await t.run(input)
        result.outcomes[label] = (result.outcomes[label] ?? 0) + 1
      } catch (err) {
        const why = err instanceof FuzzViolation ? err.message : `the target itself failed: ${err instanceof Error ? err.stack : String(err)}`
        record(`run ${index}: ${why} — input ${t.show?.(input) ?? `${size} bytes`}`)
      }
      const took = performance.now() - t0
      if (took > result.slowestMs) {
        result.slowestMs = took
        result.slowestInput = t.show?.(input) ?? `${size} bytes`
      }
      const after = process.memoryUsage()
      const grew = Math.max(after.heapUsed - before.heapUsed, after.arrayBuffers - before.arrayBuffers)
      const n = Math.max(size, t.fedBytes?.() ?? 0)
      if (grew > callAlloc(n)) record(`run ${index}: one call allocated ${(grew / MiB).toFixed(1)} MiB for ${n} input bytes — input ${t.show?.(input) ?? ''}`)
      while (stray.length > 0) record(`run ${index} (or just before): ${stray.shift()!}`)
      if ((index + 1) % batch === 0) {
        const held = await settledHeldBytes()
        // a true leak grows from batch to batch; one high reading (buffers not yet swept) is not one
        if (baseline == null) baseline = held
        else if (previous != null) result.retainedBytes = Math.max(result.retainedBytes, Math.min(held, previous) - baseline)
        previous = held
        options.log?.(`${target.name}: ${index + 1}/${runs} runs, ${result.failures} failures, ${((performance.now() - started) / 1000).toFixed(1)} s`)
      }
      return true
    }), { numRuns: runs, seed: options.seed, endOnFailure: true })
  } finally {
    await t.teardown?.()
    await new Promise(resolve => setTimeout(resolve, 20))
    while (stray.length > 0) record(`after the last run: ${stray.shift()!}`)
    process.off('uncaughtException', onUncaught)
    process.off('unhandledRejection', onRejection)
  }
  result.ms = performance.now() - started
  const limit = target.retainBytes ?? 32 * MiB
  if (result.retainedBytes > limit) record(`retained ${(result.retainedBytes / MiB).toFixed(1)} MiB after GC across batches (limit ${(limit / MiB).toFixed(0)} MiB)`)
  return result
}
