import { readFile, stat } from 'node:fs/promises'
import { SEVEN_PAYLOAD_TYPES } from '../rules/calibrations.js'
import { field, readTable, writeCsv, type Table } from './csv.js'
import { tagProblem } from './names.js'
import { indexByRun } from './run-list.js'
import { CLOCK_SKEW_MS } from '../clock-skew.js'

/**
 * A run whose payloads of `payload_types` were all current for `tag` when the CDB was last asked, at `checked_at`:
 * a row of the check stage's cache `<runtype>-settled.csv`. The cache is state, not a result, so it holds a time.
 */
export interface SettledRow {
  runnumber: number
  tag: string
  /** ISO 8601 UTC, e.g. `2025-11-29T03:00:00.000Z`. */
  checked_at: string
  /** The payload types found current, space-separated: one settled under seven is asked again under rules of ten. */
  payload_types: string
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/

function settledRow([runnumber, tag, checkedAt]: readonly string[], payloadTypes: string): SettledRow {
  const problem = tagProblem(tag)
  if (problem) throw new Error(problem)
  if (!ISO_UTC.test(checkedAt) || Number.isNaN(Date.parse(checkedAt))) {
    throw new Error(`checked_at "${checkedAt}" is not a UTC time like 2025-11-29T03:00:00.000Z`)
  }
  if (!/^\w+( \w+)*$/.test(payloadTypes)) throw new Error(`payload_types "${payloadTypes}" is not a space-separated list of payload types`)
  return { runnumber: field.count(runnumber, 'runnumber'), tag, checked_at: checkedAt, payload_types: payloadTypes }
}

/** The contract of `<runtype>-settled.csv`, sorted by run. */
export const SETTLED_TABLE: Table<SettledRow> = {
  columns: ['runnumber', 'tag', 'checked_at', 'payload_types'],
  toFields: (r) => [r.runnumber, r.tag, r.checked_at, r.payload_types],
  fromFields: (fields) => settledRow(fields, fields[3]),
}

/** The cache as caloprod wrote it before rule sets: every run in it was settled for the seven payloads. */
const LEGACY_SETTLED_TABLE: Table<SettledRow> = {
  columns: ['runnumber', 'tag', 'checked_at'],
  toFields: (r) => [r.runnumber, r.tag, r.checked_at],
  fromFields: (fields) => settledRow(fields, SEVEN_PAYLOAD_TYPES.join(' ')),
}

/** `payload_types` of a row settled for `types`. */
export function payloadTypesField(types: readonly string[]): string {
  return types.join(' ')
}

/** Whether an entry was settled for every one of `types`. */
export function coversPayloads(entry: SettledRow, types: readonly string[]): boolean {
  const settled = new Set(entry.payload_types.split(' '))
  return types.every((type) => settled.has(type))
}

/**
 * Whether an entry was stamped later than `now` allows: another submit node's clock may be a little ahead
 * (CLOCK_SKEW_MS), but one later than that was stamped by a clock that was wrong (a host booted with a bad clock,
 * stepped back by NTP since), and would be trusted until that time came: its time says nothing, ask again.
 */
export function checkedAhead(entry: SettledRow, now: Date): boolean {
  return Date.parse(entry.checked_at) - now.getTime() > CLOCK_SKEW_MS
}

/**
 * Whether a cached entry still answers for (run, tag) at `now` without asking the CDB: same tag, settled for every
 * payload type the rule set needs, and seen at most `recheckAfter` seconds ago (a payload can be replaced by hand,
 * so even settled runs are asked now and then), and not later than now (checkedAhead).
 */
export function stillSettled(
  entry: SettledRow | undefined, tag: string, now: Date, recheckAfter: number, types: readonly string[],
): boolean {
  if (!entry || entry.tag !== tag || !coversPayloads(entry, types) || checkedAhead(entry, now)) return false
  return now.getTime() - Date.parse(entry.checked_at) <= recheckAfter * 1000
}

/** Reads the cache; none yet is an empty one. A damaged cache names its line: fix it or delete it. */
export async function readSettled(path: string): Promise<SettledRow[]> {
  if (!(await stat(path).catch(() => undefined))) return []
  const legacy = (await readFile(path, 'utf8').catch(() => '')).startsWith(`${LEGACY_SETTLED_TABLE.columns.join(',')}\n`)
  const rows = await readTable(path, legacy ? LEGACY_SETTLED_TABLE : SETTLED_TABLE)
  indexByRun(rows, path)
  return rows
}

/** Writes the cache if its content changes; returns whether it did. */
export async function writeSettled(path: string, rows: Iterable<SettledRow>): Promise<boolean> {
  return writeCsv(path, SETTLED_TABLE, rows)
}
