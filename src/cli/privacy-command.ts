/**
 * `fedswarm privacy`: ε of the subsampled Gaussian mechanism from the RDP accountant (src/dp), like TF
 * Privacy's compute_dp_sgd_privacy. Either DP-SGD's view (`--examples N --batch B --epochs E`: sampling
 * rate B/N, ceil(E·N/B) steps) or the mechanism's (`--sample-rate q --steps S`), with `--noise σ` and
 * `--delta δ` (default 1e-5). Prints one line, or with `--json` one JSON object
 * `{ "epsilon", "order", "delta", "sampleRate", "steps" }` (an infinite ε is printed as null).
 * `--accountant pld` gives the PLD accountant's ε instead (src/dp/pld.ts; an upper bound, tighter than
 * RDP): `{ "epsilon", "accountant": "pld", "delta", "sampleRate", "steps" }`.
 */
import { AccountantError, dpSgdEpsilon, sampledGaussianEpsilon } from '../dp/accountant.ts'
import type { PrivacySpent } from '../dp/accountant.ts'
import { pldSampledGaussianEpsilon } from '../dp/pld.ts'
import { UsageError } from './usage-error.ts'

export interface PrivacyOptions {
  examples?: string
  batch?: string
  epochs?: string
  sampleRate?: string
  steps?: string
  noise?: string
  delta?: string
  accountant?: string
  json?: boolean
}

export const DEFAULT_DELTA = 1e-5

/** Prints ε for the flags and returns the exit code (0); bad input throws UsageError. `write` is for tests. */
export async function runPrivacy (o: PrivacyOptions, write: (s: string) => void = (s) => { process.stdout.write(s) }): Promise<number> {
  const datasetFlags = ([['--examples', o.examples], ['--batch', o.batch], ['--epochs', o.epochs]] as const)
  const rateFlags = ([['--sample-rate', o.sampleRate], ['--steps', o.steps]] as const)
  const givenDataset = datasetFlags.filter(([, v]) => v != null).map(([f]) => f)
  const givenRate = rateFlags.filter(([, v]) => v != null).map(([f]) => f)
  if (givenDataset.length > 0 && givenRate.length > 0) {
    throw new UsageError(`${givenRate.join(' and ')} cannot be combined with ${givenDataset.join(' and ')}: give either --examples, --batch and --epochs, or --sample-rate and --steps`)
  }
  if (givenDataset.length === 0 && givenRate.length === 0) {
    throw new UsageError('give either --examples, --batch and --epochs, or --sample-rate and --steps')
  }
  const missing = (givenDataset.length > 0 ? datasetFlags : rateFlags).filter(([, v]) => v == null).map(([f]) => f)
  if (missing.length > 0) {
    const given = givenDataset.length > 0 ? givenDataset : givenRate
    throw new UsageError(`${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} required with ${given.join(' and ')}`)
  }
  if (o.noise == null) throw new UsageError('--noise is required (the noise multiplier σ)')
  const noise = positive('--noise', o.noise)
  const delta = o.delta == null ? DEFAULT_DELTA : Number(o.delta)
  if (!(delta > 0 && delta < 1)) throw new UsageError(`--delta must be a number in (0, 1) (got "${o.delta ?? ''}")`)
  const accountant = o.accountant ?? 'rdp'
  if (accountant !== 'rdp' && accountant !== 'pld') throw new UsageError(`--accountant must be rdp or pld (got "${accountant}")`)

  let spent: PrivacySpent
  let context: string
  if (givenDataset.length > 0) {
    const examples = integer('--examples', o.examples!)
    const batchSize = integer('--batch', o.batch!)
    if (batchSize > examples) throw new UsageError(`--batch must not exceed --examples (got ${batchSize} > ${examples})`)
    const epochs = positive('--epochs', o.epochs!)
    spent = dpSgdEpsilon({ examples, batchSize, noiseMultiplier: noise, epochs, delta })
    context = `N = ${examples}, batch ${batchSize}, noise ${noise}, ${epochs} epoch${epochs === 1 ? '' : 's'}: ` +
      `${spent.steps} steps at sampling rate ${short(spent.sampleRate)}`
  } else {
    const sampleRate = Number(o.sampleRate)
    if (!(sampleRate > 0 && sampleRate <= 1)) throw new UsageError(`--sample-rate must be a number in (0, 1] (got "${o.sampleRate ?? ''}")`)
    const steps = integer('--steps', o.steps!)
    spent = sampledGaussianEpsilon({ sampleRate, noiseMultiplier: noise, steps, delta })
    context = `sampling rate ${short(sampleRate)}, noise ${noise}, ${steps} step${steps === 1 ? '' : 's'}`
  }

  if (accountant === 'pld') {
    let epsilon: number
    try {
      epsilon = pldSampledGaussianEpsilon({ sampleRate: spent.sampleRate, noiseMultiplier: noise, steps: spent.steps, delta })
    } catch (err) {
      if (!(err instanceof AccountantError)) throw err
      throw new UsageError(`the PLD accountant cannot price this setting (${err.message}); use --accountant rdp`)
    }
    if (o.json === true) {
      write(JSON.stringify({ epsilon, accountant, delta, sampleRate: spent.sampleRate, steps: spent.steps }) + '\n')
    } else {
      write(`ε = ${formatEpsilon(epsilon)} by PLD for δ = ${formatDelta(delta)} (${context}; RDP: ${formatEpsilon(spent.epsilon)})\n`)
    }
    return 0
  }
  if (o.json === true) {
    const out = { epsilon: spent.epsilon, order: spent.order, delta, sampleRate: spent.sampleRate, steps: spent.steps }
    write(JSON.stringify(out) + '\n')
  } else {
    write(`ε = ${formatEpsilon(spent.epsilon)} at order ${spent.order} for δ = ${formatDelta(delta)} (${context})\n`)
  }
  return 0
}

// Own helpers in the style of sim-command's int()/num(): importing those would load the simulator
// (tfjs, libp2p) just to parse three numbers.
function integer (flag: string, value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} must be an integer >= 1 (got "${value}")`)
  return n
}

function positive (flag: string, value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a number > 0 (got "${value}")`)
  return n
}

/** Three significant digits, without trailing zeros or exponent for ordinary magnitudes. */
function short (x: number): string {
  return String(Number(x.toPrecision(3)))
}

function formatEpsilon (eps: number): string {
  if (eps === Infinity) return '∞'
  return eps >= 1000 ? eps.toFixed(0) : short(eps)
}

/** Like Python's repr for small deltas: 1e-05, 1.5e-07; plain otherwise. */
function formatDelta (delta: number): string {
  if (delta >= 1e-4) return String(delta)
  return delta.toExponential().replace(/e-(\d)$/, 'e-0$1')
}
