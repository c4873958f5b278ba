// What each night submitted, and what became of each submission since: the ledger's rows by night, joined with
// the scheduler's jobs and each run's state today.
import { JOB_STATUS, type SchedulerJob } from '../scheduler/scheduler.js'
import { runTagKey } from '../files/dataset-list.js'
import type { LedgerRow } from '../files/ledger.js'
import type { RunView } from './runs.js'
import { STATE_BY_NAME } from './states.js'

/** What became of one submission of one run, with its colour (those of the run states where they agree). */
export const OUTCOMES = [
  { name: 'in the CDB', colour: STATE_BY_NAME.get('current')!.colour },
  { name: 'done, not in the CDB', colour: STATE_BY_NAME.get('done')!.colour },
  { name: 'queued', colour: STATE_BY_NAME.get('queued')!.colour },
  { name: 'running', colour: STATE_BY_NAME.get('running')!.colour },
  { name: 'held', colour: STATE_BY_NAME.get('held')!.colour },
  { name: 'failed', colour: STATE_BY_NAME.get('failed')!.colour },
  { name: 'never reached the scheduler', colour: '#bababa' },
  { name: 'not known (scheduler silent)', colour: STATE_BY_NAME.get('submitted')!.colour },
] as const

type Outcome = (typeof OUTCOMES)[number]['name']

export interface NightCount {
  /** The UTC day the submission was made, YYYY-MM-DD. */
  night: string
  outcome: Outcome
  runs: number
}

function outcomeOf(row: LedgerRow, jobs: readonly SchedulerJob[] | undefined, run: RunView | undefined): Outcome {
  if (row.state === 'failed' || row.state === 'lost') return 'never reached the scheduler'
  if (!jobs || row.cluster === undefined) return 'not known (scheduler silent)'
  const key = runTagKey(row.runnumber, row.tag)
  const job = jobs.find((j) => j.cluster === row.cluster && j.runTag === key)
  if (job?.status === JOB_STATUS.idle) return 'queued'
  if (job?.status === JOB_STATUS.held) return 'held'
  const active = job?.status === JOB_STATUS.running || job?.status === JOB_STATUS.transferring || job?.status === JOB_STATUS.suspended
  if (active) return 'running'
  if (job?.status === JOB_STATUS.completed && job.exitCode === 0) {
    return run?.state === 'current' && run.tag === row.tag ? 'in the CDB' : 'done, not in the CDB'
  }
  return 'failed'
}

/**
 * Per night and outcome, the runs submitted that night. `rows` is the settled ledger; each submission counts by its
 * last row. Nights in order, outcomes in OUTCOMES' order; only counts above zero.
 */
export function nightCounts(rows: readonly LedgerRow[], jobs: readonly SchedulerJob[] | undefined, runs: readonly RunView[]): NightCount[] {
  const first = new Map<string, string>()
  const last = new Map<string, LedgerRow>()
  for (const row of rows) {
    const key = `${row.submission}\0${row.runnumber}\0${row.tag}`
    if (!first.has(row.submission)) first.set(row.submission, row.time)
    last.set(key, row)
  }
  const byRun = new Map(runs.map((run) => [run.runnumber, run]))
  const byCluster = new Map<number, SchedulerJob[]>()
  for (const job of jobs ?? []) {
    const same = byCluster.get(job.cluster)
    if (same) same.push(job)
    else byCluster.set(job.cluster, [job])
  }
  const counts = new Map<string, number>()
  for (const row of last.values()) {
    const night = first.get(row.submission)!.slice(0, 10)
    const clusterJobs = jobs && (row.cluster === undefined ? [] : (byCluster.get(row.cluster) ?? []))
    const key = `${night}\0${outcomeOf(row, clusterJobs, byRun.get(row.runnumber))}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
  }
  const order = new Map(OUTCOMES.map((o, i) => [o.name as string, i]))
  return [...counts]
    .map(([key, count]) => {
      const [night, outcome] = key.split('\0') as [string, Outcome]
      return { night, outcome, runs: count }
    })
    .sort((a, b) => (a.night < b.night ? -1 : a.night > b.night ? 1 : order.get(a.outcome)! - order.get(b.outcome)!))
}
