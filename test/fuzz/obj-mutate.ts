// Semantic mutations of decoded protobuf messages: a valid message is decoded with the real decoder,
// one or more of its values are replaced (numbers by boundary values, byte strings by other lengths or
// by bytes from elsewhere in the corpus, repeated fields emptied, shuffled, duplicated or grown past
// their limits, bodies of another message added), and it is encoded again with the real encoder. The
// result is well-formed protobuf, so it gets past the decoder into the validation behind it.
import fc from 'fast-check'

type Node = Record<string, unknown>

export type ObjMutation =
  | { kind: 'number', path: number, value: number }
  | { kind: 'bytes', path: number, value: Uint8Array }
  | { kind: 'borrow', path: number, from: number }
  | { kind: 'array', path: number, op: 'empty' | 'reverse' | 'dup' | 'grow' | 'drop', count: number }
  | { kind: 'graft', path: number, from: number }
  | { kind: 'delete', path: number }

const NUMBERS = [0, 1, 2, 3, -1, 0.5, 4, 5, 16, 255, 256, 1024, 1025, 4096, 0x7fffffff, 0xffffffff, 2 ** 32, 2 ** 53, 1e9, 1e300, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.MIN_VALUE]

export const objMutationArb: fc.Arbitrary<ObjMutation> = fc.oneof(
  fc.record({ kind: fc.constant('number' as const), path: fc.nat(), value: fc.oneof(fc.constantFrom(...NUMBERS), fc.integer({ min: 0, max: 0xffffffff }), fc.double()) }),
  fc.record({ kind: fc.constant('bytes' as const), path: fc.nat(), value: fc.oneof(fc.constantFrom(0, 1, 31, 32, 33, 34, 36, 38, 64, 65).chain(n => fc.uint8Array({ minLength: n, maxLength: n })), fc.uint8Array({ maxLength: 300 })) }),
  fc.record({ kind: fc.constant('borrow' as const), path: fc.nat(), from: fc.nat() }),
  fc.record({ kind: fc.constant('array' as const), path: fc.nat(), op: fc.constantFrom('empty' as const, 'reverse' as const, 'dup' as const, 'grow' as const, 'drop' as const), count: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constantFrom(9, 257, 1025, 4097)) }),
  fc.record({ kind: fc.constant('graft' as const), path: fc.nat(), from: fc.nat() }),
  fc.record({ kind: fc.constant('delete' as const), path: fc.nat() })
)

interface Slot { parent: Node | unknown[], key: string | number, value: unknown }

/** Every value slot in `obj` (depth first), arrays and nested messages included. */
function slots (obj: unknown, out: Slot[] = [], depth = 0): Slot[] {
  if (depth > 8 || obj == null || typeof obj !== 'object' || obj instanceof Uint8Array) return out
  const entries: Array<[string | number, unknown]> = Array.isArray(obj) ? obj.map((v, i) => [i, v]) : Object.entries(obj)
  for (const [key, value] of entries) {
    if (value === undefined) continue
    out.push({ parent: obj as Node, key, value })
    slots(value, out, depth + 1)
  }
  return out
}

function setSlot (s: Slot, value: unknown): void {
  (s.parent as Record<string | number, unknown>)[s.key] = value
}

/** Applies `m` to `obj` in place. `donors` are other decoded messages to borrow values from. */
export function applyObjMutation (obj: Node, m: ObjMutation, donors: readonly Node[]): void {
  const all = slots(obj)
  if (all.length === 0) return
  const pick = <T extends Slot>(list: T[]): T | undefined => list.length === 0 ? undefined : list[m.path % list.length]
  switch (m.kind) {
    case 'number': {
      const s = pick(all.filter(x => typeof x.value === 'number'))
      if (s != null) setSlot(s, m.value)
      return
    }
    case 'bytes': {
      const s = pick(all.filter(x => x.value instanceof Uint8Array))
      if (s != null) setSlot(s, m.value)
      return
    }
    case 'borrow': {
      const s = pick(all.filter(x => x.value instanceof Uint8Array))
      const pool = donors.flatMap(d => slots(d)).filter(x => x.value instanceof Uint8Array)
      if (s != null && pool.length > 0) setSlot(s, pool[m.from % pool.length].value)
      return
    }
    case 'array': {
      const s = pick(all.filter(x => Array.isArray(x.value)))
      if (s == null) return
      const a = s.value as unknown[]
      switch (m.op) {
        case 'empty': setSlot(s, []); return
        case 'reverse': setSlot(s, [...a].reverse()); return
        case 'drop': setSlot(s, a.filter((_v, i) => i !== m.count % Math.max(1, a.length))); return
        case 'dup': setSlot(s, [...a, ...a.slice(0, m.count)]); return
        case 'grow': {
          if (a.length === 0) return
          const grown: unknown[] = [...a]
          for (let i = 0; grown.length < a.length + m.count; i++) grown.push(a[i % a.length])
          setSlot(s, grown)
        }
      }
      return
    }
    case 'graft': {
      // a field of a donor message (for a RoundMessage: another body) added to this one
      const d = donors.length === 0 ? undefined : donors[m.from % donors.length]
      if (d == null) return
      const keys = Object.keys(d).filter(k => d[k] !== undefined)
      if (keys.length === 0) return
      const k = keys[m.path % keys.length]
      obj[k] = d[k]
      return
    }
    case 'delete': {
      const s = pick(all.filter(x => !Array.isArray(x.parent)))
      if (s != null) delete (s.parent as Node)[s.key as string]
    }
  }
}

/**
 * Arbitrary: a message from `corpus` decoded with `decode`, mutated 1-3 times (borrowing from
 * `donorCorpus`, default `corpus`), encoded with `encode`.
 * An encoder that refuses the mutated object (say a number it cannot write) yields the unmutated bytes.
 */
export function semanticArb<T> (corpus: readonly Uint8Array[], decode: (b: Uint8Array) => T, encode: (o: T) => Uint8Array, donorCorpus: readonly Uint8Array[] = corpus): fc.Arbitrary<Uint8Array> {
  const decoded = donorCorpus.map(b => decode(b) as unknown as Node)
  return fc.record({ base: fc.nat(), ops: fc.array(objMutationArb, { minLength: 1, maxLength: 3 }) }).map(({ base, ops }) => {
    const i = base % corpus.length
    const obj = decode(corpus[i]) as unknown as Node
    for (const op of ops) applyObjMutation(obj, op, decoded)
    try {
      return encode(obj as unknown as T)
    } catch {
      return corpus[i]
    }
  })
}
