// Inputs for the file-format fuzzers (task files, network files, the JSON-lines logs, status.json):
// valid JSON documents with values replaced (wrong types, boundary and huge numbers, long or odd strings,
// deep nesting, big arrays, keys such as __proto__ and toString), keys added, dropped or misspelt, then
// serialized and mutated as text and as bytes (truncation, stray characters, a BOM, invalid UTF-8),
// plus raw deeply nested and random texts.
import fc from 'fast-check'

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

export const ODD_KEYS = ['__proto__', 'constructor', 'toString', 'valueOf', 'toJSON', 'hasOwnProperty', 'length', 'then', '']

/** Sets an own, enumerable property, even for `__proto__` (plain assignment would set the prototype). */
function own (o: Record<string, Json>, k: string, v: Json): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
}

function nest (depth: number, leaf: Json, kind: 'array' | 'object'): Json {
  let v = leaf
  for (let i = 0; i < depth; i++) {
    if (kind === 'array') v = [v]
    else { const o: Record<string, Json> = {}; own(o, 'a', v); v = o }
  }
  return v
}

const oddObject: fc.Arbitrary<Json> = fc.record({ key: fc.constantFrom(...ODD_KEYS), value: fc.constantFrom<Json>({}, 1, 'x', null, [], { toString: 1 } as Json) })
  .map(({ key, value }) => { const o: Record<string, Json> = {}; own(o, key, value); return o })

/** Replacement values: ordinary JSON, and the values a parser or validator is most likely to trip on. */
export const oddValueArb: fc.Arbitrary<Json> = fc.oneof(
  { weight: 6, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> },
  { weight: 3, arbitrary: fc.constantFrom<Json>(0, -0, -1, 0.5, 1e-7, 1e308, -1e308, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 4294967295, 86_400_001, '', ' ', '\u0000', '\u2028', 'a'.repeat(129), true, false, null, [], {}, [1, 2], '1', 'NaN', 'Infinity') },
  { weight: 3, arbitrary: oddObject },
  { weight: 1, arbitrary: fc.record({ depth: fc.constantFrom(10, 200, 1000), kind: fc.constantFrom('array' as const, 'object' as const) }).map(({ depth, kind }) => nest(depth, 1, kind)) },
  { weight: 1, arbitrary: fc.constantFrom(10, 1000, 20_000).map(n => new Array<Json>(n).fill(1)) },
  { weight: 1, arbitrary: fc.constantFrom(1000, 100_000).map(n => 'x'.repeat(n)) }
)

type JsonOp =
  | { kind: 'replace', path: number, value: Json }
  | { kind: 'drop', path: number }
  | { kind: 'add', path: number, key: string, value: Json }
  | { kind: 'rename', path: number, key: string }

const keyArb = fc.oneof(fc.constantFrom(...ODD_KEYS), fc.string({ maxLength: 12 }), fc.constantFrom('rounds ', 'Rounds', 'task', 'version', 'bootstrap', 'round', 'mechanism', 'syncedLinks', 'pid'))

const jsonOpArb: fc.Arbitrary<JsonOp> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('replace' as const), path: fc.nat(), value: oddValueArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), path: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('add' as const), path: fc.nat(), key: keyArb, value: oddValueArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('rename' as const), path: fc.nat(), key: keyArb }) }
)

interface Where { parent: Record<string, Json> | Json[], key: string | number }

function places (v: Json, out: Where[] = [], depth = 0): Where[] {
  if (depth > 6 || v == null || typeof v !== 'object') return out
  const entries: Array<[string | number, Json]> = Array.isArray(v) ? v.slice(0, 50).map((x, i) => [i, x]) : Object.entries(v)
  for (const [key, child] of entries) {
    out.push({ parent: v, key })
    places(child, out, depth + 1)
  }
  return out
}

function containers (v: Json): Array<Record<string, Json>> {
  const out: Array<Record<string, Json>> = []
  if (v != null && typeof v === 'object' && !Array.isArray(v)) out.push(v)
  for (const w of places(v)) {
    const c = (w.parent as Record<string | number, Json>)[w.key]
    if (c != null && typeof c === 'object' && !Array.isArray(c)) out.push(c)
  }
  return out
}

function applyJsonOp (doc: Json, original: JsonOp): Json {
  // generated values may be shared between inputs (constants): insert copies, or documents turn cyclic
  const op = 'value' in original ? { ...original, value: structuredClone(original.value) } : original
  const all = places(doc)
  switch (op.kind) {
    case 'replace': {
      if (all.length === 0) return op.value
      const w = all[op.path % all.length]
      if (Array.isArray(w.parent)) w.parent[w.key as number] = op.value
      else own(w.parent, w.key as string, op.value)
      return doc
    }
    case 'drop': {
      const objs = all.filter(w => !Array.isArray(w.parent))
      if (objs.length === 0) return doc
      const w = objs[op.path % objs.length]
      delete (w.parent as Record<string, Json>)[w.key as string]
      return doc
    }
    case 'add': {
      const cs = containers(doc)
      if (cs.length === 0) return doc
      own(cs[op.path % cs.length], op.key, op.value)
      return doc
    }
    case 'rename': {
      const objs = all.filter(w => !Array.isArray(w.parent))
      if (objs.length === 0) return doc
      const w = objs[op.path % objs.length]
      const p = w.parent as Record<string, Json>
      const v = p[w.key as string]
      delete p[w.key as string]
      own(p, op.key, v)
      return doc
    }
  }
}

type TextOp =
  | { kind: 'truncate', at: number }
  | { kind: 'insert', at: number, text: string }
  | { kind: 'delete', at: number, len: number }
  | { kind: 'bom' }
  | { kind: 'bytes', at: number, bytes: Uint8Array }

const textOpArb: fc.Arbitrary<TextOp> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), text: fc.oneof(fc.constantFrom('{', '}', '[', ']', ',', ':', '"', '\\', '\n', '\u0000', 'NaN', '-', '1e999', '\ufeff', '"__proto__":{},'), fc.string({ maxLength: 8 })) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 10 }) }),
  fc.constant({ kind: 'bom' as const }),
  fc.record({ kind: fc.constant('bytes' as const), at: fc.nat(), bytes: fc.oneof(fc.constantFrom(Uint8Array.of(0xff), Uint8Array.of(0xc3), Uint8Array.of(0xed, 0xa0, 0x80), Uint8Array.of(0xef, 0xbb, 0xbf)), fc.uint8Array({ minLength: 1, maxLength: 4 })) })
)

function applyTextOps (text: string, ops: readonly TextOp[]): Uint8Array {
  let t = text
  const raw: Array<{ at: number, bytes: Uint8Array }> = []
  for (const op of ops) {
    const at = (n: number): number => n % (t.length + 1)
    switch (op.kind) {
      case 'truncate': t = t.slice(0, at(op.at)); break
      case 'insert': { const i = at(op.at); t = t.slice(0, i) + op.text + t.slice(i); break }
      case 'delete': { const i = at(op.at); t = t.slice(0, i) + t.slice(i + op.len); break }
      case 'bom': t = `\ufeff${t}`; break
      case 'bytes': raw.push({ at: op.at, bytes: op.bytes }); break
    }
  }
  let b = Buffer.from(t, 'utf8') as Uint8Array
  for (const r of raw) {
    const i = r.at % (b.length + 1)
    b = Buffer.concat([b.subarray(0, i), r.bytes, b.subarray(i)])
  }
  return b
}

/**
 * File contents (bytes) for a JSON reader: from the documents in `corpus` (JSON values), 55 % value
 * mutations, 30 % value and text mutations, 10 % raw deeply nested text, 5 % random text.
 */
export function jsonFileArb (corpus: readonly Json[] | readonly unknown[]): fc.Arbitrary<Uint8Array> {
  const docs = corpus as Json[]
  const valueMutated = fc.record({ base: fc.nat(), ops: fc.array(jsonOpArb, { minLength: 1, maxLength: 3 }), indent: fc.constantFrom(0, 2) }).map(({ base, ops, indent }) => {
    let doc = structuredClone(docs[base % docs.length])
    for (const op of ops) doc = applyJsonOp(doc, op)
    return JSON.stringify(doc, null, indent) ?? 'null'
  })
  return fc.oneof(
    { weight: 11, arbitrary: valueMutated.map(t => Buffer.from(t, 'utf8') as Uint8Array) },
    { weight: 6, arbitrary: fc.tuple(valueMutated, fc.array(textOpArb, { minLength: 1, maxLength: 3 })).map(([t, ops]) => applyTextOps(t, ops)) },
    { weight: 2, arbitrary: fc.record({ open: fc.constantFrom('[', '{"a":', '{"task":', '[{"x":['), depth: fc.constantFrom(100, 1000, 5000, 5000, 60_000), tail: fc.constantFrom('', 'x', '1', ']', '}', '"') }).map(({ open, depth, tail }) => Buffer.from(open.repeat(depth) + tail, 'utf8') as Uint8Array) },
    { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 200 }).map(s => Buffer.from(s, 'utf8') as Uint8Array), fc.uint8Array({ maxLength: 200 })) }
  )
}

/** JSON-lines file contents: each line a mutated corpus document (or raw mutated text); sometimes no final newline. */
export function jsonLinesArb (corpus: readonly unknown[]): fc.Arbitrary<Uint8Array> {
  return fc.record({ lines: fc.array(jsonFileArb(corpus), { minLength: 0, maxLength: 6 }), valid: fc.array(fc.nat(), { maxLength: 4 }), newline: fc.boolean() }).map(({ lines, valid, newline }) => {
    const parts: Uint8Array[] = []
    for (const v of valid) parts.push(Buffer.from(`${JSON.stringify(corpus[v % corpus.length])}\n`))
    lines.forEach((l, i) => parts.push(l, i < lines.length - 1 || newline ? Uint8Array.of(0x0a) : new Uint8Array(0)))
    return Buffer.concat(parts)
  })
}
