// Task files: reading (missing file, bad JSON with line and column, bad field) and writing the default task.
import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { TaskError, defaultTask, readTaskFile, taskId, writeDefaultTask } from '../src/config/index.ts'
import { describeJsonError, jsonErrorOffset } from '../src/config/task-file.ts'

let dir: string
before(async () => { dir = await mkdtemp(join(tmpdir(), 'fedswarm-config-')) })
after(async () => { await rm(dir, { recursive: true, force: true }) })

async function rejection (promise: Promise<unknown>): Promise<TaskError> {
  try {
    await promise
  } catch (err) {
    assert.ok(err instanceof TaskError, `expected a TaskError, got ${String(err)}`)
    assert.ok(!/[\r\n]/.test(err.message), 'one line')
    return err
  }
  assert.fail('expected a rejection')
}

describe('readTaskFile', () => {
  test('reads a partial task, fills defaults, returns the base dir', async () => {
    const path = join(dir, 'partial.json')
    await writeFile(path, JSON.stringify({ name: 'p', training: { learningRate: 0.1 }, dataset: { kind: 'csv', train: 'data/train.csv', test: 'data/test.csv', labelColumn: 4, classes: 3 } }))
    const { task, baseDir } = await readTaskFile(path)
    assert.equal(task.name, 'p')
    assert.equal(task.training.learningRate, 0.1)
    assert.equal(task.training.batchSize, defaultTask().training.batchSize)
    assert.deepEqual(task.dataset, { kind: 'csv', train: 'data/train.csv', test: 'data/test.csv', labelColumn: 4, classes: 3, header: true })
    assert.equal(baseDir, dir)
  })

  test('resolves baseDir of a relative path', async () => {
    const path = join(dir, 'rel.json')
    await writeFile(path, '{}')
    const { baseDir } = await readTaskFile(relative(process.cwd(), path))
    assert.equal(baseDir, dir)
  })

  test('accepts a byte order mark', async () => {
    const path = join(dir, 'bom.json')
    await writeFile(path, '\ufeff{"rounds": 4}')
    assert.equal((await readTaskFile(path)).task.rounds, 4)
  })

  test('missing file', async () => {
    const err = await rejection(readTaskFile('./does-not-exist.json'))
    assert.equal(err.message, 'task file ./does-not-exist.json not found')
    assert.equal(err.code, 'ERR_TASK_FILE_NOT_FOUND')
  })

  test('a directory', async () => {
    const err = await rejection(readTaskFile(dir))
    assert.equal(err.message, `task file ${dir} is a directory, not a JSON file`)
  })

  test('bad JSON: names the file, line and column', async () => {
    const path = join(dir, 'bad.json')
    await writeFile(path, '{\n  "rounds": 5,\n  "seed" 3\n}\n')
    const err = await rejection(readTaskFile(path))
    assert.equal(err.code, 'ERR_TASK_FILE_NOT_JSON')
    assert.match(err.message, new RegExp(`^${escape(path)}: not valid JSON: line 3, column 10: `))
  })

  test('bad JSON without a position from V8 (unexpected token)', async () => {
    const path = join(dir, 'token.json')
    await writeFile(path, '{\n  "rounds": five\n}')
    const err = await rejection(readTaskFile(path))
    assert.equal(err.message, `${path}: not valid JSON: line 2, column 14: Unexpected character "i"`)
  })

  test('empty file and truncated file', async () => {
    const empty = join(dir, 'empty.json')
    await writeFile(empty, '')
    assert.equal((await rejection(readTaskFile(empty))).message, `${empty}: not valid JSON: line 1, column 1: Unexpected end of JSON input`)
    const cut = join(dir, 'cut.json')
    await writeFile(cut, '{\n  "rounds": 5,\n')
    assert.match((await rejection(readTaskFile(cut))).message, new RegExp(`^${escape(cut)}: not valid JSON: line 3, column 1: `))
  })

  test('bad field: the message starts with the file name and names the field', async () => {
    const path = join(dir, 'field.json')
    await writeFile(path, JSON.stringify({ training: { learningRate: 0 } }))
    const err = await rejection(readTaskFile(path))
    assert.equal(err.message, `${path}: training.learningRate must be a number > 0 (got 0)`)
    assert.equal(err.field, 'training.learningRate')
    assert.equal(err.source, path)
  })

  test('unknown field in a file', async () => {
    const path = join(dir, 'unknown.json')
    await writeFile(path, JSON.stringify({ training: { lr: 0.1 } }))
    assert.equal((await rejection(readTaskFile(path))).message, `${path}: unknown field training.lr (did you mean learningRate?)`)
  })

  test('a JSON value that is not an object', async () => {
    const path = join(dir, 'array.json')
    await writeFile(path, '[]')
    assert.equal((await rejection(readTaskFile(path))).message, `${path}: the task must be a JSON object (got [])`)
  })

  test('honours an aborted signal', async () => {
    const path = join(dir, 'abort.json')
    await writeFile(path, '{}')
    await assert.rejects(readTaskFile(path, { signal: AbortSignal.abort() }), { name: 'AbortError' })
  })
})

describe('writeDefaultTask', () => {
  test('writes pretty JSON of the default task that reads back to the same task', async () => {
    const path = join(dir, 'default.json')
    const written = await writeDefaultTask(path)
    assert.deepEqual(written, defaultTask())
    const text = await readFile(path, 'utf8')
    assert.equal(text, `${JSON.stringify(defaultTask(), null, 2)}\n`)
    const { task } = await readTaskFile(path)
    assert.deepEqual(task, defaultTask())
    assert.equal(taskId(task), taskId(defaultTask()))
  })

  test('refuses to overwrite without force, overwrites with it', async () => {
    const path = join(dir, 'existing.json')
    await writeFile(path, '{"rounds": 3}')
    const err = await rejection(writeDefaultTask(path))
    assert.equal(err.message, `task file ${path} already exists; refusing to overwrite it without force`)
    assert.equal(err.code, 'ERR_TASK_FILE_EXISTS')
    assert.equal(await readFile(path, 'utf8'), '{"rounds": 3}')
    await writeDefaultTask(path, { force: true })
    assert.deepEqual((await readTaskFile(path)).task, defaultTask())
  })

  test('missing directory', async () => {
    const path = join(dir, 'no', 'such', 'dir', 'task.json')
    const err = await rejection(writeDefaultTask(path))
    assert.equal(err.message, `cannot write task file ${path}: directory ${join(dir, 'no', 'such', 'dir')} does not exist`)
    await mkdir(join(dir, 'no'), { recursive: true })
  })
})

describe('JSON error positions', () => {
  test('the scanner agrees with JSON.parse on what is valid', () => {
    const samples = ['{}', '[]', '1', '-0.5e+3', '"a\\u00e9"', '{"a":[1,{"b":null}],"c":true}', ' \n{ "a" : false } ',
      '{', '{"a"}', '{"a":}', '[1,]', '01', '1.', '"\\x"', 'tru', '{"a":1}}', '"a\tb"', '']
    for (const text of samples) {
      let valid = true
      try { JSON.parse(text) } catch { valid = false }
      assert.equal(jsonErrorOffset(text) === -1, valid, JSON.stringify(text))
    }
  })

  test('uses the position V8 reports', () => {
    const text = '{\n "a": 1,\n}'
    let message = ''
    try { JSON.parse(text) } catch (err) { message = (err as Error).message }
    assert.match(describeJsonError(message, text), /^line 3, column 1: /)
  })
})

function escape (s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
