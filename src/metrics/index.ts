/**
 * Prometheus metrics: a registry per process, the round and node metrics, and the `/metrics` endpoint.
 */

export * from './constants.ts'
export { MetricsError, type MetricsErrorCode } from './errors.ts'
export {
  createMetricsRegistry, createNodeMetrics, createRoundMetrics, reasonLabel, type NodeMetricsInit, type RoundMetrics
} from './prometheus.ts'
export {
  createMetricsServer, parseMetricsAddress, type MetricsAddress, type MetricsServer, type MetricsServerInit
} from './server.ts'
