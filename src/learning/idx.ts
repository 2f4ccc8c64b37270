/**
 * The IDX file format of MNIST (LeCun et al.): a 4-byte magic number (two zero bytes, a type code, the
 * number of dimensions), one big-endian uint32 per dimension, then the values in row-major order.
 * Files ending in `.gz` (or starting with the gzip magic) are gunzipped first.
 */

import { readFile } from 'node:fs/promises'
import { gunzipSync } from 'node:zlib'
import { DatasetError } from './errors.ts'

export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array

export interface IdxTensor {
  /** Type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64. */
  type: number
  dims: number[]
  data: IdxData
}

const TYPES: Record<number, { size: number, name: string }> = {
  0x08: { size: 1, name: 'uint8' },
  0x09: { size: 1, name: 'int8' },
  0x0B: { size: 2, name: 'int16' },
  0x0C: { size: 4, name: 'int32' },
  0x0D: { size: 4, name: 'float32' },
  0x0E: { size: 8, name: 'float64' }
}

/** Parses the bytes of an IDX file; `path` names the file in errors. */
export function parseIdx (bytes: Uint8Array, path: string): IdxTensor {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes)
    } catch (err) {
      throw new DatasetError(`${path}: not a valid gzip file (${(err as Error).message})`, { path, cause: err })
    }
  }
  if (bytes.length < 4) throw new DatasetError(`${path}: too short for an IDX file (${bytes.length} bytes)`, { path })
  const type = bytes[2]
  const ndims = bytes[3]
  const magic = (bytes[0] << 24 | bytes[1] << 16 | bytes[2] << 8 | bytes[3]) >>> 0
  if (bytes[0] !== 0 || bytes[1] !== 0 || TYPES[type] == null || ndims === 0) {
    throw new DatasetError(`${path}: bad IDX magic number 0x${magic.toString(16).padStart(8, '0')} (expected 0x0000TTDD, type TT one of 08 09 0b 0c 0d 0e, DD >= 1 dimensions)`, { path })
  }
  const header = 4 + 4 * ndims
  if (bytes.length < header) throw new DatasetError(`${path}: IDX header needs ${header} bytes, file has ${bytes.length}`, { path })
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const dims: number[] = []
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false))
  const count = dims.reduce((a, b) => a * b, 1)
  const { size, name } = TYPES[type]
  const expected = header + count * size
  if (bytes.length !== expected) {
    throw new DatasetError(`${path}: IDX ${name} of dimensions [${dims.join(', ')}] needs ${expected} bytes, file has ${bytes.length}`, { path })
  }
  let data: IdxData
  switch (type) {
    case 0x08: data = bytes.subarray(header, expected); break
    case 0x09: data = new Int8Array(bytes.buffer, bytes.byteOffset + header, count); break
    default: {
      const Ctor = type === 0x0B ? Int16Array : type === 0x0C ? Int32Array : type === 0x0D ? Float32Array : Float64Array
      const arr = new Ctor(count)
      for (let i = 0; i < count; i++) {
        const o = header + i * size
        arr[i] = type === 0x0B ? view.getInt16(o) : type === 0x0C ? view.getInt32(o) : type === 0x0D ? view.getFloat32(o) : view.getFloat64(o)
      }
      data = arr
    }
  }
  return { type, dims, data }
}

/** Reads and parses an IDX file; a missing or unreadable file is a `DatasetError` naming it. */
export async function readIdx (path: string, options: { signal?: AbortSignal } = {}): Promise<IdxTensor> {
  return parseIdx(await readDataFile(path, options), path)
}

/** Reads a data file, turning file system errors into `DatasetError`s that name the file. */
export async function readDataFile (path: string, options: { signal?: AbortSignal } = {}): Promise<Buffer> {
  try {
    return await readFile(path, { signal: options.signal })
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, expected a file' : code === 'EACCES' ? 'permission denied' : (err as Error).message
    throw new DatasetError(`${path}: cannot read data file (${why})`, { path, cause: err })
  }
}
