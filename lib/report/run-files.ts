// Per run of reduce.csv: how many files the catalog has, how many events they hold, and how many of them the
// lists stage found missing on disk. reduce.csv is read through the stages' own reader of query.csv and reduce.csv
// (lib/files/query-csv.ts), batch by batch, so the page refuses what the stages refuse, naming the file and line.
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
 * Reads reduce.csv (streamed: memory holds one batch and one entry per run) and the missing files; either may not
 * exist yet (an empty map, no missing files). Only the files of `runsToProcess` are looked up among the missing
 * (the only runs the lists stage checks on disk). Throws InputError naming the file and line of anything malformed.
 */
export async function readRunFiles(
  reducePath: string,
  missingPath: string,
  runsToProcess: ReadonlySet<number>,
): Promise<Map<number, RunFiles>> {
  const missing = new Set((await exists(missingPath)) ? (await readTable(missingPath, MISSING_TABLE)).map((row) => row.full_file_path) : [])
  const runs = new Map<number, RunFiles>()
  if (!(await exists(reducePath))) return runs
  // The segments of the run being read: reduce.csv is sorted by run.
  let seen = new Set<number>()
  let seenRun = -1
  for await (const batch of readQueryBatches(reducePath)) {
    for (const row of batch) {
      let run = runs.get(row.runnumber)
      if (!run) runs.set(row.runnumber, (run = { tag: row.tag, files: 0, events: 0, missing: 0 }))
      if (row.runnumber !== seenRun) [seen, seenRun] = [new Set(), row.runnumber]
      run.files++
      if (runsToProcess.has(row.runnumber) && missing.has(row.full_file_path)) run.missing++
      if (!seen.has(row.segment)) {
        seen.add(row.segment)
        run.events += row.events
      }
    }
  }
  return runs
}
