/**
 * A peer's privacy ledger: every release of the peer's data that differential privacy has to pay for,
 * one entry per round, and the (ε, δ) they add up to. A peer consults it before it lets its update go
 * into a round (`wouldExceed`), so that it stops taking part once its own budget `targetEpsilon` would
 * be exceeded, and logs what it has spent (`remaining`, `summary`). The data dir keeps the entries in
 * `privacy-ledger.jsonl` (`DataDir.appendLedgerEntry` / `ledgerEntries`, src/store), so the budget
 * survives restarts.
 *
 * Entries. Peer-level DP-FedAvg: one entry per round whose aggregated sum included this peer's update,
 * `{ mechanism: 'dp-fedavg', sampleRate: 1, steps: 1, noiseMultiplier: σ }`, σ being the effective noise
 * multiplier of that sum (noise standard deviation over the L2 clipping norm of one peer's update). The
 * sample rate is 1: the peer knows it was in the cohort, so there is no amplification by sampling.
 * DP-SGD (example-level, local): one entry per round with q = B/N and the number of steps run.
 *
 * Composition. Each entry is a (subsampled) Gaussian mechanism whose RDP curve over the ledger's orders
 * comes from `rdpSampledGaussian` (accountant.ts); RDP composes additively order by order, so the
 * ledger's curve is the sum of its entries' curves, and entries of different mechanisms, sample rates,
 * noise multipliers and step counts compose with each other. The summed curve is kept up to date as
 * entries are spent, so every query costs O(orders), independent of the number of entries.
 *
 * Conversion. ε at the ledger's δ is `epsilonFromRdp` with its default 'improved' conversion,
 * ε = min_α rdp(α) + log((α − 1)/α) − (log δ + log α)/(α − 1) (Balle et al. 2020, Thm 21; Canonne,
 * Kamath, Steinke 2020, Prop 12), minimized over the orders (default DEFAULT_RDP_ORDERS).
 *
 * PLD (`accountant: 'pld'`, the default). The ledger also composes the entries' privacy loss
 * distributions (pld.ts: pessimistic discretization, so an upper bound too) and reports the smaller of
 * the two ε; both are valid (ε, δ) guarantees, so their minimum is. For the seed DP-SGD setting (q =
 * 250/12,000, σ 1.1, 48 steps a round) 13 rounds cost ε 2.98 by RDP and 2.68 by PLD, so a budget of 3
 * affords 16 rounds instead of 13 (ε 2.98). `accountant: 'rdp'` gives the RDP figure alone.
 *
 * Rounds. A round can be spent once. Spending it again with an identical entry is a no-op (a restarted
 * peer replaying a round it had already recorded); a different entry for a spent round is a
 * `LedgerError`. That is sound only while a round releases at most one value that depends on the peer's
 * data (one published aggregate per round); a second, independently noised release of the same round
 * would cost again and needs an entry of its own.
 *
 * Crash safety. Persist before releasing: `if (ledger.check(e) === 'new') await dataDir.appendLedgerEntry(e)`,
 * then `ledger.spend(e)`, then send the update. A crash in between can only over-count.
 */

import {
  AccountantError, DEFAULT_RDP_ORDERS, epsilonFromRdp, rdpSampledGaussian, type EpsilonResult
} from './accountant.ts'
import { PLD_DEFAULTS, composePldPairs, identityPld, pldPairEpsilon, sampledGaussianPlds, type PldPair } from './pld.ts'

/** Which accountant bounds the ledger's ε: RDP alone, or the smaller of PLD and RDP. */
export type LedgerAccountant = 'rdp' | 'pld'

export const LEDGER_ACCOUNTANTS: readonly LedgerAccountant[] = Object.freeze(['rdp', 'pld'])

/** ε at the ledger's δ, with the accountant that gave it (`order` is RDP's best order either way). */
export interface LedgerEpsilon extends EpsilonResult {
  accountant: LedgerAccountant
}

export class LedgerError extends Error {
  override name = 'LedgerError'
}

export type LedgerMechanism = 'dp-fedavg' | 'dp-sgd'

export const LEDGER_MECHANISMS: readonly LedgerMechanism[] = Object.freeze(['dp-fedavg', 'dp-sgd'])

export interface LedgerEntry {
  /** The round whose release this pays for, an integer >= 0. */
  round: number
  mechanism: LedgerMechanism
  /** σ: noise standard deviation over the L2 sensitivity, a finite number >= 0 (0 costs ε = ∞). */
  noiseMultiplier: number
  /** q in (0, 1]: 1 for 'dp-fedavg'; B/N for 'dp-sgd'. */
  sampleRate: number
  /** Steps of the mechanism in this round, an integer >= 1: 1 for 'dp-fedavg'. */
  steps: number
}

export interface PrivacyLedgerInit {
  /** δ of the (ε, δ) guarantee, in (0, 1). */
  delta: number
  /** The budget: ε that must not be exceeded; 0 means no budget (only accounting). */
  targetEpsilon: number
  /** RDP orders α > 1 (∞ allowed); default DEFAULT_RDP_ORDERS. */
  orders?: readonly number[]
  /** Entries already spent (e.g. `await dataDir.ledgerEntries()`); identical repeats are replays. */
  entries?: readonly LedgerEntry[]
  /** 'pld' (default): the smaller of the PLD and RDP bounds; 'rdp': RDP alone. */
  accountant?: LedgerAccountant
}

export interface LedgerRemaining {
  /** ε spent so far, at `delta`. */
  epsilon: number
  /** The order at which RDP's ε is reached. */
  order: number
  /** The accountant whose bound ε is. */
  accountant: LedgerAccountant
  delta: number
  /** 0 when there is no budget. */
  targetEpsilon: number
  /** targetEpsilon − ε, at least 0; ∞ when there is no budget. */
  remaining: number
  /** Number of entries (rounds) spent. */
  entries: number
}

export interface PrivacyLedger {
  readonly delta: number
  readonly targetEpsilon: number
  readonly orders: readonly number[]
  readonly accountant: LedgerAccountant
  /** Spent entries in the order they were spent (frozen copies; replays are not repeated). */
  readonly entries: readonly LedgerEntry[]
  /**
   * Validates an entry against the ledger without spending it: 'new' if its round is not spent yet,
   * 'replay' if the identical entry is. Throws a `LedgerError` for a malformed entry or a different
   * entry for a spent round.
   */
  check(entry: LedgerEntry): 'new' | 'replay'
  /** Spends an entry: true if it was added, false for a replay (see `check`, which it throws like). */
  spend(entry: LedgerEntry): boolean
  /** ε spent so far at the ledger's δ (0 for an empty ledger). */
  epsilon(): LedgerEpsilon
  /** ε if `entry` were spent too (unchanged for a replay). */
  epsilonAfter(entry: LedgerEntry | readonly LedgerEntry[]): LedgerEpsilon
  /** Whether spending `entry` (or all of a round's entries) would take ε above the budget (never when targetEpsilon is 0). */
  wouldExceed(entry: LedgerEntry | readonly LedgerEntry[]): boolean
  /** What is spent and what is left, for logs. */
  remaining(): LedgerRemaining
  /** One line for logs, e.g. `ε = 2.41 (δ = 1e-5, PLD) after 12 rounds, 5.59 of 8 left` (or `RDP order 9`). */
  summary(): string
  /** A copy of the summed RDP curve, one value per order. */
  rdp(): Float64Array
}

/** Creates a ledger, spending `init.entries` in order. Throws a `LedgerError` naming the bad field. */
export function createPrivacyLedger (init: PrivacyLedgerInit): PrivacyLedger {
  if (typeof init !== 'object' || init === null) throw new LedgerError(`init must be an object (got ${show(init)})`)
  const { delta, targetEpsilon } = init
  if (typeof delta !== 'number' || !(delta > 0 && delta < 1)) throw new LedgerError(`delta must be a number in (0, 1) (got ${show(delta)})`)
  if (typeof targetEpsilon !== 'number' || !Number.isFinite(targetEpsilon) || targetEpsilon < 0) {
    throw new LedgerError(`targetEpsilon must be a finite number >= 0, 0 for no budget (got ${show(targetEpsilon)})`)
  }
  const orders = checkOrders(init.orders ?? DEFAULT_RDP_ORDERS)
  const accountant = init.accountant ?? 'pld'
  if (!LEDGER_ACCOUNTANTS.includes(accountant)) throw new LedgerError(`accountant must be 'rdp' or 'pld' (got ${show(accountant)})`)
  const ledger = new Ledger(delta, targetEpsilon, orders, accountant)
  const entries = init.entries ?? []
  if (!Array.isArray(entries)) throw new LedgerError(`entries must be an array of ledger entries (got ${show(entries)})`)
  entries.forEach((entry, i) => {
    try {
      ledger.spend(entry)
    } catch (err) {
      if (err instanceof LedgerError) throw new LedgerError(`entries[${i}]: ${err.message}`, { cause: err })
      throw err
    }
  })
  return ledger
}

/** Why `entry` is not a valid ledger entry (a one-line message naming the field), or `undefined`. */
export function ledgerEntryProblem (entry: unknown): string | undefined {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return `entry must be an object (got ${show(entry)})`
  const e = entry as Record<string, unknown>
  const { round, mechanism, noiseMultiplier: sigma, sampleRate: q, steps } = e
  if (!Number.isSafeInteger(round) || (round as number) < 0) return `round must be an integer >= 0 (got ${show(round)})`
  if (!LEDGER_MECHANISMS.includes(mechanism as LedgerMechanism)) {
    return `mechanism must be ${LEDGER_MECHANISMS.map((m) => `'${m}'`).join(' or ')} (got ${show(mechanism)})`
  }
  if (typeof sigma !== 'number' || !Number.isFinite(sigma) || sigma < 0) return `noiseMultiplier must be a finite number >= 0 (got ${show(sigma)})`
  if (typeof q !== 'number' || !(q > 0 && q <= 1)) return `sampleRate must be a number in (0, 1] (got ${show(q)})`
  if (!Number.isSafeInteger(steps) || (steps as number) < 1) return `steps must be an integer >= 1 (got ${show(steps)})`
  if (mechanism === 'dp-fedavg' && q !== 1) return `sampleRate must be 1 for 'dp-fedavg' (got ${show(q)})`
  if (mechanism === 'dp-fedavg' && steps !== 1) return `steps must be 1 for 'dp-fedavg', one entry per round (got ${show(steps)})`
  return undefined
}

/** A frozen copy of `entry` holding only the entry's fields; throws a `LedgerError` if it is malformed. */
export function checkLedgerEntry (entry: LedgerEntry): LedgerEntry {
  const problem = ledgerEntryProblem(entry)
  if (problem !== undefined) throw new LedgerError(problem)
  const { round, mechanism, noiseMultiplier, sampleRate, steps } = entry
  return Object.freeze({ round, mechanism, noiseMultiplier, sampleRate, steps })
}

// ---------------------------------------------------------------------------------------------------

/** Curves of recently used (sampleRate, noiseMultiplier, steps), so `wouldExceed` then `spend` compute one. */
const CURVE_CACHE_SIZE = 8

class Ledger implements PrivacyLedger {
  readonly delta: number
  readonly targetEpsilon: number
  readonly orders: readonly number[]
  readonly accountant: LedgerAccountant
  private readonly list: LedgerEntry[] = []
  /** Spent entries by round and mechanism: a round may pay once for DP-FedAvg and once for DP-SGD. */
  private readonly byRound = new Map<string, LedgerEntry>()
  private readonly total: Float64Array
  private readonly curves = new Map<string, Float64Array>()
  private current?: LedgerEpsilon
  /** The composed PLDs of the spent entries; undefined for 'rdp', or once an entry's grid was too large. */
  private pld: PldPair | undefined
  /**
   * The last `epsilonAfter` question and answer, cleared by `spend`: asked again (a driver or the sim
   * polling `wouldExceed` for the same next round) it costs nothing, and spending that one entry reuses
   * its composed PLDs instead of convolving again.
   */
  private asked?: { key: string, pld: PldPair | undefined, result: LedgerEpsilon }

  constructor (delta: number, targetEpsilon: number, orders: readonly number[], accountant: LedgerAccountant) {
    this.delta = delta
    this.targetEpsilon = targetEpsilon
    this.orders = orders
    this.accountant = accountant
    this.total = new Float64Array(orders.length)
    const none = identityPld(PLD_DEFAULTS.interval)
    this.pld = accountant === 'pld' ? { remove: none, add: none } : undefined
  }

  get entries (): readonly LedgerEntry[] {
    return this.list
  }

  check (entry: LedgerEntry): 'new' | 'replay' {
    return this.classify(entry).kind
  }

  spend (entry: LedgerEntry): boolean {
    const { kind, copy } = this.classify(entry)
    if (kind === 'replay') return false
    const curve = this.curve(copy)
    for (let i = 0; i < this.total.length; i++) this.total[i] += curve[i]
    this.pld = this.asked?.key === entriesKey([copy]) ? this.asked.pld : composeEntries(this.pld, [copy])
    this.asked = undefined
    this.list.push(copy)
    this.byRound.set(`${copy.round}/${copy.mechanism}`, copy)
    this.current = undefined
    return true
  }

  epsilon (): LedgerEpsilon {
    this.current ??= this.convert(this.total, this.pld)
    return { ...this.current }
  }

  epsilonAfter (entry: LedgerEntry | readonly LedgerEntry[]): LedgerEpsilon {
    const fresh = (Array.isArray(entry) ? entry : [entry]).map(e => this.classify(e)).filter(c => c.kind === 'new').map(c => c.copy)
    if (fresh.length === 0) return this.epsilon()
    const key = entriesKey(fresh)
    if (this.asked?.key === key) return { ...this.asked.result }
    const after = this.total.slice()
    for (const copy of fresh) {
      const curve = this.curve(copy)
      for (let i = 0; i < after.length; i++) after[i] += curve[i]
    }
    const pld = composeEntries(this.pld, fresh)
    const result = this.convert(after, pld)
    this.asked = { key, pld, result }
    return { ...result }
  }

  wouldExceed (entry: LedgerEntry | readonly LedgerEntry[]): boolean {
    const after = this.epsilonAfter(entry) // validates even without a budget
    return this.targetEpsilon > 0 && after.epsilon > this.targetEpsilon
  }

  remaining (): LedgerRemaining {
    const { epsilon, order, accountant } = this.epsilon()
    const remaining = this.targetEpsilon > 0 ? Math.max(0, this.targetEpsilon - epsilon) : Infinity
    return { epsilon, order, accountant, delta: this.delta, targetEpsilon: this.targetEpsilon, remaining, entries: this.list.length }
  }

  summary (): string {
    const r = this.remaining()
    const rounds = `${r.entries} round${r.entries === 1 ? '' : 's'}`
    const budget = r.targetEpsilon > 0 ? `${fmt(r.remaining)} of ${fmt(r.targetEpsilon)} left` : 'no budget'
    const how = r.accountant === 'pld' ? 'PLD' : `RDP order ${r.order}`
    return `ε = ${fmt(r.epsilon)} (δ = ${r.delta}, ${how}) after ${rounds}, ${budget}`
  }

  rdp (): Float64Array {
    return this.total.slice()
  }

  private classify (entry: LedgerEntry): { kind: 'new' | 'replay', copy: LedgerEntry } {
    const copy = checkLedgerEntry(entry)
    const spent = this.byRound.get(`${copy.round}/${copy.mechanism}`)
    if (spent === undefined) return { kind: 'new', copy }
    const diff = differences(spent, copy)
    if (diff.length === 0) return { kind: 'replay', copy: spent }
    throw new LedgerError(`round ${copy.round} is already spent for ${copy.mechanism} with a different entry (${diff.join(', ')})`)
  }

  private curve (e: LedgerEntry): Float64Array {
    const key = `${e.sampleRate}/${e.noiseMultiplier}/${e.steps}`
    let curve = this.curves.get(key)
    if (curve !== undefined) {
      this.curves.delete(key) // move to the back: most recently used
    } else {
      try {
        curve = rdpSampledGaussian({ sampleRate: e.sampleRate, noiseMultiplier: e.noiseMultiplier, steps: e.steps, orders: this.orders })
      } catch (err) {
        if (err instanceof AccountantError) throw new LedgerError(err.message, { cause: err })
        throw err
      }
      if (this.curves.size >= CURVE_CACHE_SIZE) this.curves.delete(this.curves.keys().next().value as string)
    }
    this.curves.set(key, curve)
    return curve
  }

  private convert (rdp: Float64Array, pld?: PldPair): LedgerEpsilon {
    const r = epsilonFromRdp({ orders: this.orders, rdp, delta: this.delta })
    if (pld === undefined) return { ...r, accountant: 'rdp' }
    const e = pldPairEpsilon(pld, this.delta)
    return e < r.epsilon ? { epsilon: e, order: r.order, accountant: 'pld' } : { ...r, accountant: 'rdp' }
  }
}

/**
 * `pld` composed with the PLDs of `entries`, or undefined without PLD ('rdp') or when the PLD grid
 * would be too large (a tiny σ at q = 1): RDP alone then bounds the ledger.
 */
function composeEntries (pld: PldPair | undefined, entries: readonly LedgerEntry[]): PldPair | undefined {
  if (pld === undefined) return undefined
  let out = pld
  for (const e of entries) {
    try {
      out = composePldPairs(out, sampledGaussianPlds({ sampleRate: e.sampleRate, noiseMultiplier: e.noiseMultiplier, steps: e.steps }))
    } catch (err) {
      if (err instanceof AccountantError) return undefined
      throw err
    }
  }
  return out
}

function entriesKey (entries: readonly LedgerEntry[]): string {
  return JSON.stringify(entries.map(e => [e.round, e.mechanism, e.sampleRate, e.noiseMultiplier, e.steps]))
}

const FIELDS = ['mechanism', 'noiseMultiplier', 'sampleRate', 'steps'] as const

function differences (spent: LedgerEntry, entry: LedgerEntry): string[] {
  return FIELDS.filter((f) => spent[f] !== entry[f]).map((f) => `${f} ${show(spent[f])}, now ${show(entry[f])}`)
}

function checkOrders (orders: readonly number[]): readonly number[] {
  if (!Array.isArray(orders) || orders.length === 0) throw new LedgerError(`orders must be a non-empty array of numbers > 1 (got ${show(orders)})`)
  for (const a of orders) {
    if (typeof a !== 'number' || !(a > 1)) throw new LedgerError(`orders must all be numbers > 1 (got ${show(a)})`)
  }
  return Object.freeze([...orders])
}

function show (v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v)
  if (Array.isArray(v)) return 'an array'
  // String() of a parsed {"toString": 1} throws a TypeError (found by test/fuzz on a corrupt ledger line)
  if (typeof v === 'object' && v !== null) return 'an object'
  return String(v)
}

function fmt (x: number): string {
  return Number.isFinite(x) ? x.toFixed(3) : String(x)
}
