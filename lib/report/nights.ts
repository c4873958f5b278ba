// What each night submitted, and what became of each submission since: the ledger's rows by night, joined with
// the scheduler's jobs and each run's state today.
import { JOB_STATUS, type SchedulerJob } from '../scheduler/scheduler.js'
import { runTagKey } from '../files/dataset-list.js'
import type { LedgerRow } from '../files/ledger.js'
import { STATE_BY_NAME, type ReportStateName, type RunView } from './runs.js'

const colour = (state: ReportStateName) => STATE_BY_NAME.get(state)!.colour

/** What became of one submission of one run, with its colour (those of the run states where they agree). */
export const OUTCOMES = [
  { name: 'in the CDB', colour: colour('current') },
  { name: 'done, not in the CDB', colour: colour('done') },
  { name: 'queued', colour: colour('queued') },
  { name: 'running', colour: colour('running') },
  { name: 'held', colour: colour('held') },
  { name: 'failed', colour: colour('failed') },
  { name: 'never reached the scheduler', colour: '#bababa' },
  { name: 'not known (scheduler silent)', colour: colour('submitted') },
] as const

type Outcome = (typeof OUTCOMES)[number]['name']

export interface NightCount {
  /** The UTC day the submission was made, YYYY-MM-DD. */
  night: string
  outcome: Outcome
  runs: number
}

/** What became of a submission the scheduler took, by its job (undefined: no schedd knows it any more). */
function outcomeOf(row: LedgerRow, job: SchedulerJob | undefined, run: RunView | undefined): Outcome {
  const status = job?.status
  if (status === JOB_STATUS.idle) return 'queued'
  if (status === JOB_STATUS.held) return 'held'
  if (status === JOB_STATUS.running || status === JOB_STATUS.transferring || status === JOB_STATUS.suspended) return 'running'
  if (status !== JOB_STATUS.completed || job!.exitCode !== 0) return 'failed'
  return run?.state === 'current' && run.tag === row.tag ? 'in the CDB' : 'done, not in the CDB'
}

/**
 * Per night and outcome, the runs submitted that night. `rows` is the settled ledger; each submission counts by its
 * last row. Nights in order, outcomes in OUTCOMES' order; only counts above zero.
 */
export function nightCounts(rows: readonly LedgerRow[], jobs: readonly SchedulerJob[] | undefined, runs: readonly RunView[]): NightCount[] {
  const first = new Map<string, string>()
  const last = new Map<string, LedgerRow>()
  for (const row of rows) {
    if (!first.has(row.submission)) first.set(row.submission, row.time)
    last.set(`${row.submission}\0${row.runnumber}\0${row.tag}`, row)
  }
  const byRun = new Map(runs.map((run) => [run.runnumber, run]))
  const jobOf = new Map<string, SchedulerJob>()
  for (const job of jobs ?? []) if (!jobOf.has(`${job.cluster}\0${job.runTag}`)) jobOf.set(`${job.cluster}\0${job.runTag}`, job)
  const counts = new Map<string, NightCount>()
  for (const row of last.values()) {
    const night = first.get(row.submission)!.slice(0, 10)
    const outcome: Outcome = row.state === 'failed' || row.state === 'lost'
      ? 'never reached the scheduler'
      : !jobs || row.cluster === undefined
        ? 'not known (scheduler silent)'
        : outcomeOf(row, jobOf.get(`${row.cluster}\0${runTagKey(row.runnumber, row.tag)}`), byRun.get(row.runnumber))
    counts.set(`${night}\0${outcome}`, { night, outcome, runs: (counts.get(`${night}\0${outcome}`)?.runs ?? 0) + 1 })
  }
  const order = OUTCOMES.map((o): string => o.name)
  return [...counts.values()]
    .sort((a, b) => (a.night < b.night ? -1 : a.night > b.night ? 1 : order.indexOf(a.outcome) - order.indexOf(b.outcome)))
}
