import { field, readTable, writeCsv, type Table } from './csv.js'
import { tagProblem } from './names.js'
import { indexByRun, type RunTag } from './run-list.js'

/** Why a run needs processing: the payload types the CDB lacks for its tag, and those it holds from another tag. */
export interface Reasons {
  missing: readonly string[]
  outdated: readonly string[]
}

/** A run of `<runtype>-process.csv`: its reasons (empty when not known) and every extra column as `column=value`. */
export interface ProcessEntry extends RunTag, Reasons {
  /** e.g. `missing=CEMC_meanTime note=rerun`; empty when the file has only runnumber and tag. */
  why: string
}

const types = (text: string | undefined) => (text ? text.split(' ') : [])

/**
 * The contract of `<runtype>-process.csv`, the check stage's output: `runnumber,tag,missing,outdated` (payload types,
 * space-separated), sorted by run. A file of only `runnumber,tag` (before the reasons) reads with no reasons. A person
 * may add columns (a note): every stage accepts them, and submit passes them on, the reasons too, as `column=value`
 * words; the check stage writes the file again without them.
 */
const PROCESS_TABLE: Table<ProcessEntry> = {
  columns: ['runnumber', 'tag'],
  extraColumns: true,
  toFields: (r) => [r.runnumber, r.tag, r.missing.join(' '), r.outdated.join(' ')],
  fromFields([runnumber, tag], extra = []) {
    const problem = tagProblem(tag)
    if (problem) throw new Error(problem)
    const why = extra.filter((f) => f.value !== '').map((f) => `${f.column}=${f.value}`).join(' ')
    const column = (name: string) => types(extra.find((f) => f.column === name)?.value)
    return { runnumber: field.count(runnumber, 'runnumber'), tag, missing: column('missing'), outdated: column('outdated'), why }
  },
}

/** Reads `<runtype>-process.csv`; throws InputError naming the file and line, a run that appears twice too. */
export async function readProcessList(path: string): Promise<ProcessEntry[]> {
  const entries = await readTable(path, PROCESS_TABLE, { missingHint: 'run the check stage first' })
  indexByRun(entries, path)
  return entries
}

/** Writes `<runtype>-process.csv` if its content changes; returns whether it did. */
export async function writeProcessList(path: string, runs: readonly (RunTag & Partial<Reasons>)[]): Promise<boolean> {
  const rows = runs.map(({ runnumber, tag, missing = [], outdated = [] }) => ({ runnumber, tag, missing, outdated, why: '' }))
  return writeCsv(path, { ...PROCESS_TABLE, columns: ['runnumber', 'tag', 'missing', 'outdated'] }, rows)
}
