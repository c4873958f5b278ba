// The one fast path of caloprod's CSV: query.csv and reduce.csv (a million rows). Lines without a quote, nearly
// all of them, are handed over as bytes, never decoded as a whole; a record with quotes is parsed by csv-parse.
// Bytes `\n`, `"` and `,` never occur inside a multi-byte UTF-8 character. The small files a person edits are read
// whole instead (lib/files/csv.ts).
import { parse } from 'csv-parse/sync'
import { openAtomicWriter } from './atomic.js'
import { csvParseProblem, type Table } from './csv.js'

const QUOTE = 0x22
const NEWLINE = 0x0a
const NEEDS_QUOTES = /[",\n]/

/** Longest record accepted: a quote that never closes must fail fast, not swallow the file. */
const MAX_RECORD = 16 << 20

/**
 * One CSV record with its `\n`, exactly as csv-stringify writes strings and numbers (quoted when it holds a
 * comma, a quote or a `\n`, quotes doubled; a lone `\r` is not quoted), written directly as it runs once a row.
 */
export function formatCsvRecord(record: readonly (string | number)[]): string {
  let line = ''
  for (let i = 0; i < record.length; i++) {
    let text = String(record[i])
    if (NEEDS_QUOTES.test(text)) text = `"${text.replace(/"/g, '""')}"`
    line += i === 0 ? text : `,${text}`
  }
  return `${line}\n`
}

/**
 * Where a CSV record with quoted fields, starting at `pos`, ends: the first newline after an even number of
 * quotes (a quoted field may hold line breaks). -1 when `b` does not hold its end yet.
 */
function quotedRecordEnd(b: Buffer, pos: number): number {
  let quotes = 0
  for (let i = pos; i < b.length; i++) {
    if (b[i] === QUOTE) quotes++
    else if (b[i] === NEWLINE && quotes % 2 === 0) return i
  }
  return -1
}

/** What a reader does with each record of CsvLines. */
export interface LineHandler {
  /** A line without quotes: `b` from `start` to `end` (its newline, not included), the line's number. */
  line(b: Buffer, start: number, end: number, line: number): void
  /** A record with quotes, parsed; it spans `b` from `start` to `end` (its last newline) and starts on `line`. */
  quoted(fields: string[], b: Buffer, start: number, end: number, line: number): void
}

/**
 * Splits CSV bytes into records (RFC 4180, `\n` ends a record) as they arrive in chunks, counting lines so
 * every error can name one. `fail` turns a problem into the caller's error.
 */
export class CsvLines {
  /** The line the next record starts on. */
  line = 1
  private rest: Buffer | undefined

  constructor(private readonly fail: (line: number, message: string) => never) {}

  /**
   * Hands the complete records of what came so far to `handler`; returns the buffer they are in (the rest of
   * the last chunk and this one) and where the records end in it.
   */
  push(chunk: Buffer, handler: LineHandler): { buffer: Buffer; end: number } {
    const b = this.rest ? Buffer.concat([this.rest, chunk]) : chunk
    let pos = 0
    let nextQuote = b.indexOf(QUOTE)
    for (;;) {
      const nl = b.indexOf(NEWLINE, pos)
      if (nl === -1) break
      if (nextQuote !== -1 && nextQuote < pos) nextQuote = b.indexOf(QUOTE, pos)
      if (nextQuote === -1 || nextQuote > nl) {
        handler.line(b, pos, nl, this.line)
        this.line++
        pos = nl + 1
        continue
      }
      const end = quotedRecordEnd(b, pos)
      if (end === -1) break
      const text = b.toString('utf8', pos, end + 1)
      handler.quoted(this.parseRecord(text), b, pos, end, this.line)
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.line++
      pos = end + 1
    }
    // A copy, so the chunk itself can be freed.
    this.rest = pos < b.length ? Buffer.from(b.subarray(pos)) : undefined
    if (this.rest && this.rest.length > MAX_RECORD) this.unclosed()
    return { buffer: b, end: pos }
  }

  /** Whether part of a record waits for the next chunk. */
  get pending(): boolean {
    return this.rest !== undefined
  }

  /** Whether the part of a record waiting for the next chunk holds a carriage return. */
  get pendingCarriageReturn(): boolean {
    return this.rest !== undefined && this.rest.includes(0x0d)
  }

  /** The input ended: a record left open is a quote that never closed. */
  end(): void {
    if (this.rest) this.unclosed()
  }

  /** Fails with the most precise problem of a record that does not end: a stray quote, else a quote left open. */
  private unclosed(): never {
    this.parseRecord(this.rest!.toString('utf8'))
    return this.fail(this.line, 'is not valid CSV: a quoted field that starts here does not close')
  }

  /** The one record of `text` (starting on this.line), by csv-parse. */
  private parseRecord(text: string): string[] {
    let records: string[][]
    try {
      records = parse(text, { relax_column_count: true, record_delimiter: '\n' }) as string[][]
    } catch (err) {
      const problem = csvParseProblem(err, 1)
      return this.fail(this.line + problem.line - 1, `is not valid CSV: ${problem.message}`)
    }
    if (records.length !== 1) return this.fail(this.line, 'is not valid CSV: a quoted field that starts here does not close')
    return records[0]
  }
}

/** A CSV being streamed to disk; nothing appears under `path` until `commit`. */
export interface CsvWriter<Row> {
  write(rows: readonly Row[]): Promise<void>
  /**
   * Appends records already formatted as this file's rows are (each ending in `\n`), e.g. copied from
   * another file; Buffers are written as they are, without decoding.
   */
  writeFormatted(csv: string | readonly Buffer[]): Promise<void>
  commit(): Promise<boolean>
  abort(): Promise<void>
}

/**
 * Opens a streamed, atomic, write-if-changed CSV for outputs too large to hold in memory: a hidden temporary
 * file beside `path`, fsynced and renamed into place on `commit` unless `path` already holds the same bytes
 * (lib/files/atomic.ts). Works in Buffers, so passing rows through never builds large strings.
 */
export async function openCsvWriter<Row>(path: string, table: Table<Row>): Promise<CsvWriter<Row>> {
  const file = await openAtomicWriter(path)
  const writer: CsvWriter<Row> = {
    write: async (rows) => {
      if (rows.length > 0) await file.write(rows.map((row) => formatCsvRecord(table.toFields(row))).join(''))
    },
    writeFormatted: async (csv) => {
      if (typeof csv === 'string') await file.write(csv)
      else for (const buffer of csv) await file.write(buffer)
    },
    commit: () => file.commit(),
    abort: () => file.abort(),
  }
  try {
    await writer.writeFormatted(formatCsvRecord(table.columns))
  } catch (err) {
    await writer.abort()
    throw err
  }
  return writer
}
