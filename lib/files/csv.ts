import { createReadStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { stringify } from 'csv-stringify/sync'
import { InputError } from '../errors.js'
import { openAtomicWriter, writeFileIfChanged } from './atomic.js'

/**
 * A CSV file's contract: its columns (the header, in order) and how a row maps to fields and back.
 * `fromFields` throws a plain Error with a message about the bad field; readers add file and line.
 */
export interface Table<Row> {
  columns: readonly string[]
  toFields(row: Row): readonly (string | number)[]
  fromFields(fields: readonly string[]): Row
}

/** Formats rows as CSV text, header first, `\n` line ends, quoting only where needed. */
export function formatCsv<Row>(table: Table<Row>, rows: Iterable<Row>): string {
  const records: (readonly (string | number)[])[] = [table.columns]
  for (const row of rows) records.push(table.toFields(row))
  return formatRecords(records)
}

/** One CSV record with its `\n`, quoted as every CSV caloprod writes. */
export function formatCsvRecord(fields: readonly (string | number)[]): string {
  return formatRecords([fields])
}

const NEEDS_QUOTES = /[",\n]/

/**
 * csv-stringify's output for strings and numbers (a field is quoted when it holds a comma, a quote or a `\n`,
 * quotes doubled; `\n` after each record; a lone `\r` is not quoted, as csv-stringify 6 leaves it), written
 * directly because it runs once per row of the large files; any other value goes through csv-stringify itself.
 */
function formatRecords(records: readonly (readonly (string | number)[])[]): string {
  let out = ''
  for (const record of records) {
    let line = ''
    for (let i = 0; i < record.length; i++) {
      const value = record[i]
      let text: string
      if (typeof value === 'number') text = String(value)
      else if (typeof value === 'string') text = value
      else return stringify(records as (string | number)[][], { record_delimiter: 'unix', eof: true })
      if (NEEDS_QUOTES.test(text)) text = `"${text.replace(/"/g, '""')}"`
      line += i === 0 ? text : `,${text}`
    }
    out += `${line}\n`
  }
  return out
}

/** Writes rows as CSV atomically, leaving the file untouched when its content would not change. */
export async function writeCsv<Row>(path: string, table: Table<Row>, rows: Iterable<Row>): Promise<boolean> {
  return writeFileIfChanged(path, formatCsv(table, rows))
}

/** A CSV being streamed to disk; nothing appears under `path` until `commit`. */
export interface CsvWriter<Row> {
  write(rows: readonly Row[]): Promise<void>
  /**
   * Appends records already formatted as this file's rows are (each ending in `\n`), e.g. passed through
   * from COPY or copied from another file; Buffers are written as they are, without decoding.
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
      if (rows.length > 0) await file.write(formatRecords(rows.map((row) => table.toFields(row))))
    },
    writeFormatted: async (csv) => {
      if (typeof csv === 'string') await file.write(csv)
      else for (const buffer of csv) await file.write(buffer)
    },
    commit: () => file.commit(),
    abort: () => file.abort(),
  }
  try {
    await writer.writeFormatted(formatRecords([table.columns]))
  } catch (err) {
    await writer.abort()
    throw err
  }
  return writer
}

/** Checks what a person's editor may have done to the file before parsing it line by line. */
async function checkShape(path: string, columns: readonly string[]): Promise<void> {
  const size = await stat(path).then((s) => s.size, (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new InputError(path, undefined, 'does not exist; run the stage that writes it first')
    throw new InputError(path, undefined, `cannot be read: ${err.message}`)
  })
  const header = columns.join(',')
  if (size === 0) throw new InputError(path, 1, `is empty; expected at least the header "${header}"`)
  const handle = await open(path, 'r')
  try {
    const head = Buffer.alloc(Math.min(3, size))
    await handle.read(head, 0, head.length, 0)
    if (head.length === 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) {
      throw new InputError(path, 1, 'starts with a byte-order mark; save it as UTF-8 without BOM')
    }
    const tail = Buffer.alloc(1)
    await handle.read(tail, 0, 1, size - 1)
    if (tail[0] !== 0x0a) {
      throw new InputError(path, undefined, 'last line is truncated (no newline at the end); restore the file or re-run the stage that writes it')
    }
  } finally {
    await handle.close()
  }
}

/** Bytes read at a time: the rows of one chunk are alive together, so it stays small. */
const READ_BYTES = 256 << 10

/** Longest record accepted: a quote that never closes must fail fast, not swallow the file. */
const MAX_RECORD = 16 << 20

/**
 * Where a CSV record with quoted fields, starting at `pos`, ends: the first newline after an even number of
 * quotes (a quoted field may hold line breaks). -1 when `b` does not hold its end yet.
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
 * Splits CSV bytes into records (RFC 4180, `\n` ends a record, `""` inside quotes is a quote) as they arrive
 * in chunks, counting lines so every error can name one. Each line is decoded on its own, so a field a caller
 * keeps holds on to its line and not to a whole chunk of the file; lines without a quote, nearly all of them,
 * are split directly. Bytes `\n`, `"` and `,` never occur inside a multi-byte UTF-8 character.
 */
class CsvSplitter {
  /** The line the next record starts on. */
  line = 1
  private rest: Buffer | undefined

  constructor(private readonly path: string) {}

  /** Parses the complete records of what came so far; `onRecord` gets each with the line it starts on. */
  push(chunk: Buffer, onRecord: (fields: string[], line: number, quoted: boolean) => void): void {
    const b = this.rest ? Buffer.concat([this.rest, chunk]) : chunk
    let pos = 0
    let nextQuote = b.indexOf(QUOTE)
    for (;;) {
      const nl = b.indexOf(NEWLINE, pos)
      if (nl === -1) break
      if (nextQuote !== -1 && nextQuote < pos) nextQuote = b.indexOf(QUOTE, pos)
      if (nextQuote === -1 || nextQuote > nl) {
        onRecord(b.toString('utf8', pos, nl).split(','), this.line, false)
        this.line++
        pos = nl + 1
        continue
      }
      const end = quotedRecordEnd(b, pos)
      if (end === -1) break
      const record = this.quotedRecord(b.toString('utf8', pos, end + 1))
      if (!record) break
      onRecord(record.fields, this.line, true)
      this.line += record.lines
      pos = end + 1
    }
    // A copy, so the chunk itself can be freed.
    this.rest = pos < b.length ? Buffer.from(b.subarray(pos)) : undefined
    if (this.rest && this.rest.length > MAX_RECORD) this.unclosed()
  }

  /** Whether the part of a record waiting for the next chunk holds a carriage return. */
  get pendingCarriageReturn(): boolean {
    return this.rest !== undefined && this.rest.includes(CARRIAGE_RETURN)
  }

  /** The input ended: a record left open is a quote that never closed. */
  end(): void {
    if (this.rest) this.unclosed()
  }

  /** Throws the most precise error for a record that does not end: a stray quote, else a quote left open. */
  private unclosed(): never {
    this.quotedRecord(this.rest!.toString('utf8'))
    throw new InputError(this.path, this.line, 'is not valid CSV: a quoted field that starts here does not close')
  }

  /** The record at the start of `s`; undefined when `s` ends before it does. Throws on a misplaced quote. */
  private quotedRecord(s: string): { fields: string[]; lines: number } | undefined {
    const fields: string[] = []
    const fail = (at: number, what: string): never => {
      let line = this.line
      for (let i = s.indexOf('\n'); i !== -1 && i < at; i = s.indexOf('\n', i + 1)) line++
      throw new InputError(this.path, line, `is not valid CSV: ${what}`)
    }
    let i = 0
    for (;;) {
      let field = ''
      if (s[i] === '"') {
        i++
        for (;;) {
          const q = s.indexOf('"', i)
          if (q === -1 || q + 1 >= s.length) return undefined
          field += s.slice(i, q)
          i = q + 1
          if (s[i] !== '"') break
          field += '"'
          i++
        }
        if (s[i] !== ',' && s[i] !== '\n') {
          fail(i, `a closing quote in field ${fields.length + 1} is followed by "${s[i]}", not a comma or the end of the line`)
        }
      } else {
        let j = i
        while (j < s.length && s[j] !== ',' && s[j] !== '\n') {
          if (s[j] === '"') {
            fail(j, `field ${fields.length + 1} has a quote but does not start with one; quote the whole field and double the quotes inside`)
          }
          j++
        }
        if (j >= s.length) return undefined
        field = s.slice(i, j)
        i = j
      }
      fields.push(field)
      if (s[i] === '\n') {
        let lines = 1
        for (let k = s.indexOf('\n'); k !== -1 && k < i; k = s.indexOf('\n', k + 1)) lines++
        return { fields, lines }
      }
      i++
    }
  }
}

const QUOTE = 0x22
const NEWLINE = 0x0a
const COMMA = 0x2c
const CARRIAGE_RETURN = 0x0d

const CANONICAL_COUNT = /^(?:0|[1-9][0-9]*)$/

/** Whether a value read from `text` is written back as `text`; a count's test skips printing the number. */
function printsAs(value: string | number, text: string): boolean {
  if (typeof value === 'string') return value === text
  if (Number.isSafeInteger(value) && value >= 0) return CANONICAL_COUNT.test(text) && text.length <= 16 && Number(text) === value
  return String(value) === text
}

/** What a full pass over a CSV learned, so a second pass can copy its lines instead of parsing them. */
export interface CsvScan {
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

/** The batches of valid rows of a CSV, noting in `scan` what a second pass may rely on. */
async function* batches<Row>(path: string, table: Table<Row>, scan: CsvScan): AsyncGenerator<Row[]> {
  await checkShape(path, table.columns)
  const header = table.columns.join(',')
  const width = table.columns.length
  const stream = createReadStream(path, { highWaterMark: READ_BYTES })
  const splitter = new CsvSplitter(path)
  let first = true
  let rows: Row[] = []
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
    if (record.length !== width) {
      throw new InputError(path, line, `has ${record.length} fields, expected ${width} (${header})`)
    }
    let row: Row
    try {
      row = table.fromFields(record)
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
        const fields = table.toFields(row)
        for (let i = 0; i < width; i++) if (!printsAs(fields[i], record[i])) scan.verbatim = false
      }
    }
  }
  try {
    const info = await stat(path)
    scan.size = info.size
    scan.mtimeMs = info.mtimeMs
    for await (const chunk of stream) {
      carriageReturns = splitter.pendingCarriageReturn || (chunk as Buffer).includes(CARRIAGE_RETURN)
      splitter.push(chunk as Buffer, onRecord)
      if (rows.length > 0) {
        yield rows
        rows = []
      }
    }
    splitter.end()
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
 * Reads a CSV in batches of rows, validating the header and every row against `table`.
 * Throws InputError naming the file and line for anything malformed. Memory holds one chunk of the file.
 */
export function readCsvBatches<Row>(path: string, table: Table<Row>): AsyncGenerator<Row[]> {
  return batches(path, table, { path, size: 0, mtimeMs: 0, rows: 0, verbatim: true })
}

/**
 * Reads a whole CSV, validating it as readCsv does and handing its rows to `onBatch` batch by batch;
 * returns what a second pass needs to copy lines instead of parsing them (copyCsvLines).
 */
export async function scanCsv<Row>(path: string, table: Table<Row>, onBatch: (rows: Row[]) => void): Promise<CsvScan> {
  const scan: CsvScan = { path, size: 0, mtimeMs: 0, rows: 0, verbatim: true }
  for await (const rows of batches(path, table, scan)) onBatch(rows)
  return scan
}

/**
 * The second pass over a file that scanCsv read and found verbatim: copies to `writer`, unchanged, every
 * row whose first `keyFields` fields `keep` accepts, and returns how many. Consecutive rows with the same
 * key bytes share one decision, so a sorted file costs little more than its reading. Throws when the file
 * changed since the scan.
 */
export async function copyCsvLines(
  scan: CsvScan,
  keyFields: number,
  keep: (key: string[]) => boolean,
  writer: CsvWriter<unknown>,
): Promise<number> {
  if (!scan.verbatim) throw new Error(`copyCsvLines: ${scan.path} has rows that must be parsed and written again`)
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
          decision = lastDecision = keep(lastKey.toString('utf8').split(','))
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

/**
 * Reads a CSV row by row, validating the header and every row against `table`.
 * Throws InputError naming the file and line for anything malformed.
 */
export async function* readCsv<Row>(path: string, table: Table<Row>): AsyncGenerator<Row> {
  for await (const rows of readCsvBatches(path, table)) yield* rows
}

/** Reads a whole CSV into memory; for the small files (run lists, process lists). */
export async function readCsvRows<Row>(path: string, table: Table<Row>): Promise<Row[]> {
  const rows: Row[] = []
  for await (const row of readCsv(path, table)) rows.push(row)
  return rows
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
