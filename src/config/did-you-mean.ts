/**
 * "Did you mean ...?" for unknown field names: matches spelling variants (`learning_rate`),
 * common short forms (`lr`, `bs`), initials of camelCase names, prefixes and small typos.
 */

/** Short forms people write for task fields, mapped to the real name. */
const ALIASES: Readonly<Record<string, string>> = Object.freeze({
  lr: 'learningRate',
  rate: 'learningRate',
  eta: 'learningRate',
  bs: 'batchSize',
  batch: 'batchSize',
  minibatch: 'batchSize',
  epoch: 'epochs',
  layers: 'hidden',
  units: 'hidden',
  type: 'kind',
  secagg: 'secureAggregation',
  secure: 'secureAggregation',
  k: 'size',
  clients: 'size',
  t: 'minSurvivors',
  threshold: 'minSurvivors',
  opt: 'optimizer',
  label: 'labelColumn'
})

/** The candidate `name` most likely stands for, or `undefined` when none is close enough. */
export function didYouMean (name: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0) return undefined
  const alias = Object.hasOwn(ALIASES, name) ? ALIASES[name] : undefined
  if (alias !== undefined && candidates.includes(alias)) return alias

  const key = normalize(name)
  const exact = candidates.find(c => normalize(c) === key)
  if (exact !== undefined) return exact

  const byInitials = candidates.find(c => c.length > 2 && initials(c) === key && key.length >= 2)
  if (byInitials !== undefined) return byInitials

  if (key.length >= 3) {
    const byPrefix = candidates.find(c => normalize(c).startsWith(key) || key.startsWith(normalize(c)))
    if (byPrefix !== undefined) return byPrefix
  }

  let best: string | undefined
  let bestDistance = Infinity
  for (const c of candidates) {
    const d = editDistance(key, normalize(c))
    if (d < bestDistance) {
      best = c
      bestDistance = d
    }
  }
  const limit = Math.max(1, Math.floor(key.length / 3))
  return bestDistance <= limit ? best : undefined
}

/** Lower case without `_`, `-` and spaces: `learning_rate` and `LearningRate` become `learningrate`. */
function normalize (s: string): string {
  return s.toLowerCase().replace(/[_\-\s]/g, '')
}

/** `learningRate` -> `lr`, `serverLearningRate` -> `slr`. */
function initials (camel: string): string {
  return (camel[0] + camel.slice(1).replace(/[^A-Z]/g, '')).toLowerCase()
}

/** Levenshtein distance (small strings only). */
function editDistance (a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length]
}
