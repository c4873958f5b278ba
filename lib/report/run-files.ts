// Per run of reduce.csv: how many files the catalog has, how many events they hold, and how many of them the
// lists stage found missing on disk. reduce.csv is the largest file of the output directory (100 MB on a Run 3
// catalog) and the report needs four numbers a row, so it is scanned as bytes, decoding only what it counts by.
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { parse } from 'csv-parse/sync'
import { InputError } from '../errors.js'
import { readCsvRows } from '../files/csv.js'
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
const [NEWLINE, COMMA, QUOTE] = [0x0a, 0x2c, 0x22]
const HEADER = QUERY_TABLE.columns.join(',')

/** The whole number in b[from, to), or -1 when it is not one. */
function count(b: Buffer, from: number, to: number): number {
  if (to <= from || to - from > 15) return -1
  let n = 0
  for (let i = from; i < to; i++) {
    const digit = b[i]! - 48
    if (digit < 0 || digit > 9) return -1
    n = n * 10 + digit
  }
  return n
}

interface Row {
  run: number
  tag: string
  segment: number
  events: number
  path: string | undefined
}

/**
 * One line of reduce.csv; the tag only when the run is not `knownRun` (rows come sorted by run), the path only when
 * `wantPath(run)`. Throws a message about the line.
 */
function parseLine(b: Buffer, from: number, to: number, quoted: boolean, knownRun: number, wantPath: (run: number) => boolean): Row {
  if (quoted) {
    // A path with a comma or a quote: rare, so the general parser and the contract's own checks.
    const [fields] = parse(b.toString('utf8', from, to)) as string[][]
    const row = QUERY_TABLE.fromFields(fields ?? [])
    return { run: row.runnumber, tag: row.tag, segment: row.segment, events: row.events, path: row.full_file_path }
  }
  const c1 = b.indexOf(COMMA, from)
  const c2 = c1 === -1 ? -1 : b.indexOf(COMMA, c1 + 1)
  const c3 = c2 === -1 ? -1 : b.indexOf(COMMA, c2 + 1)
  const c4 = c3 === -1 ? -1 : b.indexOf(COMMA, c3 + 1)
  const last = b.lastIndexOf(COMMA, to)
  if (c4 === -1 || c4 >= to || last <= c4) throw new Error(`has fewer than ${QUERY_TABLE.columns.length} fields (${HEADER})`)
  const run = count(b, from, c1)
  const segment = count(b, c2 + 1, c3)
  const events = count(b, c3 + 1, c4)
  if (run < 0 || segment < 0 || events < 0 || c2 === c1 + 1) throw new Error('runnumber, segment and events must be whole numbers and the tag not empty')
  const tag = run === knownRun ? '' : b.toString('utf8', c1 + 1, c2)
  return { run, tag, segment, events, path: wantPath(run) ? b.toString('utf8', c4 + 1, last) : undefined }
}

/**
 * Reads reduce.csv (streamed: memory holds one chunk and one entry per run) and the missing files; either may not
 * exist yet (an empty map, no missing files). Paths are decoded only for `runsToProcess` (the only runs the lists
 * stage checks on disk). Throws InputError naming the file and line of anything malformed.
 */
export async function readRunFiles(reducePath: string, missingPath: string, runsToProcess: ReadonlySet<number>): Promise<Map<number, RunFiles>> {
  const missing = new Set((await exists(missingPath)) ? (await readCsvRows(missingPath, MISSING_TABLE)).map((row) => row.full_file_path) : [])
  const runs = new Map<number, RunFiles>()
  if (!(await exists(reducePath))) return runs
  const wantPath = (run: number) => missing.size > 0 && runsToProcess.has(run)
  let segments = new Set<number>()
  let current: RunFiles | undefined
  let currentRun = -1
  let line = 0
  let rest: Buffer | undefined
  const onLine = (b: Buffer, from: number, to: number, quoted: boolean) => {
    line++
    if (line === 1) {
      const header = b.toString('utf8', from, to)
      if (header !== HEADER) throw new InputError(reducePath, 1, `header is "${header}", expected "${HEADER}"`)
      return
    }
    let row: Row
    try {
      row = parseLine(b, from, to, quoted, currentRun, wantPath)
    } catch (err) {
      throw new InputError(reducePath, line, `${(err as Error).message}; re-run the reduce stage`)
    }
    if (row.run !== currentRun) {
      currentRun = row.run
      current = runs.get(currentRun)
      if (!current) runs.set(currentRun, (current = { tag: row.tag, files: 0, events: 0, missing: 0 }))
      segments = new Set()
    }
    current!.files++
    if (row.path !== undefined && missing.has(row.path)) current!.missing++
    if (!segments.has(row.segment)) {
      segments.add(row.segment)
      current!.events += row.events
    }
  }
  try {
    for await (const chunk of createReadStream(reducePath, { highWaterMark: 1 << 20 })) {
      const b: Buffer = rest ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer)
      let pos = 0
      // The next quote of the chunk, looked for again only once passed: most chunks have none at all.
      let quote = b.indexOf(QUOTE)
      for (let nl = b.indexOf(NEWLINE); nl !== -1; nl = b.indexOf(NEWLINE, pos)) {
        if (quote !== -1 && quote < pos) quote = b.indexOf(QUOTE, pos)
        onLine(b, pos, nl, quote !== -1 && quote < nl)
        pos = nl + 1
      }
      rest = pos < b.length ? Buffer.from(b.subarray(pos)) : undefined
    }
  } catch (err) {
    if (err instanceof InputError) throw err
    throw new InputError(reducePath, undefined, `cannot be read: ${(err as Error).message}`)
  }
  if (rest) throw new InputError(reducePath, line + 1, 'last line is truncated (no newline at the end); re-run the reduce stage')
  return runs
}
