/**
 * The `--data` flag of a peer node: which dataset this peer trains on, and which part of it.
 *
 *   mnist | fashion-mnist                     the whole built-in dataset
 *   <base>:<partition>:<index>/<of>           part `index` of `partition(labels, of, partition, task seed)`,
 *                                             e.g. mnist:iid:0/4, mnist:dirichlet:0.3:2/10, mnist:shards:2:1/10
 *   <dir>                                     IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte,
 *                                             t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each optionally .gz)
 *                                             or train.csv and test.csv
 *   <file>.csv                                training rows; tested on the sibling file with `train` replaced
 *                                             by `test` in its name if there is one, else on the file itself
 */

import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import type { DatasetSpec } from '../config/types.ts'
import { DEFAULT_CSV_LABEL_COLUMN, DEFAULT_USER_CLASSES, IDX_FILES } from './constants.ts'
import { looksLikeHeader } from './csv.ts'
import { DataSpecError, PartitionError } from './errors.ts'
import { parsePartition, partition } from './partition.ts'

export interface DataSelection {
  dataset: DatasetSpec
  /** This peer's share of the training set, when the spec names one. */
  partition?: { spec: string, index: number, of: number }
}

export interface ParseDataSpecOptions {
  /** Relative paths are resolved against this (default: the working directory); returned paths are absolute. */
  baseDir?: string
  /**
   * The task's dataset spec: for user data, `classes` (and for CSV `labelColumn` and `header`) are taken
   * from it when it is of the same kind. Otherwise classes = 10, label column 0, header detected. Its
   * `normalize` and `transform` are carried over whatever the kind, so a peer's inputs are standardized and
   * transformed as the task says (with `standard` on user data, from this peer's own training files).
   */
  template?: DatasetSpec
}

/** What error messages say `--data` may be. */
export const DATA_SPEC_FORMS = 'mnist, fashion-mnist, <dataset>:<partition>:<index>/<of> (e.g. mnist:iid:0/4, mnist:dirichlet:0.3:2/10, mnist:shards:2:1/10), a directory of IDX files or of train.csv and test.csv, or a .csv file'

const PARTITIONED = /^(.+?):(iid|dirichlet:[^:]*|shards:[^:]*):(\d+)\/(\d+)$/

export function parseDataSpec (text: string, options: ParseDataSpecOptions = {}): DataSelection {
  const fail = (why: string): never => {
    throw new DataSpecError(`--data ${JSON.stringify(text)}: ${why}; use ${DATA_SPEC_FORMS}`)
  }
  if (typeof text !== 'string' || text.trim() === '') return fail('empty')
  const m = PARTITIONED.exec(text)
  if (m != null) {
    const [, base, spec, i, n] = m
    try {
      parsePartition(spec)
    } catch (err) {
      if (err instanceof PartitionError) fail(`partition ${JSON.stringify(spec)} must be iid, dirichlet:<alpha> (alpha > 0) or shards:<per-peer> (integer >= 1)`)
      throw err
    }
    const index = Number(i)
    const of = Number(n)
    if (!(of >= 1 && Number.isSafeInteger(of))) fail(`the number of peers ${n} must be >= 1`)
    if (!(index < of)) fail(`peer index ${index} must be in [0, ${of})`)
    return { dataset: withTemplate(parseBase(base, options, fail), options.template), partition: { spec, index, of } }
  }
  if (/:(\d+)\/(\d+)$/.test(text) && !isPath(text, options)) fail('the part before <index>/<of> must be <dataset>:<partition>')
  return { dataset: withTemplate(parseBase(text, options, fail), options.template) }
}

/** `spec` with the template's `normalize` and `transform` (those that are not absent or `none`). */
function withTemplate (spec: DatasetSpec, template?: DatasetSpec): DatasetSpec {
  const normalize = template?.normalize
  const transform = template?.transform
  return {
    ...spec,
    ...(normalize === undefined || normalize === 'none' ? {} : { normalize }),
    ...(transform === undefined || transform === 'none' ? {} : { transform })
  }
}

/** This peer's training indices for a selection (all examples, i.e. `undefined`, when it names no partition). */
export function selectIndices (selection: DataSelection, trainY: Uint8Array, seed: number): Uint32Array | undefined {
  const p = selection.partition
  if (p == null) return undefined
  return partition(trainY, p.of, p.spec, seed)[p.index]
}

function isPath (text: string, options: ParseDataSpecOptions): boolean {
  return existsSync(resolve(options.baseDir ?? process.cwd(), text))
}

function parseBase (text: string, options: ParseDataSpecOptions, fail: (why: string) => never): DatasetSpec {
  if (text === 'mnist' || text === 'fashion-mnist') return { kind: text }
  const path = resolve(options.baseDir ?? process.cwd(), text)
  let stat
  try {
    stat = statSync(path)
  } catch {
    if (!text.includes('/') && !text.includes('\\') && !text.includes('.')) return fail(`unknown dataset ${JSON.stringify(text)} (no such file or directory either)`)
    return fail(`no such file or directory ${path}`)
  }
  const t = options.template
  if (stat.isDirectory()) {
    const find = (name: string): string | undefined => [name, `${name}.gz`].map(f => join(path, f)).find(f => existsSync(f))
    const idx = {
      trainImages: find(IDX_FILES.trainImages),
      trainLabels: find(IDX_FILES.trainLabels),
      testImages: find(IDX_FILES.testImages),
      testLabels: find(IDX_FILES.testLabels)
    }
    const found = Object.values(idx).filter(f => f != null).length
    if (found === 4) {
      return { kind: 'idx', ...(idx as Record<keyof typeof idx, string>), classes: t?.kind === 'idx' || t?.kind === 'csv' ? t.classes : DEFAULT_USER_CLASSES }
    }
    const train = join(path, 'train.csv')
    const test = join(path, 'test.csv')
    if (found === 0 && existsSync(train) && existsSync(test)) return csvSpec(train, test, t)
    const missing = Object.entries(IDX_FILES).filter(([k]) => idx[k as keyof typeof idx] == null).map(([, f]) => f)
    return fail(found > 0
      ? `directory ${path} lacks the IDX files ${missing.join(', ')}`
      : `directory ${path} holds neither the IDX files (${Object.values(IDX_FILES).join(', ')}) nor train.csv and test.csv`)
  }
  if (path.toLowerCase().endsWith('.csv')) {
    const name = basename(path)
    const sibling = name.includes('train') ? join(dirname(path), name.replace('train', 'test')) : undefined
    return csvSpec(path, sibling != null && existsSync(sibling) ? sibling : path, t)
  }
  return fail(`${path} is a file but not a .csv file`)
}

function csvSpec (train: string, test: string, t?: DatasetSpec): DatasetSpec {
  if (t?.kind === 'csv') return { kind: 'csv', train, test, labelColumn: t.labelColumn, classes: t.classes, header: t.header }
  return {
    kind: 'csv',
    train,
    test,
    labelColumn: DEFAULT_CSV_LABEL_COLUMN,
    classes: t?.kind === 'idx' ? t.classes : DEFAULT_USER_CLASSES,
    header: looksLikeHeader(firstLine(train))
  }
}

/** The first non-empty line among the first 64 KiB of a file ('' if unreadable). */
function firstLine (path: string): string {
  let fd: number | undefined
  try {
    fd = openSync(path, 'r')
    const buf = Buffer.alloc(65536)
    const n = readSync(fd, buf, 0, buf.length, 0)
    return buf.subarray(0, n).toString('utf8').split(/\r?\n/).find(l => l.trim() !== '') ?? ''
  } catch {
    return ''
  } finally {
    if (fd != null) closeSync(fd)
  }
}
