// Input generators for the fuzzers (fast-check arbitraries): purely random bytes, and structure-aware
// mutations of valid encoded messages — bit flips, inserted / deleted / truncated bytes, lengths and
// varints set to huge or off-by-one values, fields duplicated many times (oversize repeated fields),
// fields dropped or retagged, payloads replaced, deep group nesting, splices from other messages.
import fc from 'fast-check'
import { WIRE_LEN, WIRE_VARINT, concat, encodeVarint, overlongVarint, readVarint, refitLengths, walkFields } from './proto-bytes.ts'

/** Values a mutated varint takes: boundaries, huge claims, and what fits the protocol's limits. */
export const INTERESTING_NUMBERS: readonly bigint[] = [
  0n, 1n, 2n, 7n, 8n, 31n, 32n, 33n, 63n, 64n, 65n, 127n, 128n, 255n, 256n, 1023n, 1024n, 1025n, 4095n, 4096n, 4097n,
  65535n, 65536n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n
]

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x08, 0x0a, 0x0b, 0x0c, 0x12, 0x1a, 0x22]

export type Mutation =
  | { kind: 'flip', at: number, bit: number }
  | { kind: 'set', at: number, value: number }
  | { kind: 'insert', at: number, bytes: Uint8Array, refit: boolean }
  | { kind: 'delete', at: number, len: number, refit: boolean }
  | { kind: 'truncate', at: number }
  | { kind: 'repeat', at: number, len: number, times: number }
  | { kind: 'varint', field: number, value: bigint, overlong: number }
  | { kind: 'dup', field: number, times: number }
  | { kind: 'drop', field: number }
  | { kind: 'retag', field: number, number: number, wireType: number }
  | { kind: 'payload', field: number, bytes: Uint8Array }
  | { kind: 'groups', at: number, depth: number, closed: boolean }
  | { kind: 'splice', other: number, at: number, from: number, len: number }

/** Repetition counts: mostly small, sometimes just past a limit (MAX_COHORT 1024, 4096 sync entries, 256 links). */
const timesArb = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 8 }) },
  { weight: 2, arbitrary: fc.constantFrom(9, 33, 257, 1025, 4097) },
  { weight: 1, arbitrary: fc.integer({ min: 9, max: 6000 }) }
)

const payloadArb = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.constantFrom(0, 1, 31, 32, 33, 64, 65, 257).chain(n => fc.uint8Array({ minLength: n, maxLength: n })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 70_000 }).map(n => new Uint8Array(n).fill(n & 0xff)) }
)

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(...INTERESTING_BYTES), fc.integer({ min: 0, max: 255 })) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }), refit: fc.boolean() }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 40 }), refit: fc.boolean() }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 64 }), times: timesArb }),
  fc.record({ kind: fc.constant('varint' as const), field: fc.nat(), value: fc.oneof(fc.constantFrom(...INTERESTING_NUMBERS), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })), overlong: fc.constantFrom(0, 0, 0, 1, 4, 9) }),
  fc.record({ kind: fc.constant('dup' as const), field: fc.nat(), times: timesArb }),
  fc.record({ kind: fc.constant('drop' as const), field: fc.nat() }),
  fc.record({ kind: fc.constant('retag' as const), field: fc.nat(), number: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.constantFrom(0, 536870911, 1000)), wireType: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('payload' as const), field: fc.nat(), bytes: payloadArb }),
  fc.record({ kind: fc.constant('groups' as const), at: fc.nat(), depth: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.constantFrom(10_000, 100_000)), closed: fc.boolean() }),
  fc.record({ kind: fc.constant('splice' as const), other: fc.nat(), at: fc.nat(), from: fc.nat(), len: fc.integer({ min: 1, max: 200 }) })
)

/** Inputs grow to at most this much by repetition (past every size limit of the protocol, 3.75 MiB). */
const MAX_GROWN_BYTES = 6 * 1024 * 1024

/** How many copies of `n` bytes to add: `times`, or fewer to stay under MAX_GROWN_BYTES. */
function copies (n: number, times: number): number {
  return Math.max(1, Math.min(times, Math.floor(MAX_GROWN_BYTES / Math.max(1, n))))
}

/** Applies one mutation; `others` are valid messages to splice from. Never throws. */
export function applyMutation (b: Uint8Array, m: Mutation, others: readonly Uint8Array[]): Uint8Array {
  const pos = (n: number): number => n % (b.length + 1)
  const spans = walkFields(b)
  const span = (k: number) => spans.length === 0 ? undefined : spans[k % spans.length]
  switch (m.kind) {
    case 'flip': {
      if (b.length === 0) return b
      const out = Uint8Array.from(b)
      out[m.at % b.length] ^= 1 << m.bit
      return out
    }
    case 'set': {
      if (b.length === 0) return Uint8Array.of(m.value)
      const out = Uint8Array.from(b)
      out[m.at % b.length] = m.value
      return out
    }
    case 'insert': {
      const at = pos(m.at)
      const out = concat(b.subarray(0, at), m.bytes, b.subarray(at))
      return m.refit ? refitLengths(out, spans, at, at, m.bytes.length) : out
    }
    case 'delete': {
      const at = pos(m.at)
      const end = Math.min(b.length, at + m.len)
      const out = concat(b.subarray(0, at), b.subarray(end))
      return m.refit ? refitLengths(out, spans, at, end, at - end) : out
    }
    case 'truncate': return b.subarray(0, m.at % (b.length + 1))
    case 'repeat': {
      const at = pos(m.at)
      const chunk = b.subarray(at, Math.min(b.length, at + m.len))
      if (chunk.length === 0) return b
      const parts: Uint8Array[] = [b.subarray(0, at)]
      for (let i = 0; i < copies(chunk.length, m.times); i++) parts.push(chunk)
      parts.push(b.subarray(at))
      return concat(...parts)
    }
    case 'varint': {
      const s = span(m.field)
      if (s == null) return b
      // the value of a varint field, or the length prefix of a length-delimited one (a false claim)
      const at = s.wireType === WIRE_VARINT || s.wireType === WIRE_LEN ? s.tagEnd : -1
      if (at < 0) return b
      const old = readVarint(b, at)
      if (old == null) return b
      const enc = m.overlong > 0 && m.value < 2n ** 53n ? overlongVarint(Number(m.value), m.overlong) : encodeVarint(m.value)
      return concat(b.subarray(0, at), enc, b.subarray(old.end))
    }
    case 'dup': {
      const s = span(m.field)
      if (s == null) return b
      const field = b.subarray(s.start, s.end)
      const times = copies(field.length, m.times)
      const parts: Uint8Array[] = [b.subarray(0, s.end)]
      for (let i = 0; i < times; i++) parts.push(field)
      parts.push(b.subarray(s.end))
      return refitLengths(concat(...parts), spans, s.start, s.end, field.length * times)
    }
    case 'drop': {
      const s = span(m.field)
      if (s == null) return b
      const out = concat(b.subarray(0, s.start), b.subarray(s.end))
      return refitLengths(out, spans, s.start, s.end, s.start - s.end)
    }
    case 'retag': {
      const s = span(m.field)
      if (s == null) return b
      const tag = encodeVarint((BigInt(m.number) << 3n) | BigInt(m.wireType))
      const out = concat(b.subarray(0, s.start), tag, b.subarray(s.tagEnd))
      return refitLengths(out, spans, s.start, s.end, tag.length - (s.tagEnd - s.start))
    }
    case 'payload': {
      const s = span(m.field)
      if (s?.lenEnd == null) return b
      const enc = encodeVarint(m.bytes.length)
      const out = concat(b.subarray(0, s.tagEnd), enc, m.bytes, b.subarray(s.end))
      return refitLengths(out, spans, s.start, s.end, enc.length + m.bytes.length - (s.end - s.tagEnd))
    }
    case 'groups': {
      const at = pos(m.at)
      const open = new Uint8Array(m.depth).fill(0x0b) // field 1, wire type 3 (start group)
      const close = m.closed ? new Uint8Array(m.depth).fill(0x0c) : new Uint8Array(0) // end group
      return concat(b.subarray(0, at), open, close, b.subarray(at))
    }
    case 'splice': {
      if (others.length === 0) return b
      const o = others[m.other % others.length]
      const from = m.from % (o.length + 1)
      const at = pos(m.at)
      return concat(b.subarray(0, at), o.subarray(from, from + m.len), b.subarray(at))
    }
  }
}

/** A valid message from `corpus`, mutated 1-4 times (the mutations build on each other). */
export function mutatedArb (corpus: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.record({ base: fc.nat(), ops: fc.array(mutationArb, { minLength: 1, maxLength: 4 }) }).map(({ base, ops }) => {
    let b = corpus[base % corpus.length]
    for (const op of ops) {
      b = applyMutation(b, op, corpus)
      if (b.length > 8 * 1024 * 1024) break
    }
    return b
  })
}

/** Random bytes: mostly short, now and then up to 64 KiB. */
export const randomBytesArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1000, maxLength: 65_536 }) }
)

/**
 * Small inputs that claim something huge: a length-delimited field (any number 1-20) whose length prefix
 * says up to 2^64 - 1 bytes follow, with only a few bytes after it, possibly inside a valid prefix.
 */
export function hugeClaimArb (corpus: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.record({
    base: fc.nat(),
    cut: fc.nat(),
    field: fc.integer({ min: 1, max: 20 }),
    len: fc.constantFrom(...INTERESTING_NUMBERS.filter(n => n > 1000n)),
    tail: fc.uint8Array({ maxLength: 16 })
  }).map(({ base, cut, field, len, tail }) => {
    const b = corpus.length === 0 ? new Uint8Array(0) : corpus[base % corpus.length]
    const spans = walkFields(b).filter(s => s.depth === 0)
    const at = spans.length === 0 ? 0 : spans[cut % spans.length].start
    return concat(b.subarray(0, at), encodeVarint((BigInt(field) << 3n) | 2n), encodeVarint(len), tail)
  })
}

/** The standard mix for a binary decoder: 75 % structure-aware mutations, 15 % random bytes, 10 % huge claims. */
export function binaryInputArb (corpus: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 15, arbitrary: mutatedArb(corpus) },
    { weight: 3, arbitrary: randomBytesArb },
    { weight: 2, arbitrary: hugeClaimArb(corpus) }
  )
}
