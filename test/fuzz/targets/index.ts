// Every fuzz target, in the order `npm run fuzz` runs them.
import type { FuzzTarget } from '../harness.ts'
import { fileTargets } from './files.ts'
import { netTargets } from './net.ts'
import { roundTargets } from './round.ts'
import { streamTargets } from './streams.ts'
import { syncTargets } from './sync.ts'

export function allTargets (): FuzzTarget[] {
  return [
    ...roundTargets(),
    ...syncTargets(),
    ...streamTargets(),
    ...netTargets(),
    ...fileTargets()
  ]
}
