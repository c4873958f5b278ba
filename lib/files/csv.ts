// The CSV files a person may edit (run list, process list, settled cache, missing list, ledger): read whole
// through csv-parse and written through csv-stringify, with one rule for the header and one vocabulary of errors.
// query.csv and reduce.csv, a million rows, take the one fast path instead (lib/files/csv-lines.ts).
import { readFile } from 'node:fs/promises'
import { parse } from 'csv-parse/sync'
import { stringify } from 'csv-stringify/sync'
import { InputError } from '../errors.js'
import { writeFileIfChanged } from './atomic.js'
import { textShapeProblem } from './text-shape.js'

/**
 * A CSV file's contract: its columns (the header, in order) and how a row maps to fields and back.
 * `fromFields` throws a plain Error with a message about the bad field; readers add file and line.
 * With `extraColumns`, a header may name further columns after or between the contract's (a person's notes):
 * they are accepted, and `fromFields` gets them, by name, to pass on.
 */
export interface Table<Row> {
  columns: readonly string[]
  toFields(row: Row): readonly (string | number)[]
  fromFields(fields: readonly string[], extra?: readonly ExtraField[]): Row
  extraColumns?: boolean
}

/** A field of a column the contract does not name, kept as text. */
interface ExtraField {
  column: string
  value: string
}

/** CSV text of records as every CSV caloprod writes: `\n` after each record, quoting only where needed. */
function formatRecords(records: readonly (readonly (string | number)[])[]): string {
  return stringify(records as (string | number)[][], { record_delimiter: 'unix', eof: true })
}

/** Formats rows as CSV text, header first. */
export function formatCsv<Row>(table: Table<Row>, rows: Iterable<Row>): string {
  const records: (readonly (string | number)[])[] = [table.columns]
  for (const row of rows) records.push(table.toFields(row))
  return formatRecords(records)
}

/** Writes rows as CSV atomically, leaving the file untouched when its content would not change. */
export async function writeCsv<Row>(path: string, table: Table<Row>, rows: Iterable<Row>): Promise<boolean> {
  return writeFileIfChanged(path, formatCsv(table, rows))
}

/** A record csv-parse could not read: the line it names (relative to the text parsed) and what is wrong. */
export function csvParseProblem(err: unknown, firstLineOfRecord: number): { line: number; message: string } {
  const e = err as { code?: string; lines?: number; column?: number; message?: string }
  const field = (e.column ?? 0) + 1
  if (e.code === 'INVALID_OPENING_QUOTE') {
    return {
      line: e.lines ?? 1,
      message: `field ${field} has a quote but does not start with one; quote the whole field and double the quotes inside`,
    }
  }
  if (e.code === 'CSV_INVALID_CLOSING_QUOTE') {
    const got = /got "(.)"/.exec(e.message ?? '')?.[1] ?? '?'
    return { line: e.lines ?? 1, message: `a closing quote in field ${field} is followed by "${got}", not a comma or the end of the line` }
  }
  if (e.code === 'CSV_QUOTE_NOT_CLOSED') return { line: firstLineOfRecord, message: 'a quoted field that starts here does not close' }
  return { line: e.lines ?? firstLineOfRecord, message: e.message ?? String(err) }
}

/** The records of CSV text with the line each starts on; throws InputError naming the line of bad quoting. */
function parseRecords(text: string, path: string): { fields: string[]; line: number }[] {
  // The line each record starts on: the one after where the record before it ended.
  const starts: number[] = []
  let nextLine = 1
  let parsed: string[][]
  try {
    parsed = parse(text, {
      relax_column_count: true,
      record_delimiter: '\n',
      on_record: (record, context) => {
        starts.push(nextLine)
        nextLine = context.lines + 1
        return record
      },
    })
  } catch (err) {
    const problem = csvParseProblem(err, nextLine)
    throw new InputError(path, problem.line, `is not valid CSV: ${problem.message}`)
  }
  return parsed.map((fields, i) => ({ fields, line: starts[i] }))
}

/** Where each column of the contract is in a file's header, and the columns it adds; throws InputError. */
function headerColumns(header: readonly string[], table: Table<unknown>, path: string): { at: number[]; extra: number[] } {
  const expected = table.columns.join(',')
  const refuse = (): never => {
    const wanted = table.extraColumns ? `at least the columns ${expected}` : `"${expected}"`
    throw new InputError(path, 1, `header is "${header.join(',')}", expected ${wanted}`)
  }
  if (!table.extraColumns) {
    if (header.join(',') !== expected) refuse()
    return { at: table.columns.map((_, i) => i), extra: [] }
  }
  const at = table.columns.map((column) => header.indexOf(column))
  if (at.includes(-1) || new Set(header).size !== header.length) refuse()
  return { at, extra: header.map((_, i) => i).filter((i) => !at.includes(i)) }
}

/** How a reader treats what a crash, not a person, leaves (see the ledger). */
interface ReadOptions {
  /** Said after "does not exist; " when the file is not there, e.g. `run the check stage first`. */
  missingHint?: string
}

/**
 * Parses CSV text against `table`: the header (see Table), then every row, each of the header's width.
 * Throws InputError naming the file and line for anything malformed.
 */
export function parseTable<Row>(text: string, path: string, table: Table<Row>): Row[] {
  const [header, ...records] = parseRecords(text, path)
  if (!header) return []
  const { at, extra } = headerColumns(header.fields, table, path)
  const width = header.fields.length
  return records.map(({ fields, line }) => {
    if (fields.length === 1 && fields[0] === '' && width > 1) throw new InputError(path, line, 'is an empty line')
    if (fields.length !== width) {
      throw new InputError(path, line, `has ${fields.length} fields, expected ${width} (${header.fields.join(',')})`)
    }
    try {
      return table.fromFields(at.map((i) => fields[i]), extra.map((i) => ({ column: header.fields[i], value: fields[i] })))
    } catch (err) {
      throw new InputError(path, line, (err as Error).message)
    }
  })
}

/** Reads a whole CSV a person may edit, checking its shape (lib/files/text-shape.ts) and then parseTable. */
export async function readTable<Row>(path: string, table: Table<Row>, options: ReadOptions = {}): Promise<Row[]> {
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
