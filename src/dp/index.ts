/**
 * Differential privacy: the Rényi-DP accountant of the subsampled Gaussian mechanism (accountant.ts),
 * exact discrete Gaussian noise for distributed DP in the secure-aggregation ring (discrete-noise.ts),
 * the per-peer privacy ledger (ledger.ts) and the rounds a budget affords (budget.ts).
 */
export * from './accountant.ts'
export * from './budget.ts'
export * from './discrete-noise.ts'
export * from './ledger.ts'
export * from './pld.ts'
