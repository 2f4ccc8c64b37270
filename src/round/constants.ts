/**
 * Defaults of the round driver that are not part of the task (the task carries the phase timeouts).
 */
export const ROUND_DEFAULTS = {
  /** Fallback leaders tried per attempt (rank 0 plus this many). */
  maxFallbacks: 3,
  /** Attempts of one round before the peer re-syncs with the swarm and starts over. */
  maxAttempts: 5,
  /** How long to wait for the topic mesh before the first publish. */
  meshTimeoutMs: 15_000,
  /** Early messages (later rounds / attempts) kept at most. */
  maxBufferedMessages: 2_000,
  /** ... and at most this many bytes of them. */
  maxBufferedBytes: 64 * 1024 * 1024,
  /** Result authors remembered per round (a flood of Results from fresh keys stops there). */
  maxResultsPerRound: 1_024,
  /**
   * gossipsub penalty points for the author of a Result that differs from this peer's own M[r] (one
   * rejected message costs 1; the gossip threshold is 10): a false claim cuts the author out of this
   * peer's gossip for a few minutes. An honest peer that disagrees has hit a bug, which is logged loudly.
   */
  mismatchPenalty: 10,
  syncTimeoutMs: 10_000,
  /** Fraction of the join window after which a peer pulls the attempt's messages from neighbours. */
  pullAt: 0.6,
  syncTries: 6,
  syncRetryMs: 500,
  maxSyncEnvelopes: 4_096,
  /** Peers asked at once for their head and chain links. */
  syncFanout: 3,
  /**
   * Forks (the driver's forks section): how many of its last rounds a peer gives up to take the chain
   * most of the swarm holds, and how many other base models of one round it keeps count of.
   */
  forkDepth: 5,
  maxForkBases: 16,
  /** Chain links in one sync answer (a longer chain takes several requests). */
  chainPageLinks: 256,
  /** Pages one chain sync fetches at most (so at most 1M rounds). */
  maxChainPages: 4_096,
  blobTimeoutMs: 30_000,
  /**
   * Direct shares (cohorts of `aggregation.sliceFrom` or more): tries to fetch this member's box from an
   * author's bundle blob, the n-th retry after n · boxRetryMs, each try bounded by boxFetchTimeoutMs.
   */
  boxFetchTries: 4,
  boxRetryMs: 500,
  boxFetchTimeoutMs: 10_000,
  /** Direct Unmask (same cohorts): tries to fetch a member's shares blob, each bounded by blobTimeoutMs, the n-th retry after n · boxRetryMs. */
  unmaskFetchTries: 3
} as const
