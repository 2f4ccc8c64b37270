/**
 * Model checkpoints: the content hash of a parameter vector and the `.bin` file format.
 *
 * `modelHash(params)` is the hex SHA-256 of the canonical serialization of the parameters: the
 * little-endian IEEE-754 float32 bytes, in order, nothing else. Peers compare models by this hash
 * (`h[r]` in the round protocol), so it is bit-exact: `0` and `-0`, or two NaN payloads, differ.
 *
 * File format (version 1), all integers little-endian:
 *
 * | offset | size | field                                               |
 * | ------ | ---- | --------------------------------------------------- |
 * | 0      | 4    | magic `FSWM`                                        |
 * | 4      | 2    | format version (1)                                  |
 * | 6      | 2    | task id length `n` in UTF-8 bytes                   |
 * | 8      | 4    | round (uint32)                                      |
 * | 12     | 4    | number of parameters `d` (uint32)                   |
 * | 16     | 32   | SHA-256 of the parameters (`modelHash`, raw bytes)  |
 * | 48     | n    | task id, UTF-8                                      |
 * | 48 + n | 0-3  | zero padding to a multiple of 4                     |
 * | ...    | 4·d  | parameters, float32 little-endian                   |
 *
 * Files are named `<round>-<hash>.bin`. A file is valid only if its size, magic, version, name and
 * both hashes agree with its contents.
 */

import { createHash } from 'node:crypto'
import { float32Bytes, float32FromBytes } from '../wire/hash.ts'
import { StoreError } from './errors.ts'

export const MODEL_FILE_MAGIC = Uint8Array.of(0x46, 0x53, 0x57, 0x4d) // "FSWM"
export const MODEL_FILE_VERSION = 1
/** Bytes before the task id. */
export const MODEL_HEADER_SIZE = 48
export const MAX_ROUND = 0xffff_ffff

const HASH = /^[0-9a-f]{64}$/
const FILE_NAME = /^(\d{1,10})-([0-9a-f]{64})\.bin$/

/** Hex SHA-256 of `float32Bytes(params)` (the canonical serialization, `src/wire/hash.ts`): the content hash of a model. */
export function modelHash (params: Float32Array): string {
  return createHash('sha256').update(float32Bytes(params)).digest('hex')
}

export interface ModelFile {
  taskId: string
  round: number
  /** `modelHash(params)`. */
  hash: string
  params: Float32Array
}

export interface ModelFileHeader {
  taskId: string
  round: number
  hash: string
  /** Number of parameters. */
  length: number
  /** Offset of the parameters in the file. */
  paramsOffset: number
}

/** `<round>-<hash>.bin` */
export function modelFileName (round: number, hash: string): string {
  return `${round}-${hash}.bin`
}

/** Round and hash from a checkpoint file name, or `undefined` for any other name. */
export function parseModelFileName (name: string): { round: number, hash: string } | undefined {
  const m = FILE_NAME.exec(name)
  if (m === null) return undefined
  const round = Number(m[1])
  return round <= MAX_ROUND ? { round, hash: m[2] } : undefined
}

/** Serializes a checkpoint. `hash` must be `modelHash(params)`; it is checked. */
export function encodeModelFile (model: ModelFile): Uint8Array {
  const { taskId, round, hash, params } = model
  if (!Number.isInteger(round) || round < 0 || round > MAX_ROUND) {
    throw new RangeError(`model round must be an integer from 0 to ${MAX_ROUND} (got ${round})`)
  }
  if (!(params instanceof Float32Array)) throw new TypeError('model params must be a Float32Array')
  const actual = modelHash(params)
  if (hash !== actual) throw new RangeError(`model hash ${String(hash)} does not match its params (their modelHash is ${actual})`)
  const id = new TextEncoder().encode(typeof taskId === 'string' ? taskId : '')
  if (id.length === 0 || id.length > 0xffff) {
    throw new RangeError('model taskId must be a non-empty string of at most 65535 UTF-8 bytes')
  }
  const paramsOffset = align4(MODEL_HEADER_SIZE + id.length)
  const out = new Uint8Array(paramsOffset + params.byteLength)
  const view = new DataView(out.buffer)
  out.set(MODEL_FILE_MAGIC, 0)
  view.setUint16(4, MODEL_FILE_VERSION, true)
  view.setUint16(6, id.length, true)
  view.setUint32(8, round, true)
  view.setUint32(12, params.length, true)
  out.set(Buffer.from(hash, 'hex'), 16)
  out.set(id, MODEL_HEADER_SIZE)
  out.set(float32Bytes(params), paramsOffset)
  return out
}

/**
 * Parses the header of a checkpoint (the first `MODEL_HEADER_SIZE + n` bytes suffice). Throws a
 * `StoreError` (`ERR_CORRUPT_MODEL`) naming `path` when it is malformed.
 */
export function decodeModelHeader (bytes: Uint8Array, path = 'model'): ModelFileHeader {
  const corrupt = (why: string): never => {
    throw new StoreError(`model file ${path} is corrupt: ${why}`, path, { code: 'ERR_CORRUPT_MODEL' })
  }
  if (bytes.length < MODEL_HEADER_SIZE) corrupt(`${bytes.length} bytes is shorter than the ${MODEL_HEADER_SIZE}-byte header`)
  for (let i = 0; i < MODEL_FILE_MAGIC.length; i++) if (bytes[i] !== MODEL_FILE_MAGIC[i]) corrupt('bad magic (not a fedswarm model file)')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const version = view.getUint16(4, true)
  if (version !== MODEL_FILE_VERSION) corrupt(`format version ${version}, expected ${MODEL_FILE_VERSION}`)
  const idLength = view.getUint16(6, true)
  if (idLength === 0) corrupt('empty task id')
  if (bytes.length < MODEL_HEADER_SIZE + idLength) corrupt('truncated task id')
  let taskId = ''
  try {
    taskId = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(MODEL_HEADER_SIZE, MODEL_HEADER_SIZE + idLength))
  } catch {
    corrupt('task id is not UTF-8')
  }
  const paramsOffset = align4(MODEL_HEADER_SIZE + idLength)
  for (let i = MODEL_HEADER_SIZE + idLength; i < paramsOffset && i < bytes.length; i++) if (bytes[i] !== 0) corrupt('non-zero padding')
  return {
    taskId,
    round: view.getUint32(8, true),
    length: view.getUint32(12, true),
    hash: Buffer.from(bytes.subarray(16, 48)).toString('hex'),
    paramsOffset
  }
}

/** Parses and verifies a whole checkpoint: exact size, and the parameters' hash equals the header's. */
export function decodeModelFile (bytes: Uint8Array, path = 'model'): ModelFile {
  const header = decodeModelHeader(bytes, path)
  const expected = header.paramsOffset + 4 * header.length
  if (bytes.length !== expected) {
    throw new StoreError(`model file ${path} is corrupt: ${bytes.length} bytes, expected ${expected} for ${header.length} parameters`, path, { code: 'ERR_CORRUPT_MODEL' })
  }
  const params = float32FromBytes(bytes.subarray(header.paramsOffset, expected))
  const actual = modelHash(params)
  if (actual !== header.hash) {
    throw new StoreError(`model file ${path} is corrupt: content hash ${actual} does not match ${header.hash}`, path, { code: 'ERR_CORRUPT_MODEL' })
  }
  return { taskId: header.taskId, round: header.round, hash: header.hash, params }
}

/** Whether a string is a well-formed model hash (64 lower-case hex characters). */
export function isModelHash (hash: unknown): hash is string {
  return typeof hash === 'string' && HASH.test(hash)
}

function align4 (n: number): number {
  return (n + 3) & ~3
}
