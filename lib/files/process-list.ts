import { readFile } from 'node:fs/promises'
import { parse } from 'csv-parse/sync'
import { InputError } from '../errors.js'
import { field } from './csv.js'
import { tagProblem } from './names.js'
import { textShapeProblem } from './text-shape.js'

/** A run of `<runtype>-process.csv` and why it is there (its columns after runnumber and tag, if any). */
export interface ProcessEntry {
  runnumber: number
  tag: string
  /** e.g. `reason=missing CEMC_meanTime`; empty when the file has only runnumber and tag. */
  why: string
}

/**
 * Reads `<runtype>-process.csv` (the check stage's output) by its header: `runnumber` and `tag` are required,
 * any further columns are kept as text for the plan. Throws InputError naming the file and line.
 */
export async function readProcessList(path: string): Promise<ProcessEntry[]> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new InputError(path, undefined, 'does not exist; run the check stage first')
    throw new InputError(path, undefined, `cannot be read: ${err.message}`)
  })
  const shape = textShapeProblem(text, { header: 'runnumber,tag' })
  if (shape) throw new InputError(path, shape.line, shape.message)
  let records: string[][]
  try {
    records = parse(text, { relax_column_count: true, record_delimiter: '\n' }) as string[][]
  } catch (err) {
    throw new InputError(path, (err as { lines?: number }).lines, `is not valid CSV: ${(err as Error).message}`)
  }
  const [header, ...rows] = records
  const run = header?.indexOf('runnumber') ?? -1
  const tag = header?.indexOf('tag') ?? -1
  if (!header || run === -1 || tag === -1) {
    throw new InputError(path, 1, `header is "${header?.join(',') ?? ''}", expected at least the columns runnumber,tag`)
  }
  const seen = new Set<number>()
  return rows.map((row, i) => {
    const line = i + 2
    if (row.length !== header.length) throw new InputError(path, line, `has ${row.length} fields, expected ${header.length}`)
    let runnumber: number
    try {
      runnumber = field.count(row[run], 'runnumber')
    } catch (err) {
      throw new InputError(path, line, (err as Error).message)
    }
    const problem = tagProblem(row[tag])
    if (problem) throw new InputError(path, line, problem)
    if (seen.has(runnumber)) throw new InputError(path, line, `run ${runnumber} appears twice; each run must have one row`)
    seen.add(runnumber)
    const why = header.map((name, k) => (k === run || k === tag || row[k] === '' ? '' : `${name}=${row[k]}`)).filter(Boolean).join(' ')
    return { runnumber, tag: row[tag], why }
  })
}
