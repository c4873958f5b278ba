import { EventEmitter } from 'node:events'
import type { Readable } from 'node:stream'
import type postgres from 'postgres'
import type { RunType } from '../config/run-types.js'
import type { RuleSet } from '../rules/types.js'
import { CsvLines, formatCsvRecord } from '../files/csv-lines.js'
import { pathProblem, tagProblem } from '../files/names.js'
import type { QueryRow } from '../files/query-csv.js'
import { buildSelection } from './selection.js'

export interface QueryFilesOptions {
  runType: RunType
  /** undefined: no threshold. */
  minEvents: number | undefined
  rules: RuleSet
  /** Seconds. */
  statementTimeout: number
}

/** A catalog row that cannot be used safely (hostile or broken content), with why. */
export interface SkippedRow {
  row: QueryRow
  problem: string
}

/** What a whole query returned. */
export interface QueryFilesResult {
  /** Rows passed on (usable files). */
  files: number
  /** Distinct runs among them. */
  runs: number
  skipped: number
  /** Catalog rows of the run range that no rule set may use, by trap (see lib/catalog/selection.ts). */
  traps: TrapCounts
}

/** Histogram rows of the run range left out under every rule set. */
export interface TrapCounts {
  /** Of an excluded type: the skimmed QA files. */
  excluded: number
  /** Segment 9999: aggregated per-run files. */
  aggregated: number
  /** A NULL or empty tag. */
  untagged: number
}

/**
 * postgres.js 3.4 pauses the socket when a CopyData fills the stream's buffer, and resumes it only when the
 * stream is read again; when CopyDone (or the error) came in the same network chunk, the stream has ended and
 * nothing resumes it, so the next statement (COMMIT, ROLLBACK) would wait forever (porsager/postgres#499, fix
 * in PR #1016, not yet released). The stream's own read hook resumes the socket. Both hooks here lean on
 * postgres.js internals: package.json pins 3.4.9 exactly and test/catalog/postgres-pin.test.ts checks them.
 */
function resumeSocket(stream: Readable): void {
  try {
    stream._read(0)
  } catch {
    // The connection is gone: nothing to resume.
  }
}

/**
 * Streams the selection (see lib/catalog/selection.ts) as the CSV rows of `query.csv`, without its header, in chunks.
 * The server writes the CSV (`COPY ... TO STDOUT`); usable rows pass through byte for byte (as pieces of
 * the chunks received, never decoded as a whole), and rows with a hostile tag or path (lib/files/names.ts)
 * or no time are left out and handed to `onChunk` as skipped. Runs in a read-only transaction with a
 * statement timeout and time zone UTC; memory holds one chunk.
 */
export async function queryFiles(
  sql: postgres.Sql,
  options: QueryFilesOptions,
  onChunk: (csv: Buffer[], skipped: SkippedRow[]) => Promise<void>,
): Promise<QueryFilesResult> {
  const { select, traps: trapSql } = buildSelection(options.rules, options.runType, options.minEvents)
  let traps: TrapCounts = { excluded: 0, aggregated: 0, untagged: 0 }
  const timeoutMs = Math.round(options.statementTimeout * 1000)
  const filter = new SelectionFilter()
  // The first error of reading or writing; a rollback failing after it must not hide it.
  let failure: { error: unknown } | undefined
  try {
    await sql.begin('isolation level repeatable read read only', async (tx) => {
      await tx`select set_config('statement_timeout', ${String(timeoutMs)}, true)`
      // ::text must not shift times: fix the session's zone and style for timestamptz columns; the
      // LIKE patterns need backslash to be an ordinary character in literals.
      await tx`select set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, YMD', true),
                      set_config('standard_conforming_strings', 'on', true)`
      // JIT compiling this plan costs 0.5 to 1 s and saves nothing: its time goes to sorting and index lookups.
      await tx`select set_config('jit', 'off', true) from pg_settings where name = 'jit'`
      const [counts] = await tx.unsafe(trapSql)
      traps = { excluded: Number(counts.excluded), aggregated: Number(counts.aggregated), untagged: Number(counts.untagged) }
      const copy = tx.unsafe(`copy (${select}) to stdout with (format csv)`)
      // An error that comes in the same network chunk as CopyOutResponse (a statement timeout before the first
      // row) destroys the stream before this function can listen to it; postgres.js 3.4 hands the stream to
      // the query's resolve, so a listener put there in time keeps the error from being thrown as unhandled.
      // The loop below still gets it: a stream destroyed with an error throws it when read.
      const hooked = copy as unknown as { resolve(value: unknown): void }
      const resolve = hooked.resolve
      hooked.resolve = (value) => {
        if (value instanceof EventEmitter) value.on('error', () => {})
        return resolve(value)
      }
      const stream: Readable = await copy.readable()
      // An error of our own (writing the file): the server is asked to cancel, and what it still sends is read
      // and dropped, so the connection stays usable and the transaction rolls back as usual.
      let own: { error: unknown } | undefined
      try {
        for await (const chunk of stream) {
          if (own) continue
          try {
            const skipped: SkippedRow[] = []
            const rows = filter.push(chunk as Buffer, skipped)
            await onChunk(rows, skipped)
          } catch (error) {
            own = { error }
            failure = own
            copy.cancel()
          }
        }
        if (!own) filter.end()
      } catch (error) {
        // The server's error (a statement timeout, the cancel asked for above) or a lost connection.
        failure ??= { error }
      } finally {
        resumeSocket(stream)
      }
      if (failure) throw failure.error
    })
  } catch (error) {
    throw failure ? failure.error : error
  }
  return { files: filter.files, runs: filter.runs, skipped: filter.skipped, traps }
}

const COMMA = 0x2c

/**
 * Checks the CSV rows COPY writes (`runnumber,tag,segment,events,full_file_path,time`), passing usable rows
 * through unchanged and leaving out, with a reason, those whose tag or path must not reach file names and
 * lists, or whose time is empty. PostgreSQL quotes a field exactly when it holds a comma, a quote or a line
 * break, as csv-stringify does; a row with quotes is rewritten through the same formatter as every other CSV.
 * Works on the bytes (lib/files/csv-lines.ts): only the tag and the path of a row are decoded, so the
 * JavaScript heap sees no large strings.
 */
export class SelectionFilter {
  files = 0
  runs = 0
  skipped = 0
  private lastRun: Buffer | undefined
  private readonly lines = new CsvLines((_line, message) => {
    throw new Error(`the catalog's answer ${message}`)
  })

  /** Takes the next piece of COPY's output; returns the usable complete rows, adds the others to `skipped`. */
  push(chunk: Buffer, skipped: SkippedRow[]): Buffer[] {
    const kept: Buffer[] = []
    // Where the run of usable rows not yet passed on starts, in the buffer CsvLines works in.
    let keepFrom = 0
    const { buffer, end } = this.lines.push(chunk, {
      line: (b, pos, nl) => {
        if (this.checkLine(b, pos, nl, skipped)) return
        if (pos > keepFrom) kept.push(b.subarray(keepFrom, pos))
        keepFrom = nl + 1
      },
      quoted: (fields, b, pos, last) => {
        if (pos > keepFrom) kept.push(b.subarray(keepFrom, pos))
        if (this.check(fields, skipped)) kept.push(Buffer.from(formatCsvRecord(fields)))
        keepFrom = last + 1
      },
    })
    if (end > keepFrom) kept.push(buffer.subarray(keepFrom, end))
    return kept
  }

  /** The answer is complete: nothing may be left over. */
  end(): void {
    if (this.lines.pending) throw new Error("the catalog's answer ended in the middle of a row")
  }

  /** Whether a row without quotes, `b` from `pos` to `nl`, is usable; counts it either way. */
  private checkLine(b: Buffer, pos: number, nl: number, skipped: SkippedRow[]): boolean {
    const c1 = b.indexOf(COMMA, pos)
    const c2 = b.indexOf(COMMA, c1 + 1)
    const c3 = b.indexOf(COMMA, c2 + 1)
    const c4 = b.indexOf(COMMA, c3 + 1)
    const c5 = b.indexOf(COMMA, c4 + 1)
    const c6 = c5 === -1 ? -1 : b.indexOf(COMMA, c5 + 1)
    if (c1 === -1 || c5 === -1 || c5 > nl || (c6 !== -1 && c6 < nl)) {
      throw new Error(`the catalog's answer has a row without six fields: ${b.toString('utf8', pos, nl)}`)
    }
    // Only the tag and the path are decoded: a row that passes is copied as it is, and nearly all pass.
    const tag = b.toString('utf8', c1 + 1, c2)
    const path = b.toString('utf8', c4 + 1, c5)
    const problem = tagProblem(tag) ?? pathProblem(path) ?? (c5 + 1 === nl ? 'files.time is empty' : undefined)
    if (problem) {
      const field = (from: number, to: number) => b.toString('utf8', from, to)
      this.skip([field(pos, c1), tag, field(c2 + 1, c3), field(c3 + 1, c4), path, field(c5 + 1, nl)], problem, skipped)
      return false
    }
    this.files++
    // Rows come sorted by run: the same run as the row before is compared in place.
    const run = this.lastRun
    if (!run || c1 - pos !== run.length || b.compare(run, 0, run.length, pos, c1) !== 0) {
      this.lastRun = Buffer.from(b.subarray(pos, c1))
      this.runs++
    }
    return true
  }

  /** Whether a row with quoted fields is usable; counts it either way. */
  private check(fields: readonly string[], skipped: SkippedRow[]): boolean {
    if (fields.length !== 6) throw new Error(`the catalog's answer has a row with ${fields.length} fields, not 6`)
    const [run, tag, , , path, time] = fields
    const problem = tagProblem(tag) ?? pathProblem(path) ?? (time === '' ? 'files.time is empty' : undefined)
    if (problem) {
      this.skip(fields, problem, skipped)
      return false
    }
    this.files++
    const runBytes = Buffer.from(run)
    if (!this.lastRun || !runBytes.equals(this.lastRun)) {
      this.lastRun = runBytes
      this.runs++
    }
    return true
  }

  private skip(fields: readonly string[], problem: string, skipped: SkippedRow[]): void {
    const [run, tag, segment, events, path, time] = fields
    this.skipped++
    const row = { runnumber: Number(run), tag, segment: Number(segment), events: Number(events), full_file_path: path, time }
    skipped.push({ row, problem })
  }
}
