// Per run of reduce.csv: how many files the catalog has, how many events they hold, and how many of them the
// lists stage found missing on disk.
import { stat } from 'node:fs/promises'
import { readCsvRows, scanCsv } from '../files/csv.js'
import { QUERY_TABLE } from '../files/query-rows.js'
import { MISSING_TABLE } from '../lists.js'

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
 * Reads reduce.csv (streamed: memory holds one chunk and one entry per run) and the missing files; either may not
 * exist yet (an empty map, no missing files). Throws InputError naming the file and line of anything malformed.
 */
export async function readRunFiles(reducePath: string, missingPath: string): Promise<Map<number, RunFiles>> {
  const missing = new Set((await exists(missingPath)) ? (await readCsvRows(missingPath, MISSING_TABLE)).map((row) => row.full_file_path) : [])
  const runs = new Map<number, RunFiles>()
  if (!(await exists(reducePath))) return runs
  let segments = new Set<number>()
  let current: RunFiles | undefined
  let currentRun = -1
  await scanCsv(reducePath, QUERY_TABLE, (rows) => {
    for (const row of rows) {
      if (row.runnumber !== currentRun) {
        currentRun = row.runnumber
        current = runs.get(currentRun)
        if (!current) runs.set(currentRun, (current = { tag: row.tag, files: 0, events: 0, missing: 0 }))
        segments = new Set()
      }
      current!.files++
      if (missing.has(row.full_file_path)) current!.missing++
      if (!segments.has(row.segment)) {
        segments.add(row.segment)
        current!.events += row.events
      }
    }
  })
  return runs
}
