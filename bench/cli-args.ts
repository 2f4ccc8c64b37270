/**
 * Small helpers shared by the benchmarks: integer flags from argv (a bad value exits 2 with one line)
 * and the median.
 */

/** `--name N` from argv, or `fallback`; exits 2 naming the flag unless it is an integer >= min. */
export function intFlag (name: string, fallback: number, min: number, args = process.argv.slice(2)): number {
  const at = args.indexOf(name)
  const v = at >= 0 ? Number(args[at + 1]) : fallback
  if (!(Number.isSafeInteger(v) && v >= min)) {
    process.stderr.write(`${name} must be an integer >= ${min}\n`)
    process.exit(2)
  }
  return v
}

/** The median of some numbers (NaN for none). */
export function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}
