import { field, readTable, writeCsv, type Table } from './csv.js'
import { tagProblem } from './names.js'
import { indexByRun, type RunTag } from './run-list.js'

/** A run of `<runtype>-process.csv` and why it is there (the columns a person added, if any). */
export interface ProcessEntry extends RunTag {
  /** e.g. `reason=missing CEMC_meanTime`; empty when the file has only runnumber and tag. */
  why: string
}

/**
 * The contract of `<runtype>-process.csv`, the check stage's output: `runnumber,tag`, sorted by run. A person
 * may add columns (a note, a reason): every stage accepts them, and condor, submit and status pass them on
 * as `column=value` words; the check stage writes the file again without them.
 */
export const PROCESS_TABLE: Table<ProcessEntry> = {
  columns: ['runnumber', 'tag'],
  extraColumns: true,
  toFields: (r) => [r.runnumber, r.tag],
  fromFields([runnumber, tag], extra = []) {
    const problem = tagProblem(tag)
    if (problem) throw new Error(problem)
    const why = extra.filter((f) => f.value !== '').map((f) => `${f.column}=${f.value}`).join(' ')
    return { runnumber: field.count(runnumber, 'runnumber'), tag, why }
  },
}

/** Reads `<runtype>-process.csv`; throws InputError naming the file and line, a run that appears twice too. */
export async function readProcessList(path: string): Promise<ProcessEntry[]> {
  const entries = await readTable(path, PROCESS_TABLE, { missingHint: 'run the check stage first' })
  indexByRun(entries, path)
  return entries
}

/** Writes `<runtype>-process.csv` if its content changes; returns whether it did. */
export async function writeProcessList(path: string, runs: readonly RunTag[]): Promise<boolean> {
  return writeCsv(path, PROCESS_TABLE, runs.map(({ runnumber, tag }) => ({ runnumber, tag, why: '' })))
}
