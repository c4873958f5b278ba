// Per run of reduce.csv: how many files the catalog has, how many events they hold, and how many of them the
// lists stage found missing on disk. reduce.csv is read by the stages' own reader (lib/files/query-csv.ts), so the
// page refuses what the stages refuse (an empty file, a bad header or row), naming the file and line.
import { stat } from 'node:fs/promises'
import { readTable } from '../files/csv.js'
import { readQueryBatches } from '../files/query-csv.js'
import { MISSING_TABLE } from '../files/missing-list.js'

export interface RunFiles {
  tag: string
  /** Catalogued files (rows of reduce.csv). */
  files: number
  /** Events of the run's segments, each segment counted once, as lists counts them. */
  events: number
  /** Of `files`, those in `<runtype>-missing.csv`. */
  missing: number
}

const exists = (path: string) => stat(path).then(() => true, () => false)

/**
 * Reads reduce.csv (streamed, in batches) and the missing files; either may not exist yet (an empty map, no missing
 * files). Throws InputError naming the file and line of anything malformed.
 */
export async function readRunFiles(reducePath: string, missingPath: string): Promise<Map<number, RunFiles>> {
  const missing = new Set((await exists(missingPath)) ? (await readTable(missingPath, MISSING_TABLE)).map((row) => row.full_file_path) : [])
  const runs = new Map<number, RunFiles>()
  if (!(await exists(reducePath))) return runs
  const segments = new Map<number, Set<number>>()
  for await (const batch of readQueryBatches(reducePath)) {
    for (const row of batch) {
      let run = runs.get(row.runnumber)
      let seen = segments.get(row.runnumber)
      if (!run || !seen) {
        runs.set(row.runnumber, (run = { tag: row.tag, files: 0, events: 0, missing: 0 }))
        segments.set(row.runnumber, (seen = new Set()))
      }
      run.files++
      if (missing.has(row.full_file_path)) run.missing++
      if (!seen.has(row.segment)) {
        seen.add(row.segment)
        run.events += row.events
      }
    }
  }
  return runs
}
