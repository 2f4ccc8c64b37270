/**
 * Application penalties for gossipsub's peer score (P5, `appSpecificScore`): every message a peer hands
 * us that our validator rejects (bad signature, wrong task, malformed, oversize, a round message the
 * round layer finds invalid) costs it one point; points decay with a half-life, so an honest peer that
 * relayed a few messages we judged differently recovers, while a peer that keeps sending rejects
 * crosses gossipsub's thresholds: it stops receiving our gossip, then our publishes, and is finally
 * graylisted (everything it sends is ignored).
 *
 * With gossipsub's default thresholds (gossip -10, publish -50, graylist -80) and weight 1 that is
 * about 10, 50 and 80 rejected messages in quick succession. Messages rejected by the round layer
 * are ones that no honest peer forwards (honest peers validate before forwarding: asyncValidation),
 * except for rare state-dependent cases, which the decay absorbs.
 */

export interface PenaltyBoxInit {
  /** Points per rejected message (default 1). */
  perReject?: number
  /** Half-life of a peer's points, in ms (default 120,000). */
  halfLifeMs?: number
  /** Points a peer can hold at most (default 1,000), so that one recovers within hours at most. */
  maxPoints?: number
  /** Peers tracked at most (default 10,000); the least penalised are forgotten first. */
  maxPeers?: number
  /** Clock (ms), for tests. */
  now?: () => number
}

export interface PenaltyBox {
  /** Adds `points` (default `perReject`) to `peer` (a PeerId string). */
  penalise: (peer: string, points?: number) => void
  /** The peer's current points (decayed), >= 0. */
  points: (peer: string) => number
  /** gossipsub's `appSpecificScore`: minus the points. */
  score: (peer: string) => number
}

export const PENALTY_DEFAULTS = { perReject: 1, halfLifeMs: 120_000, maxPoints: 1_000, maxPeers: 10_000 } as const

export function createPenaltyBox (init: PenaltyBoxInit = {}): PenaltyBox {
  const perReject = init.perReject ?? PENALTY_DEFAULTS.perReject
  const halfLifeMs = init.halfLifeMs ?? PENALTY_DEFAULTS.halfLifeMs
  const maxPoints = init.maxPoints ?? PENALTY_DEFAULTS.maxPoints
  const maxPeers = init.maxPeers ?? PENALTY_DEFAULTS.maxPeers
  const now = init.now ?? Date.now
  const entries = new Map<string, { points: number, at: number }>()

  const current = (peer: string): number => {
    const e = entries.get(peer)
    if (e == null) return 0
    const t = now()
    const points = e.points * Math.pow(0.5, Math.max(0, t - e.at) / halfLifeMs)
    if (points < 0.01) { entries.delete(peer); return 0 }
    e.points = points
    e.at = t
    return points
  }

  const forgetLeast = (): void => {
    let least: string | undefined
    let min = Infinity
    for (const peer of entries.keys()) {
      const p = current(peer)
      if (p < min && entries.has(peer)) { min = p; least = peer }
    }
    if (least != null) entries.delete(least)
  }

  return {
    penalise (peer, points = perReject) {
      if (!(points > 0)) return
      const p = Math.min(maxPoints, current(peer) + points)
      if (!entries.has(peer) && entries.size >= maxPeers) forgetLeast()
      entries.set(peer, { points: p, at: now() })
    },
    points: current,
    score: (peer) => -current(peer)
  }
}
