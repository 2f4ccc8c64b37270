// Raw byte exchanges with a protocol handler for the stream fuzzers: the client side writes the input's
// chunks as they come (any bytes, not necessarily frames), then closes its write side, aborts, or leaves
// the stream open; everything the server sends back is collected. Also: the length-prefix framing both
// protocols use (unsigned varint, then the bytes), to predict what a well-behaved server must answer.
import fc from 'fast-check'
import type { Stream } from '@libp2p/interface'
import { concat, encodeVarint } from './proto-bytes.ts'
import { applyMutation, mutationArb } from './mutate.ts'

export type StreamEnd = 'close' | 'abort' | 'open'

export interface StreamInput {
  bytes: Uint8Array
  /** Sizes of the chunks the bytes are sent in (the rest in one last chunk). */
  cuts: number[]
  end: StreamEnd
}

export function frame (data: Uint8Array): Uint8Array {
  return concat(encodeVarint(data.length), data)
}

/** The first length-prefixed frame of `b`: complete, incomplete, or a length prefix longer than `maxLengthBytes`. */
export function firstFrame (b: Uint8Array, maxLengthBytes: number): { kind: 'frame', data: Uint8Array, rest: number } | { kind: 'incomplete' } | { kind: 'bad-length', length?: number } {
  let len = 0
  for (let i = 0; i < b.length; i++) {
    if (i >= maxLengthBytes) return { kind: 'bad-length' }
    len += (b[i] & 0x7f) * 2 ** (7 * i)
    if (b[i] < 0x80) {
      const start = i + 1
      if (b.length - start < len) return { kind: 'incomplete' }
      return { kind: 'frame', data: b.subarray(start, start + len), rest: b.length - start - len }
    }
  }
  return { kind: 'incomplete' }
}

/** All complete frames of `b` (a response), and whether bytes were left over. */
export function allFrames (b: Uint8Array): { frames: Uint8Array[], trailing: boolean } {
  const frames: Uint8Array[] = []
  let rest = b
  while (rest.length > 0) {
    const f = firstFrame(rest, 10)
    if (f.kind !== 'frame') return { frames, trailing: true }
    frames.push(f.data)
    rest = rest.subarray(rest.length - f.rest)
  }
  return { frames, trailing: false }
}

/** Inputs: valid requests (framed) mutated as bytes, random bytes, and frames with lying length prefixes. */
export function streamInputArb (requests: readonly Uint8Array[], openWeight = 1): fc.Arbitrary<StreamInput> {
  const framed = requests.map(frame)
  const bytes = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...framed) },
    { weight: 8, arbitrary: fc.record({ base: fc.nat(), ops: fc.array(mutationArb, { minLength: 1, maxLength: 3 }) }).map(({ base, ops }) => ops.reduce((b, op) => applyMutation(b, op, framed), framed[base % framed.length])) },
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: 100 }) },
    { weight: 2, arbitrary: fc.record({ len: fc.constantFrom(0, 1, 31, 33, 39, 41, 127, 128, 65_536, 65_537, 2 ** 28, 2 ** 32 - 1, 2 ** 35), body: fc.uint8Array({ maxLength: 48 }) }).map(({ len, body }) => concat(encodeVarint(len), body)) },
    { weight: 1, arbitrary: fc.constantFrom(new Uint8Array(0), Uint8Array.of(0), Uint8Array.of(0x80), new Uint8Array(12).fill(0xff), concat(frame(new Uint8Array(32)), frame(new Uint8Array(32)))) }
  )
  return fc.record({
    bytes,
    cuts: fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 4 }),
    end: fc.oneof({ weight: 40, arbitrary: fc.constant<StreamEnd>('close') }, { weight: 4, arbitrary: fc.constant<StreamEnd>('abort') }, { weight: openWeight, arbitrary: fc.constant<StreamEnd>('open') })
  })
}

export function chunks (i: StreamInput): Uint8Array[] {
  const out: Uint8Array[] = []
  let at = 0
  for (const c of i.cuts) {
    if (at >= i.bytes.length) break
    out.push(i.bytes.subarray(at, Math.min(i.bytes.length, at + c)))
    at += c
  }
  if (at < i.bytes.length) out.push(i.bytes.subarray(at))
  return out
}

/** Everything `client` receives until it closes or `settled` resolves and a short grace period passed. */
export function collect (client: Stream): { bytes: () => Uint8Array, closed: Promise<void> } {
  const got: Uint8Array[] = []
  client.addEventListener('message', (e) => { got.push(e.data.subarray()) })
  const closed = new Promise<void>(resolve => { client.addEventListener('close', () => resolve(), { once: true }) })
  return { bytes: () => concat(...got), closed }
}

/** Writes the input's chunks to `client` and ends it as the input says. */
export async function send (client: Stream, i: StreamInput): Promise<void> {
  for (const c of chunks(i)) {
    if (client.status !== 'open') return
    if (!client.send(c)) await client.onDrain({ signal: AbortSignal.timeout(5000) })
  }
  if (i.end === 'close') await client.close({ signal: AbortSignal.timeout(5000) })
  if (i.end === 'abort') client.abort(new Error('fuzz client aborts'))
}

export function sleep (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}
