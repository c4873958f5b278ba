// caloprod's one CSV layer, on csv-parse and csv-stringify. The files a person may edit (run list, process list,
// settled cache, missing list) are read whole; the append-only ledgers a chunk at a time, record by record
// (lib/files/append-only.ts); query.csv and reduce.csv, a million rows, are streamed by the fast path
// (lib/files/query-csv.ts), both through one chunked reader (lib/files/record-chunks.ts). Both parse their quoted
// records and check their rows with the functions below.
import { readFile } from 'node:fs/promises'
import { parse } from 'csv-parse/sync'
import { stringify } from 'csv-stringify/sync'
import { InputError } from '../errors.js'
import { openAtomicWriter, writeFileIfChanged } from './atomic.js'

/**
 * A CSV file's contract: its columns (the header, in order) and how a row maps to fields and back; `fromFields`
 * throws a plain Error, readers add file and line. With `extraColumns`, a header may hold more columns (a person's
 * notes), handed to `fromFields` by name.
 */
export interface Table<Row> {
  columns: readonly string[]
  toFields(row: Row): readonly (string | number)[]
  fromFields(fields: readonly string[], extra?: readonly { column: string; value: string }[]): Row
  extraColumns?: boolean
}

/** CSV text of records as every CSV caloprod writes: `\n` after each record, quoting only where needed. */
export function formatRecords(records: readonly (readonly (string | number)[])[]): string {
  return stringify(records as (string | number)[][], { record_delimiter: 'unix', eof: true })
}

/** One CSV record with its `\n`. */
export function formatCsvRecord(record: readonly (string | number)[]): string {
  return formatRecords([record])
}

/** Formats rows as CSV text, header first. */
export function formatCsv<Row>(table: Table<Row>, rows: Iterable<Row>): string {
  return formatRecords([table.columns, ...Array.from(rows, (row) => table.toFields(row))])
}

/** Writes rows as CSV atomically, leaving the file untouched when its content would not change. */
export async function writeCsv<Row>(path: string, table: Table<Row>, rows: Iterable<Row>): Promise<boolean> {
  return writeFileIfChanged(path, formatCsv(table, rows))
}

/**
 * Opens a streamed, atomic, write-if-changed CSV for outputs too large to hold in memory (openAtomicWriter):
 * nothing appears under `path` until `commit`, and only when its bytes change.
 */
export async function openCsvWriter<Row>(path: string, table: Table<Row>) {
  const file = await openAtomicWriter(path)
  try {
    await file.write(formatCsvRecord(table.columns))
  } catch (err) {
    await file.abort()
    throw err
  }
  return {
    write: async (rows: readonly Row[]) => {
      if (rows.length > 0) await file.write(formatRecords(rows.map((row) => table.toFields(row))))
    },
    /**
     * Appends records already formatted as this file's rows are (each ending in `\n`), without decoding them, at
     * once: the buffers may be reused when it returns.
     */
    writeFormatted: async (csv: readonly Buffer[]) => {
      for (const buffer of csv) file.writeNow(buffer)
    },
    commit: () => file.commit(),
    abort: () => file.abort(),
  }
}

/**
 * The records of CSV text with the line each starts on, counted from `firstLine`; bad quoting throws InputError.
 * A line without a quote is a record of its comma-separated fields, split as it is; only the records with a quote go
 * through csv-parse, each run of lines from one that has a quote to the first line end where the quotes seen are
 * even (a quoted field spans lines until its closing quote, and doubled quotes come in pairs): csv-parse would read
 * exactly the same records and stop at the same error on the same line, at a tenth of the cost for a ledger a year
 * long (csv-parse makes every field from bytes, through a state machine, with a record callback for the lines).
 */
export function parseRecords(text: string, path: string, firstLine = 1): { fields: string[]; line: number }[] {
  const records: { fields: string[]; line: number }[] = []
  eachRecord(text, path, firstLine, (fields, line) => records.push({ fields, line }))
  return records
}

/**
 * parseRecords, each record handed to `visit` as it is read rather than all kept: a year of a ledger is 100 MB.
 * Returns the line after the text (`firstLine` and its line ends).
 */
export function eachRecord(text: string, path: string, firstLine: number, visit: (fields: string[], line: number) => void): number {
  let line = firstLine
  // The first quote at or after `at` (-1: none left), found again only once passed: each byte is searched once.
  let quote = text.indexOf('"')
  for (let at = 0; at < text.length;) {
    let end = text.indexOf('\n', at)
    if (end === -1) end = text.length
    if (quote !== -1 && quote < at) quote = text.indexOf('"', at)
    if (quote === -1 || quote > end) {
      visit(text.slice(at, end).split(','), line)
      line++
      at = end + 1
      continue
    }
    // From this line to the first line end after an even number of quotes: one record (or more) for csv-parse.
    let quotes = 0
    let lines = 0
    for (;;) {
      for (; quote !== -1 && quote < end; quote = text.indexOf('"', quote + 1)) quotes++
      lines++
      if (quotes % 2 === 0 || end >= text.length) break
      end = text.indexOf('\n', end + 1)
      if (end === -1) end = text.length
    }
    const fields = lines === 1 ? quotedFields(text, at, end) : undefined
    if (fields) visit(fields, line)
    else for (const record of csvParseRecords(text.slice(at, end + 1), path, line)) visit(record.fields, record.line)
    line += lines
    at = end + 1
  }
  return line
}

/**
 * Where the CSV record (or the run of lines eachRecord gives csv-parse as one) starting at `pos` of `b` ends: the
 * first newline after an even number of quotes (a quoted field may hold line breaks). -1 when `b` does not hold its
 * end yet. A record ends where eachRecord's does, so bytes cut there read as the whole text does.
 */
export function quotedRecordEnd(b: Buffer, pos: number): number {
  let quotes = 0
  for (let i = pos; i < b.length; i++) {
    if (b[i] === QUOTE) quotes++
    else if (b[i] === NEWLINE && quotes % 2 === 0) return i
  }
  return -1
}

/**
 * The fields of the line text[at, end) when each is either plain (no quote) or quoted whole (`"..."`, inner quotes
 * doubled) and followed by a comma or the line's end: what csv-parse reads from such a line. Undefined for anything
 * else (a quote inside a plain field, one after a closing quote), which csv-parse reads and names the error of.
 */
function quotedFields(text: string, at: number, end: number): string[] | undefined {
  const fields: string[] = []
  for (let i = at; ;) {
    if (text.charCodeAt(i) === QUOTE) {
      let value = ''
      for (let from = i + 1; ;) {
        const close = text.indexOf('"', from)
        if (close === -1 || close >= end) return undefined
        value += text.slice(from, close)
        if (text.charCodeAt(close + 1) !== QUOTE) {
          i = close + 1
          break
        }
        value += '"'
        from = close + 2
      }
      fields.push(value)
    } else {
      let comma = text.indexOf(',', i)
      if (comma === -1 || comma > end) comma = end
      const value = text.slice(i, comma)
      if (value.includes('"')) return undefined
      fields.push(value)
      i = comma
    }
    if (i === end) return fields
    if (text.charCodeAt(i) !== COMMA) return undefined
    i++
  }
}

const QUOTE = 0x22
const COMMA = 0x2c
const NEWLINE = 0x0a

/** parseRecords through csv-parse alone: for the records with a quote (and, read whole, the reference of the tests). */
export function csvParseRecords(text: string, path: string, firstLine: number): { fields: string[]; line: number }[] {
  // The line each record starts on: the one after where the record before it ended.
  const starts: number[] = []
  let nextLine = 1
  try {
    const parsed: string[][] = parse(text, {
      relax_column_count: true,
      record_delimiter: '\n',
      on_record: (record, context) => {
        starts.push(nextLine)
        nextLine = context.lines + 1
        return record
      },
    })
    return parsed.map((fields, i) => ({ fields, line: firstLine - 1 + starts[i] }))
  } catch (err) {
    const e = err as { code?: string; lines?: number; column?: number; message?: string }
    const field = (e.column ?? 0) + 1
    const got = /got "(.)"/.exec(e.message ?? '')?.[1] ?? '?'
    const messages: Record<string, string> = {
      INVALID_OPENING_QUOTE: `field ${field} has a quote but does not start with one; quote the whole field and double the quotes inside`,
      CSV_INVALID_CLOSING_QUOTE: `a closing quote in field ${field} is followed by "${got}", not a comma or the end of the line`,
      CSV_QUOTE_NOT_CLOSED: 'a quoted field that starts here does not close',
    }
    const line = e.code === 'CSV_QUOTE_NOT_CLOSED' ? nextLine : (e.lines ?? nextLine)
    throw new InputError(path, firstLine - 1 + line, `is not valid CSV: ${messages[e.code ?? ''] ?? e.message ?? String(err)}`)
  }
}

/** Checks a file's header against `table` and returns the reader of its records, each of the header's width. */
export function rowReader<Row>(path: string, table: Table<Row>, header: readonly string[]): (fields: string[], line: number) => Row {
  const expected = table.columns.join(',')
  const at = table.columns.map((column) => header.indexOf(column))
  const extra = header.map((_, i) => i).filter((i) => !at.includes(i))
  const exact = header.join(',') === expected
  if (table.extraColumns ? at.includes(-1) || new Set(header).size !== header.length : !exact) {
    const wanted = table.extraColumns ? `at least the columns ${expected}` : `"${expected}"`
    throw new InputError(path, 1, `header is "${header.join(',')}", expected ${wanted}`)
  }
  return (fields, line) => {
    if (fields.length === 1 && fields[0] === '' && header.length > 1) throw new InputError(path, line, 'is an empty line')
    if (fields.length !== header.length) {
      throw new InputError(path, line, `has ${fields.length} fields, expected ${header.length} (${header.join(',')})`)
    }
    try {
      if (!table.extraColumns) return table.fromFields(fields, [])
      return table.fromFields(at.map((i) => fields[i]), extra.map((i) => ({ column: header[i], value: fields[i] })))
    } catch (err) {
      throw new InputError(path, line, (err as Error).message)
    }
  }
}

/** Parses CSV text against `table`: the header, then every row (rowReader). */
export function parseTable<Row>(text: string, path: string, table: Table<Row>): Row[] {
  const rows: Row[] = []
  eachRow(text, path, table, (row) => rows.push(row))
  return rows
}

/**
 * parseTable, each row handed to `visit` rather than all kept. The errors are parseTable's, in its order: bad CSV
 * anywhere first (the text is read to its end after a bad row), then the header, then the first bad row.
 */
export function eachRow<Row>(text: string, path: string, table: Table<Row>, visit: (row: Row) => void): void {
  const rows = rowVisitor(path, table, visit)
  eachRecord(text, path, 1, rows.record)
  rows.done()
}

/**
 * eachRow's reading of records given in the file's order, the header's first, from however many texts: `record`
 * checks each and hands its row to `visit` until one is bad; the records after it are still read, for bad CSV
 * there is the error rather than the row, and `done` (after the last) throws the first bad row.
 */
export function rowVisitor<Row>(path: string, table: Table<Row>, visit: (row: Row) => void) {
  let read: ((fields: string[], line: number) => Row) | undefined
  let failed: unknown
  return {
    record(fields: string[], line: number): void {
      if (failed !== undefined) return
      try {
        if (read) visit(read(fields, line))
        else read = rowReader(path, table, fields)
      } catch (err) {
        failed = err
      }
    },
    done(): void {
      if (failed !== undefined) throw failed
    },
  }
}

/** What to do about an editor's damage to a CSV (the large ones are checked as they stream, lib/files/query-csv.ts). */
export const SHAPE = {
  bom: 'starts with a byte-order mark; save it as UTF-8 without BOM',
  crlf: 'has Windows (CRLF) line ends; convert it with dos2unix',
  truncated: 'last line is truncated (no newline at the end); restore the file or re-run the stage that writes it',
  empty: (header: string) => `is empty; expected at least the header "${header}"`,
}

/**
 * The first problem of a small CSV read whole, checked before parsing so the message says what happened (and never
 * carries a `\r` that garbles the line on a terminal): empty (unless `emptyOk`), a byte-order mark, CRLF line ends,
 * a last line without its newline (unless `tornTailOk`).
 */
export function textShapeProblem(
  text: string,
  options: { header: string; emptyOk?: boolean; tornTailOk?: boolean },
): { line: number | undefined; message: string } | undefined {
  if (text.length === 0) return options.emptyOk ? undefined : { line: 1, message: SHAPE.empty(options.header) }
  if (text.charCodeAt(0) === 0xfeff) return { line: 1, message: SHAPE.bom }
  const cr = text.indexOf('\r')
  if (cr !== -1) return { line: text.slice(0, cr).split('\n').length, message: SHAPE.crlf }
  if (!options.tornTailOk && !text.endsWith('\n')) return { line: text.split('\n').length, message: SHAPE.truncated }
  return undefined
}

/** Reads a whole CSV a person may edit, checking its shape (textShapeProblem) and then parseTable. */
export async function readTable<Row>(path: string, table: Table<Row>, options: { missingHint?: string } = {}): Promise<Row[]> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') {
      throw new InputError(path, undefined, `does not exist; ${options.missingHint ?? 'run the stage that writes it first'}`)
    }
    throw new InputError(path, undefined, `cannot be read: ${err.message}`)
  })
  const shape = textShapeProblem(text, { header: table.columns.join(',') })
  if (shape) throw new InputError(path, shape.line, shape.message)
  return parseTable(text, path, table)
}

/** Field parsers for `Table.fromFields`: each throws a message naming the column and the value. */
export const field = {
  /** A whole number that is not negative, such as a run, a segment or an event count. */
  count(value: string, column: string): number {
    if (!/^\d{1,15}$/.test(value)) throw new Error(`${column} "${value}" is not a whole number`)
    return Number(value)
  },
  /** A value that must not be empty. */
  text(value: string, column: string): string {
    if (value === '') throw new Error(`${column} is empty`)
    return value
  },
}
