// The ledger `<output>/submissions.csv`: one row per event of a submission of a run, appended and fsynced,
// never rewritten. A submission is written as `submitting` before condor_submit runs and completed after it, so
// a crash in between leaves a trace the next run reconciles with the scheduler instead of submitting twice.
import { open, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { stringify } from 'csv-stringify/sync'
import { InputError } from '../errors.js'
import { syncDirectory } from './atomic.js'
import { field, parseTable, type Table } from './csv.js'
import { tagProblem } from './names.js'
import { textShapeProblem } from './text-shape.js'

/**
 * What became of a submission of a run, as far as caloprod knows:
 * - `submitting`: about to run condor_submit (a row left alone in this state means a crash);
 * - `submitted`: condor_submit accepted it, with cluster and proc (or the scheduler showed it afterwards);
 * - `failed`: condor_submit refused it (nothing reached the scheduler; not an attempt);
 * - `unknown`: condor_submit timed out or printed what we could not read: it may have been submitted;
 * - `lost`: a `submitting` or `unknown` submission the scheduler has never heard of (not an attempt).
 */
export const LEDGER_STATES = ['submitting', 'submitted', 'failed', 'unknown', 'lost'] as const
export type LedgerState = (typeof LEDGER_STATES)[number]

export interface LedgerRow {
  /** When the row was written, ISO 8601 UTC. */
  time: string
  runnumber: number
  tag: string
  /** Which submission of this run and tag (1, 2, ...). */
  attempt: number
  state: LedgerState
  cluster: number | undefined
  proc: number | undefined
  /** The frozen submission directory's name under `<output>/submissions/`. */
  submission: string
  /** What happened, in words (condor_submit's error, how the row was reconciled). */
  detail: string
}

const optionalCount = (value: string, column: string) => (value === '' ? undefined : field.count(value, column))

/** The ledger's columns, in order. */
export const LEDGER_TABLE: Table<LedgerRow> = {
  columns: ['time', 'runnumber', 'tag', 'attempt', 'state', 'cluster', 'proc', 'submission', 'detail'],
  toFields: (r) => [r.time, r.runnumber, r.tag, r.attempt, r.state, r.cluster ?? '', r.proc ?? '', r.submission, r.detail],
  fromFields([time, runnumber, tag, attempt, state, cluster, proc, submission, detail]) {
    if (Number.isNaN(Date.parse(time))) throw new Error(`time "${time}" is not a date`)
    const problem = tagProblem(tag)
    if (problem) throw new Error(problem)
    if (!(LEDGER_STATES as readonly string[]).includes(state)) throw new Error(`state "${state}" is not one of ${LEDGER_STATES.join(', ')}`)
    return {
      time,
      runnumber: field.count(runnumber, 'runnumber'),
      tag,
      attempt: field.count(attempt, 'attempt'),
      state: state as LedgerState,
      cluster: optionalCount(cluster, 'cluster'),
      proc: optionalCount(proc, 'proc'),
      submission: field.text(submission, 'submission'),
      detail,
    }
  },
}

const HEADER = `${LEDGER_TABLE.columns.join(',')}\n`

export interface LedgerContents {
  rows: LedgerRow[]
  /** A last line without its newline (a crash or a full disk while appending): ignored, and cut off by the next append. */
  tornTail: boolean
}

/** Reads the ledger; no file means no submissions yet. Throws InputError naming the line of anything malformed. */
export async function readLedger(path: string): Promise<LedgerContents> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { rows: [], tornTail: false }
    throw new InputError(path, undefined, `cannot be read: ${(err as Error).message}`)
  }
  // Empty (a crash right after creating it) and a torn last line (a crash mid-append) are a crash's traces, not edits.
  const shape = textShapeProblem(text, { header: HEADER.trim(), emptyOk: true, tornTailOk: true })
  if (shape) throw new InputError(path, shape.line, shape.message)
  const end = text.lastIndexOf('\n') + 1
  const tornTail = end < text.length
  return { rows: parseTable(text.slice(0, end), path, LEDGER_TABLE), tornTail }
}

/** One line per row; a detail never spans lines. */
function formatRows(rows: readonly LedgerRow[]): string {
  const records = rows.map((row) => LEDGER_TABLE.toFields({ ...row, detail: row.detail.replace(/[\r\n]+/g, ' ') }))
  return stringify(records as (string | number)[][], { record_delimiter: 'unix' })
}

/**
 * Appends rows to the ledger (O_APPEND), with the header when the file is new, and fsyncs before returning, so
 * a row is on disk before the action it announces. Earlier bytes are never changed, except a torn last line
 * (no newline: a crash mid-append), which is cut off first. Returns whether a torn line was cut.
 */
export async function appendLedger(path: string, rows: readonly LedgerRow[]): Promise<boolean> {
  if (rows.length === 0) return false
  const handle = await open(path, 'a+')
  let cut = false
  let created = false
  try {
    const size = (await handle.stat()).size
    created = size === 0
    let prefix = size === 0 ? HEADER : ''
    if (size > 0) {
      const last = Buffer.alloc(1)
      await handle.read(last, 0, 1, size - 1)
      if (last[0] !== 0x0a) {
        // Find the start of the torn line and cut it: it never became a row.
        const text = await readFile(path)
        const keep = text.lastIndexOf(0x0a) + 1
        await handle.truncate(keep)
        prefix = keep === 0 ? HEADER : ''
        cut = true
      }
    }
    await handle.write(prefix + formatRows(rows))
    await handle.sync()
  } finally {
    await handle.close()
  }
  // A new file's directory entry must be durable too.
  if (created) await syncDirectory(dirname(path))
  return cut
}
