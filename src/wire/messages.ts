import { decodeMessage, encodeMessage, MaxLengthError, message, streamMessage } from 'protons-runtime'
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { Uint8ArrayList } from 'uint8arraylist'

export interface Envelope {
  version: number
  author: Uint8Array<ArrayBuffer>
  body: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
}

export namespace Envelope {
  let _codec: Codec<Envelope>

  export const codec = (): Codec<Envelope> => {
    if (_codec == null) {
      _codec = message<Envelope>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.version != null && obj.version !== 0)) {
          w.uint32(8)
          w.uint32(obj.version)
        }

        if ((obj.author != null && obj.author.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.author)
        }

        if ((obj.body != null && obj.body.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.body)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          version: 0,
          author: uint8ArrayAlloc(0),
          body: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.version = reader.uint32()
              break
            }
            case 2: {
              obj.author = reader.bytes()
              break
            }
            case 3: {
              obj.body = reader.bytes()
              break
            }
            case 4: {
              obj.signature = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.version`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.author`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.body`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface EnvelopeVersionFieldEvent {
    field: '$.version'
    value: number
  }

  export interface EnvelopeAuthorFieldEvent {
    field: '$.author'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EnvelopeBodyFieldEvent {
    field: '$.body'
    value: Uint8Array<ArrayBuffer>
  }

  export interface EnvelopeSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Envelope>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Envelope.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Envelope>): Envelope {
    return decodeMessage(buf, Envelope.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Envelope>): Generator<EnvelopeVersionFieldEvent | EnvelopeAuthorFieldEvent | EnvelopeBodyFieldEvent | EnvelopeSignatureFieldEvent> {
    return streamMessage(buf, Envelope.codec(), opts)
  }
}

export interface RoundMessage {
  task: Uint8Array<ArrayBuffer>
  round: number
  attempt: number
  base: Uint8Array<ArrayBuffer>
  join?: Join
  cohort?: Cohort
  update?: Update
  survivors?: Survivors
  result?: Result
  shares?: Shares
  maskSet?: MaskSet
  ack?: Ack
  unmask?: Unmask
  sliceSum?: SliceSum
}

export namespace RoundMessage {
  let _codec: Codec<RoundMessage>

  export const codec = (): Codec<RoundMessage> => {
    if (_codec == null) {
      _codec = message<RoundMessage>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.task != null && obj.task.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.task)
        }

        if ((obj.round != null && obj.round !== 0)) {
          w.uint32(16)
          w.uint32(obj.round)
        }

        if ((obj.attempt != null && obj.attempt !== 0)) {
          w.uint32(24)
          w.uint32(obj.attempt)
        }

        if ((obj.base != null && obj.base.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.base)
        }

        if (obj.join != null) {
          w.uint32(82)
          Join.codec().encode(obj.join, w)
        }

        if (obj.cohort != null) {
          w.uint32(90)
          Cohort.codec().encode(obj.cohort, w)
        }

        if (obj.update != null) {
          w.uint32(98)
          Update.codec().encode(obj.update, w)
        }

        if (obj.survivors != null) {
          w.uint32(106)
          Survivors.codec().encode(obj.survivors, w)
        }

        if (obj.result != null) {
          w.uint32(114)
          Result.codec().encode(obj.result, w)
        }

        if (obj.shares != null) {
          w.uint32(122)
          Shares.codec().encode(obj.shares, w)
        }

        if (obj.maskSet != null) {
          w.uint32(130)
          MaskSet.codec().encode(obj.maskSet, w)
        }

        if (obj.ack != null) {
          w.uint32(138)
          Ack.codec().encode(obj.ack, w)
        }

        if (obj.unmask != null) {
          w.uint32(146)
          Unmask.codec().encode(obj.unmask, w)
        }

        if (obj.sliceSum != null) {
          w.uint32(154)
          SliceSum.codec().encode(obj.sliceSum, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          task: uint8ArrayAlloc(0),
          round: 0,
          attempt: 0,
          base: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.task = reader.bytes()
              break
            }
            case 2: {
              obj.round = reader.uint32()
              break
            }
            case 3: {
              obj.attempt = reader.uint32()
              break
            }
            case 4: {
              obj.base = reader.bytes()
              break
            }
            case 10: {
              obj.join = Join.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.join
              })
              break
            }
            case 11: {
              obj.cohort = Cohort.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.cohort
              })
              break
            }
            case 12: {
              obj.update = Update.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.update
              })
              break
            }
            case 13: {
              obj.survivors = Survivors.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.survivors
              })
              break
            }
            case 14: {
              obj.result = Result.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.result
              })
              break
            }
            case 15: {
              obj.shares = Shares.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.shares
              })
              break
            }
            case 16: {
              obj.maskSet = MaskSet.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.maskSet
              })
              break
            }
            case 17: {
              obj.ack = Ack.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.ack
              })
              break
            }
            case 18: {
              obj.unmask = Unmask.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.unmask
              })
              break
            }
            case 19: {
              obj.sliceSum = SliceSum.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.sliceSum
              })
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.task`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.round`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.attempt`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.base`,
                value: reader.bytes()
              }
              break
            }
            case 10: {
              yield * Join.codec().stream(reader, reader.uint32(), `${prefix}.join`, {
                limits: opts.limits?.join
              })

              break
            }
            case 11: {
              yield * Cohort.codec().stream(reader, reader.uint32(), `${prefix}.cohort`, {
                limits: opts.limits?.cohort
              })

              break
            }
            case 12: {
              yield * Update.codec().stream(reader, reader.uint32(), `${prefix}.update`, {
                limits: opts.limits?.update
              })

              break
            }
            case 13: {
              yield * Survivors.codec().stream(reader, reader.uint32(), `${prefix}.survivors`, {
                limits: opts.limits?.survivors
              })

              break
            }
            case 14: {
              yield * Result.codec().stream(reader, reader.uint32(), `${prefix}.result`, {
                limits: opts.limits?.result
              })

              break
            }
            case 15: {
              yield * Shares.codec().stream(reader, reader.uint32(), `${prefix}.shares`, {
                limits: opts.limits?.shares
              })

              break
            }
            case 16: {
              yield * MaskSet.codec().stream(reader, reader.uint32(), `${prefix}.maskSet`, {
                limits: opts.limits?.maskSet
              })

              break
            }
            case 17: {
              yield * Ack.codec().stream(reader, reader.uint32(), `${prefix}.ack`, {
                limits: opts.limits?.ack
              })

              break
            }
            case 18: {
              yield * Unmask.codec().stream(reader, reader.uint32(), `${prefix}.unmask`, {
                limits: opts.limits?.unmask
              })

              break
            }
            case 19: {
              yield * SliceSum.codec().stream(reader, reader.uint32(), `${prefix}.sliceSum`, {
                limits: opts.limits?.sliceSum
              })

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface RoundMessageTaskFieldEvent {
    field: '$.task'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RoundMessageRoundFieldEvent {
    field: '$.round'
    value: number
  }

  export interface RoundMessageAttemptFieldEvent {
    field: '$.attempt'
    value: number
  }

  export interface RoundMessageBaseFieldEvent {
    field: '$.base'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RoundMessageJoinEncPubFieldEvent {
    field: '$.join.encPub'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RoundMessageJoinMaskPubFieldEvent {
    field: '$.join.maskPub'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RoundMessageJoinAddrsFieldEvent {
    field: '$.join.addrs[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface RoundMessageCohortRankFieldEvent {
    field: '$.cohort.rank'
    value: number
  }

  export interface RoundMessageCohortMembersPeerFieldEvent {
    field: '$.cohort.members[].peer'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface RoundMessageCohortMembersEncPubFieldEvent {
    field: '$.cohort.members[].encPub'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface RoundMessageCohortMembersMaskPubFieldEvent {
    field: '$.cohort.members[].maskPub'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface RoundMessageCohortThresholdFieldEvent {
    field: '$.cohort.threshold'
    value: number
  }

  export interface RoundMessageUpdateCohortHashFieldEvent {
    field: '$.update.cohortHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RoundMessageUpdateWeightFieldEvent {
    field: '$.update.weight'
    value: number
  }

  export interface RoundMessageUpdateEncodingFieldEvent {
    field: '$.update.encoding'
    value: number
  }

  export interface RoundMessageUpdateLengthFieldEvent {
    field: '$.update.length'
    value: number
  }

  export interface RoundMessageUpdateVectorFieldEvent {
    field: '$.update.vector'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RoundMessageUpdateBlobHashFieldEvent {
    field: '$.update.blobHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RoundMessageUpdateScaleFieldEvent {
    field: '$.update.scale'
    value: number
  }

  export interface RoundMessageSurvivorsCohortHashFieldEvent {
    field: '$.survivors.cohortHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RoundMessageSurvivorsSurvivorsPeerFieldEvent {
    field: '$.survivors.survivors[].peer'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface RoundMessageSurvivorsSurvivorsUpdateHashFieldEvent {
    field: '$.survivors.survivors[].updateHash'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface RoundMessageResultSurvivorsHashFieldEvent {
    field: '$.result.survivorsHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RoundMessageResultModelHashFieldEvent {
    field: '$.result.modelHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RoundMessageResultSurvivorsFieldEvent {
    field: '$.result.survivors'
    value: number
  }

  export interface RoundMessageResultEpsilonFieldEvent {
    field: '$.result.epsilon'
    value: number
  }

  export interface RoundMessageResultCohortHashFieldEvent {
    field: '$.result.cohortHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RoundMessageSharesCohortHashFieldEvent {
    field: '$.shares.cohortHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RoundMessageSharesSeedCommitFieldEvent {
    field: '$.shares.seedCommit'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RoundMessageSharesBoxesFieldEvent {
    field: '$.shares.boxes[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface RoundMessageSharesBundleHashFieldEvent {
    field: '$.shares.bundleHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RoundMessageSharesBoxBytesFieldEvent {
    field: '$.shares.boxBytes'
    value: number
  }

  export interface RoundMessageMaskSetCohortHashFieldEvent {
    field: '$.maskSet.cohortHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RoundMessageMaskSetMembersPeerFieldEvent {
    field: '$.maskSet.members[].peer'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface RoundMessageMaskSetMembersUpdateHashFieldEvent {
    field: '$.maskSet.members[].updateHash'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface RoundMessageAckSurvivorsHashFieldEvent {
    field: '$.ack.survivorsHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RoundMessageUnmaskSurvivorsHashFieldEvent {
    field: '$.unmask.survivorsHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RoundMessageUnmaskSharesFieldEvent {
    field: '$.unmask.shares[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface RoundMessageUnmaskSharesHashFieldEvent {
    field: '$.unmask.sharesHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RoundMessageSliceSumSurvivorsHashFieldEvent {
    field: '$.sliceSum.survivorsHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface RoundMessageSliceSumIndexFieldEvent {
    field: '$.sliceSum.index'
    value: number
  }

  export interface RoundMessageSliceSumCountFieldEvent {
    field: '$.sliceSum.count'
    value: number
  }

  export interface RoundMessageSliceSumSumHashFieldEvent {
    field: '$.sliceSum.sumHash'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<RoundMessage>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, RoundMessage.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RoundMessage>): RoundMessage {
    return decodeMessage(buf, RoundMessage.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RoundMessage>): Generator<RoundMessageTaskFieldEvent | RoundMessageRoundFieldEvent | RoundMessageAttemptFieldEvent | RoundMessageBaseFieldEvent | RoundMessageJoinEncPubFieldEvent | RoundMessageJoinMaskPubFieldEvent | RoundMessageJoinAddrsFieldEvent | RoundMessageCohortRankFieldEvent | RoundMessageCohortMembersPeerFieldEvent | RoundMessageCohortMembersEncPubFieldEvent | RoundMessageCohortMembersMaskPubFieldEvent | RoundMessageCohortThresholdFieldEvent | RoundMessageUpdateCohortHashFieldEvent | RoundMessageUpdateWeightFieldEvent | RoundMessageUpdateEncodingFieldEvent | RoundMessageUpdateLengthFieldEvent | RoundMessageUpdateVectorFieldEvent | RoundMessageUpdateBlobHashFieldEvent | RoundMessageUpdateScaleFieldEvent | RoundMessageSurvivorsCohortHashFieldEvent | RoundMessageSurvivorsSurvivorsPeerFieldEvent | RoundMessageSurvivorsSurvivorsUpdateHashFieldEvent | RoundMessageResultSurvivorsHashFieldEvent | RoundMessageResultModelHashFieldEvent | RoundMessageResultSurvivorsFieldEvent | RoundMessageResultEpsilonFieldEvent | RoundMessageResultCohortHashFieldEvent | RoundMessageSharesCohortHashFieldEvent | RoundMessageSharesSeedCommitFieldEvent | RoundMessageSharesBoxesFieldEvent | RoundMessageSharesBundleHashFieldEvent | RoundMessageSharesBoxBytesFieldEvent | RoundMessageMaskSetCohortHashFieldEvent | RoundMessageMaskSetMembersPeerFieldEvent | RoundMessageMaskSetMembersUpdateHashFieldEvent | RoundMessageAckSurvivorsHashFieldEvent | RoundMessageUnmaskSurvivorsHashFieldEvent | RoundMessageUnmaskSharesFieldEvent | RoundMessageUnmaskSharesHashFieldEvent | RoundMessageSliceSumSurvivorsHashFieldEvent | RoundMessageSliceSumIndexFieldEvent | RoundMessageSliceSumCountFieldEvent | RoundMessageSliceSumSumHashFieldEvent> {
    return streamMessage(buf, RoundMessage.codec(), opts)
  }
}

export interface Join {
  encPub: Uint8Array<ArrayBuffer>
  maskPub: Uint8Array<ArrayBuffer>
  addrs: Uint8Array<ArrayBuffer>[]
}

export namespace Join {
  let _codec: Codec<Join>

  export const codec = (): Codec<Join> => {
    if (_codec == null) {
      _codec = message<Join>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.encPub != null && obj.encPub.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.encPub)
        }

        if ((obj.maskPub != null && obj.maskPub.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.maskPub)
        }

        if (obj.addrs != null && obj.addrs.length > 0) {
          for (const value of obj.addrs) {
            w.uint32(26)
            w.bytes(value)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          encPub: uint8ArrayAlloc(0),
          maskPub: uint8ArrayAlloc(0),
          addrs: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.encPub = reader.bytes()
              break
            }
            case 2: {
              obj.maskPub = reader.bytes()
              break
            }
            case 3: {
              if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements')
              }

              obj.addrs.push(reader.bytes())
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          addrs: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.encPub`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.maskPub`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              if (opts.limits?.addrs != null && obj.addrs === opts.limits.addrs) {
                throw new MaxLengthError('Streaming decode error - repeated field "addrs" had too many elements')
              }

              yield {
                field: `${prefix}.addrs[]`,
                index: obj.addrs,
                value: reader.bytes()
              }

              obj.addrs++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface JoinEncPubFieldEvent {
    field: '$.encPub'
    value: Uint8Array<ArrayBuffer>
  }

  export interface JoinMaskPubFieldEvent {
    field: '$.maskPub'
    value: Uint8Array<ArrayBuffer>
  }

  export interface JoinAddrsFieldEvent {
    field: '$.addrs[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Join>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Join.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Join>): Join {
    return decodeMessage(buf, Join.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Join>): Generator<JoinEncPubFieldEvent | JoinMaskPubFieldEvent | JoinAddrsFieldEvent> {
    return streamMessage(buf, Join.codec(), opts)
  }
}

export interface Member {
  peer: Uint8Array<ArrayBuffer>
  encPub: Uint8Array<ArrayBuffer>
  maskPub: Uint8Array<ArrayBuffer>
}

export namespace Member {
  let _codec: Codec<Member>

  export const codec = (): Codec<Member> => {
    if (_codec == null) {
      _codec = message<Member>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.peer != null && obj.peer.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.peer)
        }

        if ((obj.encPub != null && obj.encPub.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.encPub)
        }

        if ((obj.maskPub != null && obj.maskPub.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.maskPub)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          peer: uint8ArrayAlloc(0),
          encPub: uint8ArrayAlloc(0),
          maskPub: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.peer = reader.bytes()
              break
            }
            case 2: {
              obj.encPub = reader.bytes()
              break
            }
            case 3: {
              obj.maskPub = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.peer`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.encPub`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.maskPub`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface MemberPeerFieldEvent {
    field: '$.peer'
    value: Uint8Array<ArrayBuffer>
  }

  export interface MemberEncPubFieldEvent {
    field: '$.encPub'
    value: Uint8Array<ArrayBuffer>
  }

  export interface MemberMaskPubFieldEvent {
    field: '$.maskPub'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Member>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Member.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Member>): Member {
    return decodeMessage(buf, Member.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Member>): Generator<MemberPeerFieldEvent | MemberEncPubFieldEvent | MemberMaskPubFieldEvent> {
    return streamMessage(buf, Member.codec(), opts)
  }
}

export interface Cohort {
  rank: number
  members: Member[]
  threshold: number
}

export namespace Cohort {
  let _codec: Codec<Cohort>

  export const codec = (): Codec<Cohort> => {
    if (_codec == null) {
      _codec = message<Cohort>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.rank != null && obj.rank !== 0)) {
          w.uint32(8)
          w.uint32(obj.rank)
        }

        if (obj.members != null && obj.members.length > 0) {
          for (const value of obj.members) {
            w.uint32(18)
            Member.codec().encode(value, w)
          }
        }

        if ((obj.threshold != null && obj.threshold !== 0)) {
          w.uint32(24)
          w.uint32(obj.threshold)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          rank: 0,
          members: [],
          threshold: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.rank = reader.uint32()
              break
            }
            case 2: {
              if (opts.limits?.members != null && obj.members.length === opts.limits.members) {
                throw new MaxLengthError('Decode error - repeated field "members" had too many elements')
              }

              obj.members.push(Member.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.members$
              }))
              break
            }
            case 3: {
              obj.threshold = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          members: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.rank`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              if (opts.limits?.members != null && obj.members === opts.limits.members) {
                throw new MaxLengthError('Streaming decode error - repeated field "members" had too many elements')
              }

              for (const evt of Member.codec().stream(reader, reader.uint32(), `${prefix}.members[]`, {
                limits: opts.limits?.members$
              })) {
                yield {
                  ...evt,
                  index: obj.members
                }
              }

              obj.members++

              break
            }
            case 3: {
              yield {
                field: `${prefix}.threshold`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface CohortRankFieldEvent {
    field: '$.rank'
    value: number
  }

  export interface CohortMembersPeerFieldEvent {
    field: '$.members[].peer'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface CohortMembersEncPubFieldEvent {
    field: '$.members[].encPub'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface CohortMembersMaskPubFieldEvent {
    field: '$.members[].maskPub'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface CohortThresholdFieldEvent {
    field: '$.threshold'
    value: number
  }

  export function encode (obj: Partial<Cohort>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Cohort.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Cohort>): Cohort {
    return decodeMessage(buf, Cohort.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Cohort>): Generator<CohortRankFieldEvent | CohortMembersPeerFieldEvent | CohortMembersEncPubFieldEvent | CohortMembersMaskPubFieldEvent | CohortThresholdFieldEvent> {
    return streamMessage(buf, Cohort.codec(), opts)
  }
}

export interface Update {
  cohortHash: Uint8Array<ArrayBuffer>
  weight: number
  encoding: number
  length: number
  vector: Uint8Array<ArrayBuffer>
  blobHash: Uint8Array<ArrayBuffer>
  scale: number
}

export namespace Update {
  let _codec: Codec<Update>

  export const codec = (): Codec<Update> => {
    if (_codec == null) {
      _codec = message<Update>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.cohortHash != null && obj.cohortHash.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.cohortHash)
        }

        if ((obj.weight != null && obj.weight !== 0)) {
          w.uint32(17)
          w.double(obj.weight)
        }

        if ((obj.encoding != null && obj.encoding !== 0)) {
          w.uint32(24)
          w.uint32(obj.encoding)
        }

        if ((obj.length != null && obj.length !== 0)) {
          w.uint32(32)
          w.uint32(obj.length)
        }

        if ((obj.vector != null && obj.vector.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.vector)
        }

        if ((obj.blobHash != null && obj.blobHash.byteLength > 0)) {
          w.uint32(50)
          w.bytes(obj.blobHash)
        }

        if ((obj.scale != null && obj.scale !== 0)) {
          w.uint32(57)
          w.double(obj.scale)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          cohortHash: uint8ArrayAlloc(0),
          weight: 0,
          encoding: 0,
          length: 0,
          vector: uint8ArrayAlloc(0),
          blobHash: uint8ArrayAlloc(0),
          scale: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.cohortHash = reader.bytes()
              break
            }
            case 2: {
              obj.weight = reader.double()
              break
            }
            case 3: {
              obj.encoding = reader.uint32()
              break
            }
            case 4: {
              obj.length = reader.uint32()
              break
            }
            case 5: {
              obj.vector = reader.bytes()
              break
            }
            case 6: {
              obj.blobHash = reader.bytes()
              break
            }
            case 7: {
              obj.scale = reader.double()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.cohortHash`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.weight`,
                value: reader.double()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.encoding`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.length`,
                value: reader.uint32()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.vector`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.blobHash`,
                value: reader.bytes()
              }
              break
            }
            case 7: {
              yield {
                field: `${prefix}.scale`,
                value: reader.double()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface UpdateCohortHashFieldEvent {
    field: '$.cohortHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface UpdateWeightFieldEvent {
    field: '$.weight'
    value: number
  }

  export interface UpdateEncodingFieldEvent {
    field: '$.encoding'
    value: number
  }

  export interface UpdateLengthFieldEvent {
    field: '$.length'
    value: number
  }

  export interface UpdateVectorFieldEvent {
    field: '$.vector'
    value: Uint8Array<ArrayBuffer>
  }

  export interface UpdateBlobHashFieldEvent {
    field: '$.blobHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface UpdateScaleFieldEvent {
    field: '$.scale'
    value: number
  }

  export function encode (obj: Partial<Update>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Update.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Update>): Update {
    return decodeMessage(buf, Update.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Update>): Generator<UpdateCohortHashFieldEvent | UpdateWeightFieldEvent | UpdateEncodingFieldEvent | UpdateLengthFieldEvent | UpdateVectorFieldEvent | UpdateBlobHashFieldEvent | UpdateScaleFieldEvent> {
    return streamMessage(buf, Update.codec(), opts)
  }
}

export interface Survivor {
  peer: Uint8Array<ArrayBuffer>
  updateHash: Uint8Array<ArrayBuffer>
}

export namespace Survivor {
  let _codec: Codec<Survivor>

  export const codec = (): Codec<Survivor> => {
    if (_codec == null) {
      _codec = message<Survivor>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.peer != null && obj.peer.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.peer)
        }

        if ((obj.updateHash != null && obj.updateHash.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.updateHash)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          peer: uint8ArrayAlloc(0),
          updateHash: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.peer = reader.bytes()
              break
            }
            case 2: {
              obj.updateHash = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.peer`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.updateHash`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface SurvivorPeerFieldEvent {
    field: '$.peer'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SurvivorUpdateHashFieldEvent {
    field: '$.updateHash'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Survivor>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Survivor.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Survivor>): Survivor {
    return decodeMessage(buf, Survivor.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Survivor>): Generator<SurvivorPeerFieldEvent | SurvivorUpdateHashFieldEvent> {
    return streamMessage(buf, Survivor.codec(), opts)
  }
}

export interface Survivors {
  cohortHash: Uint8Array<ArrayBuffer>
  survivors: Survivor[]
}

export namespace Survivors {
  let _codec: Codec<Survivors>

  export const codec = (): Codec<Survivors> => {
    if (_codec == null) {
      _codec = message<Survivors>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.cohortHash != null && obj.cohortHash.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.cohortHash)
        }

        if (obj.survivors != null && obj.survivors.length > 0) {
          for (const value of obj.survivors) {
            w.uint32(18)
            Survivor.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          cohortHash: uint8ArrayAlloc(0),
          survivors: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.cohortHash = reader.bytes()
              break
            }
            case 2: {
              if (opts.limits?.survivors != null && obj.survivors.length === opts.limits.survivors) {
                throw new MaxLengthError('Decode error - repeated field "survivors" had too many elements')
              }

              obj.survivors.push(Survivor.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.survivors$
              }))
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          survivors: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.cohortHash`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              if (opts.limits?.survivors != null && obj.survivors === opts.limits.survivors) {
                throw new MaxLengthError('Streaming decode error - repeated field "survivors" had too many elements')
              }

              for (const evt of Survivor.codec().stream(reader, reader.uint32(), `${prefix}.survivors[]`, {
                limits: opts.limits?.survivors$
              })) {
                yield {
                  ...evt,
                  index: obj.survivors
                }
              }

              obj.survivors++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface SurvivorsCohortHashFieldEvent {
    field: '$.cohortHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SurvivorsSurvivorsPeerFieldEvent {
    field: '$.survivors[].peer'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface SurvivorsSurvivorsUpdateHashFieldEvent {
    field: '$.survivors[].updateHash'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export function encode (obj: Partial<Survivors>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Survivors.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Survivors>): Survivors {
    return decodeMessage(buf, Survivors.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Survivors>): Generator<SurvivorsCohortHashFieldEvent | SurvivorsSurvivorsPeerFieldEvent | SurvivorsSurvivorsUpdateHashFieldEvent> {
    return streamMessage(buf, Survivors.codec(), opts)
  }
}

export interface Shares {
  cohortHash: Uint8Array<ArrayBuffer>
  seedCommit: Uint8Array<ArrayBuffer>
  boxes: Uint8Array<ArrayBuffer>[]
  bundleHash: Uint8Array<ArrayBuffer>
  boxBytes: number
}

export namespace Shares {
  let _codec: Codec<Shares>

  export const codec = (): Codec<Shares> => {
    if (_codec == null) {
      _codec = message<Shares>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.cohortHash != null && obj.cohortHash.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.cohortHash)
        }

        if ((obj.seedCommit != null && obj.seedCommit.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.seedCommit)
        }

        if (obj.boxes != null && obj.boxes.length > 0) {
          for (const value of obj.boxes) {
            w.uint32(34)
            w.bytes(value)
          }
        }

        if ((obj.bundleHash != null && obj.bundleHash.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.bundleHash)
        }

        if ((obj.boxBytes != null && obj.boxBytes !== 0)) {
          w.uint32(48)
          w.uint32(obj.boxBytes)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          cohortHash: uint8ArrayAlloc(0),
          seedCommit: uint8ArrayAlloc(0),
          boxes: [],
          bundleHash: uint8ArrayAlloc(0),
          boxBytes: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.cohortHash = reader.bytes()
              break
            }
            case 2: {
              obj.seedCommit = reader.bytes()
              break
            }
            case 4: {
              if (opts.limits?.boxes != null && obj.boxes.length === opts.limits.boxes) {
                throw new MaxLengthError('Decode error - repeated field "boxes" had too many elements')
              }

              obj.boxes.push(reader.bytes())
              break
            }
            case 5: {
              obj.bundleHash = reader.bytes()
              break
            }
            case 6: {
              obj.boxBytes = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          boxes: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.cohortHash`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.seedCommit`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              if (opts.limits?.boxes != null && obj.boxes === opts.limits.boxes) {
                throw new MaxLengthError('Streaming decode error - repeated field "boxes" had too many elements')
              }

              yield {
                field: `${prefix}.boxes[]`,
                index: obj.boxes,
                value: reader.bytes()
              }

              obj.boxes++

              break
            }
            case 5: {
              yield {
                field: `${prefix}.bundleHash`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.boxBytes`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface SharesCohortHashFieldEvent {
    field: '$.cohortHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SharesSeedCommitFieldEvent {
    field: '$.seedCommit'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SharesBoxesFieldEvent {
    field: '$.boxes[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface SharesBundleHashFieldEvent {
    field: '$.bundleHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SharesBoxBytesFieldEvent {
    field: '$.boxBytes'
    value: number
  }

  export function encode (obj: Partial<Shares>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Shares.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Shares>): Shares {
    return decodeMessage(buf, Shares.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Shares>): Generator<SharesCohortHashFieldEvent | SharesSeedCommitFieldEvent | SharesBoxesFieldEvent | SharesBundleHashFieldEvent | SharesBoxBytesFieldEvent> {
    return streamMessage(buf, Shares.codec(), opts)
  }
}

export interface MaskSet {
  cohortHash: Uint8Array<ArrayBuffer>
  members: Survivor[]
}

export namespace MaskSet {
  let _codec: Codec<MaskSet>

  export const codec = (): Codec<MaskSet> => {
    if (_codec == null) {
      _codec = message<MaskSet>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.cohortHash != null && obj.cohortHash.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.cohortHash)
        }

        if (obj.members != null && obj.members.length > 0) {
          for (const value of obj.members) {
            w.uint32(18)
            Survivor.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          cohortHash: uint8ArrayAlloc(0),
          members: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.cohortHash = reader.bytes()
              break
            }
            case 2: {
              if (opts.limits?.members != null && obj.members.length === opts.limits.members) {
                throw new MaxLengthError('Decode error - repeated field "members" had too many elements')
              }

              obj.members.push(Survivor.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.members$
              }))
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          members: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.cohortHash`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              if (opts.limits?.members != null && obj.members === opts.limits.members) {
                throw new MaxLengthError('Streaming decode error - repeated field "members" had too many elements')
              }

              for (const evt of Survivor.codec().stream(reader, reader.uint32(), `${prefix}.members[]`, {
                limits: opts.limits?.members$
              })) {
                yield {
                  ...evt,
                  index: obj.members
                }
              }

              obj.members++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface MaskSetCohortHashFieldEvent {
    field: '$.cohortHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface MaskSetMembersPeerFieldEvent {
    field: '$.members[].peer'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface MaskSetMembersUpdateHashFieldEvent {
    field: '$.members[].updateHash'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export function encode (obj: Partial<MaskSet>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, MaskSet.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MaskSet>): MaskSet {
    return decodeMessage(buf, MaskSet.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<MaskSet>): Generator<MaskSetCohortHashFieldEvent | MaskSetMembersPeerFieldEvent | MaskSetMembersUpdateHashFieldEvent> {
    return streamMessage(buf, MaskSet.codec(), opts)
  }
}

export interface Ack {
  survivorsHash: Uint8Array<ArrayBuffer>
}

export namespace Ack {
  let _codec: Codec<Ack>

  export const codec = (): Codec<Ack> => {
    if (_codec == null) {
      _codec = message<Ack>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.survivorsHash != null && obj.survivorsHash.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.survivorsHash)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          survivorsHash: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.survivorsHash = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.survivorsHash`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface AckSurvivorsHashFieldEvent {
    field: '$.survivorsHash'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Ack>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Ack.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Ack>): Ack {
    return decodeMessage(buf, Ack.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Ack>): Generator<AckSurvivorsHashFieldEvent> {
    return streamMessage(buf, Ack.codec(), opts)
  }
}

export interface Unmask {
  survivorsHash: Uint8Array<ArrayBuffer>
  shares: Uint8Array<ArrayBuffer>[]
  sharesHash: Uint8Array<ArrayBuffer>
}

export namespace Unmask {
  let _codec: Codec<Unmask>

  export const codec = (): Codec<Unmask> => {
    if (_codec == null) {
      _codec = message<Unmask>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.survivorsHash != null && obj.survivorsHash.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.survivorsHash)
        }

        if (obj.shares != null && obj.shares.length > 0) {
          for (const value of obj.shares) {
            w.uint32(26)
            w.bytes(value)
          }
        }

        if ((obj.sharesHash != null && obj.sharesHash.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.sharesHash)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          survivorsHash: uint8ArrayAlloc(0),
          shares: [],
          sharesHash: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.survivorsHash = reader.bytes()
              break
            }
            case 3: {
              if (opts.limits?.shares != null && obj.shares.length === opts.limits.shares) {
                throw new MaxLengthError('Decode error - repeated field "shares" had too many elements')
              }

              obj.shares.push(reader.bytes())
              break
            }
            case 4: {
              obj.sharesHash = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          shares: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.survivorsHash`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              if (opts.limits?.shares != null && obj.shares === opts.limits.shares) {
                throw new MaxLengthError('Streaming decode error - repeated field "shares" had too many elements')
              }

              yield {
                field: `${prefix}.shares[]`,
                index: obj.shares,
                value: reader.bytes()
              }

              obj.shares++

              break
            }
            case 4: {
              yield {
                field: `${prefix}.sharesHash`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface UnmaskSurvivorsHashFieldEvent {
    field: '$.survivorsHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface UnmaskSharesFieldEvent {
    field: '$.shares[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface UnmaskSharesHashFieldEvent {
    field: '$.sharesHash'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Unmask>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Unmask.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Unmask>): Unmask {
    return decodeMessage(buf, Unmask.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Unmask>): Generator<UnmaskSurvivorsHashFieldEvent | UnmaskSharesFieldEvent | UnmaskSharesHashFieldEvent> {
    return streamMessage(buf, Unmask.codec(), opts)
  }
}

export interface SliceSum {
  survivorsHash: Uint8Array<ArrayBuffer>
  index: number
  count: number
  sumHash: Uint8Array<ArrayBuffer>
}

export namespace SliceSum {
  let _codec: Codec<SliceSum>

  export const codec = (): Codec<SliceSum> => {
    if (_codec == null) {
      _codec = message<SliceSum>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.survivorsHash != null && obj.survivorsHash.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.survivorsHash)
        }

        if ((obj.index != null && obj.index !== 0)) {
          w.uint32(16)
          w.uint32(obj.index)
        }

        if ((obj.count != null && obj.count !== 0)) {
          w.uint32(24)
          w.uint32(obj.count)
        }

        if ((obj.sumHash != null && obj.sumHash.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.sumHash)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          survivorsHash: uint8ArrayAlloc(0),
          index: 0,
          count: 0,
          sumHash: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.survivorsHash = reader.bytes()
              break
            }
            case 2: {
              obj.index = reader.uint32()
              break
            }
            case 3: {
              obj.count = reader.uint32()
              break
            }
            case 4: {
              obj.sumHash = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.survivorsHash`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.index`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.count`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.sumHash`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface SliceSumSurvivorsHashFieldEvent {
    field: '$.survivorsHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SliceSumIndexFieldEvent {
    field: '$.index'
    value: number
  }

  export interface SliceSumCountFieldEvent {
    field: '$.count'
    value: number
  }

  export interface SliceSumSumHashFieldEvent {
    field: '$.sumHash'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<SliceSum>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SliceSum.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SliceSum>): SliceSum {
    return decodeMessage(buf, SliceSum.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SliceSum>): Generator<SliceSumSurvivorsHashFieldEvent | SliceSumIndexFieldEvent | SliceSumCountFieldEvent | SliceSumSumHashFieldEvent> {
    return streamMessage(buf, SliceSum.codec(), opts)
  }
}

export interface Result {
  survivorsHash: Uint8Array<ArrayBuffer>
  modelHash: Uint8Array<ArrayBuffer>
  survivors: number
  epsilon?: number
  cohortHash?: Uint8Array<ArrayBuffer>
}

export namespace Result {
  let _codec: Codec<Result>

  export const codec = (): Codec<Result> => {
    if (_codec == null) {
      _codec = message<Result>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.survivorsHash != null && obj.survivorsHash.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.survivorsHash)
        }

        if ((obj.modelHash != null && obj.modelHash.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.modelHash)
        }

        if ((obj.survivors != null && obj.survivors !== 0)) {
          w.uint32(24)
          w.uint32(obj.survivors)
        }

        if (obj.epsilon != null) {
          w.uint32(33)
          w.double(obj.epsilon)
        }

        if (obj.cohortHash != null) {
          w.uint32(42)
          w.bytes(obj.cohortHash)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          survivorsHash: uint8ArrayAlloc(0),
          modelHash: uint8ArrayAlloc(0),
          survivors: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.survivorsHash = reader.bytes()
              break
            }
            case 2: {
              obj.modelHash = reader.bytes()
              break
            }
            case 3: {
              obj.survivors = reader.uint32()
              break
            }
            case 4: {
              obj.epsilon = reader.double()
              break
            }
            case 5: {
              obj.cohortHash = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.survivorsHash`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.modelHash`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.survivors`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.epsilon`,
                value: reader.double()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.cohortHash`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface ResultSurvivorsHashFieldEvent {
    field: '$.survivorsHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResultModelHashFieldEvent {
    field: '$.modelHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ResultSurvivorsFieldEvent {
    field: '$.survivors'
    value: number
  }

  export interface ResultEpsilonFieldEvent {
    field: '$.epsilon'
    value: number
  }

  export interface ResultCohortHashFieldEvent {
    field: '$.cohortHash'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<Result>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, Result.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Result>): Result {
    return decodeMessage(buf, Result.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Result>): Generator<ResultSurvivorsHashFieldEvent | ResultModelHashFieldEvent | ResultSurvivorsFieldEvent | ResultEpsilonFieldEvent | ResultCohortHashFieldEvent> {
    return streamMessage(buf, Result.codec(), opts)
  }
}

export interface SyncRequest {
  task: Uint8Array<ArrayBuffer>
  round: number
  attempt: number
  have: Uint8Array<ArrayBuffer>[]
  chainFrom?: number
  chainTo?: number
}

export namespace SyncRequest {
  let _codec: Codec<SyncRequest>

  export const codec = (): Codec<SyncRequest> => {
    if (_codec == null) {
      _codec = message<SyncRequest>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.task != null && obj.task.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.task)
        }

        if ((obj.round != null && obj.round !== 0)) {
          w.uint32(16)
          w.uint32(obj.round)
        }

        if ((obj.attempt != null && obj.attempt !== 0)) {
          w.uint32(24)
          w.uint32(obj.attempt)
        }

        if (obj.have != null && obj.have.length > 0) {
          for (const value of obj.have) {
            w.uint32(34)
            w.bytes(value)
          }
        }

        if (obj.chainFrom != null) {
          w.uint32(40)
          w.uint32(obj.chainFrom)
        }

        if (obj.chainTo != null) {
          w.uint32(48)
          w.uint32(obj.chainTo)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          task: uint8ArrayAlloc(0),
          round: 0,
          attempt: 0,
          have: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.task = reader.bytes()
              break
            }
            case 2: {
              obj.round = reader.uint32()
              break
            }
            case 3: {
              obj.attempt = reader.uint32()
              break
            }
            case 4: {
              if (opts.limits?.have != null && obj.have.length === opts.limits.have) {
                throw new MaxLengthError('Decode error - repeated field "have" had too many elements')
              }

              obj.have.push(reader.bytes())
              break
            }
            case 5: {
              obj.chainFrom = reader.uint32()
              break
            }
            case 6: {
              obj.chainTo = reader.uint32()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          have: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.task`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.round`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.attempt`,
                value: reader.uint32()
              }
              break
            }
            case 4: {
              if (opts.limits?.have != null && obj.have === opts.limits.have) {
                throw new MaxLengthError('Streaming decode error - repeated field "have" had too many elements')
              }

              yield {
                field: `${prefix}.have[]`,
                index: obj.have,
                value: reader.bytes()
              }

              obj.have++

              break
            }
            case 5: {
              yield {
                field: `${prefix}.chainFrom`,
                value: reader.uint32()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.chainTo`,
                value: reader.uint32()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface SyncRequestTaskFieldEvent {
    field: '$.task'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SyncRequestRoundFieldEvent {
    field: '$.round'
    value: number
  }

  export interface SyncRequestAttemptFieldEvent {
    field: '$.attempt'
    value: number
  }

  export interface SyncRequestHaveFieldEvent {
    field: '$.have[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface SyncRequestChainFromFieldEvent {
    field: '$.chainFrom'
    value: number
  }

  export interface SyncRequestChainToFieldEvent {
    field: '$.chainTo'
    value: number
  }

  export function encode (obj: Partial<SyncRequest>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SyncRequest.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncRequest>): SyncRequest {
    return decodeMessage(buf, SyncRequest.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncRequest>): Generator<SyncRequestTaskFieldEvent | SyncRequestRoundFieldEvent | SyncRequestAttemptFieldEvent | SyncRequestHaveFieldEvent | SyncRequestChainFromFieldEvent | SyncRequestChainToFieldEvent> {
    return streamMessage(buf, SyncRequest.codec(), opts)
  }
}

export interface SyncResponse {
  headRound: number
  headModel: Uint8Array<ArrayBuffer>
  envelopes: Uint8Array<ArrayBuffer>[]
  chain?: SignedChain
}

export namespace SyncResponse {
  let _codec: Codec<SyncResponse>

  export const codec = (): Codec<SyncResponse> => {
    if (_codec == null) {
      _codec = message<SyncResponse>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.headRound != null && obj.headRound !== 0)) {
          w.uint32(8)
          w.uint32(obj.headRound)
        }

        if ((obj.headModel != null && obj.headModel.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.headModel)
        }

        if (obj.envelopes != null && obj.envelopes.length > 0) {
          for (const value of obj.envelopes) {
            w.uint32(26)
            w.bytes(value)
          }
        }

        if (obj.chain != null) {
          w.uint32(34)
          SignedChain.codec().encode(obj.chain, w)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          headRound: 0,
          headModel: uint8ArrayAlloc(0),
          envelopes: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.headRound = reader.uint32()
              break
            }
            case 2: {
              obj.headModel = reader.bytes()
              break
            }
            case 3: {
              if (opts.limits?.envelopes != null && obj.envelopes.length === opts.limits.envelopes) {
                throw new MaxLengthError('Decode error - repeated field "envelopes" had too many elements')
              }

              obj.envelopes.push(reader.bytes())
              break
            }
            case 4: {
              obj.chain = SignedChain.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.chain
              })
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          envelopes: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.headRound`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.headModel`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              if (opts.limits?.envelopes != null && obj.envelopes === opts.limits.envelopes) {
                throw new MaxLengthError('Streaming decode error - repeated field "envelopes" had too many elements')
              }

              yield {
                field: `${prefix}.envelopes[]`,
                index: obj.envelopes,
                value: reader.bytes()
              }

              obj.envelopes++

              break
            }
            case 4: {
              yield * SignedChain.codec().stream(reader, reader.uint32(), `${prefix}.chain`, {
                limits: opts.limits?.chain
              })

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface SyncResponseHeadRoundFieldEvent {
    field: '$.headRound'
    value: number
  }

  export interface SyncResponseHeadModelFieldEvent {
    field: '$.headModel'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SyncResponseEnvelopesFieldEvent {
    field: '$.envelopes[]'
    index: number
    value: Uint8Array<ArrayBuffer>
  }

  export interface SyncResponseChainSignerFieldEvent {
    field: '$.chain.signer'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SyncResponseChainPageFieldEvent {
    field: '$.chain.page'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SyncResponseChainSignatureFieldEvent {
    field: '$.chain.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<SyncResponse>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SyncResponse.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncResponse>): SyncResponse {
    return decodeMessage(buf, SyncResponse.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SyncResponse>): Generator<SyncResponseHeadRoundFieldEvent | SyncResponseHeadModelFieldEvent | SyncResponseEnvelopesFieldEvent | SyncResponseChainSignerFieldEvent | SyncResponseChainPageFieldEvent | SyncResponseChainSignatureFieldEvent> {
    return streamMessage(buf, SyncResponse.codec(), opts)
  }
}

export interface ChainLink {
  round: number
  attempt: number
  baseHash: Uint8Array<ArrayBuffer>
  cohortHash: Uint8Array<ArrayBuffer>
  survivorsHash: Uint8Array<ArrayBuffer>
  resultHash: Uint8Array<ArrayBuffer>
}

export namespace ChainLink {
  let _codec: Codec<ChainLink>

  export const codec = (): Codec<ChainLink> => {
    if (_codec == null) {
      _codec = message<ChainLink>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.round != null && obj.round !== 0)) {
          w.uint32(8)
          w.uint32(obj.round)
        }

        if ((obj.attempt != null && obj.attempt !== 0)) {
          w.uint32(16)
          w.uint32(obj.attempt)
        }

        if ((obj.baseHash != null && obj.baseHash.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.baseHash)
        }

        if ((obj.cohortHash != null && obj.cohortHash.byteLength > 0)) {
          w.uint32(34)
          w.bytes(obj.cohortHash)
        }

        if ((obj.survivorsHash != null && obj.survivorsHash.byteLength > 0)) {
          w.uint32(42)
          w.bytes(obj.survivorsHash)
        }

        if ((obj.resultHash != null && obj.resultHash.byteLength > 0)) {
          w.uint32(50)
          w.bytes(obj.resultHash)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          round: 0,
          attempt: 0,
          baseHash: uint8ArrayAlloc(0),
          cohortHash: uint8ArrayAlloc(0),
          survivorsHash: uint8ArrayAlloc(0),
          resultHash: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.round = reader.uint32()
              break
            }
            case 2: {
              obj.attempt = reader.uint32()
              break
            }
            case 3: {
              obj.baseHash = reader.bytes()
              break
            }
            case 4: {
              obj.cohortHash = reader.bytes()
              break
            }
            case 5: {
              obj.survivorsHash = reader.bytes()
              break
            }
            case 6: {
              obj.resultHash = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.round`,
                value: reader.uint32()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.attempt`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.baseHash`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              yield {
                field: `${prefix}.cohortHash`,
                value: reader.bytes()
              }
              break
            }
            case 5: {
              yield {
                field: `${prefix}.survivorsHash`,
                value: reader.bytes()
              }
              break
            }
            case 6: {
              yield {
                field: `${prefix}.resultHash`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface ChainLinkRoundFieldEvent {
    field: '$.round'
    value: number
  }

  export interface ChainLinkAttemptFieldEvent {
    field: '$.attempt'
    value: number
  }

  export interface ChainLinkBaseHashFieldEvent {
    field: '$.baseHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ChainLinkCohortHashFieldEvent {
    field: '$.cohortHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ChainLinkSurvivorsHashFieldEvent {
    field: '$.survivorsHash'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ChainLinkResultHashFieldEvent {
    field: '$.resultHash'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<ChainLink>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ChainLink.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ChainLink>): ChainLink {
    return decodeMessage(buf, ChainLink.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ChainLink>): Generator<ChainLinkRoundFieldEvent | ChainLinkAttemptFieldEvent | ChainLinkBaseHashFieldEvent | ChainLinkCohortHashFieldEvent | ChainLinkSurvivorsHashFieldEvent | ChainLinkResultHashFieldEvent> {
    return streamMessage(buf, ChainLink.codec(), opts)
  }
}

export interface ChainPage {
  task: Uint8Array<ArrayBuffer>
  headRound: number
  headModel: Uint8Array<ArrayBuffer>
  links: ChainLink[]
}

export namespace ChainPage {
  let _codec: Codec<ChainPage>

  export const codec = (): Codec<ChainPage> => {
    if (_codec == null) {
      _codec = message<ChainPage>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.task != null && obj.task.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.task)
        }

        if ((obj.headRound != null && obj.headRound !== 0)) {
          w.uint32(16)
          w.uint32(obj.headRound)
        }

        if ((obj.headModel != null && obj.headModel.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.headModel)
        }

        if (obj.links != null && obj.links.length > 0) {
          for (const value of obj.links) {
            w.uint32(34)
            ChainLink.codec().encode(value, w)
          }
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          task: uint8ArrayAlloc(0),
          headRound: 0,
          headModel: uint8ArrayAlloc(0),
          links: []
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.task = reader.bytes()
              break
            }
            case 2: {
              obj.headRound = reader.uint32()
              break
            }
            case 3: {
              obj.headModel = reader.bytes()
              break
            }
            case 4: {
              if (opts.limits?.links != null && obj.links.length === opts.limits.links) {
                throw new MaxLengthError('Decode error - repeated field "links" had too many elements')
              }

              obj.links.push(ChainLink.codec().decode(reader, reader.uint32(), {
                limits: opts.limits?.links$
              }))
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const obj = {
          links: 0
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.task`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.headRound`,
                value: reader.uint32()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.headModel`,
                value: reader.bytes()
              }
              break
            }
            case 4: {
              if (opts.limits?.links != null && obj.links === opts.limits.links) {
                throw new MaxLengthError('Streaming decode error - repeated field "links" had too many elements')
              }

              for (const evt of ChainLink.codec().stream(reader, reader.uint32(), `${prefix}.links[]`, {
                limits: opts.limits?.links$
              })) {
                yield {
                  ...evt,
                  index: obj.links
                }
              }

              obj.links++

              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface ChainPageTaskFieldEvent {
    field: '$.task'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ChainPageHeadRoundFieldEvent {
    field: '$.headRound'
    value: number
  }

  export interface ChainPageHeadModelFieldEvent {
    field: '$.headModel'
    value: Uint8Array<ArrayBuffer>
  }

  export interface ChainPageLinksRoundFieldEvent {
    field: '$.links[].round'
    value: number
    index: number
  }

  export interface ChainPageLinksAttemptFieldEvent {
    field: '$.links[].attempt'
    value: number
    index: number
  }

  export interface ChainPageLinksBaseHashFieldEvent {
    field: '$.links[].baseHash'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ChainPageLinksCohortHashFieldEvent {
    field: '$.links[].cohortHash'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ChainPageLinksSurvivorsHashFieldEvent {
    field: '$.links[].survivorsHash'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export interface ChainPageLinksResultHashFieldEvent {
    field: '$.links[].resultHash'
    value: Uint8Array<ArrayBuffer>
    index: number
  }

  export function encode (obj: Partial<ChainPage>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, ChainPage.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ChainPage>): ChainPage {
    return decodeMessage(buf, ChainPage.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ChainPage>): Generator<ChainPageTaskFieldEvent | ChainPageHeadRoundFieldEvent | ChainPageHeadModelFieldEvent | ChainPageLinksRoundFieldEvent | ChainPageLinksAttemptFieldEvent | ChainPageLinksBaseHashFieldEvent | ChainPageLinksCohortHashFieldEvent | ChainPageLinksSurvivorsHashFieldEvent | ChainPageLinksResultHashFieldEvent> {
    return streamMessage(buf, ChainPage.codec(), opts)
  }
}

export interface SignedChain {
  signer: Uint8Array<ArrayBuffer>
  page: Uint8Array<ArrayBuffer>
  signature: Uint8Array<ArrayBuffer>
}

export namespace SignedChain {
  let _codec: Codec<SignedChain>

  export const codec = (): Codec<SignedChain> => {
    if (_codec == null) {
      _codec = message<SignedChain>((obj, w, opts = {}) => {
        if (opts.lengthDelimited !== false) {
          w.fork()
        }

        if ((obj.signer != null && obj.signer.byteLength > 0)) {
          w.uint32(10)
          w.bytes(obj.signer)
        }

        if ((obj.page != null && obj.page.byteLength > 0)) {
          w.uint32(18)
          w.bytes(obj.page)
        }

        if ((obj.signature != null && obj.signature.byteLength > 0)) {
          w.uint32(26)
          w.bytes(obj.signature)
        }

        if (opts.lengthDelimited !== false) {
          w.ldelim()
        }
      }, (reader, length, opts = {}) => {
        const obj: any = {
          signer: uint8ArrayAlloc(0),
          page: uint8ArrayAlloc(0),
          signature: uint8ArrayAlloc(0)
        }

        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              obj.signer = reader.bytes()
              break
            }
            case 2: {
              obj.page = reader.bytes()
              break
            }
            case 3: {
              obj.signature = reader.bytes()
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }

        return obj
      }, function * (reader, length, prefix, opts = {}) {
        const end = length == null ? reader.len : reader.pos + length

        while (reader.pos < end) {
          const tag = reader.uint32()

          switch (tag >>> 3) {
            case 1: {
              yield {
                field: `${prefix}.signer`,
                value: reader.bytes()
              }
              break
            }
            case 2: {
              yield {
                field: `${prefix}.page`,
                value: reader.bytes()
              }
              break
            }
            case 3: {
              yield {
                field: `${prefix}.signature`,
                value: reader.bytes()
              }
              break
            }
            default: {
              reader.skipType(tag & 7)
              break
            }
          }
        }
      })
    }

    return _codec
  }

  export interface SignedChainSignerFieldEvent {
    field: '$.signer'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedChainPageFieldEvent {
    field: '$.page'
    value: Uint8Array<ArrayBuffer>
  }

  export interface SignedChainSignatureFieldEvent {
    field: '$.signature'
    value: Uint8Array<ArrayBuffer>
  }

  export function encode (obj: Partial<SignedChain>): Uint8Array<ArrayBuffer> {
    return encodeMessage(obj, SignedChain.codec())
  }

  export function decode (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedChain>): SignedChain {
    return decodeMessage(buf, SignedChain.codec(), opts)
  }

  export function stream (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedChain>): Generator<SignedChainSignerFieldEvent | SignedChainPageFieldEvent | SignedChainSignatureFieldEvent> {
    return streamMessage(buf, SignedChain.codec(), opts)
  }
}
