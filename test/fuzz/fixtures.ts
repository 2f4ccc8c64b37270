// Shared fixtures of the fuzzers: real Ed25519 (and one secp256k1) identities, the two tasks the
// round-level targets run (plain and secure aggregation), their model M0 and the wire header every
// valid message of those tasks carries.
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createTask, taskId as computeTaskId } from '../../src/config/index.ts'
import type { Task } from '../../src/config/types.ts'
import { float32Bytes, fromHex, sha256 } from '../../src/wire/hash.ts'
import type { RoundMessage } from '../../src/wire/messages.ts'

export interface Identity { key: PrivateKey, id: string, bytes: Uint8Array }

export async function makeIdentity (type: 'Ed25519' | 'secp256k1' = 'Ed25519'): Promise<Identity> {
  const key = await generateKeyPair(type)
  const pid = peerIdFromPrivateKey(key)
  return { key, id: pid.toString(), bytes: pid.toMultihash().bytes }
}

/** Parameters of the fuzzed model: small, so valid updates stay small. */
export const MODEL_LENGTH = 16
export const M0 = Float32Array.from({ length: MODEL_LENGTH }, (_, i) => (i - 8) / 16)
/** h[0]: what the driver computes for M0 (sha256 of its float32 bytes). */
export const BASE = sha256(float32Bytes(M0))

export type Mode = 'plain' | 'secure'

export interface Scenario {
  mode: Mode
  task: Task
  taskId: string
  taskBytes: Uint8Array
}

/** A task whose timeouts never fire during a fuzz run (the targets drive time themselves). */
export function scenario (mode: Mode): Scenario {
  const task = createTask({
    name: `fuzz-${mode}`,
    rounds: 5,
    model: { kind: 'logreg' },
    cohort: { size: 4, minSurvivors: 2, threshold: mode === 'secure' ? 3 : 0 },
    aggregation: { weighting: 'examples', weightCap: 1000, clipNorm: 10, serverLearningRate: 1 },
    timeouts: { joinMs: 3_600_000, cohortMs: 3_600_000, updateMs: 3_600_000, survivorsMs: 3_600_000 },
    secureAggregation: mode === 'secure'
  })
  const taskId = computeTaskId(task)
  return { mode, task, taskId, taskBytes: fromHex(taskId) }
}

export function header (s: Scenario, over: Partial<RoundMessage> = {}): Pick<RoundMessage, 'task' | 'round' | 'attempt' | 'base'> {
  return { task: s.taskBytes as Uint8Array<ArrayBuffer>, round: 1, attempt: 0, base: BASE as Uint8Array<ArrayBuffer>, ...over }
}

const identities: Promise<Identity[]>[] = []

/** `n` identities, the same ones on every call in this process (cohort peers of the traces). */
export async function sharedIdentities (n: number): Promise<Identity[]> {
  identities[n] ??= Promise.all(Array.from({ length: n }, async () => await makeIdentity()))
  return await identities[n]
}
