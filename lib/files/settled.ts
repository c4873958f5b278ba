import { stat } from 'node:fs/promises'
import { field, readTable, writeCsv, type Table } from './csv.js'
import { tagProblem } from './names.js'
import { indexByRun } from './run-list.js'

/**
 * A run whose seven payloads were all current for `tag` when the CDB was last asked, at `checked_at`:
 * a row of the check stage's cache `<runtype>-settled.csv`. The cache is state, not a result, so it holds a time.
 */
export interface SettledRow {
  runnumber: number
  tag: string
  /** ISO 8601 UTC, e.g. `2025-11-29T03:00:00.000Z`. */
  checked_at: string
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/

/** The contract of `<runtype>-settled.csv`, sorted by run. */
export const SETTLED_TABLE: Table<SettledRow> = {
  columns: ['runnumber', 'tag', 'checked_at'],
  toFields: (r) => [r.runnumber, r.tag, r.checked_at],
  fromFields([runnumber, tag, checkedAt]) {
    const problem = tagProblem(tag)
    if (problem) throw new Error(problem)
    if (!ISO_UTC.test(checkedAt) || Number.isNaN(Date.parse(checkedAt))) {
      throw new Error(`checked_at "${checkedAt}" is not a UTC time like 2025-11-29T03:00:00.000Z`)
    }
    return { runnumber: field.count(runnumber, 'runnumber'), tag, checked_at: checkedAt }
  },
}

/**
 * Whether a cached entry still answers for (run, tag) at `now` without asking the CDB: same tag, and seen at most
 * `recheckAfter` seconds ago (a payload can be replaced by hand, so even settled runs are asked now and then).
 */
export function stillSettled(entry: SettledRow | undefined, tag: string, now: Date, recheckAfter: number): boolean {
  if (!entry || entry.tag !== tag) return false
  return now.getTime() - Date.parse(entry.checked_at) <= recheckAfter * 1000
}

/** Reads the cache; none yet is an empty one. A damaged cache names its line: fix it or delete it. */
export async function readSettled(path: string): Promise<SettledRow[]> {
  if (!(await stat(path).catch(() => undefined))) return []
  const rows = await readTable(path, SETTLED_TABLE)
  indexByRun(rows, path)
  return rows
}

/** Writes the cache if its content changes; returns whether it did. */
export async function writeSettled(path: string, rows: Iterable<SettledRow>): Promise<boolean> {
  return writeCsv(path, SETTLED_TABLE, rows)
}
