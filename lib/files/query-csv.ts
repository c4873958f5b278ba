// The contract of query.csv and reduce.csv, and their reader: the one fast path (lib/files/csv-lines.ts), as
// these files hold a row per file of the run type, a million for Run 3; reduce copies kept lines unparsed.
import { createReadStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { InputError } from '../errors.js'
import { CsvLines, type CsvWriter, type LineHandler } from './csv-lines.js'
import { field, type Table } from './csv.js'
import { pathProblem, tagProblem } from './names.js'

/** One HIST_CALOQA file of a qualifying (run, tag): a row of `query.csv` and of `reduce.csv`. */
export interface QueryRow {
  runnumber: number
  tag: string
  segment: number
  /** Events of the segment's DST_CALOFITTING twin; 0 when the segment has none. */
  events: number
  full_file_path: string
  /** files.time exactly as the catalog holds it, e.g. `2025-07-01 12:34:56.789`. */
  time: string
}

const TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:\d{2})?)?$/

/** The contract of `query.csv` and `reduce.csv`. */
export const QUERY_TABLE: Table<QueryRow> = {
  columns: ['runnumber', 'tag', 'segment', 'events', 'full_file_path', 'time'],
  toFields: (r) => [r.runnumber, r.tag, r.segment, r.events, r.full_file_path, r.time],
  fromFields([runnumber, tag, segment, events, path, time]) {
    const problem = tagProblem(tag) ?? pathProblem(path)
    if (problem) throw new Error(problem)
    if (!TIME.test(time)) throw new Error(`time "${time}" is not a timestamp like 2025-07-01 12:34:56`)
    return {
      runnumber: field.count(runnumber, 'runnumber'),
      tag,
      segment: field.count(segment, 'segment'),
      events: field.count(events, 'events'),
      full_file_path: path,
      time,
    }
  },
}


/** Bytes read at a time: the rows of one chunk are alive together, so it stays small. */
const READ_BYTES = 256 << 10

const NEWLINE = 0x0a
const COMMA = 0x2c
const CARRIAGE_RETURN = 0x0d
const CANONICAL_COUNT = /^(?:0|[1-9][0-9]*)$/

/** Checks what a person's editor may have done to the file, from its first and last bytes, before streaming it. */
async function checkShape(path: string): Promise<void> {
  const size = await stat(path).then((s) => s.size, (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new InputError(path, undefined, 'does not exist; run the stage that writes it first')
    throw new InputError(path, undefined, `cannot be read: ${err.message}`)
  })
  if (size === 0) throw new InputError(path, 1, `is empty; expected at least the header "${QUERY_TABLE.columns.join(',')}"`)
  const handle = await open(path, 'r')
  try {
    const head = Buffer.alloc(Math.min(3, size))
    await handle.read(head, 0, head.length, 0)
    if (head.length === 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) {
      throw new InputError(path, 1, 'starts with a byte-order mark; save it as UTF-8 without BOM')
    }
    const tail = Buffer.alloc(1)
    await handle.read(tail, 0, 1, size - 1)
    if (tail[0] !== NEWLINE) {
      throw new InputError(
        path,
        undefined,
        'last line is truncated (no newline at the end); restore the file or re-run the stage that writes it',
      )
    }
  } finally {
    await handle.close()
  }
}

/** Whether a value read from `text` is written back as `text`; a count's test skips printing the number. */
function printsAs(value: string | number, text: string): boolean {
  if (typeof value === 'string') return value === text
  if (Number.isSafeInteger(value) && value >= 0) return CANONICAL_COUNT.test(text) && text.length <= 16 && Number(text) === value
  return String(value) === text
}

/** What a full pass over a query.csv learned, so a second pass can copy its lines instead of parsing them. */
interface CsvScan {
  path: string
  size: number
  mtimeMs: number
  /** Rows after the header. */
  rows: number
  /**
   * Every row is one line without quotes and exactly what formatCsvRecord writes for it, so a line copied
   * as it is gives the same bytes as the row parsed and written again.
   */
  verbatim: boolean
}

/** The batches of valid rows of a query.csv, noting in `scan` what a second pass may rely on. */
async function* batches(path: string, scan: CsvScan): AsyncGenerator<QueryRow[]> {
  await checkShape(path)
  const header = QUERY_TABLE.columns.join(',')
  const width = QUERY_TABLE.columns.length
  const stream = createReadStream(path, { highWaterMark: READ_BYTES })
  const lines = new CsvLines((line, message) => {
    throw new InputError(path, line, message)
  })
  let first = true
  let rows: QueryRow[] = []
  // Most chunks hold no carriage return at all; only those that do are checked field by field.
  let carriageReturns = true
  const onRecord = (record: string[], line: number, quoted: boolean) => {
    if (carriageReturns) {
      for (const field of record) {
        if (field.includes('\r')) throw new InputError(path, line, 'has Windows (CRLF) line ends; convert it with dos2unix')
      }
    }
    if (first) {
      first = false
      if (record.join(',') !== header) throw new InputError(path, line, `header is "${record.join(',')}", expected "${header}"`)
      scan.verbatim &&= !quoted
      return
    }
    if (record.length === 1 && record[0] === '') throw new InputError(path, line, 'is an empty line')
    if (record.length !== width) throw new InputError(path, line, `has ${record.length} fields, expected ${width} (${header})`)
    let row: QueryRow
    try {
      row = QUERY_TABLE.fromFields(record, [])
    } catch (err) {
      throw new InputError(path, line, (err as Error).message)
    }
    rows.push(row)
    scan.rows++
    // Unquoted fields hold no comma, quote or line break, so the line is what we would write iff every
    // value prints back as it was read (no "0066500").
    if (scan.verbatim) {
      if (quoted) scan.verbatim = false
      else {
        const fields = QUERY_TABLE.toFields(row)
        for (let i = 0; i < width; i++) if (!printsAs(fields[i], record[i])) scan.verbatim = false
      }
    }
  }
  const handler: LineHandler = {
    // Each line is decoded on its own, so a field a caller keeps holds on to its line, not to a whole chunk.
    line: (b, start, end, line) => onRecord(b.toString('utf8', start, end).split(','), line, false),
    quoted: (fields, _b, _start, _end, line) => onRecord(fields, line, true),
  }
  try {
    const info = await stat(path)
    scan.size = info.size
    scan.mtimeMs = info.mtimeMs
    for await (const chunk of stream) {
      carriageReturns = lines.pendingCarriageReturn || (chunk as Buffer).includes(CARRIAGE_RETURN)
      lines.push(chunk as Buffer, handler)
      if (rows.length > 0) {
        yield rows
        rows = []
      }
    }
    lines.end()
    if (rows.length > 0) yield rows
  } catch (err) {
    if (!(err instanceof InputError) && typeof (err as NodeJS.ErrnoException).code === 'string') {
      throw new InputError(path, undefined, `cannot be read: ${(err as Error).message}`)
    }
    throw err
  } finally {
    stream.destroy()
  }
}

/**
 * Reads a query.csv (or reduce.csv) in batches of rows, validating the header and every row.
 * Throws InputError naming the file and line for anything malformed. Memory holds one chunk of the file.
 */
export function readQueryBatches(path: string): AsyncGenerator<QueryRow[]> {
  return batches(path, { path, size: 0, mtimeMs: 0, rows: 0, verbatim: true })
}

/** Reads a query.csv row by row (see readQueryBatches). */
export async function* readQueryRows(path: string): AsyncGenerator<QueryRow> {
  for await (const rows of readQueryBatches(path)) yield* rows
}

/** Reads a whole query.csv into memory (a script's or a test's; the stages stream it). */
export async function readQueryCsv(path: string): Promise<QueryRow[]> {
  const rows: QueryRow[] = []
  for await (const batch of readQueryBatches(path)) rows.push(...batch)
  return rows
}

/**
 * Reads a whole query.csv, validating it as readQueryBatches does and handing its rows to `onBatch` batch by
 * batch; returns what a second pass needs to copy lines instead of parsing them (copyQueryLines).
 */
export async function scanQueryCsv(path: string, onBatch: (rows: QueryRow[]) => void): Promise<CsvScan> {
  const scan: CsvScan = { path, size: 0, mtimeMs: 0, rows: 0, verbatim: true }
  for await (const rows of batches(path, scan)) onBatch(rows)
  return scan
}

/**
 * The second pass over a file that scanQueryCsv read and found verbatim: copies to `writer`, unchanged, every
 * row whose first `keyFields` fields `keep` accepts, and returns how many. Consecutive rows with the same
 * key bytes share one decision, so a sorted file costs little more than its reading. Throws when the file
 * changed since the scan.
 */
export async function copyQueryLines(
  scan: CsvScan,
  keyFields: number,
  keep: (key: string[]) => boolean,
  writer: CsvWriter<unknown>,
): Promise<number> {
  if (!scan.verbatim) throw new Error(`copyQueryLines: ${scan.path} has rows that must be parsed and written again`)
  const changed = () => new InputError(scan.path, undefined, 'changed while it was being read; run the stage again')
  const info = await stat(scan.path)
  if (info.size !== scan.size || info.mtimeMs !== scan.mtimeMs) throw changed()
  const stream = createReadStream(scan.path, { highWaterMark: READ_BYTES })
  let rest: Buffer | undefined
  let header = true
  let rows = 0
  let copied = 0
  let lastKey: Buffer | undefined
  let lastDecision = false
  try {
    for await (const chunk of stream) {
      const b: Buffer = rest ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer)
      const out: Buffer[] = []
      let pos = 0
      let keepFrom = -1
      for (;;) {
        const nl = b.indexOf(NEWLINE, pos)
        if (nl === -1) break
        if (header) {
          header = false
          pos = nl + 1
          continue
        }
        rows++
        let keyEnd = pos - 1
        for (let k = 0; k < keyFields; k++) {
          keyEnd = b.indexOf(COMMA, keyEnd + 1)
          if (keyEnd === -1 || keyEnd > nl) throw changed()
        }
        let decision = lastDecision
        if (!lastKey || lastKey.length !== keyEnd - pos || b.compare(lastKey, 0, lastKey.length, pos, keyEnd) !== 0) {
          lastKey = Buffer.from(b.subarray(pos, keyEnd))
          lastDecision = keep(lastKey.toString('utf8').split(','))
          decision = lastDecision
        }
        if (decision) {
          if (keepFrom === -1) keepFrom = pos
          copied++
        } else if (keepFrom !== -1) {
          out.push(b.subarray(keepFrom, pos))
          keepFrom = -1
        }
        pos = nl + 1
      }
      if (keepFrom !== -1) out.push(b.subarray(keepFrom, pos))
      rest = pos < b.length ? Buffer.from(b.subarray(pos)) : undefined
      if (out.length > 0) await writer.writeFormatted(out)
    }
  } finally {
    stream.destroy()
  }
  if (rest || rows !== scan.rows) throw changed()
  return copied
}
