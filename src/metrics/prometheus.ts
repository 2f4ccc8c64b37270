/**
 * Prometheus metrics of a fedswarm process, on a registry of its own (never prom-client's global one):
 *
 * - `createRoundMetrics(registry)`: what the round driver does — rounds completed, time spent per phase,
 *   rejected gossip by reason, the current round and the privacy spent (ε).
 * - `createNodeMetrics(registry, { node })`: the libp2p node — bytes sent / received (its ByteMetrics),
 *   open connections and peers in the peer store, read when Prometheus scrapes.
 * - `createMetricsRegistry()`: a registry with prom-client's default process metrics (CPU, memory,
 *   event loop lag, GC, handles) under their usual names, so standard Node.js dashboards work.
 */

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { nodeBytes } from '../net/create-node.ts'
import type { PeerNode } from '../net/create-node.ts'
import { MAX_REJECT_REASONS, PHASE_BUCKETS_SECONDS } from './constants.ts'

/** A registry with the default process metrics (`process_cpu_seconds_total`, `nodejs_heap_size_used_bytes`, ...). */
export function createMetricsRegistry (): Registry {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry })
  return registry
}

/** Hooks the peer loop calls; they update the round metrics. */
export interface RoundMetrics {
  /** The driver entered `phase` of `round` (`done` and `aborted` end the timing of the attempt). */
  phase(phase: string, round: number): void
  /** The driver rejected a gossip message. */
  rejected(reason: string): void
  /** This peer completed `round` (aggregated or synced). */
  roundCompleted(round: number): void
  /** ε this peer has spent so far (at the task's δ). */
  epsilon(value: number): void
}

/**
 * Registers fedswarm_rounds_completed_total, fedswarm_round_phase_seconds{phase},
 * fedswarm_messages_rejected_total{reason}, fedswarm_round and fedswarm_epsilon on `registry`.
 */
export function createRoundMetrics (registry: Registry, init: { now?: () => number } = {}): RoundMetrics {
  const now = init.now ?? (() => performance.now())
  const registers = [registry]
  const completed = new Counter({ name: 'fedswarm_rounds_completed_total', help: 'Rounds this peer completed (aggregated or synced) since it started', registers })
  const phaseSeconds = new Histogram({
    name: 'fedswarm_round_phase_seconds',
    help: 'Time the round driver spent in each phase of an attempt',
    labelNames: ['phase'] as const,
    buckets: [...PHASE_BUCKETS_SECONDS],
    registers
  })
  const rejected = new Counter({ name: 'fedswarm_messages_rejected_total', help: 'Gossip messages rejected by validation, by reason', labelNames: ['reason'] as const, registers })
  const round = new Gauge({ name: 'fedswarm_round', help: 'The round this peer is working on (the last one once the task is done)', registers })
  const epsilon = new Gauge({ name: 'fedswarm_epsilon', help: 'Privacy spent by this peer: epsilon at the task\'s delta (0 without differential privacy)', registers })
  completed.inc(0)
  epsilon.set(0)
  const reasons = new Set<string>()
  let current: { phase: string, since: number } | undefined
  let lastRound = 0

  return {
    phase (phase, r) {
      const t = now()
      if (current != null) phaseSeconds.observe({ phase: current.phase }, Math.max(0, (t - current.since) / 1000))
      current = phase === 'done' || phase === 'aborted' ? undefined : { phase, since: t }
      if (r >= lastRound) round.set(lastRound = r)
    },
    rejected (reason) {
      let label = reasonLabel(reason)
      if (!reasons.has(label)) {
        if (reasons.size >= MAX_REJECT_REASONS) label = 'other'
        else reasons.add(label)
      }
      rejected.inc({ reason: label })
    },
    roundCompleted (r) {
      completed.inc()
      if (r >= lastRound) round.set(lastRound = r)
    },
    epsilon (value) {
      if (Number.isFinite(value)) epsilon.set(value)
    }
  }
}

/**
 * A bounded label for a rejection reason: the part before the first colon, PeerIds replaced by `PEER`,
 * numbers and hex strings by `N`, at most 60 characters (`round 7 outside 1..5` -> `round N outside N..N`).
 */
export function reasonLabel (reason: string): string {
  const head = reason.split(':')[0]
  const label = head.replace(/\b(?:12D3Koo|Qm|16U)[1-9A-HJ-NP-Za-km-z]+/g, 'PEER').replace(/\b[0-9a-f]{8,}\b/gi, 'N').replace(/\d+(\.\d+)?/g, 'N').replace(/\s+/g, ' ').trim()
  return label === '' ? 'unknown' : label.slice(0, 60)
}

export interface NodeMetricsInit {
  /** The node to read; a function while the node is being created (reads 0 until it exists). */
  node: PeerNode | (() => PeerNode | undefined)
}

/**
 * Registers fedswarm_bytes_sent_total, fedswarm_bytes_received_total, fedswarm_connections and
 * fedswarm_peers_known, read from the node at every scrape.
 */
export function createNodeMetrics (registry: Registry, init: NodeMetricsInit): void {
  const node = typeof init.node === 'function' ? init.node : () => init.node as PeerNode
  const started = (): PeerNode | undefined => {
    const n = node()
    return n != null && n.status === 'started' ? n : undefined
  }
  const bytes = (): { sent: number, received: number } => {
    const n = started()
    if (n == null) return { sent: 0, received: 0 }
    try {
      return nodeBytes(n)
    } catch {
      return { sent: 0, received: 0 }
    }
  }
  const registers = [registry]
  // Counters set from the node's own running totals at scrape time.
  new Counter({
    name: 'fedswarm_bytes_sent_total',
    help: 'Bytes sent on this node\'s transport connections (Noise and Yamux framing included)',
    registers,
    collect () { this.reset(); this.inc(bytes().sent) }
  })
  new Counter({
    name: 'fedswarm_bytes_received_total',
    help: 'Bytes received on this node\'s transport connections (Noise and Yamux framing included)',
    registers,
    collect () { this.reset(); this.inc(bytes().received) }
  })
  new Gauge({
    name: 'fedswarm_connections',
    help: 'Open libp2p connections',
    registers,
    collect () { this.set(started()?.getConnections().length ?? 0) }
  })
  new Gauge({
    name: 'fedswarm_peers_known',
    help: 'Peers in this node\'s peer store',
    registers,
    async collect () {
      const n = started()
      this.set(n == null ? 0 : (await n.peerStore.all().catch(() => [])).length)
    }
  })
}
