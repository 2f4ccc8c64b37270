/**
 * Differential privacy: the Rényi-DP accountant of the subsampled Gaussian mechanism (accountant.ts)
 * and exact discrete Gaussian noise for distributed DP in the secure-aggregation ring (discrete-noise.ts).
 */
export * from './accountant.ts'
export * from './discrete-noise.ts'
export * from './ledger.ts'
