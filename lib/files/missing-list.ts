import { field, writeCsv, type Table } from './csv.js'

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
