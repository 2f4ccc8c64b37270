// Protobuf wire bytes for the fuzzers: varint encoding and a tolerant field walker that finds every
// field (tag, length prefix, value) of an encoded message, nested messages included, so that mutations
// can aim at lengths, varints and repeated fields instead of only at random bytes.

export const WIRE_VARINT = 0
export const WIRE_I64 = 1
export const WIRE_LEN = 2
export const WIRE_I32 = 5

/** Unsigned LEB128 of `value` (up to 10 bytes; larger values are cut to 64 bits). */
export function encodeVarint (value: bigint | number): Uint8Array {
  let v = BigInt.asUintN(64, BigInt(value))
  const out: number[] = []
  do {
    let b = Number(v & 0x7fn)
    v >>= 7n
    if (v > 0n) b |= 0x80
    out.push(b)
  } while (v > 0n)
  return Uint8Array.from(out)
}

/** `value` as an over-long varint: `extra` redundant continuation bytes (a valid but non-minimal encoding). */
export function overlongVarint (value: number, extra: number): Uint8Array {
  const min = encodeVarint(value)
  const out = new Uint8Array(min.length + extra)
  out.set(min)
  for (let i = 0; i < min.length + extra - 1; i++) out[i] |= 0x80
  return out
}

/** Reads a varint at `pos`; undefined if it runs past the end or over 10 bytes. */
export function readVarint (b: Uint8Array, pos: number): { value: bigint, end: number } | undefined {
  let value = 0n
  for (let i = 0; i < 10; i++) {
    if (pos + i >= b.length) return undefined
    const byte = b[pos + i]
    value |= BigInt(byte & 0x7f) << BigInt(7 * i)
    if (byte < 0x80) return { value, end: pos + i + 1 }
  }
  return undefined
}

/** One field of an encoded message, by byte offsets into the buffer the walk started from. */
export interface FieldSpan {
  /** Offset of the tag varint. */
  start: number
  /** Offset just after the tag varint. */
  tagEnd: number
  /** Length-delimited fields: offset just after the length varint (= start of the payload). */
  lenEnd?: number
  /** Offset just after the whole field. */
  end: number
  field: number
  wireType: number
  /** Nesting depth (0 = top level). */
  depth: number
}

/**
 * Every field of `b[from, to)` that parses as protobuf, depth first; length-delimited payloads that
 * themselves parse cleanly are walked too (they may be nested messages, or just bytes that happen to
 * parse). Stops quietly at the first byte that does not parse. Bounded by `maxFields`.
 */
export function walkFields (b: Uint8Array, from = 0, to = b.length, depth = 0, maxFields = 4096, out: FieldSpan[] = []): FieldSpan[] {
  let pos = from
  while (pos < to && out.length < maxFields) {
    const tag = readVarint(b, pos)
    if (tag == null || tag.end > to) return out
    const field = Number(tag.value >> 3n)
    const wireType = Number(tag.value & 7n)
    if (field === 0 || field > 0x1fffffff) return out
    let end: number
    let lenEnd: number | undefined
    switch (wireType) {
      case WIRE_VARINT: {
        const v = readVarint(b, tag.end)
        if (v == null) return out
        end = v.end
        break
      }
      case WIRE_I64: end = tag.end + 8; break
      case WIRE_I32: end = tag.end + 4; break
      case WIRE_LEN: {
        const len = readVarint(b, tag.end)
        if (len == null) return out
        lenEnd = len.end
        end = len.end + Number(len.value)
        break
      }
      default: return out
    }
    if (end > to) return out
    out.push({ start: pos, tagEnd: tag.end, lenEnd, end, field, wireType, depth })
    if (lenEnd != null && end > lenEnd && depth < 8 && parsesCleanly(b, lenEnd, end)) walkFields(b, lenEnd, end, depth + 1, maxFields, out)
    pos = end
  }
  return out
}

/** Whether `b[from, to)` is a sequence of well-formed fields that ends exactly at `to`. */
function parsesCleanly (b: Uint8Array, from: number, to: number): boolean {
  let pos = from
  for (let n = 0; pos < to && n < 4096; n++) {
    const tag = readVarint(b, pos)
    if (tag == null) return false
    const field = Number(tag.value >> 3n)
    const wt = Number(tag.value & 7n)
    if (field === 0) return false
    if (wt === WIRE_VARINT) {
      const v = readVarint(b, tag.end)
      if (v == null) return false
      pos = v.end
    } else if (wt === WIRE_I64) {
      pos = tag.end + 8
    } else if (wt === WIRE_I32) {
      pos = tag.end + 4
    } else if (wt === WIRE_LEN) {
      const len = readVarint(b, tag.end)
      if (len == null) return false
      pos = len.end + Number(len.value)
    } else {
      return false
    }
  }
  return pos === to
}

export function concat (...parts: Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

/**
 * Rewrites the length prefixes of the length-delimited fields that enclose the edited range
 * `[from, to]` after `delta` bytes were inserted (> 0) or removed (< 0) there, so that a mutation deep
 * inside a nested message keeps the outer framing valid (the mutation then reaches the inner decoder
 * instead of failing at the outer one). Spans are those of the buffer before the edit; a span that is
 * exactly the edited range is not its own parent.
 */
export function refitLengths (b: Uint8Array, spans: readonly FieldSpan[], from: number, to: number, delta: number): Uint8Array {
  // innermost first: an outer length prefix lies before an inner one, so rewriting keeps its offset
  const enclosing = spans
    .filter(s => s.lenEnd != null && s.lenEnd <= from && to <= s.end && !(s.start === from && s.end === to))
    .sort((x, y) => y.start - x.start)
  let out = b
  for (const s of enclosing) {
    const old = readVarint(out, s.tagEnd)
    if (old == null) return out
    const next = old.value + BigInt(delta)
    if (next < 0n) return out
    const enc = encodeVarint(next)
    const grow = enc.length - (old.end - s.tagEnd)
    out = concat(out.subarray(0, s.tagEnd), enc, out.subarray(old.end))
    delta += grow
  }
  return out
}
