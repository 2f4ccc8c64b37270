/**
 * The round driver: runs RoundMachines one attempt after another for one peer. It owns the clock
 * (timers), the network (a SwarmChannel), local training (an UpdateSource), the vectors and the model;
 * the machine owns the rules. It also answers sync requests, tallies other peers' Results (reporting a
 * mismatch loudly) and catches up when this peer fell behind: it fetches the round-record chain from
 * its own model to a neighbour's head, verifies it (src/round/chain.ts) and adopts the head model by hash.
 */
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { RoundMachine, peerKey } from './machine.ts'
import type { Effect, RoundEvent, SecureAggregate, TimerName, Verdict } from './machine.ts'
import { SecureMember, boxSlot, bundleBlob, openUnmaskBlob, unmaskBlob, clipToNorm, effectiveNoiseMultiplier, recoverMasks, ringInput, ringScale } from './secure.ts'
import { SliceAggregation, fetchRangeRetrying, usesSlices } from './slices.ts'
import { retrying } from './retry.ts'
import { createPrivacyLedger } from '../dp/ledger.ts'
import type { LedgerEntry, PrivacyLedger } from '../dp/ledger.ts'
import { dequantizeSum, ringSum, unmaskSum } from '../secagg/index.ts'
import type { UnmaskInit, UnmaskRelease } from '../secagg/index.ts'
import type { SwarmChannel } from './channel.ts'
import { Phase } from './phases.ts'
import { ROUND_DEFAULTS } from './constants.ts'
import { RoundMessage, SyncRequest, SyncResponse } from '../wire/messages.ts'
import type { Member, Shares, SignedChain, Survivor } from '../wire/messages.ts'
import { openMessage, sealMessage, WireError } from '../wire/envelope.ts'
import type { VerifiedMessage } from '../wire/envelope.ts'
import { DEFAULT_INLINE_LIMIT, ENCODING_FLOAT32, ENCODING_RING32 } from '../wire/constants.ts'
import { bytesEqual, compareBytes, float32Bytes, float32FromBytes, fromHex, sha256, toHex, uint32Bytes, uint32FromBytes } from '../wire/hash.ts'
import { applyAverage, fedAvg } from '../aggregate/fedavg.ts'
import type { WeightedUpdate } from '../aggregate/fedavg.ts'
import type { Task } from '../config/types.ts'
import { DEFAULT_SLICE_FROM, DEFAULT_TIMEOUTS } from '../config/constants.ts'
import { LINK_FIELDS, chainEndingAt, linkProblem, rankChains } from './chain.ts'
import type { ChainAnswer, ChainCandidate, ChainLink } from './chain.ts'
import { openChainPage, signChainPage } from './chain-wire.ts'

export interface LocalUpdate {
  delta: Float32Array
  /** FedAvg weight: the number of local examples. */
  examples: number
  loss: number
  /** With DP-SGD: what local training did, for the privacy ledger. */
  privacy?: { steps: number, samplingRate: number, noiseMultiplier: number }
}

/** Local training, as the driver sees it. */
export interface UpdateSource {
  /** Whether this peer has data to train on (peers without data follow the swarm but do not join). */
  readonly eligible: boolean
  /** With DP-SGD: what one round of local training will cost (q = B/N, steps, σ), before it runs. */
  privacyCost?: () => { steps: number, samplingRate: number, noiseMultiplier: number } | undefined
  train (base: Float32Array, round: number, opts: { signal: AbortSignal }): Promise<LocalUpdate>
}

/**
 * What a peer records for a round it completed. `round`, `attempt`, `baseHash`, `cohortHash`,
 * `survivorsHash` and `modelHash` (the link's `resultHash`) are the round's canonical ChainLink, the same
 * on every honest peer; the rest is this peer's view. `linksFromRecords` (chain.ts) reads links back.
 */
export interface RoundRecord {
  round: number
  attempt: number
  modelHash: string
  /** h[r-1]: hash of the model the round started from. */
  baseHash: string
  cohortHash: string
  survivorsHash: string
  cohort: number
  survivors: number
  member: boolean
  leader: boolean
  /** How this peer got M[r]: aggregated itself, or fetched from the swarm after falling behind. */
  via: 'aggregate' | 'sync'
  startedAt: number
  endedAt: number
  /** Bytes this peer sent / received on the wire since its previous record. */
  roundSent: number
  roundReceived: number
  localLoss?: number
  /** This peer's ε (at the task's δ) after this round, with DP-FedAvg on. */
  epsilon?: number
  /**
   * Via 'sync': the verified links of the rounds before this one that the same sync adopted (oldest
   * first), so that the data dir holds the whole chain and a restarted peer can serve it.
   */
  syncedLinks?: ChainLink[]
  /**
   * Via 'sync' after a fork (the driver's forks section): the first round of this peer's own that this chain
   * replaced; its records from that round on describe rounds it gave up.
   */
  replacesFrom?: number
}

export interface DriverInit {
  task: Task
  taskId: string
  key: PrivateKey
  channel: SwarmChannel
  updates: UpdateSource
  /** M[start - 1]: the model this peer holds when it starts. */
  model: { round: number, params: Float32Array }
  /** Called after every round this peer completes (aggregated or synced). */
  onRound?: (record: RoundRecord, params: Float32Array) => void | Promise<void>
  log?: (line: string) => void
  /** Peers to wait for in the topic mesh before the first publish. Default 1. */
  meshPeers?: number
  /** Vectors larger than this many bytes travel as blobs. Default DEFAULT_INLINE_LIMIT. */
  inlineLimit?: number
  /** Stop after this round (default task.rounds). */
  lastRound?: number
  /**
   * The peer's privacy ledger (DP-FedAvg). Default: an empty in-memory one for the task's δ and
   * budget. A peer with a data dir passes the ledger it restored from there.
   */
  ledger?: PrivacyLedger
  /** Called after a round's privacy cost was spent (to persist it), before the round's record. */
  onPrivacySpent?: (entry: LedgerEntry) => void | Promise<void>
  /**
   * The round-record chain this peer completed before (a peer with a data dir passes
   * `linksFromRecords(await dir.roundRecords())`). Only the links that lead to `model` (walking back
   * through `baseHash` from round `model.round`) are kept; the peer serves them to late joiners.
   * Default: none (this peer can vouch for rounds it completes from now on only).
   */
  chain?: Iterable<ChainLink>
  /** Peers asked at once for their head and chain (default ROUND_DEFAULTS.syncFanout). */
  syncFanout?: number
  /** Observers of the driver's progress, e.g. for metrics and status (called synchronously; must not throw). */
  events?: DriverEvents
}

export interface DriverEvents {
  /** An attempt of `round` entered `phase`: `join` when it starts, `done` or `aborted` when it ends. */
  phase?(phase: Phase, round: number, attempt: number): void
  /** A gossip message was rejected in validation, with the logged reason. */
  rejected?(reason: string): void
}

interface Current {
  machine: RoundMachine
  timers: Map<TimerName, NodeJS.Timeout>
  /** Update envelopes held for this attempt, by envelope hash (hex). */
  envelopes: Map<string, VerifiedMessage>
  settle: (outcome: 'done' | 'aborted' | 'superseded') => void
  startedAt: number
  /** M[r] and its canonical bytes once aggregated, until the machine confirms. */
  pendingModel?: { params: Float32Array, bytes: Uint8Array }
  /** Secure aggregation: this member's keys, seeds and the shares it holds. */
  secure?: SecureMember
  /** In-network aggregation: SliceSum announcements taken so far, and the aggregation once it runs. */
  sliceOffers: Array<{ survivorsHash: string, index: number, sumHash: Uint8Array, from: string }>
  slices?: { survivorsHash: string, aggregation: SliceAggregation }
  /** Direct shares: this member's box fetches from other members' bundle blobs, by author PeerId, until settled. */
  boxFetches: Map<string, Promise<void>>
}

/** A chain most of the swarm holds that this peer's last rounds are not on (see the forks section of RoundDriver). */
interface Fork {
  /** The earliest round this peer gives up: its link's base is the anchor the other chain must start from. */
  from: number
  /** A model hash the other chain must contain (their base of this round, or their result of a round); any if absent. */
  want?: string
  /** The peers seen on it, asked first for it. */
  peers: string[]
  why: string
}

export class DriverError extends Error {
  override name = 'DriverError'
}

export class RoundDriver {
  private readonly init: DriverInit
  private readonly taskBytes: Uint8Array
  private readonly selfId: string
  private readonly selfBytes: Uint8Array
  private readonly log: (line: string) => void
  private readonly inlineLimit: number
  private params: Float32Array
  private modelHash: Uint8Array
  /** Last completed round (M[completed] is `params`). */
  private completed: number
  private round: number
  private attempt = 0
  private current?: Current
  private training?: { round: number, result?: LocalUpdate }
  /** Messages for rounds/attempts not started yet, by "round/attempt". */
  private readonly future = new Map<string, VerifiedMessage[]>()
  private futureCount = 0
  private futureBytes = 0
  /** Every message of the current and previous attempts, for sync answers. */
  private readonly history = new Map<string, Map<string, Uint8Array>>()
  /** Results seen: round -> (peer -> the chain link its Result describes). */
  private readonly results = new Map<number, Map<string, ChainLink & { survivors: number }>>()
  /** The verified round-record chain that leads to `params`, by round (served to peers that sync). */
  private readonly chainLinks = new Map<number, ChainLink>()
  private readonly ownResults = new Map<number, string>()
  /** Survivors of the rounds in `ownResults` (0: not known, e.g. synced). */
  private readonly ownSurvivors = new Map<number, number>()
  private readonly controller = new AbortController()
  /** Survivors of the last round this peer aggregated: the joins its next join window waits for. */
  private lastSurvivors = 0
  /** Pending onRound callbacks, in round order. */
  private callbacks: Promise<void> = Promise.resolve()
  /** Set when messages show the swarm is two or more rounds ahead: resync instead of retrying. */
  private behind = false
  /** Other peers seen in round `roundAuthorsOf` (any attempt), and those plus the round before's: see `followQuorum`. */
  private roundAuthors = new Set<string>()
  private electorateSet = new Set<string>()
  private roundAuthorsOf = 0
  /** Round messages of round `forkRound` built on another model than this peer's, by base (hex): their authors. */
  private readonly forkBases = new Map<string, Set<string>>()
  private forkRound = 0
  /** Set when most of the swarm is seen on another chain: leave the attempt and take that chain (see forks below). */
  private fork?: Fork
  /** After taking a fork's chain: the peers on it, asked for the next attempt's messages as it starts. */
  private pullFirst?: string[]
  /** Results of another peer for a round this peer completed that differ from its own in the model alone. */
  mismatches = 0
  /** Times this peer gave up its last round(s) for the chain most of the swarm holds. */
  forks = 0
  rejected = 0
  private lastTraffic = { sent: 0, received: 0 }
  readonly ledger: PrivacyLedger
  private budgetLogged = false

  constructor (init: DriverInit) {
    this.init = init
    this.taskBytes = fromHex(init.taskId)
    const peerId = peerIdFromPrivateKey(init.key)
    this.selfId = peerId.toString()
    this.selfBytes = peerId.toMultihash().bytes
    this.log = init.log ?? (() => {})
    this.inlineLimit = init.inlineLimit ?? DEFAULT_INLINE_LIMIT
    this.ledger = init.ledger ?? createPrivacyLedger({ delta: init.task.privacy.delta, targetEpsilon: init.task.privacy.targetEpsilon })
    this.params = init.model.params
    this.modelHash = fromHex(init.channel.putBlob(float32Bytes(this.params)))
    this.completed = init.model.round
    this.round = this.completed + 1
    for (const l of chainEndingAt(init.chain ?? [], { round: this.completed, model: toHex(this.modelHash) })) this.chainLinks.set(l.round, l)
    init.channel.listen(async (data) => await this.onGossip(data))
    init.channel.serveSync(async (req) => await this.answerSync(req))
  }

  get lastRound (): number {
    return this.init.lastRound ?? this.init.task.rounds
  }

  get currentRound (): number { return this.round }
  get currentAttempt (): number { return this.attempt }
  get currentPhase (): Phase | undefined { return this.current?.machine.phase }
  get model (): { round: number, params: Float32Array, hash: string } {
    return { round: this.completed, params: this.params, hash: toHex(this.modelHash) }
  }

  /** The round-record chain this peer holds (and serves), oldest first; it ends at `model`. */
  get chain (): ChainLink[] {
    return [...this.chainLinks.values()].sort((a, b) => a.round - b.round)
  }

  /** Runs rounds until the last one is done or the signal aborts. */
  async run (opts: { signal?: AbortSignal } = {}): Promise<void> {
    const signal = anySignal([this.controller.signal, opts.signal])
    // Price the next round now: the ledger's PLD of a new (q, σ, steps) takes a second or more of CPU
    // the first time (then cached), better spent here than inside a round's join window.
    if (this.privacyOn) void this.budgetSpent
    try {
      await this.init.channel.waitForMesh({ minPeers: this.init.meshPeers ?? 1, timeoutMs: ROUND_DEFAULTS.meshTimeoutMs, signal })
      await this.syncHead(signal)
      await this.loop(signal)
    } finally {
      await this.callbacks
    }
  }

  private async loop (signal: AbortSignal): Promise<void> {
    const t = this.init.task
    while (!signal.aborted && this.completed < this.lastRound) {
      this.round = this.completed + 1
      const outcome = this.fork != null ? 'aborted' : await this.runAttempt(signal)
      if (signal.aborted) break
      if (outcome === 'aborted') {
        if (this.fork != null && await this.resolveFork(signal)) continue
        if (await this.catchUp(this.round, signal)) continue
        if (this.behind) {
          this.behind = false
          const before = this.completed
          await this.syncHead(signal)
          if (this.completed > before || await this.syncAcrossFork(signal)) continue
        }
        this.attempt++
        if (this.attempt > ROUND_DEFAULTS.maxAttempts) {
          this.log(`round ${this.round}: giving up after ${this.attempt} attempts; syncing`)
          await this.syncHead(signal)
          await sleep(t.timeouts.joinMs, signal)
        }
      }
    }
  }

  stop (): void {
    this.controller.abort()
  }

  // ---------------------------------------------------------------- attempts

  private startTraining (signal: AbortSignal): void {
    if (this.training?.round === this.round || !this.init.updates.eligible || !this.withinBudget()) return
    const round = this.round
    const base = this.params
    const tr: NonNullable<RoundDriver['training']> = { round }
    this.training = tr
    this.init.updates.train(base, round, { signal }).then(r => {
      tr.result = r
      if (this.current != null && this.round === round) this.feed({ type: 'trained' })
    }, err => {
      if (!signal.aborted) this.log(`round ${round}: local training failed: ${(err as Error).message}`)
    })
  }

  private async runAttempt (signal: AbortSignal): Promise<'done' | 'aborted' | 'superseded'> {
    const t = this.init.task
    const secure = t.secureAggregation
      ? new SecureMember({ ctx: { task: this.taskBytes, round: this.round, attempt: this.attempt }, self: this.selfBytes })
      : undefined
    const machine = new RoundMachine({
      task: this.taskBytes,
      round: this.round,
      attempt: this.attempt,
      base: this.modelHash,
      self: this.selfBytes,
      selfId: this.selfId,
      cohortSize: t.cohort.size,
      minSurvivors: t.cohort.minSurvivors,
      modelLength: this.params.length,
      joinMs: t.timeouts.joinMs,
      cohortMs: t.timeouts.cohortMs,
      updateMs: t.timeouts.updateMs,
      survivorsMs: t.timeouts.survivorsMs,
      maxFallbacks: ROUND_DEFAULTS.maxFallbacks,
      eligible: this.init.updates.eligible && this.withinBudget(),
      expectedJoins: this.lastSurvivors,
      // Without secure aggregation the keys are never used, but Join keeps one shape.
      encPub: secure?.keys.enc.publicKey ?? sha256(this.selfBytes, Uint8Array.of(1)),
      maskPub: secure?.keys.mask.publicKey ?? sha256(this.selfBytes, Uint8Array.of(2)),
      addrs: this.init.channel.addresses(),
      secure: t.secureAggregation,
      secureThreshold: t.cohort.threshold,
      clipNorm: t.aggregation.clipNorm,
      weightCap: t.aggregation.weighting === 'uniform' ? 1 : t.aggregation.weightCap,
      dpNoise: t.privacy.dpFedAvg ? t.privacy.fedAvgNoise : 0
    })
    const done = new Promise<'done' | 'aborted' | 'superseded'>((resolve) => {
      this.current = { machine, timers: new Map(), envelopes: new Map(), settle: resolve, startedAt: Date.now(), secure, sliceOffers: [], boxFetches: new Map() }
    })
    const onAbort = (): void => this.current?.settle('aborted')
    signal.addEventListener('abort', onAbort, { once: true })
    this.startTraining(signal)
    this.init.events?.phase?.(Phase.Join, this.round, this.attempt)
    this.feed({ type: 'start' })
    if (this.training?.result != null && this.training.round === this.round) this.feed({ type: 'trained' })
    // Replay messages that arrived early for this attempt.
    const key = `${this.round}/${this.attempt}`
    const early = this.future.get(key) ?? []
    // Take this attempt's early messages and drop those of attempts that will never run.
    for (const [k, list] of [...this.future]) {
      const [r, a] = k.split('/').map(Number)
      if (k !== key && (r > this.round || (r === this.round && a > this.attempt))) continue
      this.future.delete(k)
      this.futureCount -= list.length
      for (const vm of list) this.futureBytes -= vm.bytes.byteLength
    }
    for (const vm of early) this.accept(vm)
    if (this.pullFirst != null) {
      void this.pullAttempt(signal, this.pullFirst)
      this.pullFirst = undefined
    }
    // Gossip is best-effort and a peer that just (re)started missed what was sent before it joined the
    // mesh: before the join window closes, ask neighbours for this attempt's messages.
    const pull = setTimeout(() => { void this.pullAttempt(signal) }, Math.round(this.init.task.timeouts.joinMs * ROUND_DEFAULTS.pullAt))
    const outcome = await done
    clearTimeout(pull)
    signal.removeEventListener('abort', onAbort)
    const cur = this.current
    if (cur != null) for (const tm of cur.timers.values()) clearTimeout(tm)
    this.current = undefined
    // Keep history of the last two rounds only.
    for (const k of this.history.keys()) {
      if (Number(k.split('/')[0]) < this.round - 1) this.history.delete(k)
    }
    return outcome
  }

  private feed (ev: RoundEvent): void {
    const cur = this.current
    if (cur == null) return
    let effects: Effect[]
    try {
      effects = cur.machine.handle(ev, Date.now())
    } catch (err) {
      this.log(`round ${this.round}: state machine error: ${(err as Error).message}`)
      cur.settle('aborted')
      return
    }
    for (const e of effects) this.effect(cur, e)
  }

  private effect (cur: Current, e: Effect): void {
    const r = this.round
    switch (e.type) {
      case 'publish':
        void this.publish(e.message)
        return
      case 'publish-update':
        void this.publishUpdate(cur, e.cohortHash, e.maskSet, e.scale)
        return
      case 'publish-shares':
        void this.publishShares(cur, e.cohortHash, e.members, e.threshold)
        return
      case 'open-shares':
        this.openShares(cur, e.from, e.shares, e.members)
        return
      case 'publish-unmask':
        void this.publishUnmask(cur, e.release, e.maskSet, e.survivorsHash)
        return
      case 'fetch-unmask':
        void this.fetchUnmask(cur, e.peer, e.survivorsHash, e.sharesHash, cur.machine.maskSet?.list.length ?? 0)
        return
      case 'set-timer': {
        clearTimeout(cur.timers.get(e.name))
        cur.timers.set(e.name, setTimeout(() => { if (this.current === cur) this.feed({ type: 'timer', name: e.name }) }, e.ms))
        return
      }
      case 'clear-timer':
        clearTimeout(cur.timers.get(e.name))
        cur.timers.delete(e.name)
        return
      case 'fetch-updates':
        void this.fetchUpdates(cur, e.updates)
        return
      case 'aggregate':
        void this.aggregate(cur, e.survivors, e.secure)
        return
      case 'done':
        void this.finish(cur, e.modelHash, e.survivorsHash, e.survivors, e.cohort)
        return
      case 'abort':
        this.log(`round ${r} attempt ${this.attempt}: aborted: ${e.reason}`)
        cur.settle('aborted')
        return
      case 'phase':
        this.init.events?.phase?.(e.to, r, this.attempt)
        // The join window closed: if most of the swarm is in a later attempt, go there now.
        if (e.to === Phase.Cohort) queueMicrotask(() => { if (this.current === cur) this.followLater() })
        if (e.to === Phase.Survivors && this.init.task.secureAggregation) this.prefetchSlices(cur)
        // Waiting on other peers' messages from here on: if gossip lost some (the mask set, acks, shares),
        // pull them from neighbours while the phase lasts.
        if (e.to === Phase.Cohort || e.to === Phase.Shares || e.to === Phase.Survivors || e.to === Phase.Unmask) {
          const t = this.init.task.timeouts
          setTimeout(() => {
            if (this.current === cur && cur.machine.phase === e.to) void this.pullAttempt(this.controller.signal)
          }, Math.round(e.to === Phase.Survivors || e.to === Phase.Unmask ? 0.4 * t.survivorsMs : 1.5 * t.cohortMs))
        }
        return
      case 'penalize':
        this.log(`round ${r}: peer ${e.peer} misbehaved: ${e.reason}`)
    }
  }

  // ---------------------------------------------------------------- publishing

  private async publish (message: RoundMessage): Promise<void> {
    const bytes = await sealMessage(this.init.key, message)
    // Our own messages go through the same path as everyone else's.
    const vm = await openMessage(bytes, Infinity)
    this.accept(vm)
    try {
      await this.init.channel.publish(bytes, this.floods(message) ? undefined : { flood: false })
    } catch (err) {
      this.log(`publish failed: ${(err as Error).message}`)
    }
  }

  /**
   * Whether `message` goes to every connected subscriber (gossipsub's flood publishing, the router's
   * default) or to the mesh only. Tasks whose cohorts sum in slices (secure aggregation, cohort size of at
   * least `aggregation.sliceFrom`) send their members' small round messages to the mesh only: flooded,
   * every peer received each of them about once more for each mesh neighbour relaying it (50 peers: the
   * round messages a peer received in a round went from 0.53 to 0.38 MB without it). The leader's
   * cohort, mask set and survivor list are flooded in every task (one message each that every peer
   * needs), and so is everything in other tasks: in small ones flooding costs little and carries a round
   * through gossip loss (the chaos test with 15% loss did not finish in 400 s without it), and without
   * secure aggregation, where the updates themselves are gossiped, it stays as it was (the plain 50-peer
   * bench received 93 MB a member and round mesh-only and 87–108 MB flooded: no gain measured either way).
   */
  private floods (message: RoundMessage): boolean {
    const t = this.init.task
    if (!t.secureAggregation || !usesSlices(t.cohort.size, t.aggregation.sliceFrom ?? DEFAULT_SLICE_FROM)) return true
    return message.cohort != null || message.maskSet != null || message.survivors != null
  }

  private header (cur: Current): Pick<RoundMessage, 'task' | 'round' | 'attempt' | 'base'> {
    const p = cur.machine.params
    return { task: p.task as Uint8Array<ArrayBuffer>, round: p.round, attempt: p.attempt, base: p.base as Uint8Array<ArrayBuffer> }
  }

  /**
   * Publishes this member's update: clipped to the task's L2 norm, weighted by min(examples, cap); with
   * secure aggregation scaled by weight / cap, quantized at `scale` and masked for `maskSet`.
   */
  private async publishUpdate (cur: Current, cohortHash: Uint8Array, maskSet?: Member[], scale?: number): Promise<void> {
    const up = this.training?.round === this.round ? this.training.result : undefined
    if (up == null) return
    try {
      await this.spendPrivacy(up)
    } catch (err) {
      this.log(`round ${this.round}: not sending the update: could not record its privacy cost: ${(err as Error).message}`)
      return
    }
    const a = this.init.task.aggregation
    const { delta, norm, clipped } = clipToNorm(up.delta, a.clipNorm)
    if (clipped) this.log(`round ${this.round}: update clipped from L2 norm ${norm.toFixed(3)} to ${a.clipNorm}`)
    const weight = a.weighting === 'uniform' ? 1 : Math.min(up.examples, a.weightCap)
    let vector: Uint8Array
    let encoding = ENCODING_FLOAT32
    if (maskSet != null && scale != null) {
      if (cur.secure == null) return
      const factor = a.weighting === 'uniform' ? 1 : weight / a.weightCap
      const p = this.init.task.privacy
      const noise = p.dpFedAvg && cur.machine.cohort != null ? { sigma: p.fedAvgNoise, threshold: cur.machine.cohort.threshold } : undefined
      vector = uint32Bytes(cur.secure.mask(ringInput(delta, factor, a.clipNorm, scale, undefined, noise), maskSet))
      encoding = ENCODING_RING32
    } else {
      vector = float32Bytes(delta)
    }
    const blobHash = fromHex(this.init.channel.putBlob(vector))
    await this.publish({
      ...this.header(cur),
      update: {
        cohortHash: cohortHash as Uint8Array<ArrayBuffer>,
        weight,
        encoding,
        length: up.delta.length,
        // In-network aggregation fetches slices of the vector from its author: gossip only its hash.
        vector: (vector.byteLength <= this.inlineLimit && !(maskSet != null && this.sliced(maskSet.length)) ? vector : new Uint8Array(0)) as Uint8Array<ArrayBuffer>,
        blobHash: blobHash as Uint8Array<ArrayBuffer>,
        scale: scale ?? 0
      }
    })
  }

  /** Secure aggregation: splits and seals this member's secrets for the cohort and publishes the bundle. */
  private async publishShares (cur: Current, cohortHash: Uint8Array, members: Member[], threshold: number): Promise<void> {
    if (cur.secure == null) return
    try {
      const { seedCommit, boxes } = await cur.secure.makeShares(members, threshold)
      const shares = { cohortHash: cohortHash as Uint8Array<ArrayBuffer>, seedCommit: seedCommit as Uint8Array<ArrayBuffer>, boxes, bundleHash: new Uint8Array(0), boxBytes: 0 }
      if (this.sliced(members.length) && boxes.length > 0) {
        // Direct: the boxes stay here as one blob and each recipient fetches its own (gossip carries the
        // bundle's hash, not n − 1 boxes that every peer would receive several times over).
        const blob = bundleBlob(boxes)
        shares.bundleHash = fromHex(this.init.channel.putBlob(blob.bytes)) as Uint8Array<ArrayBuffer>
        shares.boxBytes = blob.boxBytes
        shares.boxes = []
      }
      await this.publish({ ...this.header(cur), shares })
    } catch (err) {
      this.log(`round ${this.round}: could not share keys: ${(err as Error).message}`)
    }
  }

  /** Releases this member's shares for a survivor list, once its box fetches (direct shares) have settled. */
  private async publishUnmask (cur: Current, release: UnmaskRelease, maskSet: Uint8Array[], survivorsHash: Uint8Array): Promise<void> {
    if (cur.secure == null) return
    if (cur.boxFetches.size > 0) await Promise.all(cur.boxFetches.values())
    if (this.current !== cur) return
    const shares = cur.secure.unmaskShares(release, maskSet)
    if (this.sliced(maskSet.length)) {
      // Direct: the shares stay here as one blob, fetched by hash by every peer (and served on by those
      // that have it), instead of gossiping them to every peer several times over.
      const sharesHash = fromHex(this.init.channel.putBlob(unmaskBlob(shares)))
      await this.publish({ ...this.header(cur), unmask: { survivorsHash: survivorsHash as Uint8Array<ArrayBuffer>, shares: [], sharesHash: sharesHash as Uint8Array<ArrayBuffer> } })
      return
    }
    await this.publish({ ...this.header(cur), unmask: { survivorsHash: survivorsHash as Uint8Array<ArrayBuffer>, shares, sharesHash: new Uint8Array(0) } })
  }

  /**
   * Direct Unmask: fetches `peer`'s shares blob by hash (from it first, then from any peer that has it),
   * checks it fits the mask set and hands the shares to the machine. Never throws: an Unmask that cannot
   * be had is one fewer (spare unmaskers stand in if too few remain).
   */
  private async fetchUnmask (cur: Current, peer: string, survivorsHash: Uint8Array, sharesHash: Uint8Array, members: number): Promise<void> {
    const hex = toHex(sharesHash)
    const signal = this.controller.signal
    let bytes: Uint8Array
    try {
      bytes = this.init.channel.getBlob(hex) ?? await retrying(async () => await this.init.channel.fetchBlob(hex, { prefer: [peer], timeoutMs: this.patient(ROUND_DEFAULTS.blobTimeoutMs), signal }),
        { tries: ROUND_DEFAULTS.unmaskFetchTries, retryMs: ROUND_DEFAULTS.boxRetryMs, signal })
    } catch (err) {
      if (!signal.aborted && this.current === cur) this.log(`round ${this.round}: unmask shares of ${peer} could not be had: ${(err as Error).message}`)
      return
    }
    if (this.current !== cur) return
    let shares: Uint8Array[]
    try {
      shares = openUnmaskBlob(bytes, members)
    } catch (err) {
      this.log(`round ${this.round}: peer ${peer} misbehaved: ${(err as Error).message}`)
      this.init.channel.penalise?.(peer, ROUND_DEFAULTS.mismatchPenalty)
      return
    }
    this.feed({ type: 'unmask-shares', peer, survivorsHash, shares })
  }

  private openShares (cur: Current, from: Member, shares: Shares, members: Member[]): void {
    if (shares.bundleHash.byteLength > 0) {
      const author = peerKey(from.peer)
      if (!cur.boxFetches.has(author)) cur.boxFetches.set(author, this.fetchBox(cur, from, shares, members))
      return
    }
    try {
      cur.secure?.openBundle(from, shares.boxes, members)
    } catch (err) {
      // This member cannot release shares of that peer; t others can.
      this.log(`round ${this.round}: key shares from ${peerKey(from.peer)} do not open: ${(err as Error).message}`)
    }
  }

  /**
   * Direct shares: fetches this member's box from `from`'s bundle blob (a byte range, from its author
   * only) and opens it. Never throws: a box that cannot be had or does not open leaves this member without
   * shares of `from` (its slot in the Unmask is empty), as an inline box that does not open would.
   */
  private async fetchBox (cur: Current, from: Member, shares: Shares, members: Member[]): Promise<void> {
    const author = peerKey(from.peer)
    const settle = (opened: boolean, why?: string): void => {
      if (why != null) this.log(`round ${this.round}: key shares from ${author} could not be had: ${why}`)
      if (this.current === cur) this.feed({ type: 'box', peer: author, opened })
    }
    const slot = boxSlot(from.peer, this.selfBytes, members)
    if (cur.secure == null || slot < 0) return settle(false, 'this peer has no box in that bundle')
    let box: Uint8Array
    try {
      box = await fetchRangeRetrying(this.init.channel, toHex(shares.bundleHash), slot * shares.boxBytes, shares.boxBytes, {
        from: author, timeoutMs: this.patient(ROUND_DEFAULTS.boxFetchTimeoutMs), signal: this.controller.signal, tries: ROUND_DEFAULTS.boxFetchTries, retryMs: ROUND_DEFAULTS.boxRetryMs
      })
    } catch (err) {
      return settle(false, (err as Error).message)
    }
    try {
      cur.secure.openBox(from, box)
    } catch (err) {
      return settle(false, `the box does not open: ${(err as Error).message}`)
    }
    settle(true)
  }

  // ---------------------------------------------------------------- receiving

  private async onGossip (data: Uint8Array): Promise<Verdict> {
    let vm: VerifiedMessage
    try {
      vm = await openMessage(data)
    } catch (err) {
      this.rejected++
      const reason = err instanceof WireError ? err.message : 'undecodable message'
      this.init.events?.rejected?.(reason)
      return { action: 'reject', reason }
    }
    const verdict = this.check(vm)
    if (verdict.action === 'reject') {
      this.rejected++
      this.init.events?.rejected?.(verdict.reason)
    }
    if (verdict.action === 'accept') queueMicrotask(() => this.accept(vm))
    return verdict
  }

  /** Round-independent checks, then the current machine's. */
  private check (vm: VerifiedMessage): Verdict {
    const m = vm.message
    if (!bytesEqual(m.task, this.taskBytes)) return { action: 'reject', reason: 'wrong task' }
    if (m.round < 1 || m.round > this.lastRound) return { action: 'reject', reason: `round ${m.round} outside 1..${this.lastRound}` }
    if (m.result != null) {
      if (m.result.modelHash.byteLength !== 32 || m.result.survivorsHash.byteLength !== 32 || (m.result.cohortHash != null && m.result.cohortHash.byteLength !== 32)) return { action: 'reject', reason: 'malformed result' }
      // (survivors rank forks: no round has more than the cohort size)
      if (m.result.survivors > this.init.task.cohort.size) return { action: 'reject', reason: `result with ${m.result.survivors} survivors, more than the cohort size ${this.init.task.cohort.size}` }
      return { action: 'accept' }
    }
    // Still rejected below (wrong base), but counted: most of the swarm on another model is a fork.
    if (m.round === this.round && !bytesEqual(m.base, this.modelHash)) this.noteOtherBase(vm)
    if (m.round < this.round || (m.round === this.round && m.attempt < this.attempt)) return { action: 'ignore', reason: 'stale round' }
    if (m.round > this.round || m.attempt > this.attempt || this.current == null) {
      if (m.round === this.round && !bytesEqual(m.base, this.modelHash)) return { action: 'reject', reason: 'wrong base model' }
      if (this.futureCount >= ROUND_DEFAULTS.maxBufferedMessages || this.futureBytes + vm.bytes.byteLength > ROUND_DEFAULTS.maxBufferedBytes) {
        return { action: 'ignore', reason: 'too many early messages' }
      }
      return { action: 'accept' }
    }
    return this.current.machine.validate(vm)
  }

  private accept (vm: VerifiedMessage): void {
    const m = vm.message
    if (m.result != null) return this.onResult(vm)
    const key = `${m.round}/${m.attempt}`
    const hash = sha256(vm.bytes)
    const hex = toHex(hash)
    let h = this.history.get(key)
    if (h == null) { h = new Map(); this.history.set(key, h) }
    h.set(hex, vm.bytes)
    if (m.round === this.round) this.noteRoundAuthor(vm.authorId)
    const cur = this.current
    if (cur != null && m.round === this.round && m.attempt === this.attempt) {
      // Re-check: state may have moved since validation (e.g. a duplicate arrived meanwhile).
      const v = cur.machine.validate(vm)
      if (v.action !== 'accept') return
      if (m.update != null) cur.envelopes.set(hex, vm)
      if (m.join != null) this.init.channel.learnAddresses(vm.authorId, m.join.addrs)
      if (m.sliceSum != null) {
        const o = { survivorsHash: toHex(m.sliceSum.survivorsHash), index: m.sliceSum.index, sumHash: m.sliceSum.sumHash, from: vm.authorId }
        cur.sliceOffers.push(o)
        if (cur.slices?.survivorsHash === o.survivorsHash) cur.slices.aggregation.offer(o.index, o.sumHash, o.from)
      }
      this.feed({ type: 'message', message: vm, hash })
      return
    }
    if (m.round === this.round && m.attempt > this.attempt) {
      // The swarm may have moved to a later attempt of this round: follow the latest attempt that a
      // quorum of peers is in. One message is not enough: any key can sign a Join for any attempt.
      this.pushFuture(key, vm)
      this.followLater()
      return
    }
    if (m.round > this.round || cur == null) {
      this.pushFuture(key, vm)
      if (m.round > this.round + 1 && !this.behind && this.laterSupport((r) => r > this.round + 1) >= this.followQuorum()) {
        this.behind = true
        cur?.settle('aborted')
      }
    }
  }

  /** Brings the author sets to the current round: this round's start empty, the last round's carry over. */
  private rollAuthors (): void {
    if (this.roundAuthorsOf === this.round) return
    const previous = this.roundAuthorsOf === this.round - 1 ? this.roundAuthors : new Set<string>()
    this.roundAuthors = new Set()
    this.electorateSet = new Set(previous)
    this.roundAuthorsOf = this.round
  }

  private noteRoundAuthor (author: string): void {
    this.rollAuthors()
    if (author === this.selfId || this.roundAuthors.size >= ROUND_DEFAULTS.maxBufferedMessages) return
    this.roundAuthors.add(author)
    this.electorateSet.add(author)
  }

  /** Peers this peer saw take part in this round or the one before (empty right after a start). */
  private electorate (): ReadonlySet<string> {
    this.rollAuthors()
    return this.electorateSet
  }

  /**
   * How many distinct peers must be seen in a later attempt or round (or must have announced a later
   * Result) before this peer leaves its attempt for it ahead of its own timeout: enough for a round to
   * complete with this peer (minSurvivors − 1 others), and more than half of the peers it saw take part
   * in this round or the last. Any key can sign a message for any attempt or round, so moving or
   * aborting a peer takes that many keys, not one; a group of peers that is ahead (peers that started
   * later, the other side of a healed partition) is followed as soon as most of the swarm is there.
   * Without a quorum the peer moves on when its own attempt times out, as it would anyway.
   */
  private followQuorum (): number {
    return Math.max(1, this.init.task.cohort.minSurvivors - 1, Math.floor(this.electorate().size / 2) + 1)
  }

  /**
   * Every other author of a buffered message or a Result whose (round, attempt) `later` selects, with
   * the furthest such position it reached (`rank`, larger is further).
   */
  private laterAuthors (later: (round: number, attempt: number) => boolean, rank: (round: number, attempt: number) => number): Map<string, number> {
    const furthest = new Map<string, number>()
    const note = (peer: string, r: number, a: number): void => {
      if (peer === this.selfId || !later(r, a)) return
      furthest.set(peer, Math.max(furthest.get(peer) ?? -Infinity, rank(r, a)))
    }
    for (const [k, list] of this.future) {
      const [r, a] = k.split('/').map(Number)
      for (const vm of list) note(vm.authorId, r, a)
    }
    for (const [r, tally] of this.results) for (const [peer, link] of tally) note(peer, r, link.attempt)
    return furthest
  }

  /** Distinct other authors of buffered messages and of Results whose (round, attempt) `later` selects. */
  private laterSupport (later: (round: number, attempt: number) => boolean): number {
    return this.laterAuthors(later, () => 0).size
  }

  /**
   * The latest attempt of the current round that a quorum of peers has reached (this.attempt if none).
   * When this peer's own attempt is deserted (its join window closed with fewer joiners than a quorum:
   * most of the swarm is elsewhere, e.g. peers that started at different times), minSurvivors − 1
   * peers ahead are enough, so that a scattered swarm gathers in its latest attempt as before.
   */
  private followableAttempt (): number {
    const need = this.followQuorum()
    const cur = this.current
    const deserted = cur != null && cur.machine.phase !== Phase.Join && cur.machine.joins.size - (cur.machine.joins.has(this.selfId) ? 1 : 0) < need
    const few = Math.max(1, this.init.task.cohort.minSurvivors - 1)
    // One pass: how far each peer ahead got (a later round counts as beyond every attempt); the
    // `support`-th furthest position is the latest attempt that many peers have reached.
    const ahead = this.laterAuthors((r, a) => r > this.round || (r === this.round && a > this.attempt), (r, a) => r > this.round ? Infinity : a)
    const positions = [...ahead.values()].sort((x, y) => y - x)
    const support = deserted ? Math.min(need, few) : need
    if (positions.length < support) return this.attempt
    const reached = positions[support - 1]
    // the latest attempt of this round with buffered messages that is not beyond `reached`
    let to = this.attempt
    for (const k of this.future.keys()) {
      const [r, a] = k.split('/').map(Number)
      if (r === this.round && a > to && a <= reached) to = a
    }
    return to
  }

  /** Moves to a later attempt of this round if `followableAttempt` finds one, superseding the current one. */
  private followLater (): void {
    const to = this.followableAttempt()
    if (to <= this.attempt) return
    this.log(`round ${this.round}: moving from attempt ${this.attempt} to ${to}`)
    this.attempt = to
    this.current?.settle('superseded')
  }

  private pushFuture (key: string, vm: VerifiedMessage): void {
    let list = this.future.get(key)
    if (list == null) { list = []; this.future.set(key, list) }
    list.push(vm)
    this.futureCount++
    this.futureBytes += vm.bytes.byteLength
  }

  private onResult (vm: VerifiedMessage): void {
    const m = vm.message
    const r = m.round
    const hex = toHex(m.result!.modelHash)
    let tally = this.results.get(r)
    if (tally == null) { tally = new Map(); this.results.set(r, tally) }
    if (!tally.has(vm.authorId) && tally.size >= ROUND_DEFAULTS.maxResultsPerRound) return
    // A Result and its header are the round's whole chain link (cohortHash: '' from older peers).
    tally.set(vm.authorId, {
      round: r, attempt: m.attempt, baseHash: toHex(m.base), cohortHash: m.result!.cohortHash != null ? toHex(m.result!.cohortHash) : '', survivorsHash: toHex(m.result!.survivorsHash), resultHash: hex, survivors: m.result!.survivors
    })
    const own = this.ownResults.get(r)
    if (own != null) {
      this.compareResult(r, vm.authorId, hex, own)
      this.considerResultFork(r, own)
    }
    // Someone finished a round this peer has not: if we are mid-way in an earlier round, or retrying
    // this round after an attempt that others completed, catch up (adopt their model by hash).
    const ahead = (rr: number, a: number): boolean => rr > this.round || (rr === this.round && a < this.attempt)
    if (this.current != null && ahead(r, m.attempt) && this.laterSupport(ahead) >= this.followQuorum()) {
      this.log(`round ${this.round}: the swarm finished round ${r}${r === this.round ? ` in attempt ${m.attempt}` : ''}; catching up`)
      this.current.settle('aborted')
    }
    for (const k of this.results.keys()) if (k < this.completed - 5) this.results.delete(k)
    for (const k of this.ownResults.keys()) if (k < this.completed - 5) { this.ownResults.delete(k); this.ownSurvivors.delete(k) }
  }

  /**
   * Reports loudly when another peer's M[r] differs from ours for the same round link (same attempt, base,
   * cohort and survivor list): Invariant 1 is broken, or the peer lies. A Result of another link is a
   * fork (another attempt or base completed by other peers), settled by `considerResultFork`.
   */
  private compareResult (round: number, peer: string, theirs: string, ours: string): void {
    if (theirs === ours || peer === this.selfId) return
    const mine = this.chainLinks.get(round)
    const their = this.results.get(round)?.get(peer)
    if (mine != null && their != null && (LINK_FIELDS.filter(f => f !== 'resultHash') as Array<keyof ChainLink>).some(f => their[f] !== mine[f])) return
    this.mismatches++
    this.init.channel.penalise?.(peer, ROUND_DEFAULTS.mismatchPenalty)
    this.log(`MODEL MISMATCH in round ${round}: ${peer} has ${theirs.slice(0, 16)}, this peer has ${ours.slice(0, 16)}`)
  }

  // ---------------------------------------------------------------- forks

  /*
   * A fork: peers that completed the same round differently (a partition that let both sides reach
   * minSurvivors, or a few peers whose attempt timed out and who completed a later attempt alone while
   * the rest completed the earlier one). Left alone, each side rejects the other's messages (wrong base)
   * and penalises their authors until they stop gossiping with each other: the swarm stays split. So a
   * peer leaves its chain for another one, fetched from the peers on it (anchored at one of its own links
   * at most `forkDepth` rounds back) and adopted like any synced chain, when
   * - Results of a round it completed, from a quorum (`followQuorum`) of peers, name a link that ranks
   *   higher than its own: more survivors, then the smaller model hash (`considerResultFork`); or
   * - more peers than it sees on its own chain this round (itself included), and a quorum, send messages of
   *   its current round built on another model (`noteOtherBase`), or are ahead on a chain that does not
   *   start from its model (`syncAcrossFork`).
   * The rounds it gives up stay spent in its privacy ledger. Any key can sign messages, so, as for
   * catching up, moving a peer takes at least a quorum of keys.
   */

  /** A message of this round built on another model: counts its author for that model. */
  private noteOtherBase (vm: VerifiedMessage): void {
    if (this.forkRound !== this.round) { this.forkBases.clear(); this.forkRound = this.round }
    const hex = toHex(vm.message.base)
    let authors = this.forkBases.get(hex)
    if (authors == null) {
      if (this.forkBases.size >= ROUND_DEFAULTS.maxForkBases) return
      authors = new Set()
      this.forkBases.set(hex, authors)
    }
    if (authors.has(vm.authorId) || authors.size >= ROUND_DEFAULTS.maxResultsPerRound) return
    authors.add(vm.authorId)
    this.rollAuthors()
    const ours = this.roundAuthors.size + 1
    const own = toHex(this.modelHash)
    if (authors.size >= this.followQuorum() && authors.size > ours) {
      this.startFork(hex, [...authors], `${authors.size} peers build round ${this.round} on model ${hex.slice(0, 12)}…, ${ours} (this peer included) on ${own.slice(0, 12)}…`)
    }
  }

  /**
   * After a Result for round `round` (completed here with model `own`): did a quorum of peers complete
   * it on another link that ranks higher? Links rank by their survivors (the larger sum), then by the
   * smaller model hash: a property of the link, the same on every peer whatever Results it has seen, so
   * two sides never each take the other's chain.
   */
  private considerResultFork (round: number, own: string): void {
    const byModel = new Map<string, { peers: string[], survivors: number }>()
    for (const [peer, l] of this.results.get(round) ?? []) {
      if (peer === this.selfId || l.resultHash === own) continue
      const e = byModel.get(l.resultHash)
      if (e == null) byModel.set(l.resultHash, { peers: [peer], survivors: l.survivors })
      else e.peers.push(peer)
    }
    const survivors = this.ownSurvivors.get(round) ?? 0
    for (const [model, e] of byModel) {
      if (e.peers.length < this.followQuorum()) continue
      if (e.survivors > survivors || (e.survivors === survivors && model < own)) {
        this.startFork(model, e.peers, `${e.peers.length} peers completed round ${round} with model ${model.slice(0, 12)}… of ${e.survivors} survivors, this peer with ${own.slice(0, 12)}… of ${survivors}`)
        return
      }
    }
  }

  /**
   * After a sync found no chain from this peer's model to the head of peers ahead: they may be on another
   * chain. Takes it if they are a quorum and more than the peers seen on this peer's chain this round.
   */
  private async syncAcrossFork (signal: AbortSignal): Promise<boolean> {
    const ahead = [...this.laterAuthors(r => r >= this.round, () => 0).keys()]
    this.rollAuthors()
    const ours = this.roundAuthors.size + 1
    if (ahead.length < this.followQuorum() || ahead.length <= ours) return false
    this.startFork(undefined, ahead, `${ahead.length} peers are ahead, on a chain that does not start from this peer's model (${ours} seen on it, this peer included)`)
    return this.fork != null && await this.resolveFork(signal)
  }

  private startFork (want: string | undefined, peers: string[], why: string): void {
    if (this.fork != null) return
    // The oldest of its last forkDepth rounds whose link this peer holds: the other chain starts from its base.
    let from: number | undefined
    for (let r = Math.max(1, this.completed - ROUND_DEFAULTS.forkDepth + 1); r <= this.completed; r++) {
      if (this.chainLinks.has(r)) { from = r; break }
    }
    if (from == null) return
    this.fork = { from, want, peers, why }
    this.log(`fork: ${why}; leaving round ${this.round} for that chain`)
    this.current?.settle('aborted')
  }

  /**
   * Fetches the chain a fork points at from round `fork.from`, anchored at this peer's own link's base,
   * and adopts the best-vouched one that contains the model seen; false (and this peer keeps its chain)
   * when no peer serves one.
   */
  private async resolveFork (signal: AbortSignal): Promise<boolean> {
    try {
      return await this.takeFork(signal)
    } finally {
      // (set until here, so that more evidence of the same fork does not start another resolution)
      this.fork = undefined
    }
  }

  private async takeFork (signal: AbortSignal): Promise<boolean> {
    const f = this.fork
    const anchor = f == null ? undefined : this.chainLinks.get(f.from)?.baseHash
    if (f == null || anchor == null) return false
    const answers = await this.requestChain(f.from, signal, f.peers)
    const { candidates, rejected } = rankChains(answers, { from: f.from, base: anchor, pageLinks: ROUND_DEFAULTS.chainPageLinks })
    for (const r of rejected) this.log(`chain sync: rejected the chain of ${r.peer}: ${r.reason}`)
    for (const c of candidates) {
      if (f.want != null && !c.links.some(l => l.resultHash === f.want) && c.head.model !== f.want) continue
      // (a chain that only extends this peer's is not a fork: the ordinary sync takes it)
      const diverges = c.links.find(l => { const mine = this.chainLinks.get(l.round); return mine != null && mine.resultHash !== l.resultHash })
      if (diverges == null) continue
      if (await this.adoptChain(c.links, c.peers, c.voters.length, signal, diverges.round)) {
        this.forks++
        // The round those peers are in was rejected here (another base) until now: ask them for it at once.
        this.pullFirst = c.peers
        return true
      }
    }
    this.log(`fork: no peer served a chain from round ${f.from}${f.want != null ? ` that holds model ${f.want.slice(0, 12)}…` : ' that differs from this peer\'s'}; this peer keeps its own`)
    return false
  }

  /** Hands a completed round to `onRound` after the ones before it; run() waits for them at exit. */
  private emitRecord (record: RoundRecord, params: Float32Array): void {
    this.callbacks = this.callbacks.then(async () => await this.init.onRound?.(record, params))
      .catch(err => this.log(`round ${record.round}: onRound callback failed: ${(err as Error).message}`))
  }

  // ---------------------------------------------------------------- gathering and aggregating

  /** Asks neighbours for the current attempt's messages and takes the ones this peer lacks. */
  private async pullAttempt (signal: AbortSignal, prefer?: string[]): Promise<void> {
    const held = this.history.get(`${this.round}/${this.attempt}`)
    try {
      await this.pullEnvelopes(hex => held?.has(hex) !== true, signal, prefer)
    } catch (err) {
      if (!signal.aborted) this.log(`round ${this.round}: pulling the attempt's messages failed: ${(err as Error).message}`)
    }
  }

  /** Gathers updates named by the survivor list that gossip did not bring, from any peer that has them. */
  private async fetchUpdates (cur: Current, missing: Survivor[]): Promise<void> {
    const signal = this.controller.signal
    const want = (): Set<string> => new Set(cur.machine.missingMessages().map(s => toHex(s.updateHash)))
    const waiting = (): boolean => this.current === cur && [Phase.Update, Phase.Survivors, Phase.Unmask].includes(cur.machine.phase as any)
    try {
      for (let tries = 0; tries < ROUND_DEFAULTS.syncTries && !signal.aborted && this.current === cur; tries++) {
        if (tries > 0) await sleep(ROUND_DEFAULTS.syncRetryMs, signal)
        const wanted = want()
        if (wanted.size === 0 || !waiting()) return
        await this.pullEnvelopes(hex => wanted.has(hex), signal)
      }
      if (waiting() && want().size > 0) {
        this.log(`round ${this.round}: ${want().size} of ${missing.length} message(s) named by the leader could not be found`)
      }
    } catch (err) {
      if (!signal.aborted) this.log(`round ${this.round}: fetching updates failed: ${(err as Error).message}`)
    }
  }

  /**
   * Asks neighbours over the sync protocol for the messages of the current attempt and takes, through
   * the same checks as gossip, those whose envelope hash `want` selects.
   */
  private async pullEnvelopes (want: (hashHex: string) => boolean, signal: AbortSignal, prefer?: string[]): Promise<void> {
    const cur = this.current
    // Say what this peer holds, so that neighbours do not send those envelopes (updates are large).
    const held = [...(this.history.get(`${this.round}/${this.attempt}`)?.keys() ?? [])].slice(0, ROUND_DEFAULTS.maxSyncEnvelopes)
    const have = held.map(hex => fromHex(hex) as Uint8Array<ArrayBuffer>)
    const req = SyncRequest.encode({ task: this.taskBytes as Uint8Array<ArrayBuffer>, round: this.round, attempt: this.attempt, have })
    const answers = await this.init.channel.requestSync(req, { timeoutMs: ROUND_DEFAULTS.syncTimeoutMs, signal, prefer })
    for (const a of answers) {
      let res: SyncResponse
      try { res = SyncResponse.decode(a, { limits: { envelopes: ROUND_DEFAULTS.maxSyncEnvelopes } } as any) } catch { continue }
      for (const env of res.envelopes) {
        if (this.current !== cur) return
        if (!want(toHex(sha256(env)))) continue
        try {
          const vm = await openMessage(env)
          if (this.check(vm).action === 'accept') this.accept(vm)
        } catch { /* a bad relay is skipped */ }
      }
    }
  }

  /** The bytes of an update's vector, inline (checked against its hash) or fetched as a blob. */
  private async vectorBytes (vm: VerifiedMessage): Promise<Uint8Array> {
    const u = vm.message.update!
    if (u.vector.byteLength > 0) {
      if (!bytesEqual(sha256(u.vector), u.blobHash)) throw new DriverError(`update of ${vm.authorId} does not match its hash`)
      return u.vector
    }
    const hex = toHex(u.blobHash)
    return this.init.channel.getBlob(hex) ?? await this.init.channel.fetchBlob(hex, { signal: this.controller.signal, timeoutMs: this.patient(ROUND_DEFAULTS.blobTimeoutMs) })
  }

  private async vectorOf (vm: VerifiedMessage): Promise<Float32Array> {
    return float32FromBytes(await this.vectorBytes(vm))
  }

  private async aggregate (cur: Current, survivors: Survivor[], secure?: SecureAggregate): Promise<void> {
    try {
      const a = this.init.task.aggregation
      let next: Float32Array
      if (secure != null) {
        next = await this.secureAverage(cur, survivors, secure)
      } else {
        const updates: WeightedUpdate[] = []
        for (const s of survivors) {
          const vm = cur.envelopes.get(toHex(s.updateHash))
          if (vm == null) throw new DriverError(`update of ${peerKey(s.peer)} missing`)
          updates.push({ peer: s.peer, weight: vm.message.update!.weight, delta: await this.vectorOf(vm) })
        }
        next = fedAvg(this.params, updates, { weighting: a.weighting, serverLearningRate: a.serverLearningRate })
      }
      if (this.current !== cur) return
      const bytes = float32Bytes(next)
      cur.pendingModel = { params: next, bytes }
      this.feed({ type: 'aggregated', modelHash: sha256(bytes) })
    } catch (err) {
      this.log(`round ${this.round}: aggregation failed: ${(err as Error).message}`)
      if (this.current === cur) cur.settle('aborted')
    }
  }

  /**
   * Secure FedAvg: the ring sum of the survivors' masked vectors, unmasked with t members' shares, is
   * Σ q_i with q_i ≈ s · (w_i / W) · Δ_i; every peer turns it into the FedAvg numerator Σ w_i Δ_i as
   * (Σ q_i / s) · W (s a power of two, so exact) and divides by Σ w_i (summed in peer order), then
   * takes the same step as plain FedAvg.
   */
  private async secureAverage (cur: Current, survivors: Survivor[], secure: SecureAggregate): Promise<Float32Array> {
    const a = this.init.task.aggregation
    const ordered = [...survivors].sort((x, y) => compareBytes(x.peer, y.peer))
    const updates: VerifiedMessage[] = []
    let totalWeight = 0
    for (const s of ordered) {
      const vm = cur.envelopes.get(toHex(s.updateHash))
      if (vm == null) throw new DriverError(`update of ${peerKey(s.peer)} missing`)
      updates.push(vm)
      totalWeight += a.weighting === 'uniform' ? 1 : vm.message.update!.weight
    }
    const masks = await recoverMasks({
      ctx: { task: this.taskBytes, round: this.round, attempt: cur.machine.params.attempt },
      threshold: secure.threshold,
      maskSet: secure.maskSet,
      survivors: ordered.map(s => s.peer),
      unmasks: secure.unmasks,
      seedCommits: secure.seedCommits
    })
    let sum: Uint32Array
    if (this.sliced(secure.maskSet.length)) {
      sum = await this.sliceSum(cur, updates, masks)
    } else {
      const vectors: Uint32Array[] = []
      for (const vm of updates) vectors.push(uint32FromBytes(await this.vectorBytes(vm)))
      sum = unmaskSum(ringSum(vectors, this.params.length), masks)
    }
    const numerator = dequantizeSum(sum, secure.scale)
    const cap = a.weighting === 'uniform' ? 1 : a.weightCap
    if (cap !== 1) for (let k = 0; k < numerator.length; k++) numerator[k] *= cap
    return applyAverage(this.params, numerator, totalWeight, a.serverLearningRate)
  }

  /** Whether a mask set of `members` sums in slices (the task's `aggregation.sliceFrom`). */
  private sliced (members: number): boolean {
    return usesSlices(members, this.init.task.aggregation.sliceFrom ?? DEFAULT_SLICE_FROM)
  }

  /** In-network aggregation of the survivors' masked vectors (src/round/slices.ts): the unmasked sum. */
  private async sliceSum (cur: Current, updates: VerifiedMessage[], masks: UnmaskInit): Promise<Uint32Array> {
    const list = cur.machine.survivors
    if (list == null) throw new DriverError('no survivor list to sum')
    const listHex = toHex(list.hash)
    const t = this.init.task.timeouts
    const aggregation = cur.slices?.survivorsHash === listHex ? cur.slices.aggregation : this.sliceAggregation(cur, list, updates)
    for (const o of cur.sliceOffers) if (o.survivorsHash === listHex) aggregation.offer(o.index, o.sumHash, o.from)
    // Announcements lost by gossip are pulled from neighbours while the slices are awaited.
    const pull = setTimeout(() => { if (this.current === cur) void this.pullAttempt(this.controller.signal) }, Math.max(1000, Math.round(t.survivorsMs / 4)))
    try {
      return await aggregation.run(masks)
    } finally {
      clearTimeout(pull)
    }
  }

  /**
   * A fetch timeout of the defaults stretched like the task's `survivorsMs` over its default (never
   * shortened): a task, or a simulation of many peers on one machine, that gives peers longer to answer
   * in a phase gives a single fetch longer too.
   */
  private patient (ms: number): number {
    return Math.round(ms * Math.max(1, this.init.task.timeouts.survivorsMs / DEFAULT_TIMEOUTS.survivorsMs))
  }

  /**
   * The slice aggregation of survivor list `list` (its updates in peer order); made when the list
   * arrives, so that this survivor's own slice is fetched while the Ack and Unmask phases run.
   */
  private sliceAggregation (cur: Current, list: { list: Survivor[], hash: Uint8Array }, updates: VerifiedMessage[]): SliceAggregation {
    const t = this.init.task.timeouts
    const aggregation = new SliceAggregation({
      channel: this.init.channel,
      survivors: updates.map(vm => ({ id: vm.authorId, blobHash: toHex(vm.message.update!.blobHash) })),
      length: this.params.length,
      selfId: this.selfId,
      announce: async (index, count, sumHash) => {
        await this.publish({ ...this.header(cur), sliceSum: { survivorsHash: list.hash as Uint8Array<ArrayBuffer>, index, count, sumHash: sumHash as Uint8Array<ArrayBuffer> } })
      },
      backupMs: Math.max(1000, Math.round(t.survivorsMs / 4)),
      fetchTimeoutMs: this.patient(ROUND_DEFAULTS.blobTimeoutMs),
      signal: this.controller.signal,
      log: line => this.log(`round ${this.round}: ${line}`),
      onBadSum: (peer, index) => this.log(`round ${this.round}: peer ${peer} misbehaved: wrong sum of slice ${index}`)
    })
    cur.slices = { survivorsHash: toHex(list.hash), aggregation }
    return aggregation
  }

  /** At the survivor list (sliced rounds): start fetching this survivor's slice if every update is here. */
  private prefetchSlices (cur: Current): void {
    const m = cur.machine
    const list = m.survivors
    const members = m.maskSet?.members.length ?? 0
    if (list == null || !this.sliced(members) || cur.slices?.survivorsHash === toHex(list.hash)) return
    if (!list.list.some(e => bytesEqual(e.peer, this.selfBytes))) return
    const ordered = [...list.list].sort((x, y) => compareBytes(x.peer, y.peer))
    const updates = ordered.map(s => cur.envelopes.get(toHex(s.updateHash)))
    if (updates.some(u => u == null)) return
    this.sliceAggregation(cur, list, updates as VerifiedMessage[]).prefetch()
  }

  // ---------------------------------------------------------------- privacy

  /**
   * What a round with this peer's update in the sum costs (DP-FedAvg); undefined if off. The scale is
   * taken at its smallest (the largest cohort, threshold 1), so the effective noise multiplier is a lower
   * bound for every attempt of the round and the entry is the same whichever attempt spends it.
   */
  private roundCosts (round: number, trained?: LocalUpdate): LedgerEntry[] {
    const t = this.init.task
    const out: LedgerEntry[] = []
    if (t.privacy.dpFedAvg) {
      const c = t.aggregation.clipNorm
      const s = ringScale(c, t.cohort.size, { sigma: t.privacy.fedAvgNoise, threshold: 1 })
      out.push({ round, mechanism: 'dp-fedavg', noiseMultiplier: effectiveNoiseMultiplier(t.privacy.fedAvgNoise, c, s, this.params.length), sampleRate: 1, steps: 1 })
    }
    // DP-SGD: what local training reports it did, or (before training) what it will do.
    const sgd = trained?.privacy ?? (t.privacy.dpSgd ? this.init.updates.privacyCost?.() : undefined)
    if (t.privacy.dpSgd && sgd != null) {
      out.push({ round, mechanism: 'dp-sgd', noiseMultiplier: sgd.noiseMultiplier, sampleRate: sgd.samplingRate, steps: sgd.steps })
    }
    return out
  }

  private get privacyOn (): boolean {
    return this.init.task.privacy.dpFedAvg || this.init.task.privacy.dpSgd
  }

  /** Whether this peer's privacy budget keeps it from joining the next round (with a target ε). */
  get budgetSpent (): boolean {
    return this.privacyOn && this.ledger.wouldExceed(this.roundCosts(this.completed + 1))
  }

  /** Whether this peer may take part in the next round; says once why not. */
  private withinBudget (): boolean {
    if (!this.budgetSpent) return true
    if (!this.budgetLogged) {
      this.budgetLogged = true
      const after = this.ledger.epsilonAfter(this.roundCosts(this.completed + 1)).epsilon
      this.log(`privacy budget spent: one more round would take ε from ${this.ledger.epsilon().epsilon.toFixed(3)} to ${after.toFixed(3)}, above the target ${this.ledger.targetEpsilon}; this peer stops joining rounds and keeps following the swarm`)
    }
    return false
  }

  /**
   * Spends the round's privacy cost before this peer's noised update leaves it (its sum may be
   * released from then on): persisted first, then added to the ledger, so a crash can only over-count.
   */
  private async spendPrivacy (trained: LocalUpdate): Promise<void> {
    for (const cost of this.roundCosts(this.round, trained)) {
      if (this.ledger.check(cost) === 'replay') continue
      await this.init.onPrivacySpent?.(cost)
      this.ledger.spend(cost)
    }
  }

  private async finish (cur: Current, modelHash: Uint8Array, survivorsHash: Uint8Array, survivors: number, cohort: number): Promise<void> {
    if (cur.pendingModel == null) return
    const { params: next, bytes } = cur.pendingModel
    const m = cur.machine
    this.params = next
    this.modelHash = modelHash
    this.completed = this.round
    // Served by hash to peers that fall behind.
    const hex = this.init.channel.putBlob(bytes)
    this.ownResults.set(this.round, hex)
    this.ownSurvivors.set(this.round, survivors)
    this.lastSurvivors = survivors
    const epsilon = this.privacyOn ? this.ledger.epsilon().epsilon : undefined
    const cohortHash = m.cohort?.hash ?? new Uint8Array(32)
    const link: ChainLink = {
      round: this.round, attempt: m.params.attempt, baseHash: toHex(m.params.base), cohortHash: toHex(cohortHash), survivorsHash: toHex(survivorsHash), resultHash: hex
    }
    this.chainLinks.set(link.round, link)
    for (const [peer, l] of this.results.get(this.round) ?? []) this.compareResult(this.round, peer, l.resultHash, hex)
    this.considerResultFork(this.round, hex)
    const record: RoundRecord = {
      round: this.round,
      attempt: link.attempt,
      modelHash: hex,
      baseHash: link.baseHash,
      cohortHash: link.cohortHash,
      survivorsHash: toHex(survivorsHash),
      cohort,
      survivors,
      member: m.isMember,
      leader: m.isLeader,
      via: 'aggregate',
      startedAt: cur.startedAt,
      endedAt: Date.now(),
      ...this.trafficDelta(),
      localLoss: this.training?.round === this.round ? this.training.result?.loss : undefined,
      epsilon
    }
    await this.publish({
      ...this.header(cur),
      result: { survivorsHash: survivorsHash as Uint8Array<ArrayBuffer>, modelHash: modelHash as Uint8Array<ArrayBuffer>, survivors, epsilon, cohortHash: cohortHash as Uint8Array<ArrayBuffer> }
    })
    this.attempt = 0
    this.emitRecord(record, next)
    cur.settle('done')
  }

  private trafficDelta (): { roundSent: number, roundReceived: number } {
    const t = this.init.channel.traffic()
    const d = { roundSent: t.sent - this.lastTraffic.sent, roundReceived: t.received - this.lastTraffic.received }
    this.lastTraffic = t
    return d
  }

  // ---------------------------------------------------------------- sync and catch-up

  private async answerSync (request: Uint8Array): Promise<Uint8Array> {
    const req = SyncRequest.decode(request, { limits: { have: ROUND_DEFAULTS.maxSyncEnvelopes } } as any)
    if (!bytesEqual(req.task, this.taskBytes)) throw new DriverError('sync request for another task')
    const envelopes: Uint8Array<ArrayBuffer>[] = []
    if (req.round > 0) {
      const held = new Set(req.have.map(h => toHex(h)))
      const h = this.history.get(`${req.round}/${req.attempt}`)
      if (h != null) for (const [hex, b] of h) if (!held.has(hex)) envelopes.push(b as Uint8Array<ArrayBuffer>)
    }
    const chain = req.chainFrom != null && req.chainFrom > 0 ? await this.chainPage(req.chainFrom, req.chainTo ?? 0) : undefined
    return SyncResponse.encode({ headRound: this.completed, headModel: this.modelHash as Uint8Array<ArrayBuffer>, envelopes, chain })
  }

  /** The links this peer holds for rounds from..to (to = 0: its head), at most a page, signed with its head. */
  private async chainPage (from: number, to: number): Promise<SignedChain> {
    const head = { round: this.completed, model: toHex(this.modelHash) }
    const last = Math.min(head.round, to > 0 ? to : Infinity, from + ROUND_DEFAULTS.chainPageLinks - 1)
    const links: ChainLink[] = []
    for (let r = from; r <= last; r++) {
      const l = this.chainLinks.get(r)
      if (l == null) break
      links.push(l)
    }
    return await signChainPage(this.init.key, { task: this.taskBytes, head, links })
  }

  /**
   * Asks a few peers for their head and the chain links from this peer's next round to it, a page at a
   * time; verifies every answer (chain.ts: consecutive rounds, each link starting from the previous one's
   * model, the first from ours, the last producing the head), logs each rejected one naming the peer and
   * the broken link, and adopts the best-vouched chain whose head model can be fetched. Returns whether
   * it adopted one.
   *
   * A peer that restarted without the link of its own last round (killed between saving the checkpoint
   * and appending the round's record) asks from that round instead, anchored on the link before it, and
   * takes only chains whose first link produced the model it holds: so it can vouch for it again.
   */
  private async syncHead (signal: AbortSignal): Promise<boolean> {
    const pageLinks = ROUND_DEFAULTS.chainPageLinks
    const prefix: ChainLink[] = []
    const own = toHex(this.modelHash)
    const before = this.chainLinks.get(this.completed - 1)
    const repair = this.completed > 1 && !this.chainLinks.has(this.completed) && before != null
    let from = repair ? this.completed : this.completed + 1
    let base = repair ? before.resultHash : own
    for (let page = 0; page < ROUND_DEFAULTS.maxChainPages && !signal.aborted; page++) {
      let answers = await this.requestChain(from, signal)
      if (repair && page === 0) {
        answers = answers.filter(a => {
          const first = a.links[0]
          if (first == null || first.round !== from || first.resultHash === own) return true
          this.log(`chain sync: rejected the chain of ${a.peer}: round ${from}: resultHash ${first.resultHash.slice(0, 12)}… is not this peer's model ${own.slice(0, 12)}…`)
          return false
        })
      }
      const { candidates, rejected } = rankChains(answers, { from, base, pageLinks })
      for (const r of rejected) this.log(`chain sync: rejected the chain of ${r.peer}: ${r.reason}`)
      let partial: ChainCandidate | undefined
      for (const c of candidates) {
        if (c.links[c.links.length - 1].round < c.head.round) { partial ??= c; continue }
        if (await this.adoptChain([...prefix, ...c.links], c.peers, c.voters.length, signal)) return true
      }
      if (partial == null) return false
      // A full page short of the head: take it and ask for the next one, from where it ends.
      const last = partial.links[partial.links.length - 1]
      prefix.push(...partial.links)
      from = last.round + 1
      base = last.resultHash
    }
    return false
  }

  /** One chain request to a few peers: their signed answers from peers ahead of round `from - 1`. */
  private async requestChain (from: number, signal: AbortSignal, prefer?: string[]): Promise<ChainAnswer[]> {
    const req = SyncRequest.encode({ task: this.taskBytes as Uint8Array<ArrayBuffer>, round: 0, attempt: 0, have: [], chainFrom: from })
    let answers: Uint8Array[]
    try {
      answers = await this.init.channel.requestSync(req, { timeoutMs: ROUND_DEFAULTS.syncTimeoutMs, signal, fanout: this.init.syncFanout ?? ROUND_DEFAULTS.syncFanout, prefer })
    } catch { return [] }
    const out: ChainAnswer[] = []
    let unchained = 0
    for (const a of answers) {
      let res: SyncResponse
      try { res = SyncResponse.decode(a, { limits: { envelopes: ROUND_DEFAULTS.maxSyncEnvelopes } } as any) } catch { continue }
      if (res.headRound < from) continue
      if (res.chain == null) { unchained++; continue }
      try {
        const answer = await openChainPage(res.chain, { task: this.taskBytes, maxLinks: ROUND_DEFAULTS.chainPageLinks })
        if (answer.head.round >= from) out.push(answer)
      } catch (err) {
        this.log(`chain sync: ${(err as Error).message}`)
      }
    }
    if (unchained > 0) this.log(`chain sync: ${unchained} peer(s) ahead of round ${from - 1} sent no chain; their models are not adopted unverified`)
    return out
  }

  /**
   * After a failed attempt: if the swarm completed this round (or later), catch up. The Results of this
   * very round that start from this peer's model are whole chain links (the one most peers signed is
   * taken); a later round needs the links in between, which `syncHead` fetches and verifies.
   */
  private async catchUp (round: number, signal: AbortSignal): Promise<boolean> {
    const later = [...this.results].some(([r, tally]) => r > round && tally.size > 0)
    if (later && (await this.syncHead(signal) || await this.syncAcrossFork(signal))) return true
    const base = toHex(this.modelHash)
    const votes = new Map<string, { link: ChainLink, peers: string[] }>()
    // When peers seen taking part in this round or the last have announced Results, only theirs vote:
    // Results from fresh keys cannot outvote the peers that did the round.
    const known = this.electorate()
    const tally = [...this.results.get(round) ?? []]
    const knownVoted = tally.some(([peer]) => known.has(peer))
    for (const [peer, l] of tally) {
      if (l.baseHash !== base || linkProblem(l) != null) continue
      if (knownVoted && !known.has(peer)) continue
      const k = LINK_FIELDS.map(f => l[f]).join('/')
      const v = votes.get(k) ?? { link: l, peers: [] }
      v.peers.push(peer)
      votes.set(k, v)
    }
    const best = [...votes.values()].sort((a, b) => b.peers.length - a.peers.length)[0]
    if (best == null) return false
    return await this.adoptChain([best.link], best.peers, best.peers.length, signal)
  }

  /**
   * Adopts verified links: fetches the model the last one produced by its hash (and checks the bytes'
   * hash), then takes the model and the links. Logs and returns false, naming the peers that sent the
   * chain, if that model cannot be had. With `replaceFrom` (a fork): the links replace this peer's own
   * from that round on, wherever their head is (it may be behind this peer's).
   */
  private async adoptChain (links: ChainLink[], peers: string[], votes: number, signal: AbortSignal, replaceFrom?: number): Promise<boolean> {
    const head = links[links.length - 1]
    const hashHex = head.resultHash
    let params: Float32Array
    try {
      const bytes = this.init.channel.getBlob(hashHex) ?? await this.init.channel.fetchBlob(hashHex, { signal, timeoutMs: this.patient(ROUND_DEFAULTS.blobTimeoutMs) })
      if (toHex(sha256(bytes)) !== hashHex) throw new DriverError('the bytes fetched do not have that hash')
      params = float32FromBytes(bytes)
      if (params.length !== this.params.length) throw new DriverError(`it has ${params.length} parameters, expected ${this.params.length}`)
    } catch (err) {
      if (!signal.aborted) this.log(`chain sync: rejected the chain of ${peers.join(', ')}: round ${head.round}: its model ${hashHex.slice(0, 16)} cannot be used: ${(err as Error).message}`)
      return false
    }
    const started = Date.now()
    // (A chain that only gives back the link of this peer's own last round leaves its state as it is.)
    const from = links[0].round
    const replace = replaceFrom != null
    if (replace) {
      for (const r of [...this.chainLinks.keys()]) if (r >= replaceFrom) this.chainLinks.delete(r)
      for (const r of [...this.ownResults.keys()]) if (r >= replaceFrom) { this.ownResults.delete(r); this.ownSurvivors.delete(r) }
      for (const k of [...this.history.keys()]) if (Number(k.split('/')[0]) > head.round) this.history.delete(k)
      // local training of the next round started from the model given up
      this.training = undefined
    }
    if (head.round > this.completed || replace) {
      this.params = params
      this.modelHash = fromHex(hashHex)
      this.completed = head.round
      this.round = head.round + 1
      this.attempt = 0
    }
    for (const l of links) this.chainLinks.set(l.round, l)
    this.ownResults.set(head.round, hashHex)
    const tallied = [...this.results.get(head.round)?.values() ?? []].find(l => l.resultHash === hashHex)
    this.ownSurvivors.set(head.round, tallied?.survivors ?? 0)
    this.log(`synced to round ${head.round} (model ${hashHex.slice(0, 16)}): ${links.length} chain link(s) from round ${from} verified, vouched for by ${votes} peer(s)${replace ? `, replacing this peer's rounds from ${replaceFrom}` : ''}`)
    const record: RoundRecord = {
      round: head.round,
      attempt: head.attempt,
      modelHash: hashHex,
      baseHash: head.baseHash,
      cohortHash: head.cohortHash,
      survivorsHash: head.survivorsHash,
      cohort: 0,
      survivors: 0,
      member: false,
      leader: false,
      via: 'sync',
      startedAt: started,
      endedAt: Date.now(),
      ...this.trafficDelta(),
      ...(links.length > 1 ? { syncedLinks: links.slice(0, -1) } : {}),
      ...(replace ? { replacesFrom: replaceFrom } : {})
    }
    this.emitRecord(record, params)
    return true
  }
}

function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    const t = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => { clearTimeout(t); resolve() }, { once: true })
  })
}

function anySignal (signals: Array<AbortSignal | undefined>): AbortSignal {
  return AbortSignal.any(signals.filter((s): s is AbortSignal => s != null))
}
