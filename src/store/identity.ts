/**
 * The peer's identity: an Ed25519 private key stored as libp2p protobuf bytes (mode 0600), created on
 * first use and never overwritten, so a peer keeps its PeerId across restarts.
 */

import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { readFile, stat } from 'node:fs/promises'
import { IDENTITY_FILE_MODE } from './constants.ts'
import { writeFileAtomic } from './atomic-write.ts'
import { StoreError, errorCode, fsReason, isAbort } from './errors.ts'

export interface LoadIdentityOptions {
  signal?: AbortSignal
  onWarning?(message: string): void
}

/** Reads the key at `path`, or creates one there if there is no file. */
export async function loadOrCreateIdentity (path: string, options: LoadIdentityOptions = {}): Promise<PrivateKey> {
  const existing = await readIdentity(path, options)
  if (existing !== undefined) return existing

  const key = await generateKeyPair('Ed25519')
  try {
    // exclusive: never replace a key that appeared meanwhile
    await writeFileAtomic(path, privateKeyToProtobuf(key), { mode: IDENTITY_FILE_MODE, exclusive: true, signal: options.signal })
    return key
  } catch (err) {
    if (errorCode((err as Error).cause) !== 'EEXIST') throw err
  }
  const raced = await readIdentity(path, options)
  if (raced === undefined) throw new StoreError(`identity key ${path} vanished while it was being created`, path)
  return raced
}

/** Reads the key at `path` without creating one: `undefined` if there is no file. */
export async function readIdentity (path: string, options: LoadIdentityOptions = {}): Promise<PrivateKey | undefined> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(path, { signal: options.signal })
  } catch (err) {
    if (isAbort(err)) throw err
    if (errorCode(err) === 'ENOENT') return undefined
    throw new StoreError(`cannot read identity key ${path}: ${fsReason(err)}`, path, { cause: err })
  }
  let key: PrivateKey
  try {
    key = privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new StoreError(`identity key ${path} is not a libp2p private key (${bytes.length} bytes); move it away to create a new identity`, path, { code: 'ERR_BAD_IDENTITY', cause: err })
  }
  if (key.type !== 'Ed25519') {
    throw new StoreError(`identity key ${path} is a ${key.type} key, expected Ed25519; move it away to create a new identity`, path, { code: 'ERR_BAD_IDENTITY' })
  }
  if (process.platform !== 'win32') {
    const { mode } = await stat(path)
    if ((mode & 0o077) !== 0) {
      options.onWarning?.(`identity key ${path} can be read by other users (mode ${(mode & 0o777).toString(8)}); run chmod 600 on it`)
    }
  }
  return key
}
