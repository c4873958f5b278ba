import { createReadStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { parse } from 'csv-parse'
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

function formatRecords(records: readonly (readonly (string | number)[])[]): string {
  return stringify(records as (string | number)[][], { record_delimiter: 'unix', eof: true })
}

/** Writes rows as CSV atomically, leaving the file untouched when its content would not change. */
export async function writeCsv<Row>(path: string, table: Table<Row>, rows: Iterable<Row>): Promise<boolean> {
  return writeFileIfChanged(path, formatCsv(table, rows))
}

/** A CSV being streamed to disk; nothing appears under `path` until `commit`. */
export interface CsvWriter<Row> {
  write(rows: readonly Row[]): Promise<void>
  commit(): Promise<boolean>
  abort(): Promise<void>
}

/** Opens a streamed, atomic, write-if-changed CSV for outputs too large to hold in memory. */
export async function openCsvWriter<Row>(path: string, table: Table<Row>): Promise<CsvWriter<Row>> {
  const writer = await openAtomicWriter(path)
  await writer.write(formatRecords([table.columns]))
  return {
    write: async (rows) => {
      if (rows.length > 0) await writer.write(formatRecords(rows.map((row) => table.toFields(row))))
    },
    commit: () => writer.commit(),
    abort: () => writer.abort(),
  }
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

/**
 * Reads a CSV row by row, validating the header and every row against `table`.
 * Throws InputError naming the file and line for anything malformed.
 */
export async function* readCsv<Row>(path: string, table: Table<Row>): AsyncGenerator<Row> {
  await checkShape(path, table.columns)
  const parser = createReadStream(path, { highWaterMark: 1 << 20 }).pipe(
    parse({ relax_column_count: true, record_delimiter: '\n', bom: false, skip_empty_lines: false }),
  )
  let first = true
  // The line a record starts on: csv-parse's own count shifts with CR characters, so count here.
  let nextLine = 1
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      const line = nextLine
      nextLine += 1
      for (const value of record) for (let i = value.indexOf('\n'); i !== -1; i = value.indexOf('\n', i + 1)) nextLine++
      if (record.some((field) => field.includes('\r'))) {
        throw new InputError(path, line, 'has Windows (CRLF) line ends; convert it with dos2unix')
      }
      if (first) {
        first = false
        const header = table.columns.join(',')
        if (record.join(',') !== header) {
          throw new InputError(path, line, `header is "${record.join(',')}", expected "${header}"`)
        }
        continue
      }
      if (record.length === 1 && record[0] === '') throw new InputError(path, line, 'is an empty line')
      if (record.length !== table.columns.length) {
        throw new InputError(path, line, `has ${record.length} fields, expected ${table.columns.length} (${table.columns.join(',')})`)
      }
      try {
        yield table.fromFields(record)
      } catch (err) {
        throw new InputError(path, line, (err as Error).message)
      }
    }
  } catch (err) {
    if (err instanceof InputError) throw err
    const code = (err as { code?: string }).code
    if (code?.startsWith('CSV_')) {
      const line = (err as { lines?: number }).lines
      throw new InputError(path, line, `is not valid CSV: ${(err as Error).message.replace(/^Invalid \w+ /, '')}`)
    }
    throw err
  } finally {
    parser.destroy()
  }
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
