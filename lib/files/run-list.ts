import { InputError } from '../errors.js'
import { field, type Table } from './csv.js'
import { tagProblem } from './names.js'

/** A run and the production tag chosen for it: a row of `<runtype>.csv` and `<runtype>-process.csv`. */
export interface RunTag {
  runnumber: number
  tag: string
}

/** The contract of `<runtype>.csv` (filter-datasets' input, as in the seed) and `<runtype>-process.csv`. */
export const RUN_TAG_TABLE: Table<RunTag> = {
  columns: ['runnumber', 'tag'],
  toFields: (r) => [r.runnumber, r.tag],
  fromFields([runnumber, tag]) {
    const problem = tagProblem(tag)
    if (problem) throw new Error(problem)
    return { runnumber: field.count(runnumber, 'runnumber'), tag }
  },
}

/** Throws InputError, naming the file and line (header is line 1), when a run appears twice: each run has exactly one tag. */
export function indexByRun<Row extends RunTag>(rows: readonly Row[], file: string): Map<number, Row> {
  const byRun = new Map<number, Row>()
  rows.forEach((row, i) => {
    if (byRun.has(row.runnumber)) {
      throw new InputError(file, i + 2, `run ${row.runnumber} appears twice; each run must have one row`)
    }
    byRun.set(row.runnumber, row)
  })
  return byRun
}
