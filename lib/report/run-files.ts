// Per run of reduce.csv: how many files the catalog has, how many events they hold, and how many of them the
// lists stage found missing on disk. reduce.csv is the largest file of the output directory (100 MB on a Run 3
// catalog) and the report needs four numbers a row, so it is scanned as bytes, decoding only what it counts by.
import { open, stat } from 'node:fs/promises'
import { parse } from 'csv-parse/sync'
import { InputError } from '../errors.js'
import { readTable } from '../files/csv.js'
import { QUERY_TABLE } from '../files/query-csv.js'
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
const [NEWLINE, COMMA, QUOTE] = [0x0a, 0x2c, 0x22]
const READ_BYTES = 256 << 10
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
 * Reads one line of reduce.csv into `row` (one object for every line: half a million rows must not make half a
 * million objects); the tag only when the run is not `knownRun` (rows come sorted by run), the path only when
 * `wantPath(run)`. Throws a message about the line.
 */
function parseLine(
  row: Row,
  b: Buffer,
  from: number,
  to: number,
  quoted: boolean,
  knownRun: number,
  wantPath: (run: number) => boolean,
): void {
  if (quoted) {
    // A path with a comma or a quote: rare, so the general parser and the contract's own checks.
    const [fields] = parse(b.toString('utf8', from, to)) as string[][]
    const parsed = QUERY_TABLE.fromFields(fields ?? [])
    Object.assign(row, {
      run: parsed.runnumber,
      tag: parsed.tag,
      segment: parsed.segment,
      events: parsed.events,
      path: parsed.full_file_path,
    })
    return
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
  if (run < 0 || segment < 0 || events < 0 || c2 === c1 + 1) {
    throw new Error('runnumber, segment and events must be whole numbers and the tag not empty')
  }
  row.run = run
  row.tag = run === knownRun ? '' : b.toString('utf8', c1 + 1, c2)
  row.segment = segment
  row.events = events
  row.path = wantPath(run) ? b.toString('utf8', c4 + 1, last) : undefined
}

/**
 * Reads reduce.csv (streamed: memory holds one chunk and one entry per run) and the missing files; either may not
 * exist yet (an empty map, no missing files). Paths are decoded only for `runsToProcess` (the only runs the lists
 * stage checks on disk). Throws InputError naming the file and line of anything malformed.
 */
export async function readRunFiles(
  reducePath: string,
  missingPath: string,
  runsToProcess: ReadonlySet<number>,
): Promise<Map<number, RunFiles>> {
  const missing = new Set((await exists(missingPath)) ? (await readTable(missingPath, MISSING_TABLE)).map((row) => row.full_file_path) : [])
  const runs = new Map<number, RunFiles>()
  if (!(await exists(reducePath))) return runs
  const wantPath = (run: number) => missing.size > 0 && runsToProcess.has(run)
  let segments = new Set<number>()
  let current: RunFiles | undefined
  let currentRun = -1
  let line = 0
  const row: Row = { run: -1, tag: '', segment: 0, events: 0, path: undefined }
  const onLine = (b: Buffer, from: number, to: number, quoted: boolean) => {
    line++
    if (line === 1) {
      const header = b.toString('utf8', from, to)
      if (header !== HEADER) throw new InputError(reducePath, 1, `header is "${header}", expected "${HEADER}"`)
      return
    }
    try {
      parseLine(row, b, from, to, quoted, currentRun, wantPath)
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
  // One buffer for the whole file, refilled in place: a stream's fresh chunk per read is garbage that raises the
  // peak by tens of MB before the collector gets to it. A line longer than the buffer grows it.
  let buffer = Buffer.allocUnsafe(READ_BYTES)
  let kept = 0
  const file = await open(reducePath, 'r').catch((err: Error) => {
    throw new InputError(reducePath, undefined, `cannot be read: ${err.message}`)
  })
  try {
    for (;;) {
      if (kept === buffer.length) buffer = Buffer.concat([buffer, Buffer.allocUnsafe(buffer.length)])
      const { bytesRead } = await file.read(buffer, kept, buffer.length - kept, null)
      if (bytesRead === 0) break
      // What was read so far, no further: bytes past it are left from an earlier read.
      const view = buffer.subarray(0, kept + bytesRead)
      let pos = 0
      // The next quote, looked for again only once passed: most of the file has none at all.
      let quote = view.indexOf(QUOTE)
      for (let nl = view.indexOf(NEWLINE); nl !== -1; nl = view.indexOf(NEWLINE, pos)) {
        if (quote !== -1 && quote < pos) quote = view.indexOf(QUOTE, pos)
        onLine(view, pos, nl, quote !== -1 && quote < nl)
        pos = nl + 1
      }
      buffer.copyWithin(0, pos, view.length)
      kept = view.length - pos
    }
  } catch (err) {
    if (err instanceof InputError) throw err
    throw new InputError(reducePath, undefined, `cannot be read: ${(err as Error).message}`)
  } finally {
    await file.close()
  }
  if (kept > 0) throw new InputError(reducePath, line + 1, 'last line is truncated (no newline at the end); re-run the reduce stage')
  return runs
}
