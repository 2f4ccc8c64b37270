/**
 * Phase deadlines for a crowded simulation. A real peer has a machine of its own; a simulation runs
 * many peers on one process's main thread, where every peer's gossip, crypto and aggregation wait in
 * one queue. A round's phases then take about as long as all the peers' work together: 50 peers with a
 * cohort of 50 in one process needed 61–73 s from the survivor list to the aggregate (two rounds measured on
 * this 2-core machine), where the default deadline allows 2 × 15 s, and every attempt aborted.
 *
 * `crowdTimeouts` stretches the deadlines that bound waiting on other peers (`cohortMs`, `updateMs`,
 * `survivorsMs`) by peersPerProcess / CROWD_PEERS when that is above 1. `joinMs` stays: the join window
 * is waited in full every round (a longer one is slower, not safer), and a short window is extended once
 * when fewer peers than the last round's survivors have joined. The simulator applies it only to
 * deadlines the user did not set (`fedswarm sim` without a task file, or a task file without `timeouts`).
 */

import { DEFAULT_TIMEOUTS } from '../src/config/constants.ts'
import type { TimeoutSpec } from '../src/config/types.ts'

/** Peers one process runs at the default deadlines (the default sim has 10). */
export const CROWD_PEERS = 12

/** How much the deadlines are stretched for `peersPerProcess` peers on one main thread (>= 1). */
export function crowdFactor (peersPerProcess: number): number {
  return Math.max(1, peersPerProcess / CROWD_PEERS)
}

/** The task's default deadlines with the waiting ones stretched by `crowdFactor` (whole tenths of a second). */
export function crowdTimeouts (peersPerProcess: number): TimeoutSpec {
  const f = crowdFactor(peersPerProcess)
  const stretch = (ms: number): number => Math.round(ms * f / 100) * 100
  const d = DEFAULT_TIMEOUTS
  return { joinMs: d.joinMs, cohortMs: stretch(d.cohortMs), updateMs: stretch(d.updateMs), survivorsMs: stretch(d.survivorsMs) }
}
