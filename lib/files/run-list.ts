import { InputError } from '../errors.js'
import { field, readTable, writeCsv, type Table } from './csv.js'
import { tagProblem } from './names.js'

/** A run and the production tag chosen for it: a row of `<runtype>.csv` (and of `<runtype>-process.csv`, lib/files/process-list.ts). */
export interface RunTag {
  runnumber: number
  tag: string
}

/** The contract of `<runtype>.csv`, the reduce stage's run list (filter-datasets' input, as in the seed), sorted by run. */
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

/** Reads `<runtype>.csv`; throws InputError naming the file and line, a run that appears twice too. */
export async function readRunList(path: string): Promise<RunTag[]> {
  const runs = await readTable(path, RUN_TAG_TABLE)
  indexByRun(runs, path)
  return runs
}

/** Writes `<runtype>.csv` if its content changes; returns whether it did. */
export async function writeRunList(path: string, runs: readonly RunTag[]): Promise<boolean> {
  return writeCsv(path, RUN_TAG_TABLE, runs)
}
