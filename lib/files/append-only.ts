// An append-only CSV ledger (submissions.csv, uploads.csv): rows are appended and fsynced, never rewritten, so a
// row is on disk before the action it announces. A crash leaves at most an empty file or a torn last line, which
// read as the rows before them (the torn line is cut off before the next append) rather than stopping every later
// night until someone edits the file; anything else malformed names its file and line.
import { open, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { InputError } from '../errors.js'
import { syncDirectory, writeFileIfChanged } from './atomic.js'
import { writeError } from './disk-full.js'
import { eachRecord, formatRecords, rowVisitor, type Table } from './csv.js'
import { recordChunks } from './record-chunks.js'

export interface AppendOnlyContents<Row> {
  rows: Row[]
  /** A last line without its newline (a crash or a full disk while appending): ignored, and cut off by the next append. */
  tornTail: boolean
}

/**
 * Reads an append-only ledger; no file means no rows yet. A ledger whose header is `former`'s (its columns before a
 * release added some) reads through `former`. Throws InputError naming the line of anything malformed.
 */
export async function readAppendOnly<Row>(path: string, table: Table<Row>, former?: Table<Row>): Promise<AppendOnlyContents<Row>> {
  const rows: Row[] = []
  const { tornTail } = await eachAppendOnly(path, table, (row) => rows.push(row), former)
  return { rows, tornTail }
}

/**
 * readAppendOnly, each row handed to `visit` in the file's order rather than all kept (the same checks, the same
 * errors): for a reader that keeps a little of each row of a ledger a year long. Returns whether a torn line was left.
 * The file is read a chunk at a time (memory holds one, not the ledger), so rows may be visited before an error
 * further on is found and thrown.
 */
export async function eachAppendOnly<Row>(
  path: string, table: Table<Row>, visit: (row: Row) => void, former?: Table<Row>,
): Promise<{ tornTail: boolean }> {
  const header = `${table.columns.join(',')}\n`
  let rows: ReturnType<typeof rowVisitor<Row>> | undefined
  const records = (text: string, line: number): void => {
    if (!rows) {
      const first = text.slice(0, text.indexOf('\n') + 1)
      const read = former && first === `${former.columns.join(',')}\n` ? former : table
      if (first !== header && read === table) throw new InputError(path, 1, `header is "${first.trim()}", expected "${header.trim()}"`)
      rows = rowVisitor(path, read, visit)
    }
    eachRecord(text, path, line, rows.record)
  }
  const tornTail = await eachRecordText(path, records)
  rows?.done()
  return { tornTail }
}

/** Bytes read at a time: the rows of a read are alive together (query-csv.ts's ROW_READ_BYTES). */
const READ_BYTES = 256 << 10

/**
 * Reads a ledger a chunk at a time (recordChunks), handing `records` each complete record (a line, or the lines
 * eachRecord would give csv-parse together) as its own text and first line. The checks and errors are those of the
 * whole text (textShapeProblem first, then the header and the records): a byte-order mark, and a carriage return
 * anywhere (which comes first, so the first error of the records is kept until the end is read without one). Each
 * record is decoded on its own, so a field a caller keeps holds on to its line, not to a chunk. No file: nothing.
 * Returns whether a torn last line (no newline) was left out.
 */
async function eachRecordText(path: string, records: (text: string, line: number) => void): Promise<boolean> {
  let tornTail = false
  const record = (b: Buffer, start: number, end: number, line: number) => records(b.toString('utf8', start, end + 1), line)
  const chunks = recordChunks(path, {
    line: record,
    quoted: record,
    // A record that does not end (bad CSV, as the whole text reads it: a quote that never closes reads the rest of
    // the file), then a torn last line.
    rest(b, line) {
      const end = b.lastIndexOf(0x0a) + 1
      if (end > 0) records(b.toString('utf8', 0, end), line)
      tornTail = end < b.length
    },
  }, { readBytes: READ_BYTES, missingOk: true, carriageReturnFirst: true })
  // The records are handed on as each chunk is read; nothing is kept of the chunks.
  for await (const _ of chunks);
  return tornTail
}

/** One line per row: no field spans lines. */
function formatRows<Row>(table: Table<Row>, rows: readonly Row[]): string {
  const oneLine = (f: string | number) => (typeof f === 'string' ? f.replace(/[\r\n]+/g, ' ') : f)
  return formatRecords(rows.map((row) => table.toFields(row).map(oneLine)))
}

/**
 * Appends rows (O_APPEND), with the header when the file is new, and fsyncs before returning. Earlier bytes never
 * change, except a torn last line, cut off first (returns whether one was) and a file in `former`'s columns (upgrade).
 */
export async function appendRows<Row>(path: string, table: Table<Row>, rows: readonly Row[], former?: Table<Row>): Promise<boolean> {
  if (rows.length === 0) return false
  if (former) await upgrade(path, table, former)
  try {
    return await append(path, table, rows)
  } catch (err) {
    // A full disk (or a directory, a permission in the way) names the ledger and the space left, not a bare "write".
    throw writeError(err, path)
  }
}

async function append<Row>(path: string, table: Table<Row>, rows: readonly Row[]): Promise<boolean> {
  const header = `${table.columns.join(',')}\n`
  const handle = await open(path, 'a+')
  let cut = false
  let created = false
  try {
    const size = (await handle.stat()).size
    created = size === 0
    const last = Buffer.alloc(1)
    if (size > 0) await handle.read(last, 0, 1, size - 1)
    // A torn last line never became a row: cut it, from its start.
    cut = size > 0 && last[0] !== 0x0a
    const keep = cut ? (await readFile(path)).lastIndexOf(0x0a) + 1 : size
    if (cut) await handle.truncate(keep)
    await handle.write((keep === 0 ? header : '') + formatRows(table, rows))
    await handle.sync()
  } finally {
    await handle.close()
  }
  // A new file's directory entry must be durable too.
  if (created) await syncDirectory(dirname(path))
  return cut
}

/**
 * Rewrites a ledger in `former`'s columns in `table`'s, once and atomically: rows keep their order and values, the
 * new columns empty, a torn last line dropped. The caller holds the lock, so no other writer appends meanwhile.
 */
async function upgrade<Row>(path: string, table: Table<Row>, former: Table<Row>): Promise<void> {
  const text = await readFile(path, 'utf8').catch((err) => (err.code === 'ENOENT' ? '' : Promise.reject(err)))
  if (!text.startsWith(`${former.columns.join(',')}\n`)) return
  const { rows } = await readAppendOnly(path, table, former)
  await writeFileIfChanged(path, `${table.columns.join(',')}\n${formatRows(table, rows)}`)
}
