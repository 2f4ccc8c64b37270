/**
 * What the long-running commands (`sim`, `node`, `join`) print. Three levels: `quiet` (only summary
 * lines, e.g. the final one), `normal` (today's lines) and `verbose` (also detail lines such as phase
 * changes). Text by default; with `json` every line is one JSON object on stdout:
 * `{"type":"round","time":"…",…fields,"message":"<the text line>"}`. On a TTY (text, not quiet) a
 * progress line is kept at the bottom and rewritten in place with `\r`; piped output has no progress
 * line and is exactly the plain lines.
 */

export type OutputLevel = 'quiet' | 'normal' | 'verbose'

/** A stream as the output uses it (process.stdout / process.stderr, or a test double). */
export interface OutputStream {
  write(text: string): unknown
  isTTY?: boolean
  columns?: number
}

export interface OutputInit {
  /** One JSON object per line on stdout instead of text (default false). */
  json?: boolean
  /** Default `normal`. */
  level?: OutputLevel
  /** Default process.stdout. */
  stdout?: OutputStream
  /** Default process.stderr. */
  stderr?: OutputStream
  /** Keep a progress line (default: text output, not quiet, and stdout is a TTY). */
  progress?: boolean
  /** Clock of the JSON lines' `time` (default `() => new Date()`). */
  now?: () => Date
}

export type Fields = Record<string, unknown>

export interface Output {
  readonly json: boolean
  readonly level: OutputLevel
  /** Whether a progress line is shown (text on a TTY). */
  readonly progressShown: boolean
  /** A line shown at every level, also with --quiet (final summaries, addresses of endpoints). */
  summary(type: string, text: string, fields?: Fields): void
  /** A line shown unless --quiet. */
  info(type: string, text: string, fields?: Fields): void
  /** A line shown only with --verbose. */
  verbose(type: string, text: string, fields?: Fields): void
  /**
   * A line for stderr in text mode (logs, warnings), shown unless --quiet (with `verboseOnly`: only with
   * --verbose); on stdout as JSON with --json.
   */
  note(type: string, text: string, fields?: Fields, opts?: { verboseOnly?: boolean }): void
  /** Replaces the progress line (a no-op without one). */
  progress(text: string): void
  /** Removes the progress line (call before exiting). */
  end(): void
}

const CLEAR_LINE = '\r\x1b[2K'

export function createOutput (init: OutputInit = {}): Output {
  const stdout = init.stdout ?? process.stdout
  const stderr = init.stderr ?? process.stderr
  const json = init.json === true
  const level = init.level ?? 'normal'
  const now = init.now ?? (() => new Date())
  const progressShown = init.progress ?? (!json && level !== 'quiet' && stdout.isTTY === true)
  let shown = ''

  const clear = (): void => { if (shown !== '') stdout.write(CLEAR_LINE) }
  const redraw = (): void => { if (shown !== '') stdout.write(shown) }
  const emit = (stream: OutputStream, type: string, text: string, fields: Fields | undefined): void => {
    if (json) {
      stdout.write(`${JSON.stringify({ type, time: now().toISOString(), ...fields, message: text.trim() })}\n`)
      return
    }
    clear()
    stream.write(`${text}\n`)
    redraw()
  }
  const fit = (text: string): string => {
    const width = (stdout.columns != null && stdout.columns > 0 ? stdout.columns : 100) - 1
    return text.length > width ? `${text.slice(0, Math.max(0, width - 1))}…` : text
  }

  return {
    json,
    level,
    progressShown,
    summary (type, text, fields) { emit(stdout, type, text, fields) },
    info (type, text, fields) { if (level !== 'quiet') emit(stdout, type, text, fields) },
    verbose (type, text, fields) { if (level === 'verbose') emit(stdout, type, text, fields) },
    note (type, text, fields, opts) { if (opts?.verboseOnly === true ? level === 'verbose' : level !== 'quiet') emit(stderr, type, text, fields) },
    progress (text) {
      if (!progressShown) return
      const line = fit(text)
      if (line === shown) return
      stdout.write(CLEAR_LINE + line)
      shown = line
    },
    end () {
      clear()
      shown = ''
    }
  }
}

/** The level from `--quiet` / `--verbose` (verbose wins). */
export function outputLevel (o: { quiet?: boolean, verbose?: boolean }): OutputLevel {
  return o.verbose === true ? 'verbose' : o.quiet === true ? 'quiet' : 'normal'
}

/** A text progress bar of `cells` cells for a fraction in [0, 1]: `[#######.............]`. */
export function bar (fraction: number, cells = 20): string {
  const full = Math.max(0, Math.min(cells, Math.round(fraction * cells)))
  return `[${'#'.repeat(full)}${'.'.repeat(cells - full)}]`
}
