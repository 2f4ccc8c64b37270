// The benchmark's JSON (bench/bench.ts): a small run of the training and masks parts writes the
// figures README's Benchmarks section describes, as finite positive numbers; the PyTorch figures are
// numbers where python3 + torch are installed, else null with a message saying why.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))

function positive (x: unknown, what: string): void {
  assert.equal(typeof x, 'number', `${what} is a number (got ${JSON.stringify(x)})`)
  assert.ok(Number.isFinite(x as number) && (x as number) > 0, `${what} is finite and > 0 (got ${x})`)
}

test('npm run bench -- --small --only training,masks --json FILE', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedswarm-bench-test-'))
  try {
    const file = join(dir, 'bench.json')
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/bench.ts', '--small', '--only', 'training,masks', '--json', file], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (b: Buffer) => { out += b.toString() })
    child.stderr.on('data', (b: Buffer) => { out += b.toString() })
    const code = await new Promise<number | null>(resolve => child.on('exit', resolve))
    assert.equal(code, 0, out)
    const r = JSON.parse(readFileSync(file, 'utf8'))
    assert.deepEqual(r.parts, ['training', 'masks'])
    assert.equal(r.node, process.version)
    positive(r.cores, 'cores')
    assert.equal(typeof r.backend, 'string')
    for (const kind of ['mlp', 'cnn']) {
      const m = r.training[kind]
      positive(m.samplesPerSec, `training.${kind}.samplesPerSec`)
      if (m.torchSamplesPerSec === null) {
        assert.equal(m.ratioVsTorch, null)
        assert.ok(r.messages.some((s: string) => /torch/i.test(s)), `a message says why the torch figures are null: ${JSON.stringify(r.messages)}`)
      } else {
        positive(m.torchSamplesPerSec, `training.${kind}.torchSamplesPerSec`)
        positive(m.ratioVsTorch, `training.${kind}.ratioVsTorch`)
        assert.ok(Math.abs(m.ratioVsTorch - m.samplesPerSec / m.torchSamplesPerSec) < 0.01, 'ratioVsTorch = tfjs / torch')
      }
    }
    positive(r.masks.mbPerSec, 'masks.mbPerSec')
    assert.equal(r.round, null)
    assert.equal(r.scale, null)
    assert.match(out, /samples\/s/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
