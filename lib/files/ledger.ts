// The ledger `<output>/submissions.csv`: one row per event of a submission of a run, appended and fsynced,
// never rewritten. A submission is written as `submitting` before condor_submit runs and completed after it, so
// a crash in between leaves a trace the next run reconciles with the scheduler instead of submitting twice.
import { appendRows, readAppendOnly, type AppendOnlyContents } from './append-only.js'
import { field, type Table } from './csv.js'
import { tagProblem } from './names.js'

/**
 * What became of a submission of a run, as far as caloprod knows:
 * - `submitting`: about to run condor_submit (a row left alone in this state means a crash);
 * - `submitted`: condor_submit accepted it, with cluster and proc (or the scheduler showed it afterwards);
 * - `failed`: condor_submit refused it (nothing reached the scheduler; not an attempt);
 * - `unknown`: condor_submit timed out or printed what we could not read: it may have been submitted;
 * - `lost`: a `submitting` or `unknown` submission the scheduler has never heard of (not an attempt);
 * - `released`: its job, held for memory, about to be given `memory_mb` and released (condor_qedit, condor_release):
 *   the same cluster and proc, one more attempt.
 */
const LEDGER_STATES = ['submitting', 'submitted', 'failed', 'unknown', 'lost', 'released'] as const
type LedgerState = (typeof LEDGER_STATES)[number]

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
  /**
   * The schedd that took the cluster, or (a `submitting` row, an `unknown` one without a cluster) that condor_submit
   * sends to (its `Name`, as GlobalJobId begins); unknown in ledgers written before 2026-12 (this host's schedd).
   */
  schedd?: string
  /** MB of memory each job requested (the condor stage's `--memory`). */
  memoryMb?: number
  /** The frozen submission directory's name under `<output>/submissions/`. */
  submission: string
  /** What happened, in words (condor_submit's error, how the row was reconciled). */
  detail: string
}

const optionalCount = (value: string, column: string) => (value === '' ? undefined : field.count(value, column))

const COLUMNS = ['time', 'runnumber', 'tag', 'attempt', 'state', 'cluster', 'proc', 'schedd', 'memory_mb', 'submission', 'detail']
const FORMER_COLUMNS = COLUMNS.filter((column) => column !== 'schedd' && column !== 'memory_mb')

export const LEDGER_TABLE: Table<LedgerRow> = {
  columns: COLUMNS,
  toFields: (r) => [
    r.time, r.runnumber, r.tag, r.attempt, r.state, r.cluster ?? '', r.proc ?? '', r.schedd ?? '', r.memoryMb ?? '', r.submission, r.detail,
  ],
  fromFields([time, runnumber, tag, attempt, state, cluster, proc, schedd, memory, submission, detail]) {
    if (Number.isNaN(Date.parse(time))) throw new Error(`time "${time}" is not a date`)
    const problem = tagProblem(tag)
    if (problem) throw new Error(problem)
    if (!(LEDGER_STATES as readonly string[]).includes(state)) throw new Error(`state "${state}" is not one of ${LEDGER_STATES.join(', ')}`)
    const row: LedgerRow = {
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
    if (schedd) row.schedd = schedd
    const memoryMb = optionalCount(memory, 'memory_mb')
    if (memoryMb !== undefined) row.memoryMb = memoryMb
    return row
  },
}

/** The ledger as written before it named the schedd and the memory: still read, and upgraded by the next append. */
const FORMER_TABLE: Table<LedgerRow> = {
  columns: FORMER_COLUMNS,
  toFields: LEDGER_TABLE.toFields,
  fromFields: (fields) => LEDGER_TABLE.fromFields([...fields.slice(0, 7), '', '', ...fields.slice(7)]),
}

/** Reads the ledger (readAppendOnly); no file means no submissions yet. */
export function readLedger(path: string): Promise<AppendOnlyContents<LedgerRow>> {
  return readAppendOnly(path, LEDGER_TABLE, FORMER_TABLE)
}

/** Appends rows to the ledger (appendRows, upgrading the former columns); returns whether a torn line was cut. */
export function appendLedger(path: string, rows: readonly LedgerRow[]): Promise<boolean> {
  return appendRows(path, LEDGER_TABLE, rows, FORMER_TABLE)
}
