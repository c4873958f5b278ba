import type postgres from 'postgres'
import { formatCsvRecord } from '../files/csv.js'
import { pathProblem, plainPathBytes, plainTagBytes, tagProblem } from '../files/names.js'
import type { QueryRow } from '../files/query-csv.js'

export type Traps = { excluded: number; aggregated: number; untagged: number }

/** The three counts of a `traps` row (or of the fingerprint's), as numbers: bigint comes back as a string. */
export const trapCounts = (row: Record<string, unknown>): Traps =>
  ({ excluded: Number(row.excluded), aggregated: Number(row.aggregated), untagged: Number(row.untagged) })

/** A catalog row that cannot be used safely (hostile or broken content), with why. */
export interface SkippedRow {
  row: QueryRow
  problem: string
}

/**
 * What a whole query returned: usable files, the distinct runs among them, rows skipped, and the histogram rows
 * left out under every rule set (lib/catalog/selection.ts): of an excluded type, of segment 9999, untagged.
 */
export interface QueryFilesResult {
  files: number
  runs: number
  skipped: number
  traps: Traps
}

/**
 * Takes a batch: `csv` the usable rows as query.csv's lines (no header), `skipped` the rows left out, `received` the
 * rows so far. `csv` is filled again after it returns; while it runs, nothing more is read from the server.
 */
type QueryBatch = (csv: Buffer, skipped: readonly SkippedRow[], received: number) => void

/**
 * How a caller stops the selection. `stop`: once aborted, the statement is cancelled and fails with 57014
 * (query_canceled), or is never sent. `cancel`: how to cancel it, then and when a batch fails; one that cannot fail
 * (`SnapshotConnection.cancel`, lib/catalog/snapshot.ts), not postgres.js's `query.cancel()`, which drops a promise
 * that rejects when its cancel connection is refused (a server going down): an error no code can catch.
 */
export interface QueryControl {
  stop?: AbortSignal
  cancel: () => Promise<void>
}

const stopped = () => Object.assign(new Error('canceling statement due to user request'), { code: '57014' })

/**
 * The session of every catalog statement of the query stage, set on the connection for as long as it lasts (not
 * only for a transaction; a failed try is tried again on a new connection): read-only, a statement timeout,
 * `::text` that does not shift times (UTC, ISO dates), and backslash an ordinary character (the LIKE patterns).
 */
export async function setSession(sql: postgres.Sql, timeoutSeconds: number): Promise<void> {
  await sql`select set_config('statement_timeout', ${String(Math.round(timeoutSeconds * 1000))}, false),
                   set_config('TimeZone', 'UTC', false), set_config('DateStyle', 'ISO, YMD', false),
                   set_config('standard_conforming_strings', 'on', false),
                   set_config('default_transaction_read_only', 'on', false)`
  // JIT compiling this plan costs 0.5 to 1 s and saves nothing: its time goes to sorting and index lookups.
  await sql`select set_config('jit', 'off', false) from pg_settings where name = 'jit'`
}

/** The selection's trap counts: `statement` (buildSelection's `traps`), asked when the fingerprint could not give them. */
export async function askTraps(sql: postgres.Sql, statement: string): Promise<Traps> {
  const [row] = await sql.unsafe(statement)
  return trapCounts(row)
}

/**
 * Runs `select` (buildSelection's, lib/catalog/selection.ts) on `sql`, in the session the caller set (setSession),
 * handing its rows to `batch` as query.csv's lines, about 256 KB at a time. Rows come as raw bytes (postgres.js's
 * `.raw().forEach()`), tag and path checked as bytes, never decoded unless refused; rows with a hostile tag or path
 * (lib/files/names.ts) or no time are left out and named in `skipped`. `control` stops it (QueryControl).
 */
export async function queryFiles(
  sql: postgres.Sql, select: string, batch: QueryBatch, control: QueryControl,
): Promise<Omit<QueryFilesResult, 'traps'>> {
  const { stop } = control
  if (stop?.aborted) throw stopped()
  const rows = rowBatches(batch)
  const query = sql.unsafe(select, [], { prepare: false }).raw()
  const cancel = () => void control.cancel()
  stop?.addEventListener('abort', cancel, { once: true })
  // An error of our own (writing the file): the server is asked to stop, and that error is the one thrown.
  let own: { error: unknown } | undefined
  await query
    .forEach((row) => {
      if (own) return
      try {
        rows.add(row as unknown as (Buffer | null)[])
      } catch (error) {
        own = { error }
        cancel()
      }
    })
    .catch((error: unknown) => {
      if (!own) throw error
    })
    .finally(() => stop?.removeEventListener('abort', cancel))
  if (own) throw own.error
  rows.flush()
  return rows.counts
}

const COMMA = 0x2c
const QUOTE = 0x22
const NEWLINE = 0x0a
const BATCH_BYTES = 256 << 10
const EMPTY = Buffer.alloc(0)

/**
 * Checks the selection's rows (`runnumber, tag, segment, events, full_file_path, time`, each the bytes of its text)
 * and copies the usable ones into batches as CSV lines, exactly as COPY's CSV passed through the CSV reader would
 * give them: only a path can hold a comma or a quote (a tag that passes holds neither), and such a row goes through
 * the formatter of every other CSV.
 */
function rowBatches(batch: QueryBatch) {
  const counts = { files: 0, runs: 0, skipped: 0 }
  let lastRun: Buffer | undefined
  const out = Buffer.allocUnsafe(BATCH_BYTES)
  let at = 0
  let bad: SkippedRow[] = []
  const flush = () => {
    if (at === 0 && bad.length === 0) return
    batch(out.subarray(0, at), bad, counts.files + counts.skipped)
    at = 0
    bad = []
  }
  /** Adds the line of `fields` joined by commas; a line longer than a batch is handed on as a batch of its own. */
  const put = (fields: readonly Buffer[]) => {
    let length = 0
    for (const field of fields) length += field.length + 1
    if (at + length > BATCH_BYTES) flush()
    if (length > BATCH_BYTES) {
      const line = Buffer.concat(fields.flatMap((field, i) => [field, Buffer.from(i < fields.length - 1 ? ',' : '\n')]))
      return batch(line, [], counts.files + counts.skipped)
    }
    for (let i = 0; i < fields.length; i++) {
      at += fields[i].copy(out, at)
      out[at++] = i < fields.length - 1 ? COMMA : NEWLINE
    }
  }
  const add = (row: (Buffer | null)[]) => {
    // Most rows are checked on their bytes; a row those checks cannot pass is decoded and asked as text.
    const [run, tag, segment, events, path, time] = row
    if (run && tag && segment && events && path && time?.length && plainTagBytes(tag) && plainPathBytes(path)) keep(row as Buffer[])
    else {
      const fields = row.map((field) => field ?? EMPTY)
      const [r, tagText, s, e, pathText, t] = fields.map((field) => field.toString('utf8'))
      const problem = tagProblem(tagText) ?? pathProblem(pathText) ?? (t === '' ? 'files.time is empty' : undefined)
      if (!problem) keep(fields)
      else {
        bad.push({ row: { runnumber: Number(r), tag: tagText, segment: Number(s), events: Number(e), full_file_path: pathText, time: t }, problem })
        counts.skipped++
      }
    }
    if (at >= BATCH_BYTES - 4096 || bad.length >= 1000) flush()
  }
  const keep = (fields: Buffer[]) => {
    const [run, , , , path] = fields
    counts.files++
    // Rows come sorted by run.
    if (!lastRun || !run.equals(lastRun)) {
      lastRun = Buffer.from(run)
      counts.runs++
    }
    if (!path.includes(COMMA) && !path.includes(QUOTE)) put(fields)
    // Quoted: the whole line, formatted, as one field (put adds its newline).
    else put([Buffer.from(formatCsvRecord(fields.map((f) => f.toString('utf8'))).slice(0, -1))])
  }
  return { counts, add, flush }
}
