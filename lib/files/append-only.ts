// An append-only CSV ledger (submissions.csv, uploads.csv): rows are appended and fsynced, never rewritten, so a
// row is on disk before the action it announces. A crash leaves at most an empty file or a torn last line, which
// read as the rows before them (the torn line is cut off before the next append) rather than stopping every later
// night until someone edits the file; anything else malformed names its file and line.
import { open, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { stringify } from 'csv-stringify/sync'
import { InputError } from '../errors.js'
import { syncDirectory, writeFileIfChanged } from './atomic.js'
import { parseTable, textShapeProblem, type Table } from './csv.js'

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
  const header = `${table.columns.join(',')}\n`
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { rows: [], tornTail: false }
    throw new InputError(path, undefined, `cannot be read: ${(err as Error).message}`)
  }
  const shape = textShapeProblem(text, { header: header.trim(), emptyOk: true, tornTailOk: true })
  if (shape) throw new InputError(path, shape.line, shape.message)
  const end = text.lastIndexOf('\n') + 1
  const tornTail = end < text.length
  const first = text.slice(0, text.indexOf('\n') + 1)
  if (end === 0) return { rows: [], tornTail }
  const read = former && first === `${former.columns.join(',')}\n` ? former : table
  if (first !== header && read === table) throw new InputError(path, 1, `header is "${first.trim()}", expected "${header.trim()}"`)
  // The one CSV layer of every file a person may edit (one parse of the whole text, lines named in errors).
  return { rows: parseTable(text.slice(0, end), path, read), tornTail }
}

/** One line per row: no field spans lines. */
function formatRows<Row>(table: Table<Row>, rows: readonly Row[]): string {
  const records = rows.map((row) => table.toFields(row).map((f) => (typeof f === 'string' ? f.replace(/[\r\n]+/g, ' ') : f)))
  return stringify(records as (string | number)[][], { record_delimiter: 'unix' })
}

/**
 * Appends rows (O_APPEND), with the header when the file is new, and fsyncs before returning. Earlier bytes are
 * never changed, except a torn last line (no newline: a crash mid-append), which is cut off first.
 * Returns whether a torn line was cut. A file in `former`'s columns is first upgraded (see `upgrade`).
 */
export async function appendRows<Row>(path: string, table: Table<Row>, rows: readonly Row[], former?: Table<Row>): Promise<boolean> {
  if (rows.length === 0) return false
  const header = `${table.columns.join(',')}\n`
  if (former) await upgrade(path, table, former)
  const handle = await open(path, 'a+')
  let cut = false
  let created = false
  try {
    const size = (await handle.stat()).size
    created = size === 0
    let prefix = size === 0 ? header : ''
    if (size > 0) {
      const last = Buffer.alloc(1)
      await handle.read(last, 0, 1, size - 1)
      if (last[0] !== 0x0a) {
        // Find the start of the torn line and cut it: it never became a row.
        const text = await readFile(path)
        const keep = text.lastIndexOf(0x0a) + 1
        await handle.truncate(keep)
        prefix = keep === 0 ? header : ''
        cut = true
      }
    }
    await handle.write(prefix + formatRows(table, rows))
    await handle.sync()
  } finally {
    await handle.close()
  }
  // A new file's directory entry must be durable too.
  if (created) await syncDirectory(dirname(path))
  return cut
}

/**
 * Rewrites a ledger written in `former`'s columns in `table`'s, once and atomically (a copy, fsynced, renamed over
 * it): its rows keep their order and values, the new columns empty, and a torn last line is dropped. Nothing else
 * ever rewrites a ledger; the caller holds the lock, so no other writer appends meanwhile.
 */
async function upgrade<Row>(path: string, table: Table<Row>, former: Table<Row>): Promise<void> {
  const text = await readFile(path, 'utf8').catch((err) => (err.code === 'ENOENT' ? '' : Promise.reject(err)))
  if (!text.startsWith(`${former.columns.join(',')}\n`)) return
  const { rows } = await readAppendOnly(path, table, former)
  await writeFileIfChanged(path, `${table.columns.join(',')}\n${formatRows(table, rows)}`)
}
