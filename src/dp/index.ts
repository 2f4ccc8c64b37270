/**
 * Differential privacy: the Rényi-DP accountant of the subsampled Gaussian mechanism (accountant.ts).
 */
export * from './accountant.ts'
