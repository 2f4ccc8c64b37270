// The file formats a peer reads: task files and network files (readTaskFile / loadNetwork), the data
// dir's JSON-lines logs (privacy ledger, round records, and the chain links read back from them), model
// checkpoints, the identity key and status.json (also as `fedswarm status` reads and prints a data dir).
// Each input is written to a real file and read back through the real reader; only that reader's own
// error classes may come out.
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import fc from 'fast-check'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defaultTask } from '../../../src/config/task.ts'
import { NetworkError, loadNetwork } from '../../../src/config/network.ts'
import { jsonErrorOffset, readTaskFile } from '../../../src/config/task-file.ts'
import { TaskError } from '../../../src/config/errors.ts'
import { LedgerError, createPrivacyLedger } from '../../../src/dp/ledger.ts'
import { chainEndingAt, linksFromRecords } from '../../../src/round/chain.ts'
import { openDataDir } from '../../../src/store/data-dir.ts'
import type { DataDir } from '../../../src/store/data-dir.ts'
import { StoreError } from '../../../src/store/errors.ts'
import { readIdentity } from '../../../src/store/identity.ts'
import { decodeModelFile, encodeModelFile, modelHash } from '../../../src/store/model-file.ts'
import { readStatusFile } from '../../../src/store/status-file.ts'
import { formatStatus, readStatus } from '../../../src/cli/status-command.ts'
import { chainLinks } from '../corpus.ts'
import { hexPreview, outcome, violation } from '../harness.ts'
import type { FuzzTarget, TargetRun } from '../harness.ts'
import { jsonFileArb, jsonLinesArb } from '../json-mutate.ts'
import { binaryInputArb } from '../mutate.ts'

const show = (b: Uint8Array): string => hexPreview(b, 160)
const MiB = 1024 * 1024
/** Local files, not wire input: parsing JSON allocates some tens of bytes per input byte (nested arrays most). */
const fileAlloc = (n: number): number => 64 * MiB + 128 * n
/**
 * The ledger's PLD accountant prices every new (q, σ, steps) with FFT convolutions (src/dp/pld.ts: at
 * most MAX_PLD_POINTS points, 40 bytes a point each): a constant, input-size-independent cost of some
 * tens of MiB (72.7 MiB seen once for a 168-byte ledger), allowed on top of the file bound.
 */
const PLD_ALLOWANCE = 128 * MiB
/** File targets run a quarter of the wire targets' inputs (they are no message types, and disk-bound). */
const FILE_SCALE = 0.25

function tempDir (): { dir: string, remove: () => Promise<void> } {
  const dir = mkdtempSync(join(tmpdir(), 'fedswarm-fuzz-'))
  return { dir, remove: async () => rmSync(dir, { recursive: true, force: true }) }
}

/** A target that writes each input to `file` in a fresh temp dir and calls `read`. */
function fileTarget (name: string, what: string, arb: () => Promise<fc.Arbitrary<Uint8Array>> | fc.Arbitrary<Uint8Array>, file: string, read: (path: string, dir: string, bytes: Uint8Array) => Promise<string>, prepare?: (dir: string) => Promise<void>): FuzzTarget {
  return {
    name,
    what,
    scale: FILE_SCALE,
    callAllocBytes: fileAlloc,
    async setup (): Promise<TargetRun<Uint8Array>> {
      const { dir, remove } = tempDir()
      await prepare?.(dir)
      const path = join(dir, file)
      return {
        arbitrary: await arb(),
        size: (b) => b.byteLength,
        show,
        async run (b) {
          writeFileSync(path, b)
          return await read(path, dir, b)
        },
        teardown: remove
      }
    }
  }
}

const taskDocs = (): unknown[] => [
  defaultTask(),
  { name: 'small', rounds: 3, cohort: { size: 3, minSurvivors: 2 } },
  { model: { kind: 'cnn', filters: [8, 16], dense: 32 }, dataset: { kind: 'csv', train: 'a.csv', test: 'b.csv', labelColumn: 0, classes: 3 } },
  { privacy: { dpSgd: true, targetEpsilon: 8 }, training: { lrSchedule: { kind: 'step', every: 2, factor: 0.5 } } },
  { secureAggregation: true, partition: 'dirichlet:0.5', aggregation: { weighting: 'uniform', sliceFrom: 4 } }
]

const taskFile = fileTarget('file:task', 'task file bytes → readTaskFile (TaskError only), JSON error positions against JSON.parse',
  () => jsonFileArb(taskDocs()), 'task.json', async (path, _dir, bytes) => {
    const r = await outcome('readTaskFile', () => readTaskFile(path), err => err instanceof TaskError)
    // differential: the position scanner agrees with JSON.parse on what is JSON
    const text = new TextDecoder().decode(bytes).replace(/^\ufeff/, '')
    let parses = true
    try { JSON.parse(text) } catch { parses = false }
    if ((jsonErrorOffset(text) === -1) !== parses) violation(`jsonErrorOffset says ${parses ? 'invalid' : 'valid'}, JSON.parse disagrees`)
    return 'value' in r ? 'task' : (r.error as TaskError).code
  })

const networkDocs = (): unknown[] => {
  const base = { version: 1, name: 'fuzznet', protocolVersion: 'fedswarm/1', bootstrap: ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWKnDdG3iXw9eTFijk3EWSunZcFi54Zka4wmtqtt6rPxc8'], dht: true, relay: false, mdns: false, publicNetwork: true }
  return [
    { ...base, task: { name: 'net-task', rounds: 20 } },
    { ...base, task: 'task.json', description: 'a task file next to it' },
    { ...base, task: { secureAggregation: true }, bootstrap: ['/dns4/example.org/tcp/4001/p2p/12D3KooWKnDdG3iXw9eTFijk3EWSunZcFi54Zka4wmtqtt6rPxc8', '/ip6/::1/udp/4001/quic-v1/p2p/12D3KooWKnDdG3iXw9eTFijk3EWSunZcFi54Zka4wmtqtt6rPxc8'] }
  ]
}

const networkFile = fileTarget('file:network', 'network file bytes (inline task or task-file path) → loadNetwork (NetworkError / TaskError only)',
  () => jsonFileArb(networkDocs()), 'net.json', async (path) => {
    const r = await outcome('loadNetwork', () => loadNetwork(path), err => err instanceof NetworkError || err instanceof TaskError)
    return 'value' in r ? 'network' : r.error.name
  }, async (dir) => { writeFileSync(join(dir, 'task.json'), JSON.stringify({ name: 'file-task' })) })

const ledgerDocs = (): unknown[] => [
  { round: 1, mechanism: 'dp-fedavg', noiseMultiplier: 1.2, sampleRate: 1, steps: 1 },
  { round: 2, mechanism: 'dp-sgd', noiseMultiplier: 1.1, sampleRate: 0.01, steps: 240 },
  { round: 3, mechanism: 'dp-fedavg', noiseMultiplier: 0.7, sampleRate: 1, steps: 1 }
]

const records = (): unknown[] => {
  const links = chainLinks(4)
  return links.map((l, i) => ({
    round: l.round, attempt: l.attempt, modelHash: l.resultHash, baseHash: l.baseHash, cohortHash: l.cohortHash, survivorsHash: l.survivorsHash,
    cohort: 4, survivors: 3, member: true, leader: i === 0, via: i === 3 ? 'sync' : 'aggregate', startedAt: 1_700_000_000_000 + i, endedAt: 1_700_000_001_000 + i,
    roundSent: 1000, roundReceived: 2000, localLoss: 0.5, epsilon: 1.5, ...(i === 3 ? { syncedLinks: links.slice(0, 2) } : {})
  }))
}

/** Targets that need an open data dir (its lock held once for all inputs). */
function dataDirTarget (name: string, what: string, arb: fc.Arbitrary<Uint8Array>, file: string, read: (dir: DataDir, bytes: Uint8Array) => Promise<string>,
  alloc: (n: number) => number = fileAlloc): FuzzTarget {
  return {
    name,
    what,
    scale: FILE_SCALE,
    callAllocBytes: alloc,
    async setup (): Promise<TargetRun<Uint8Array>> {
      const { dir, remove } = tempDir()
      const dd = await openDataDir(dir, { onWarning: () => {} })
      return {
        arbitrary: arb,
        size: (b) => b.byteLength,
        show,
        async run (b) {
          writeFileSync(join(dir, file), b)
          return await read(dd, b)
        },
        async teardown () { await dd.close(); await remove() }
      }
    }
  }
}

const ledgerFile = dataDirTarget('file:ledger', 'privacy-ledger.jsonl bytes → DataDir.ledgerEntries (StoreError only) → createPrivacyLedger (LedgerError only)',
  jsonLinesArb(ledgerDocs()), 'privacy-ledger.jsonl', async (dd) => {
    const r = await outcome('DataDir.ledgerEntries', () => dd.ledgerEntries(), err => err instanceof StoreError)
    if ('error' in r) return 'StoreError'
    const l = await outcome('createPrivacyLedger', () => createPrivacyLedger({ delta: 1e-5, targetEpsilon: 8, entries: r.value }).epsilon(), err => err instanceof LedgerError)
    return 'value' in l ? 'ledger' : 'LedgerError'
  }, (n) => fileAlloc(n) + PLD_ALLOWANCE)

const roundLog = dataDirTarget('file:round-log', 'rounds.jsonl bytes → DataDir.roundRecords (StoreError only) → linksFromRecords → chainEndingAt (no error)',
  jsonLinesArb(records()), 'rounds.jsonl', async (dd) => {
    const r = await outcome('DataDir.roundRecords', () => dd.roundRecords(), err => err instanceof StoreError)
    if ('error' in r) return 'StoreError'
    const links = (await outcome('linksFromRecords', () => linksFromRecords(r.value), () => false) as { value: ReturnType<typeof linksFromRecords> }).value
    const head = links.at(-1)
    await outcome('chainEndingAt', () => chainEndingAt(links, { round: head?.round ?? 1, model: head?.resultHash ?? '' }), () => false)
    return links.length > 0 ? 'links' : 'no links'
  })

const modelFile: FuzzTarget = {
  name: 'file:model',
  scale: FILE_SCALE,
  what: 'model checkpoint bytes → decodeModelFile (StoreError only); as models/<round>-<hash>.bin → DataDir.latestModel (skips it, no error)',
  async setup (): Promise<TargetRun<Uint8Array>> {
    const { dir, remove } = tempDir()
    const dd = await openDataDir(dir, { onWarning: () => {} })
    const corpus = [1, 5, 64].map(n => {
      const params = Float32Array.from({ length: n }, (_, i) => i / 7)
      return encodeModelFile({ taskId: 'a'.repeat(64), round: n, hash: modelHash(params), params })
    })
    corpus.push(encodeModelFile({ taskId: 'ü-task', round: 0, hash: modelHash(new Float32Array(0)), params: new Float32Array(0) }))
    const path = join(dir, 'models', `7-${'ab'.repeat(32)}.bin`)
    let n = 0
    return {
      arbitrary: binaryInputArb(corpus),
      size: (b) => b.byteLength,
      show,
      async run (b) {
        const r = await outcome('decodeModelFile', () => decodeModelFile(b, 'fuzz.bin'), err => err instanceof StoreError)
        if (n++ % 4 === 0) {
          writeFileSync(path, b)
          await outcome('DataDir.latestModel', () => dd.latestModel('a'.repeat(64)), () => false)
        }
        return 'value' in r ? 'model' : 'StoreError'
      },
      async teardown () { await dd.close(); await remove() }
    }
  }
}

const identityFile = fileTarget('file:identity', 'identity.key bytes (mutated Ed25519 / secp256k1 / ECDSA / RSA protobuf keys) → readIdentity (StoreError only)',
  async () => binaryInputArb(await Promise.all([
    generateKeyPair('Ed25519'), generateKeyPair('secp256k1'), generateKeyPair('ECDSA'), generateKeyPair('RSA', 1024)
  ].map(async k => privateKeyToProtobuf(await k)))), 'identity.key', async (path) => {
    const r = await outcome('readIdentity', () => readIdentity(path), err => err instanceof StoreError)
    return 'value' in r ? 'key' : 'StoreError'
  })

const statusDocs = (): unknown[] => [
  { version: 1, role: 'peer', pid: 4242, hostname: 'h', startedAt: '2025-01-01T00:00:00.000Z', updatedAt: '2025-01-01T00:01:00.000Z', state: 'running', peerId: '12D3KooWKnDdG3iXw9eTFijk3EWSunZcFi54Zka4wmtqtt6rPxc8', network: 'testnet', task: { name: 't', id: 'ab'.repeat(32), rounds: 10, delta: 1e-5, targetEpsilon: 0, dp: true }, addresses: ['/ip4/127.0.0.1/tcp/1'], connections: 3, round: 2, attempt: 0, phase: 'update', roundsCompleted: 1, lastModelHash: 'cd'.repeat(32), epsilon: 0.5 },
  { version: 1, role: 'bootstrap', pid: 1, hostname: 'h', startedAt: 'x', updatedAt: 'y', state: 'stopped' }
]

const statusFile = fileTarget('file:status', 'status.json bytes → readStatusFile (StoreError only); with a fuzzed rounds.jsonl → `fedswarm status` readStatus + formatStatus',
  () => fc.tuple(jsonFileArb(statusDocs()), jsonLinesArb(records())).map(([s, r]) => {
    // both files in one input: a 4-byte length of the status part, then the two parts
    const out = new Uint8Array(4 + s.length + r.length)
    new DataView(out.buffer).setUint32(0, s.length)
    out.set(s, 4)
    out.set(r, 4 + s.length)
    return out
  }), 'input.bin', async (_path, dir, input) => {
    const n = new DataView(input.buffer, input.byteOffset).getUint32(0)
    writeFileSync(join(dir, 'status.json'), input.subarray(4, 4 + n))
    writeFileSync(join(dir, 'rounds.jsonl'), input.subarray(4 + n))
    const r = await outcome('readStatusFile', () => readStatusFile(join(dir, 'status.json')), err => err instanceof StoreError)
    const s = await outcome('readStatus', () => readStatus(dir), err => err instanceof StoreError || err instanceof LedgerError)
    if ('value' in s) await outcome('formatStatus', () => formatStatus(s.value), () => false)
    return 'value' in r ? 'status' : 'StoreError'
  })

export function fileTargets (): FuzzTarget[] {
  return [taskFile, networkFile, ledgerFile, roundLog, modelFile, identityFile, statusFile]
}
