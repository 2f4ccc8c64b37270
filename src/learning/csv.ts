/**
 * Numeric CSV data: one example per row, comma-separated numbers, the label (an integer in
 * [0, classes)) in one column, an optional header row. Every row must have as many columns as the first.
 */

import { DatasetError } from './errors.ts'

export interface CsvOptions {
  /** Zero-based index of the label column. */
  labelColumn: number
  classes: number
  /** Skip the first non-empty line. */
  header: boolean
}

export interface CsvData {
  x: Float32Array
  y: Uint8Array
  features: number
}

/** Parses CSV text; `path` names the file in errors, which give the 1-based line number. */
export function parseCsv (text: string, path: string, options: CsvOptions): CsvData {
  const { labelColumn, classes, header } = options
  const lines = text.split(/\r?\n/)
  let columns = -1
  let rows = 0
  let first = true
  const kept: number[] = []
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() === '') continue
    if (first && header) {
      first = false
      columns = lines[i].split(',').length
      continue
    }
    first = false
    kept.push(i)
  }
  if (kept.length === 0) throw new DatasetError(`${path}: no data rows`, { path })
  if (columns < 0) columns = lines[kept[0]].split(',').length
  if (columns < 2) throw new DatasetError(`${path}: needs at least 2 columns (features and a label), line ${kept[0] + 1} has ${columns}`, { path })
  if (!Number.isInteger(labelColumn) || labelColumn < 0 || labelColumn >= columns) {
    throw new DatasetError(`${path}: labelColumn ${labelColumn} is outside the ${columns} columns (allowed 0..${columns - 1})`, { path })
  }
  const features = columns - 1
  const values = new Float32Array(kept.length * features)
  const labels = new Uint8Array(kept.length)
  for (const i of kept) {
    const fields = lines[i].split(',')
    if (fields.length !== columns) {
      throw new DatasetError(`${path}: line ${i + 1} has ${fields.length} columns, expected ${columns}${header ? ' (as the header)' : ' (as the first row)'}`, { path })
    }
    let f = rows * features
    for (let c = 0; c < columns; c++) {
      const s = fields[c].trim()
      const v = s === '' ? NaN : Number(s)
      if (c === labelColumn) {
        if (!Number.isInteger(v) || v < 0 || v >= classes) {
          throw new DatasetError(`${path}: line ${i + 1} has label ${JSON.stringify(s)} in column ${c}, expected an integer in [0, ${classes})`, { path })
        }
        labels[rows] = v
      } else {
        if (!Number.isFinite(v)) throw new DatasetError(`${path}: line ${i + 1} column ${c} is not a number (${JSON.stringify(s)})`, { path })
        values[f++] = v
      }
    }
    rows++
  }
  return { x: values, y: labels, features }
}

/** True when a CSV line looks like a header: some field is not a number. */
export function looksLikeHeader (line: string): boolean {
  return line.split(',').some(f => f.trim() === '' || !Number.isFinite(Number(f.trim())))
}
