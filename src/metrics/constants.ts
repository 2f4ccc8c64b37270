/**
 * Defaults of the Prometheus metrics and their HTTP endpoint.
 */

/** Path Prometheus scrapes. */
export const METRICS_PATH = '/metrics'
/** Port used in examples and help text (the OpenTelemetry Prometheus exporter's). */
export const EXAMPLE_METRICS_PORT = 9464
/** Histogram buckets of fedswarm_round_phase_seconds: phases last from milliseconds to minutes. */
export const PHASE_BUCKETS_SECONDS: readonly number[] = Object.freeze([0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600])
/** Distinct `reason` labels of fedswarm_messages_rejected_total before the rest are counted as `other`. */
export const MAX_REJECT_REASONS = 32
