// An append-only CSV ledger (submissions.csv, uploads.csv): rows are appended and fsynced, never rewritten, so a
// row is on disk before the action it announces. A crash leaves at most an empty file or a torn last line, which
// read as the rows before them (the torn line is cut off before the next append) rather than stopping every later
// night until someone edits the file; anything else malformed names its file and line.
import { open, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { InputError } from '../errors.js'
import { syncDirectory, writeFileIfChanged } from './atomic.js'
import { writeError } from './disk-full.js'
import { eachRecord, formatRecords, quotedRecordEnd, rowVisitor, SHAPE, type Table } from './csv.js'

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
  const records = (text: string, line: number): number => {
    if (!rows) {
      const first = text.slice(0, text.indexOf('\n') + 1)
      const read = former && first === `${former.columns.join(',')}\n` ? former : table
      if (first !== header && read === table) throw new InputError(path, 1, `header is "${first.trim()}", expected "${header.trim()}"`)
      rows = rowVisitor(path, read, visit)
    }
    return eachRecord(text, path, line, rows.record)
  }
  const tornTail = await eachRecordText(path, records)
  rows?.done()
  return { tornTail }
}

/** Bytes read at a time: the rows of a read are alive together (query-csv.ts's ROW_READ_BYTES). */
const READ_BYTES = 256 << 10
const QUOTE = 0x22
const NEWLINE = 0x0a
const CARRIAGE_RETURN = 0x0d

/**
 * Reads a ledger through one buffer, reused, handing `records` each complete record (a line, or the lines
 * eachRecord would give csv-parse together) as its own text and first line; `records` returns the next line. The
 * checks and errors are those of the whole text (textShapeProblem first, then the header and the records): a byte-order
 * mark, and a carriage return anywhere (which comes first, so the first error of the records is kept until the end
 * is read without one). Each record is decoded on its own, so a field a caller keeps holds on to its line, not to a
 * chunk. No file: nothing. Returns whether a torn last line (no newline) was left out.
 */
async function eachRecordText(path: string, records: (text: string, line: number) => number): Promise<boolean> {
  let handle
  try {
    handle = await open(path, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw new InputError(path, undefined, `cannot be read: ${(err as Error).message}`)
  }
  let buffer = Buffer.allocUnsafe(READ_BYTES)
  // Bytes at the buffer's start not handed on yet: the start of a record, on `line`.
  let carried = 0
  let line = 1
  let failed: unknown
  try {
    for (let first = true; ; first = false) {
      // A record longer than half the buffer: a larger one (a quote that never closes reads the rest of the file, as before).
      if (carried > buffer.length / 2) buffer = Buffer.concat([buffer.subarray(0, carried)], 2 * buffer.length)
      const { bytesRead } = await handle.read(buffer, carried, buffer.length - carried, null)
      if (bytesRead === 0) break
      const b = buffer.subarray(0, carried + bytesRead)
      if (first && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) throw new InputError(path, 1, SHAPE.bom)
      const cr = b.indexOf(CARRIAGE_RETURN, carried)
      if (cr !== -1) throw new InputError(path, line + newlines(b, 0, cr), SHAPE.crlf)
      let pos = 0
      try {
        // A line without a quote ends at its newline; the next quote is searched for again only once passed.
        for (let quote = b.indexOf(QUOTE); failed === undefined;) {
          const nl = b.indexOf(NEWLINE, pos)
          if (nl === -1) break
          if (quote !== -1 && quote < pos) quote = b.indexOf(QUOTE, pos)
          const end = quote === -1 || quote > nl ? nl : quotedRecordEnd(b, pos)
          if (end === -1) break
          line = records(b.toString('utf8', pos, end + 1), line)
          pos = end + 1
        }
      } catch (err) {
        failed = err
      }
      // After an error only carriage returns are looked for: the lines are counted, nothing is carried but a line's start.
      if (failed !== undefined) {
        const after = b.lastIndexOf(NEWLINE) + 1
        if (after > pos) [line, pos] = [line + newlines(b, pos, after), after]
      }
      b.copyWithin(0, pos)
      carried = b.length - pos
    }
    if (failed !== undefined) throw failed
    // What is left is a record that does not end (bad CSV, as the whole text reads it) and a torn last line.
    const end = buffer.subarray(0, carried).lastIndexOf(NEWLINE) + 1
    if (end > 0) records(buffer.toString('utf8', 0, end), line)
    return end < carried
  } catch (err) {
    if (!(err instanceof InputError) && typeof (err as NodeJS.ErrnoException).code === 'string') {
      throw new InputError(path, undefined, `cannot be read: ${(err as Error).message}`)
    }
    throw err
  } finally {
    await handle.close()
  }
}

/** How many line ends b[from, to) holds. */
function newlines(b: Buffer, from: number, to: number): number {
  let count = 0
  for (let at = b.indexOf(NEWLINE, from); at !== -1 && at < to; at = b.indexOf(NEWLINE, at + 1)) count++
  return count
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
