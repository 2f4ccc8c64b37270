/**
 * How many rounds a privacy budget affords: the largest k such that k rounds, each costing the same
 * entries (e.g. one round of local DP-SGD: q = B/N, steps, σ), stay within `targetEpsilon` at `delta`.
 *
 * It asks a fresh `PrivacyLedger` (ledger.ts) round by round, with the same orders, the same conversion
 * and the same "would one more round exceed the target" test the round driver applies before every
 * round, so a peer whose rounds cost what `perRound` says is stopped by its ledger after exactly this
 * many rounds. Used as the horizon of the learning-rate schedule (src/learning/lr-schedule.ts) when a
 * budget, not the task's round count, ends a peer's training.
 */

import { DEFAULT_RDP_ORDERS } from './accountant.ts'
import { LedgerError, createPrivacyLedger } from './ledger.ts'
import type { LedgerAccountant, LedgerEntry } from './ledger.ts'

/** What one round costs: a ledger entry without its round number. */
export type RoundCost = Omit<LedgerEntry, 'round'>

export interface AffordableRoundsOptions {
  /** The entries every round spends (one per mechanism), the same each round. */
  perRound: RoundCost | readonly RoundCost[]
  /** δ of the (ε, δ) guarantee, in (0, 1). */
  delta: number
  /** The budget; 0 means no budget (then `maxRounds` is returned). */
  targetEpsilon: number
  /** Counting stops here (e.g. the task's `rounds`): the result is at most this, an integer >= 0. */
  maxRounds: number
  /** RDP orders; default DEFAULT_RDP_ORDERS (the ledger's default). */
  orders?: readonly number[]
  /** The ledger's accountant; default 'pld' (the ledger's default). */
  accountant?: LedgerAccountant
}

/**
 * The number of rounds, at most `maxRounds`, that fit in the budget: round k + 1 would take ε above
 * `targetEpsilon`. 0 if even one round would. Throws a `LedgerError` naming a malformed field.
 */
export function affordableRounds (opts: AffordableRoundsOptions): number {
  // Every peer of a swarm with the same data size asks the same question (the sim runs them in one
  // thread): answers are memoized by their arguments.
  const key = JSON.stringify([opts.perRound, opts.delta, opts.targetEpsilon, opts.maxRounds, opts.orders ?? null, opts.accountant ?? null])
  const hit = memo.get(key)
  if (hit !== undefined) return hit
  const rounds = countRounds(opts)
  if (memo.size >= MEMO_SIZE) memo.delete(memo.keys().next().value as string)
  memo.set(key, rounds)
  return rounds
}

const MEMO_SIZE = 32
const memo = new Map<string, number>()

function countRounds (opts: AffordableRoundsOptions): number {
  const { maxRounds } = opts
  if (!Number.isSafeInteger(maxRounds) || maxRounds < 0) throw new LedgerError(`maxRounds must be an integer >= 0 (got ${String(maxRounds)})`)
  const costs: readonly RoundCost[] = Array.isArray(opts.perRound) ? opts.perRound : [opts.perRound as RoundCost]
  if (costs.length === 0) throw new LedgerError('perRound must hold at least one round cost')
  const ledger = createPrivacyLedger({ delta: opts.delta, targetEpsilon: opts.targetEpsilon, orders: opts.orders ?? DEFAULT_RDP_ORDERS, accountant: opts.accountant })
  for (let round = 1; round <= maxRounds; round++) {
    const entries = costs.map(c => ({ ...c, round }))
    if (ledger.wouldExceed(entries)) return round - 1 // validates the entries, with or without a budget
    if (ledger.targetEpsilon === 0) return maxRounds
    for (const e of entries) ledger.spend(e)
  }
  return maxRounds
}
