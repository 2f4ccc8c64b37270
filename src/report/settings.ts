/**
 * The settings table of a report: how the run was started (peers, transport, flags) and every field of
 * its task, flattened to dotted paths (`training.learningRate`).
 */
import type { ReportInput } from './types.ts'

export interface SettingRow {
  name: string
  value: string
}

/** The run: peers, transport, backend, dropout, evaluation, time, and the command-line flags. */
export function runSettings (report: ReportInput): SettingRow[] {
  const rows: SettingRow[] = [
    { name: 'task id', value: report.taskId },
    { name: 'peers', value: String(report.peers) },
    { name: 'transport', value: report.processes > 0 ? `${report.transport} over ${report.processes} processes` : report.transport },
    { name: 'backend', value: report.backend },
    { name: 'dropout', value: String(report.dropout ?? 0) },
    { name: 'evaluation', value: report.evalLimit != null ? `${report.evalLimit} test examples` : 'whole test set' },
    { name: 'started', value: report.startedAt },
    { name: 'duration', value: `${report.seconds.toFixed(1)} s` }
  ]
  if (report.stopped != null) rows.push({ name: 'stopped', value: report.stopped })
  const flags = Object.entries(report.flags ?? {})
  if (flags.length > 0) {
    rows.push({ name: 'flags', value: flags.map(([k, v]) => v === true ? flagName(k) : `${flagName(k)} ${String(v)}`).join(' ') })
  }
  return rows
}

/** Every leaf of the task, in order, with dotted paths; arrays are shown joined by commas. */
export function taskSettings (task: unknown, prefix = ''): SettingRow[] {
  if (task == null || typeof task !== 'object' || Array.isArray(task)) return prefix === '' ? [] : [{ name: prefix, value: formatValue(task) }]
  const rows: SettingRow[] = []
  for (const [k, v] of Object.entries(task as Record<string, unknown>)) {
    const name = prefix === '' ? k : `${prefix}.${k}`
    if (v != null && typeof v === 'object' && !Array.isArray(v)) rows.push(...taskSettings(v, name))
    else rows.push({ name, value: formatValue(v) })
  }
  return rows
}

/** `evalLimit` → `--eval-limit`. */
export function flagName (option: string): string {
  return `--${option.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)}`
}

function formatValue (v: unknown): string {
  if (Array.isArray(v)) return v.map(formatValue).join(', ')
  if (v === null || v === undefined) return '–'
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}
