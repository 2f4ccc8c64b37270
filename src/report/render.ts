/**
 * Server-side rendering of a chart: Vega-Lite spec → Vega spec → headless Vega view → SVG string.
 * Nothing is fetched (the data is inline and the view's loader refuses URLs) and nothing is logged
 * (Vega's and Vega-Lite's warnings are dropped; an error is a one-line `ReportError`).
 */
import * as vega from 'vega'
import { compile } from 'vega-lite'
import type { TopLevelSpec } from 'vega-lite'
import { ReportError } from './errors.ts'

/** A logger for Vega-Lite's compiler that keeps quiet (its warnings are about style, not data). */
const quiet = {
  level (): any { return quiet },
  error (...args: readonly unknown[]): any { throw new ReportError(`vega-lite: ${args.map(String).join(' ')}`) },
  warn (): any { return quiet },
  info (): any { return quiet },
  debug (): any { return quiet }
}

/** A loader that refuses to load anything: charts carry their data inline. */
const noLoader = {
  ...vega.loader(),
  async load (uri: string): Promise<string> { throw new ReportError(`charts load no external data (asked for ${uri})`) },
  async sanitize (uri: string): Promise<{ href: string }> { throw new ReportError(`charts load no external data (asked for ${uri})`) },
  async http (uri: string): Promise<string> { throw new ReportError(`charts load no external data (asked for ${uri})`) },
  async file (uri: string): Promise<string> { throw new ReportError(`charts load no external data (asked for ${uri})`) }
}

export interface RenderOptions {
  signal?: AbortSignal
}

/** Renders one Vega-Lite spec to a standalone SVG document string. */
export async function renderChartSvg (spec: TopLevelSpec, options: RenderOptions = {}): Promise<string> {
  options.signal?.throwIfAborted()
  let view: vega.View | undefined
  try {
    const compiled = compile(spec, { logger: quiet as any }).spec
    view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.None, loader: noLoader as any })
    const svg = await view.toSVG()
    options.signal?.throwIfAborted()
    return svg
  } catch (err) {
    if (options.signal?.aborted === true || err instanceof ReportError) throw err
    throw new ReportError(`cannot render chart: ${(err as Error).message}`, { cause: err })
  } finally {
    view?.finalize()
  }
}
