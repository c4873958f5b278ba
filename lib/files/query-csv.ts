// The contract of query.csv and reduce.csv, and the one fast path of caloprod's CSV: these files hold a row per file
// of the run type, a million for Run 3, which csv-parse's stream reads at 21 MB/s and this path at 97 MB/s
// (bench/csv-parsers.ts). Lines without a quote, nearly all of them, are split as bytes, never decoded as a whole; a
// record with quotes goes to csv-parse (lib/files/csv.ts). Bytes `\n`, `"` and `,` never occur inside a multi-byte
// UTF-8 character. Reduce's second pass copies the kept lines without parsing them.
import type { Stats } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { InputError } from '../errors.js'
import { field, parseRecords, rowReader, SHAPE, type Table } from './csv.js'
import { pathProblem, tagProblem } from './names.js'
import { recordChunks } from './record-chunks.js'

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

/** Bytes read at a time by a pass that only copies lines. */
const READ_BYTES = 256 << 10
/**
 * Bytes read at a time by a pass that makes rows: a read's rows are alive together, and V8 grows its heap to hold
 * them (reduce on the bench catalog: 150 MB resident with 256 KB reads, 102 MB with 32 KB; `npm run bench`).
 */
const ROW_READ_BYTES = 32 << 10
/**
 * Carried bytes past which a record is refused: a quote that never closes must fail fast, not swallow the file. The
 * check runs after a read, so a record is refused once it spans more than this and a read: up to about twice it.
 */
const MAX_RECORD = 16 << 20
const NEWLINE = 0x0a
const COMMA = 0x2c
const BYTE_ORDER_MARK = Buffer.from([0xef, 0xbb, 0xbf])

/**
 * Streams a CSV file's records to `handler` (recordChunks): a line without quotes as bytes `start` to `end`, a
 * record with quotes parsed. Refuses carriage returns, the first record holding one at its line (a quoted record
 * once parsed), in the order records are read. After each read, yields the buffer the records were in and where the
 * last complete one ends; the buffer is read into again once the caller asks for more.
 */
async function* splitRecords(
  path: string,
  handler: { line(b: Buffer, start: number, end: number, line: number): void; quoted(fields: string[], line: number): void },
  readBytes = READ_BYTES,
): AsyncGenerator<{ buffer: Buffer; end: number }> {
  // A record that does not end: the most precise problem is csv-parse's (a stray quote), else a quote left open.
  const unclosed = (b: Buffer, line: number): never => {
    parseRecords(b.toString('utf8'), path, line)
    throw new InputError(path, line, 'is not valid CSV: a quoted field that starts here does not close')
  }
  const chunks = recordChunks(path, {
    line: handler.line,
    quoted(b, start, end, line) {
      const text = b.toString('utf8', start, end + 1)
      // Before parsing: a closing quote followed by CRLF's carriage return is the line ends, not a stray character.
      if (text.includes('\r')) throw new InputError(path, line, SHAPE.crlf)
      const records = parseRecords(text, path, line)
      if (records.length !== 1) throw new InputError(path, line, 'is not valid CSV: a quoted field that starts here does not close')
      handler.quoted(records[0].fields, line)
    },
    rest: unclosed,
  }, { readBytes })
  for await (const { buffer, end, line } of chunks) {
    if (buffer.length - end > MAX_RECORD) unclosed(buffer.subarray(end), line)
    yield { buffer, end }
  }
}

/** Checks what a person's editor may have done to the file, from its first and last bytes, before streaming it. */
async function checkShape(path: string): Promise<Stats> {
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new InputError(path, undefined, 'does not exist; run the stage that writes it first')
    throw new InputError(path, undefined, `cannot be read: ${err.message}`)
  })
  if (info.size === 0) throw new InputError(path, 1, SHAPE.empty(QUERY_TABLE.columns.join(',')))
  const [head, tail] = [Buffer.alloc(3), Buffer.alloc(1)]
  const handle = await open(path, 'r')
  try {
    await handle.read(head, 0, 3, 0)
    await handle.read(tail, 0, 1, info.size - 1)
  } finally {
    await handle.close()
  }
  if (head.equals(BYTE_ORDER_MARK)) throw new InputError(path, 1, SHAPE.bom)
  if (tail[0] !== NEWLINE) throw new InputError(path, undefined, SHAPE.truncated)
  return info
}

/** What a full pass over a query.csv learned, so a second pass can copy its lines instead of parsing them. */
interface CsvScan {
  path: string
  size: number
  mtimeMs: number
  /** Rows after the header. */
  rows: number
  /**
   * Every row is one line without quotes and exactly what csv-stringify writes for it, so a line copied as it is
   * gives the same bytes as the row parsed and written again.
   */
  verbatim: boolean
}

/** A count written back differs from the text it was read from only by a leading zero (field.count takes digits). */
const leadingZero = (text: string) => text.length > 1 && text.charCodeAt(0) === 0x30

/** The run number a line starts with, read from its bytes; NaN when it does not start with digits and a comma. */
function leadingRun(b: Buffer, start: number, end: number): number {
  let run = 0
  for (let i = start; i < end; i++) {
    const byte = b[i]!
    if (byte === COMMA) return i > start ? run : NaN
    if (byte < 0x30 || byte > 0x39) return NaN
    run = run * 10 + byte - 0x30
  }
  return NaN
}

/**
 * Reads a query.csv (or reduce.csv) in batches of rows, validating the header and every row, noting in `scan` what
 * a second pass may rely on. Memory holds one chunk of the file. `only`: the rows of these runs alone; a line of
 * another run is passed over by its leading bytes, neither decoded nor checked (an unquoted line; a quoted record
 * is parsed first).
 */
export async function* readQueryBatches(
  path: string,
  scan: CsvScan = { path, size: 0, mtimeMs: 0, rows: 0, verbatim: true },
  only?: ReadonlySet<number>,
): AsyncGenerator<QueryRow[]> {
  const { size, mtimeMs } = await checkShape(path)
  Object.assign(scan, { size, mtimeMs })
  let read: ((fields: string[], line: number) => QueryRow) | undefined
  let rows: QueryRow[] = []
  const onRecord = (record: string[], line: number, quoted: boolean) => {
    if (!read) {
      read = rowReader(path, QUERY_TABLE, record)
      scan.verbatim &&= !quoted
      return
    }
    rows.push(read(record, line))
    scan.rows++
    // Unquoted fields hold no comma, quote or line break, and a tag, path or time is written as it was read.
    scan.verbatim &&= !quoted && !leadingZero(record[0]) && !leadingZero(record[2]) && !leadingZero(record[3])
  }
  const records = splitRecords(path, {
    // Each line is decoded on its own, so a field a caller keeps holds on to its line, not to a whole chunk.
    line: (b, start, end, line) => {
      if (only && read && !only.has(leadingRun(b, start, end))) return
      onRecord(b.toString('utf8', start, end).split(','), line, false)
    },
    quoted: (fields, line) => {
      if (only && read && !only.has(Number(fields[0]))) return
      onRecord(fields, line, true)
    },
  }, ROW_READ_BYTES)
  for await (const _ of records) {
    if (rows.length > 0) yield rows
    rows = []
  }
}

/** Reads a query.csv row by row (see readQueryBatches); `only`: the rows of these runs alone. */
export async function* readQueryRows(path: string, only?: ReadonlySet<number>): AsyncGenerator<QueryRow> {
  for await (const rows of readQueryBatches(path, undefined, only)) yield* rows
}

/** Reads a whole query.csv into memory (a script's or a test's; the stages stream it). */
export async function readQueryCsv(path: string): Promise<QueryRow[]> {
  const rows: QueryRow[] = []
  for await (const batch of readQueryBatches(path)) rows.push(...batch)
  return rows
}

/** readQueryBatches, handing each batch to `onBatch`; returns what copyQueryLines needs. */
export async function scanQueryCsv(path: string, onBatch: (rows: QueryRow[]) => void): Promise<CsvScan> {
  const scan: CsvScan = { path, size: 0, mtimeMs: 0, rows: 0, verbatim: true }
  for await (const rows of readQueryBatches(path, scan)) onBatch(rows)
  return scan
}

/**
 * The second pass over a file that scanQueryCsv found verbatim: copies to `writer`, unchanged, every row whose first
 * `keyFields` fields `keep` accepts, and returns how many. Consecutive rows with the same key share one decision.
 * Throws when the file changed since the scan.
 */
export async function copyQueryLines(
  scan: CsvScan, keyFields: number, keep: (key: string[]) => boolean,
  writer: { writeFormatted(csv: readonly Buffer[]): Promise<void> },
): Promise<number> {
  if (!scan.verbatim) throw new Error(`copyQueryLines: ${scan.path} has rows that must be parsed and written again`)
  const changed = () => new InputError(scan.path, undefined, 'changed while it was being read; run the stage again')
  const info = await stat(scan.path)
  if (info.size !== scan.size || info.mtimeMs !== scan.mtimeMs) throw changed()
  let rows = -1 // The header is not a row.
  let copied = 0
  let lastKey: Buffer | undefined
  let decision = false
  // The kept lines of the chunk being read: whole runs of them, from `keepFrom`.
  let out: Buffer[] = []
  let keepFrom = -1
  const lines = splitRecords(scan.path, {
    line(b, start, end) {
      if (rows++ < 0) return
      let keyEnd = start - 1
      for (let k = 0; k < keyFields; k++) {
        keyEnd = b.indexOf(COMMA, keyEnd + 1)
        if (keyEnd === -1 || keyEnd > end) throw changed()
      }
      if (!lastKey || b.compare(lastKey, 0, lastKey.length, start, keyEnd) !== 0) {
        lastKey = Buffer.from(b.subarray(start, keyEnd))
        decision = keep(lastKey.toString('utf8').split(','))
      }
      if (decision) {
        if (keepFrom === -1) keepFrom = start
        copied++
      } else if (keepFrom !== -1) {
        out.push(b.subarray(keepFrom, start))
        keepFrom = -1
      }
    },
    quoted: () => {
      throw changed()
    },
  })
  for await (const { buffer, end } of lines) {
    if (keepFrom !== -1) out.push(buffer.subarray(keepFrom, end))
    keepFrom = -1
    if (out.length > 0) await writer.writeFormatted(out)
    out = []
  }
  if (rows !== scan.rows) throw changed()
  return copied
}
