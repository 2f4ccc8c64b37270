/**
 * Picking the tfjs backend of a thread: `tensorflow` (tfjs-node, an optional dependency that is
 * imported lazily and may be absent), `wasm` (XNNPACK with SIMD, plus the kernels of
 * `wasm-kernels.ts`) or `cpu` (pure JS). `auto` takes the first of these that loads.
 */

import * as tf from '@tensorflow/tfjs'
import '@tensorflow/tfjs-backend-wasm'
import { BACKENDS } from './constants.ts'
import type { BackendChoice, BackendName } from './constants.ts'
import { BackendError } from './errors.ts'
import { enableWasmSimdKernels, patchWasmKernels } from './wasm-kernels.ts'

const TFJS_NODE = '@tensorflow/tfjs-node'
let tfjsNode: Promise<boolean> | undefined
const failures = new Map<BackendName, string>()

/** Imports tfjs-node once; false (and the reason remembered) if it is not installed or does not load. */
async function loadTfjsNode (): Promise<boolean> {
  tfjsNode ??= (async () => {
    try {
      const name = TFJS_NODE // a variable, so that TypeScript does not require the optional package
      await import(name)
      return tf.findBackend('tensorflow') != null || tf.findBackendFactory('tensorflow') != null
    } catch (err) {
      failures.set('tensorflow', `${TFJS_NODE} does not load: ${(err as Error).message.split('\n')[0]}`)
      return false
    }
  })()
  return await tfjsNode
}

async function trySet (name: BackendName): Promise<boolean> {
  if (name === 'tensorflow' && !(await loadTfjsNode())) return false
  if (name === 'wasm') patchWasmKernels()
  try {
    if (await tf.setBackend(name)) {
      await tf.ready()
      // the SIMD loops are an optimization: without them the kernels keep their plain forms
      if (name === 'wasm') await enableWasmSimdKernels()
      return true
    }
    failures.set(name, `tf.setBackend('${name}') failed`)
  } catch (err) {
    failures.set(name, (err as Error).message.split('\n')[0])
  }
  return false
}

/**
 * Makes `choice` the backend of this thread and returns the backend in use. Also quiets tfjs's
 * console advice (`PROD`). An explicit choice that cannot load throws a `BackendError`.
 */
export async function useBackend (choice: BackendChoice = 'auto'): Promise<BackendName> {
  tf.env().set('PROD', true)
  if (choice === 'auto') {
    for (const name of BACKENDS) if (await trySet(name)) return name
    throw new BackendError(`no tfjs backend loads here (${BACKENDS.map(b => `${b}: ${failures.get(b) ?? 'failed'}`).join('; ')})`)
  }
  if (!(BACKENDS as readonly string[]).includes(choice)) {
    throw new BackendError(`backend must be auto, ${BACKENDS.join(', ')}; got ${JSON.stringify(choice)}`)
  }
  if (!(await trySet(choice))) {
    throw new BackendError(`backend ${choice} is not available: ${failures.get(choice) ?? 'failed to initialize'} (choose auto, ${BACKENDS.join(', ')})`)
  }
  return choice
}

/** The backend of this thread right now. */
export function currentBackend (): string {
  return tf.getBackend()
}
