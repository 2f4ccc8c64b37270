/**
 * The round driver: runs RoundMachines one attempt after another for one peer. It owns the clock
 * (timers), the network (a SwarmChannel), local training (an UpdateSource), the vectors and the model;
 * the machine owns the rules. It also answers sync requests, tallies other peers' Results (reporting a
 * mismatch loudly) and catches up by fetching a newer model by hash when this peer fell behind.
 */
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { RoundMachine, peerKey } from './machine.ts'
import type { Effect, RoundEvent, SecureAggregate, TimerName, Verdict } from './machine.ts'
import { SecureMember, clipToNorm, effectiveNoiseMultiplier, recoverSum, ringInput, ringScale } from './secure.ts'
import { createPrivacyLedger } from '../dp/ledger.ts'
import type { LedgerEntry, PrivacyLedger } from '../dp/ledger.ts'
import { dequantizeSum, ringSum } from '../secagg/index.ts'
import type { SwarmChannel } from './channel.ts'
import { Phase } from './phases.ts'
import { ROUND_DEFAULTS } from './constants.ts'
import { RoundMessage, SyncRequest, SyncResponse } from '../wire/messages.ts'
import type { Member, Shares, Survivor } from '../wire/messages.ts'
import { openMessage, sealMessage, WireError } from '../wire/envelope.ts'
import type { VerifiedMessage } from '../wire/envelope.ts'
import { DEFAULT_INLINE_LIMIT, ENCODING_FLOAT32, ENCODING_RING32 } from '../wire/constants.ts'
import { bytesEqual, compareBytes, float32Bytes, float32FromBytes, fromHex, sha256, toHex, uint32Bytes, uint32FromBytes } from '../wire/hash.ts'
import { applyAverage, fedAvg } from '../aggregate/fedavg.ts'
import type { WeightedUpdate } from '../aggregate/fedavg.ts'
import type { Task } from '../config/types.ts'

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

export interface RoundRecord {
  round: number
  attempt: number
  modelHash: string
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
  /** Results seen: round -> (peer -> model hash hex). */
  private readonly results = new Map<number, Map<string, string>>()
  private readonly ownResults = new Map<number, string>()
  private readonly controller = new AbortController()
  /** Survivors of the last round this peer aggregated: the joins its next join window waits for. */
  private lastSurvivors = 0
  /** Pending onRound callbacks, in round order. */
  private callbacks: Promise<void> = Promise.resolve()
  /** Set when messages show the swarm is two or more rounds ahead: resync instead of retrying. */
  private behind = false
  mismatches = 0
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
    init.channel.listen(async (data, from) => await this.onGossip(data, from))
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

  /** Runs rounds until the last one is done or the signal aborts. */
  async run (opts: { signal?: AbortSignal } = {}): Promise<void> {
    const signal = anySignal([this.controller.signal, opts.signal])
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
      const outcome = await this.runAttempt(signal)
      if (signal.aborted) break
      if (outcome === 'aborted') {
        if (await this.catchUp(this.round, signal)) continue
        if (this.behind) {
          this.behind = false
          const before = this.completed
          await this.syncHead(signal)
          if (this.completed > before) continue
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
      secure: t.secureAggregation,
      secureThreshold: t.cohort.threshold,
      clipNorm: t.aggregation.clipNorm,
      weightCap: t.aggregation.weighting === 'uniform' ? 1 : t.aggregation.weightCap,
      dpNoise: t.privacy.dpFedAvg ? t.privacy.fedAvgNoise : 0
    })
    const done = new Promise<'done' | 'aborted' | 'superseded'>((resolve) => {
      this.current = { machine, timers: new Map(), envelopes: new Map(), settle: resolve, startedAt: Date.now(), secure }
    })
    const onAbort = (): void => this.current?.settle('aborted')
    signal.addEventListener('abort', onAbort, { once: true })
    this.startTraining(signal)
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
        this.openShares(cur, e.from, e.shares)
        return
      case 'publish-unmask': {
        if (cur.secure == null) return
        const shares = cur.secure.unmaskShares(e.release)
        void this.publish({ ...this.header(cur), unmask: { survivorsHash: e.survivorsHash as Uint8Array<ArrayBuffer>, shares } })
        return
      }
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
      await this.init.channel.publish(bytes)
    } catch (err) {
      this.log(`publish failed: ${(err as Error).message}`)
    }
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
        vector: (vector.byteLength <= this.inlineLimit ? vector : new Uint8Array(0)) as Uint8Array<ArrayBuffer>,
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
      await this.publish({ ...this.header(cur), shares: { cohortHash: cohortHash as Uint8Array<ArrayBuffer>, seedCommit: seedCommit as Uint8Array<ArrayBuffer>, boxes } })
    } catch (err) {
      this.log(`round ${this.round}: could not share keys: ${(err as Error).message}`)
    }
  }

  private openShares (cur: Current, from: Member, shares: Shares): void {
    try {
      cur.secure?.openBundle(from, shares.boxes)
    } catch (err) {
      // This member cannot release shares of that peer; t others can.
      this.log(`round ${this.round}: key shares from ${peerKey(from.peer)} do not open: ${(err as Error).message}`)
    }
  }

  // ---------------------------------------------------------------- receiving

  private async onGossip (data: Uint8Array, _from: string): Promise<Verdict> {
    let vm: VerifiedMessage
    try {
      vm = await openMessage(data)
    } catch (err) {
      this.rejected++
      return { action: 'reject', reason: err instanceof WireError ? err.message : 'undecodable message' }
    }
    const verdict = this.check(vm)
    if (verdict.action === 'reject') this.rejected++
    if (verdict.action === 'accept') queueMicrotask(() => this.accept(vm))
    return verdict
  }

  /** Round-independent checks, then the current machine's. */
  private check (vm: VerifiedMessage): Verdict {
    const m = vm.message
    if (!bytesEqual(m.task, this.taskBytes)) return { action: 'reject', reason: 'wrong task' }
    if (m.round < 1 || m.round > this.lastRound) return { action: 'reject', reason: `round ${m.round} outside 1..${this.lastRound}` }
    if (m.result != null) {
      if (m.result.modelHash.byteLength !== 32 || m.result.survivorsHash.byteLength !== 32) return { action: 'reject', reason: 'malformed result' }
      return { action: 'accept' }
    }
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
    const cur = this.current
    if (cur != null && m.round === this.round && m.attempt === this.attempt) {
      // Re-check: state may have moved since validation (e.g. a duplicate arrived meanwhile).
      const v = cur.machine.validate(vm)
      if (v.action !== 'accept') return
      if (m.update != null) cur.envelopes.set(hex, vm)
      this.feed({ type: 'message', message: vm, hash })
      return
    }
    if (m.round === this.round && m.attempt > this.attempt) {
      // The swarm moved to a later attempt of this round: follow it.
      this.log(`round ${this.round}: moving from attempt ${this.attempt} to ${m.attempt}`)
      this.pushFuture(key, vm)
      this.attempt = m.attempt
      cur?.settle('superseded')
      return
    }
    if (m.round > this.round || cur == null) {
      this.pushFuture(key, vm)
      if (m.round > this.round + 1 && !this.behind) {
        this.behind = true
        cur?.settle('aborted')
      }
    }
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
    tally.set(vm.authorId, hex)
    const own = this.ownResults.get(r)
    if (own != null) this.compareResult(r, vm.authorId, hex, own)
    // Someone finished a round this peer has not: if we are mid-way in an earlier round, or retrying
    // this round after an attempt that others completed, catch up (adopt their model by hash).
    if (this.current != null && (r > this.round || (r === this.round && m.attempt < this.attempt))) {
      this.log(`round ${this.round}: the swarm finished round ${r}${r === this.round ? ` in attempt ${m.attempt}` : ''}; catching up`)
      this.current.settle('aborted')
    }
    for (const k of this.results.keys()) if (k < this.completed - 5) this.results.delete(k)
    for (const k of this.ownResults.keys()) if (k < this.completed - 5) this.ownResults.delete(k)
  }

  /** Reports loudly when another peer's M[r] differs from ours: Invariant 1 is broken. */
  private compareResult (round: number, peer: string, theirs: string, ours: string): void {
    if (theirs === ours || peer === this.selfId) return
    this.mismatches++
    this.log(`MODEL MISMATCH in round ${round}: ${peer} has ${theirs.slice(0, 16)}, this peer has ${ours.slice(0, 16)}`)
  }

  /** Hands a completed round to `onRound` after the ones before it; run() waits for them at exit. */
  private emitRecord (record: RoundRecord, params: Float32Array): void {
    this.callbacks = this.callbacks.then(async () => await this.init.onRound?.(record, params))
      .catch(err => this.log(`round ${record.round}: onRound callback failed: ${(err as Error).message}`))
  }

  // ---------------------------------------------------------------- gathering and aggregating

  /** Asks neighbours for the current attempt's messages and takes the ones this peer lacks. */
  private async pullAttempt (signal: AbortSignal): Promise<void> {
    const held = this.history.get(`${this.round}/${this.attempt}`)
    try {
      await this.pullEnvelopes(hex => held?.has(hex) !== true, signal)
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
  private async pullEnvelopes (want: (hashHex: string) => boolean, signal: AbortSignal): Promise<void> {
    const cur = this.current
    // Say what this peer holds, so that neighbours do not send those envelopes (updates are large).
    const held = [...(this.history.get(`${this.round}/${this.attempt}`)?.keys() ?? [])].slice(0, ROUND_DEFAULTS.maxSyncEnvelopes)
    const have = held.map(hex => fromHex(hex) as Uint8Array<ArrayBuffer>)
    const req = SyncRequest.encode({ task: this.taskBytes as Uint8Array<ArrayBuffer>, round: this.round, attempt: this.attempt, have })
    const answers = await this.init.channel.requestSync(req, { timeoutMs: ROUND_DEFAULTS.syncTimeoutMs, signal })
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
    return this.init.channel.getBlob(hex) ?? await this.init.channel.fetchBlob(hex, { signal: this.controller.signal, timeoutMs: ROUND_DEFAULTS.blobTimeoutMs })
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
    const vectors: Uint32Array[] = []
    let totalWeight = 0
    for (const s of ordered) {
      const vm = cur.envelopes.get(toHex(s.updateHash))
      if (vm == null) throw new DriverError(`update of ${peerKey(s.peer)} missing`)
      vectors.push(uint32FromBytes(await this.vectorBytes(vm)))
      totalWeight += a.weighting === 'uniform' ? 1 : vm.message.update!.weight
    }
    const sum = await recoverSum({
      ctx: { task: this.taskBytes, round: this.round, attempt: cur.machine.params.attempt },
      threshold: secure.threshold,
      maskSet: secure.maskSet,
      survivors: ordered.map(s => s.peer),
      maskedSum: ringSum(vectors, this.params.length),
      unmasks: secure.unmasks,
      seedCommits: secure.seedCommits
    })
    const numerator = dequantizeSum(sum, secure.scale)
    const cap = a.weighting === 'uniform' ? 1 : a.weightCap
    if (cap !== 1) for (let k = 0; k < numerator.length; k++) numerator[k] *= cap
    return applyAverage(this.params, numerator, totalWeight, a.serverLearningRate)
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
    this.lastSurvivors = survivors
    for (const [peer, h] of this.results.get(this.round) ?? []) this.compareResult(this.round, peer, h, hex)
    const epsilon = this.privacyOn ? this.ledger.epsilon().epsilon : undefined
    const record: RoundRecord = {
      round: this.round,
      attempt: this.attempt,
      modelHash: hex,
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
      result: { survivorsHash: survivorsHash as Uint8Array<ArrayBuffer>, modelHash: modelHash as Uint8Array<ArrayBuffer>, survivors, epsilon }
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
    return SyncResponse.encode({ headRound: this.completed, headModel: this.modelHash as Uint8Array<ArrayBuffer>, envelopes })
  }

  /** Asks a few peers for their newest model; adopts it if it is ahead of ours. */
  private async syncHead (signal: AbortSignal): Promise<void> {
    const req = SyncRequest.encode({ task: this.taskBytes as Uint8Array<ArrayBuffer>, round: 0, attempt: 0, have: [] })
    let answers: Uint8Array[] = []
    try {
      answers = await this.init.channel.requestSync(req, { timeoutMs: ROUND_DEFAULTS.syncTimeoutMs, signal, fanout: 3 })
    } catch { return }
    const heads = new Map<string, { round: number, votes: number }>()
    for (const a of answers) {
      try {
        const res = SyncResponse.decode(a, { limits: { envelopes: ROUND_DEFAULTS.maxSyncEnvelopes } } as any)
        if (res.headRound <= this.completed || res.headModel.byteLength !== 32) continue
        const k = toHex(res.headModel)
        const e = heads.get(k) ?? { round: res.headRound, votes: 0 }
        e.votes++
        heads.set(k, e)
      } catch { /* skip */ }
    }
    const best = [...heads.entries()].sort((a, b) => b[1].round - a[1].round || b[1].votes - a[1].votes)[0]
    if (best != null) await this.adopt(best[1].round, best[0], signal)
  }

  /** After a failed attempt: if the swarm completed this round (or later), fetch its model. */
  private async catchUp (round: number, signal: AbortSignal): Promise<boolean> {
    let target: { round: number, hash: string } | undefined
    for (const [r, tally] of this.results) {
      if (r < round || tally.size === 0) continue
      const votes = new Map<string, number>()
      for (const h of tally.values()) votes.set(h, (votes.get(h) ?? 0) + 1)
      const [hash] = [...votes.entries()].sort((a, b) => b[1] - a[1])[0]
      if (target == null || r > target.round) target = { round: r, hash }
    }
    if (target == null) return false
    return await this.adopt(target.round, target.hash, signal)
  }

  private async adopt (round: number, hashHex: string, signal: AbortSignal): Promise<boolean> {
    try {
      const bytes = this.init.channel.getBlob(hashHex) ?? await this.init.channel.fetchBlob(hashHex, { signal, timeoutMs: ROUND_DEFAULTS.blobTimeoutMs })
      const params = float32FromBytes(bytes)
      if (params.length !== this.params.length) throw new DriverError(`model ${hashHex.slice(0, 16)} has ${params.length} parameters, expected ${this.params.length}`)
      const started = Date.now()
      this.params = params
      this.modelHash = fromHex(hashHex)
      this.completed = round
      this.round = round + 1
      this.attempt = 0
      this.ownResults.set(round, hashHex)
      this.log(`synced to round ${round} (model ${hashHex.slice(0, 16)})`)
      const record: RoundRecord = {
        round, attempt: 0, modelHash: hashHex, survivorsHash: '', cohort: 0, survivors: 0, member: false, leader: false,
        via: 'sync', startedAt: started, endedAt: Date.now(), ...this.trafficDelta()
      }
      this.emitRecord(record, params)
      return true
    } catch (err) {
      if (!signal.aborted) this.log(`could not fetch model ${hashHex.slice(0, 16)} of round ${round}: ${(err as Error).message}`)
      return false
    }
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
