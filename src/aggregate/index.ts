/**
 * Aggregation: FedAvg (example-weighted or uniform) with a fixed, documented sequence of operations.
 */
export * from './fedavg.ts'
