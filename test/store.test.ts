// The data dir: identity, model checkpoints (hash-verified, atomic, pruned), round records, the lock.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile, appendFile } from 'node:fs/promises'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import fc from 'fast-check'
import { privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from '@noble/hashes/utils.js'
import {
  StoreError, decodeModelFile, encodeModelFile, modelFileName, modelHash, openDataDir, writeFileAtomic,
  type OpenDataDirOptions
} from '../src/store/index.ts'

let root: string
before(async () => { root = await mkdtemp(join(tmpdir(), 'fedswarm-store-')) })
after(async () => { await rm(root, { recursive: true, force: true }) })

let counter = 0
function freshDir (): string {
  return join(root, `dir-${++counter}`)
}

const TASK = 'a'.repeat(64)
const OTHER_TASK = 'b'.repeat(64)

function params (n: number, seed = 1): Float32Array {
  const p = new Float32Array(n)
  for (let i = 0; i < n; i++) p[i] = Math.sin(seed * 1000 + i)
  return p
}

async function expectStoreError (promise: Promise<unknown>, code: string): Promise<StoreError> {
  try {
    await promise
  } catch (err) {
    assert.ok(err instanceof StoreError, `expected a StoreError, got ${String(err)}`)
    assert.equal(err.code, code, err.message)
    assert.ok(!/[\r\n]/.test(err.message), 'one line')
    return err
  }
  assert.fail('expected a rejection')
}

function collect (): { warnings: string[], options: OpenDataDirOptions } {
  const warnings: string[] = []
  return { warnings, options: { onWarning: (m) => { warnings.push(m) } } }
}

describe('identity', () => {
  test('persists across reopen (same PeerId), stored as protobuf with mode 0600', async () => {
    const dir = freshDir()
    const a = await openDataDir(dir)
    const key = await a.identity()
    assert.equal(key.type, 'Ed25519')
    assert.equal(await a.identity(), key, 'cached')
    await a.close()

    const b = await openDataDir(dir)
    const again = await b.identity()
    assert.ok(peerIdFromPrivateKey(again).equals(peerIdFromPrivateKey(key)))
    assert.deepEqual(new Uint8Array(await readFile(join(b.path, 'identity.key'))), privateKeyToProtobuf(key))
    if (process.platform !== 'win32') assert.equal((await stat(join(b.path, 'identity.key'))).mode & 0o777, 0o600)
    await b.close()
  })

  test('concurrent first calls create one key', async () => {
    const d = await openDataDir(freshDir())
    const [x, y] = await Promise.all([d.identity(), d.identity()])
    assert.ok(peerIdFromPrivateKey(x).equals(peerIdFromPrivateKey(y)))
    await d.close()
  })

  test('a damaged key file is an error and is not replaced', async () => {
    const dir = freshDir()
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'identity.key'), 'not a key', { mode: 0o600 })
    const d = await openDataDir(dir)
    const err = await expectStoreError(d.identity(), 'ERR_BAD_IDENTITY')
    assert.ok(err.message.includes(join(d.path, 'identity.key')))
    assert.equal(await readFile(join(dir, 'identity.key'), 'utf8'), 'not a key')
    await d.close()
  })

  test('warns about a key readable by others', { skip: process.platform === 'win32' }, async () => {
    const dir = freshDir()
    const a = await openDataDir(dir)
    await a.identity()
    await a.close()
    await chmod(join(dir, 'identity.key'), 0o644)
    const { warnings, options } = collect()
    const b = await openDataDir(dir, options)
    await b.identity()
    assert.match(warnings.join('\n'), /can be read by other users/)
    await b.close()
  })
})

describe('model files', () => {
  test('modelHash is the sha256 of the little-endian float32 bytes', () => {
    const p = Float32Array.of(1, -2.5, 0, -0, NaN, Infinity, 3.4e38, 1e-45)
    const bytes = new Uint8Array(p.length * 4)
    const view = new DataView(bytes.buffer)
    p.forEach((x, i) => view.setFloat32(4 * i, x, true))
    assert.equal(modelHash(p), bytesToHex(sha256(bytes)))
    assert.notEqual(modelHash(Float32Array.of(0)), modelHash(Float32Array.of(-0)))
    assert.equal(modelHash(new Float32Array(0)), bytesToHex(sha256(new Uint8Array(0))))
    // a view into a larger buffer hashes only its own elements
    const big = Float32Array.of(9, 1, -2.5, 9)
    assert.equal(modelHash(big.subarray(1, 3)), modelHash(Float32Array.of(1, -2.5)))
  })

  test('encode/decode round-trips bit for bit (property)', () => {
    fc.assert(fc.property(
      fc.float32Array({ maxLength: 300 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.string({ minLength: 1, maxLength: 80 }),
      (p, round, taskId) => {
        const hash = modelHash(p)
        const decoded = decodeModelFile(encodeModelFile({ taskId, round, hash, params: p }))
        assert.equal(decoded.round, round)
        assert.equal(decoded.taskId, taskId)
        assert.equal(decoded.hash, hash)
        assert.deepEqual(new Uint8Array(decoded.params.buffer), new Uint8Array(p.buffer, p.byteOffset, p.byteLength))
      }), { numRuns: 200 })
  })

  test('any flipped byte is detected (property)', () => {
    const p = params(50)
    const file = encodeModelFile({ taskId: 'task-1', round: 2, hash: modelHash(p), params: p }) // 6-byte id: 2 bytes of padding
    fc.assert(fc.property(fc.nat(file.length - 1), fc.integer({ min: 1, max: 255 }), (at, xor) => {
      const bad = file.slice()
      bad[at] ^= xor
      let decoded
      try {
        decoded = decodeModelFile(bad)
      } catch (err) {
        assert.ok(err instanceof StoreError)
        return
      }
      // only the round and task id are not covered by the content hash; they are checked against the file name and the caller
      assert.ok(decoded.round !== 2 || decoded.taskId !== 'task-1', `byte ${at} flipped unnoticed`)
    }), { numRuns: 300 })
  })
})

describe('checkpoints in the data dir', () => {
  test('round trip with hash verification; newest round wins; per task', async () => {
    const d = await openDataDir(freshDir())
    assert.equal(await d.latestModel(TASK), undefined)
    const p1 = params(1000, 1)
    const p2 = params(1000, 2)
    await d.saveModel({ taskId: TASK, round: 1, hash: modelHash(p1), params: p1 })
    await d.saveModel({ taskId: TASK, round: 2, hash: modelHash(p2), params: p2 })
    const latest = await d.latestModel(TASK)
    assert.ok(latest !== undefined)
    assert.equal(latest.round, 2)
    assert.equal(latest.hash, modelHash(p2))
    assert.deepEqual(latest.params, p2)
    assert.equal(await d.latestModel(OTHER_TASK), undefined)
    assert.ok((await readdir(join(d.path, 'models'))).includes(modelFileName(2, modelHash(p2))))
    await d.close()
  })

  test('a hash that does not match the params is refused', async () => {
    const d = await openDataDir(freshDir())
    const p = params(10)
    const err = await expectStoreError(d.saveModel({ taskId: TASK, round: 1, hash: 'f'.repeat(64), params: p }), 'ERR_BAD_MODEL')
    assert.match(err.message, /does not match its params/)
    await expectStoreError(d.saveModel({ taskId: TASK, round: -1, hash: modelHash(p), params: p }), 'ERR_BAD_MODEL')
    await d.close()
  })

  test('a corrupted model file is skipped with a warning', async () => {
    const { warnings, options } = collect()
    const d = await openDataDir(freshDir(), options)
    const p1 = params(500, 1)
    const p2 = params(500, 2)
    const p3 = params(500, 3)
    await d.saveModel({ taskId: TASK, round: 1, hash: modelHash(p1), params: p1 })
    await d.saveModel({ taskId: TASK, round: 2, hash: modelHash(p2), params: p2 })
    await d.saveModel({ taskId: TASK, round: 3, hash: modelHash(p3), params: p3 })
    const models = join(d.path, 'models')

    // round 3: one flipped bit in the parameters
    const f3 = join(models, modelFileName(3, modelHash(p3)))
    const bytes = await readFile(f3)
    bytes[bytes.length - 7] ^= 0x10
    await writeFile(f3, bytes)
    // round 2: truncated
    const f2 = join(models, modelFileName(2, modelHash(p2)))
    await writeFile(f2, (await readFile(f2)).subarray(0, 100))
    // round 9: a file whose name does not match its content
    await writeFile(join(models, modelFileName(9, 'c'.repeat(64))), await readFile(join(models, modelFileName(1, modelHash(p1)))))
    // names that are not checkpoints are ignored
    await writeFile(join(models, 'notes.txt'), 'hello')

    const latest = await d.latestModel(TASK)
    assert.equal(latest?.round, 1)
    assert.deepEqual(latest?.params, p1)
    assert.equal(warnings.length, 3, warnings.join('\n'))
    assert.ok(warnings.some(w => w.includes(f3) && w.includes('content hash')))
    assert.ok(warnings.some(w => w.includes(f2)))
    assert.ok(warnings.every(w => !/[\r\n]/.test(w)))
    await d.close()
  })

  test('keeps only the newest K checkpoints of a task', async () => {
    const d = await openDataDir(freshDir(), { keepModels: 3 })
    const other = params(5, 99)
    await d.saveModel({ taskId: OTHER_TASK, round: 1, hash: modelHash(other), params: other })
    const saved: string[] = []
    for (let round = 1; round <= 6; round++) {
      const p = params(20, round)
      await d.saveModel({ taskId: TASK, round, hash: modelHash(p), params: p })
      saved.push(modelFileName(round, modelHash(p)))
    }
    const files = (await readdir(join(d.path, 'models'))).sort()
    assert.deepEqual(files, [...saved.slice(3), modelFileName(1, modelHash(other))].sort())
    assert.equal((await d.latestModel(OTHER_TASK))?.round, 1)
    await d.close()
  })

  test('concurrent saves all land, in order', async () => {
    const d = await openDataDir(freshDir(), { keepModels: 2 })
    await Promise.all([1, 2, 3, 4].map(async round => {
      const p = params(100, round)
      await d.saveModel({ taskId: TASK, round, hash: modelHash(p), params: p })
    }))
    assert.equal((await readdir(join(d.path, 'models'))).length, 2)
    assert.equal((await d.latestModel(TASK))?.round, 4)
    await d.close()
  })
})

describe('atomic writes', () => {
  test('a failed write leaves neither a partial file nor a temp file', async () => {
    const dir = freshDir()
    await mkdir(join(dir, 'target', 'occupied'), { recursive: true })
    // renaming a file over a non-empty directory fails after the data was written and synced
    await assert.rejects(writeFileAtomic(join(dir, 'target'), new Uint8Array(1 << 20)), (err: unknown) => {
      assert.ok(err instanceof StoreError)
      assert.ok(err.message.startsWith(`cannot write ${join(dir, 'target')}: `), err.message)
      return true
    })
    assert.deepEqual(await readdir(dir), ['target'])
  })

  test('an aborted write leaves the old file as it was', async () => {
    const dir = freshDir()
    await mkdir(dir)
    const path = join(dir, 'file')
    await writeFileAtomic(path, 'old')
    const controller = new AbortController()
    const pending = writeFileAtomic(path, new Uint8Array(64 << 20), { signal: controller.signal })
    controller.abort()
    await assert.rejects(pending, { name: 'AbortError' })
    assert.equal(await readFile(path, 'utf8'), 'old')
    assert.deepEqual(await readdir(dir), ['file'])
  })

  test('a reader never sees a partial checkpoint', async () => {
    const d = await openDataDir(freshDir(), { keepModels: 10 })
    const models = join(d.path, 'models')
    const p = params(1 << 20) // 4 MiB
    const hash = modelHash(p)
    const name = modelFileName(1, hash)
    const expected = encodeModelFile({ taskId: TASK, round: 1, hash, params: p }).length
    let done = false
    let seen = 0
    const watcher = (async () => {
      while (!done) {
        for (const entry of await readdir(models)) {
          if (entry !== name) continue
          const size = (await stat(join(models, entry)).catch(() => undefined))?.size
          if (size !== undefined) {
            assert.equal(size, expected, 'partial file visible under its final name')
            seen++
          }
        }
        await new Promise(resolve => setImmediate(resolve))
      }
    })()
    await d.saveModel({ taskId: TASK, round: 1, hash, params: p })
    done = true
    await watcher
    assert.equal((await d.latestModel(TASK))?.hash, hash)
    await d.close()
  })

  test('temp files left by a crash are ignored and removed on open', async () => {
    const dir = freshDir()
    const a = await openDataDir(dir)
    const p = params(10)
    await a.saveModel({ taskId: TASK, round: 1, hash: modelHash(p), params: p })
    await a.close()
    const leftover = join(dir, 'models', `.${modelFileName(2, modelHash(params(10, 2)))}.1234-abcd.tmp`)
    await writeFile(leftover, 'partial')
    await writeFile(join(dir, '.identity.key.1234-abcd.tmp'), 'partial')
    const b = await openDataDir(dir)
    assert.deepEqual((await readdir(join(dir, 'models'))), [modelFileName(1, modelHash(p))])
    assert.ok(!(await readdir(dir)).some(n => n.endsWith('.tmp')))
    assert.equal((await b.latestModel(TASK))?.round, 1)
    await b.close()
  })
})

describe('round records', () => {
  test('append and read back, across reopen', async () => {
    const dir = freshDir()
    const a = await openDataDir(dir)
    assert.deepEqual(await a.roundRecords(), [])
    await a.appendRoundRecord({ round: 1, hash: 'x', survivors: ['p1', 'p2'] })
    await a.appendRoundRecord({ round: 2, text: 'line\nbreak' })
    await a.close()
    const b = await openDataDir(dir)
    assert.deepEqual(await b.roundRecords(), [{ round: 1, hash: 'x', survivors: ['p1', 'p2'] }, { round: 2, text: 'line\nbreak' }])
    await assert.rejects(b.appendRoundRecord([1, 2] as unknown as object), TypeError)
    await b.close()
  })

  test('a torn last line is ignored, then repaired by the next append', async () => {
    const dir = freshDir()
    const a = await openDataDir(dir)
    await a.appendRoundRecord({ round: 1 })
    await a.appendRoundRecord({ round: 2 })
    await a.close()
    await appendFile(join(dir, 'rounds.jsonl'), '{"round": 3, "surv') // crash mid-write

    const { warnings, options } = collect()
    const b = await openDataDir(dir, options)
    assert.deepEqual(await b.roundRecords(), [{ round: 1 }, { round: 2 }])
    assert.match(warnings.join('\n'), /torn last line/)
    await b.appendRoundRecord({ round: 3 })
    assert.deepEqual(await b.roundRecords(), [{ round: 1 }, { round: 2 }, { round: 3 }])
    assert.equal(await readFile(join(dir, 'rounds.jsonl'), 'utf8'), '{"round":1}\n{"round":2}\n{"round":3}\n')
    await b.close()
  })

  test('a whole last record that lost its newline is kept', async () => {
    const dir = freshDir()
    await mkdir(dir)
    await writeFile(join(dir, 'rounds.jsonl'), '{"round":1}\n{"round":2}')
    const d = await openDataDir(dir, collect().options)
    assert.deepEqual(await d.roundRecords(), [{ round: 1 }, { round: 2 }])
    await d.appendRoundRecord({ round: 3 })
    assert.deepEqual(await d.roundRecords(), [{ round: 1 }, { round: 2 }, { round: 3 }])
    await d.close()
  })

  test('a bad line in the middle is corruption, named by line', async () => {
    const dir = freshDir()
    await mkdir(dir)
    await writeFile(join(dir, 'rounds.jsonl'), '{"round":1}\ngarbage\n{"round":3}\n')
    const d = await openDataDir(dir)
    const err = await expectStoreError(d.roundRecords(), 'ERR_CORRUPT_LOG')
    assert.ok(err.message.startsWith(`${join(d.path, 'rounds.jsonl')}:2: `), err.message)
    await d.close()
  })
})

describe('lock', () => {
  test('a second open of the same dir fails until the first is closed', async () => {
    const dir = freshDir()
    const a = await openDataDir(dir)
    const err = await expectStoreError(openDataDir(dir), 'ERR_LOCKED')
    assert.ok(err.message.includes(a.path) && err.message.includes(String(process.pid)), err.message)
    await a.close()
    const b = await openDataDir(dir)
    await b.close()
  })

  test('of two concurrent opens exactly one succeeds', async () => {
    const dir = freshDir()
    await mkdir(dir)
    const results = await Promise.allSettled([openDataDir(dir), openDataDir(dir), openDataDir(dir)])
    assert.equal(results.filter(r => r.status === 'fulfilled').length, 1)
    for (const r of results) if (r.status === 'fulfilled') await r.value.close()
  })

  test('another process holding the dir is named; its lock goes stale when it dies', async () => {
    const dir = freshDir()
    const storeUrl = pathToFileURL(join(import.meta.dirname, '..', 'src', 'store', 'index.ts')).href
    const code = `const { openDataDir } = await import(${JSON.stringify(storeUrl)})
      await openDataDir(${JSON.stringify(dir)}); console.log('ready'); setInterval(() => {}, 1000)`
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] })
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => { if (chunk.toString().includes('ready')) resolve() })
        child.once('exit', (c) => { reject(new Error(`child exited with ${c}`)) })
      })
      const err = await expectStoreError(openDataDir(dir), 'ERR_LOCKED')
      assert.ok(err.message.includes(`process ${child.pid}`), err.message)
      assert.ok(err.message.includes(dir), err.message)
    } finally {
      const exited = new Promise(resolve => child.once('exit', resolve))
      child.kill('SIGKILL') // no chance to clean up: the lock file stays behind
      await exited
    }
    const d = await openDataDir(dir)
    assert.equal(JSON.parse(await readFile(join(d.path, 'lock'), 'utf8')).pid, process.pid)
    await d.close()
  })

  test('a lock left by a dead process, or by an earlier life of this pid, is stale', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid as number
    for (const pid of [dead, process.pid]) {
      const dir = freshDir()
      await mkdir(dir)
      await writeFile(join(dir, 'lock'), JSON.stringify({ pid, hostname: hostname(), created: '2020-01-01T00:00:00.000Z' }))
      const d = await openDataDir(dir)
      await d.close()
    }
    const dir = freshDir()
    await mkdir(dir)
    await writeFile(join(dir, 'lock'), 'garbage')
    await (await openDataDir(dir)).close()
  })

  test('a lock from another host is never broken', async () => {
    const dir = freshDir()
    await mkdir(dir)
    await writeFile(join(dir, 'lock'), JSON.stringify({ pid: 1, hostname: 'elsewhere.example', created: '' }))
    const err = await expectStoreError(openDataDir(dir), 'ERR_LOCKED')
    assert.match(err.message, /process 1 on host elsewhere\.example/)
  })

  test('close releases the lock file and later calls fail', async () => {
    const d = await openDataDir(freshDir())
    await d.close()
    assert.ok(!(await readdir(d.path)).includes('lock'))
    await expectStoreError(d.latestModel(TASK), 'ERR_CLOSED')
    await assert.rejects(async () => { await d.appendRoundRecord({}) }, StoreError)
    await d.close() // idempotent
  })
})

describe('opening errors name the path', () => {
  test('a path under a regular file', async () => {
    const file = join(root, `file-${++counter}`)
    await writeFile(file, '')
    const err = await expectStoreError(openDataDir(join(file, 'data')), 'ERR_DATA_DIR')
    assert.ok(err.message.includes(join(file, 'data')), err.message)
  })

  test('a regular file as the dir', async () => {
    const file = join(root, `file-${++counter}`)
    await writeFile(file, '')
    const err = await expectStoreError(openDataDir(file), 'ERR_DATA_DIR')
    assert.equal(err.message, `data dir ${file} is not a directory`)
  })

  test('create: false and no dir', async () => {
    const dir = freshDir()
    const err = await expectStoreError(openDataDir(dir, { create: false }), 'ERR_NOT_FOUND')
    assert.equal(err.message, `data dir ${dir} does not exist`)
  })

  test('an unwritable dir', { skip: process.getuid?.() === 0 || process.platform === 'win32' ? 'root can write anywhere' : false }, async () => {
    const dir = freshDir()
    await mkdir(dir, { mode: 0o500 })
    try {
      const err = await expectStoreError(openDataDir(dir), 'ERR_NOT_WRITABLE')
      assert.ok(err.message.startsWith(`data dir ${dir} is not writable`), err.message)
    } finally {
      await chmod(dir, 0o700)
    }
  })

  test('an aborted signal', async () => {
    await assert.rejects(openDataDir(freshDir(), { signal: AbortSignal.abort() }), { name: 'AbortError' })
  })
})
