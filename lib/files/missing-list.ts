import { stat } from 'node:fs/promises'
import { field, readTable, writeCsv, type Table } from './csv.js'

/** A row of `<runtype>-missing.csv`: a catalogued file of a run to process that is not usable on disk. */
interface MissingRow {
  full_file_path: string
}

/** The contract of `<runtype>-missing.csv`, the lists stage's report, sorted by path. */
export const MISSING_TABLE: Table<MissingRow> = {
  columns: ['full_file_path'],
  toFields: (r) => [r.full_file_path],
  fromFields: ([path]) => ({ full_file_path: field.text(path, 'full_file_path') }),
}

/** Writes `<runtype>-missing.csv` if its content changes; returns whether it did. */
export async function writeMissingList(path: string, paths: readonly string[]): Promise<boolean> {
  return writeCsv(path, MISSING_TABLE, paths.map((p) => ({ full_file_path: p })))
}

/** The paths `<runtype>-missing.csv` names, empty when it is not written yet. */
export async function readMissingPaths(path: string): Promise<Set<string>> {
  if (!(await stat(path).then(() => true, () => false))) return new Set()
  return new Set((await readTable(path, MISSING_TABLE)).map((row) => row.full_file_path))
}
