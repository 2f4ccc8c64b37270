/**
 * Canonical JSON, the form that is hashed into task ids: object keys sorted by UTF-16 code units, no
 * whitespace, strings escaped as `JSON.stringify` does, numbers in JavaScript's shortest round-trip form
 * (`Number.prototype.toString`: `0.05`, `1e-7`, `120000`; `-0` is written `0`). For the values a task can
 * hold this is exactly RFC 8785 (JCS), so other languages can reproduce task ids.
 *
 * Values JSON cannot represent (`undefined`, `NaN`, `Infinity`, bigints, functions, class instances,
 * cycles) are rejected with a `TypeError` rather than silently dropped.
 */

/** The canonical JSON text of a JSON value. */
export function canonicalJson (value: unknown): string {
  return write(value, '$', new Set())
}

function write (value: unknown, path: string, ancestors: Set<object>): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${path} is ${value}, which JSON cannot represent`)
      return JSON.stringify(value)
    case 'string':
      return JSON.stringify(value)
    case 'object': {
      if (ancestors.has(value)) throw new TypeError(`canonicalJson: ${path} is a cycle`)
      ancestors.add(value)
      let text: string
      if (Array.isArray(value)) {
        const items: string[] = []
        for (let i = 0; i < value.length; i++) items.push(write(value[i], `${path}[${i}]`, ancestors))
        text = `[${items.join(',')}]`
      } else {
        const proto = Object.getPrototypeOf(value)
        if (proto !== Object.prototype && proto !== null) {
          throw new TypeError(`canonicalJson: ${path} is a ${proto?.constructor?.name ?? 'non-plain object'}, not a plain object`)
        }
        const obj = value as Record<string, unknown>
        const keys = Object.keys(obj).sort()
        text = `{${keys.map(k => `${JSON.stringify(k)}:${write(obj[k], `${path}.${k}`, ancestors)}`).join(',')}}`
      }
      ancestors.delete(value)
      return text
    }
    default:
      throw new TypeError(`canonicalJson: ${path} is ${value === undefined ? 'undefined' : `a ${typeof value}`}, which JSON cannot represent`)
  }
}
