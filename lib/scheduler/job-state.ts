// What became of each run's jobs: the ledger (what caloprod submitted) joined with the scheduler (what condor
// knows). Pure functions, shared by the submit and status stages.
import type { LedgerRow } from '../files/ledger.js'
import { runTagKey } from '../files/dataset-list.js'
import { JOB_STATUS, type SchedulerJob } from './scheduler.js'

/** A run's state: `new` (never reached the scheduler), in flight (`queued`, `running`, `held`), or finished (`done`, `failed`). */
export type RunStateName = 'new' | 'queued' | 'running' | 'held' | 'done' | 'failed'

export interface RunState {
  runnumber: number
  tag: string
  state: RunStateName
  /** Submissions that reached (or may have reached) the scheduler. */
  attempts: number
  /** The job the state is about: the latest one. */
  job: SchedulerJob | undefined
  cluster: number | undefined
  /** The state in words: hold reason, exit code, cluster, why a submission did not count. */
  detail: string
}

const IN_FLIGHT: ReadonlySet<number> = new Set([
  JOB_STATUS.idle, JOB_STATUS.running, JOB_STATUS.held, JOB_STATUS.transferring, JOB_STATUS.suspended,
])

/** The last row of each submission of each run: a submission's current state. */
function latestPerSubmission(rows: readonly LedgerRow[]): LedgerRow[] {
  const latest = new Map<string, LedgerRow>()
  for (const row of rows) latest.set(`${row.submission}\0${row.runnumber}\0${row.tag}`, row)
  return [...latest.values()]
}

/** Whether any submission is still `submitting` or `unknown`: only the scheduler can settle it. */
export function hasUnsettled(rows: readonly LedgerRow[]): boolean {
  return latestPerSubmission(rows).some((row) => row.state === 'submitting' || row.state === 'unknown')
}

/** When a job entered its state, e.g. ` since 2025-01-01 02:00 UTC`. */
function jobTime(job: SchedulerJob, word: 'since' | 'at' = 'since'): string {
  return job.since === undefined ? '' : ` ${word} ${new Date(job.since * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

/**
 * The ledger rows that settle submissions left `submitting` (a crash between the ledger and condor_submit) or
 * `unknown` (condor_submit timed out or printed nonsense), by what the scheduler knows of their run: a job of
 * the run whose cluster no ledger row names is the one submitted (`submitted`, with its cluster); none means
 * condor_submit never got through (`lost`: the run may be submitted again).
 */
export function reconcile(rows: readonly LedgerRow[], jobs: readonly SchedulerJob[], now: string): LedgerRow[] {
  const claimed = new Set(
    rows.filter((row) => row.cluster !== undefined).map((row) => `${runTagKey(row.runnumber, row.tag)}\0${row.cluster}`),
  )
  const settled: LedgerRow[] = []
  for (const row of latestPerSubmission(rows)) {
    if (row.state !== 'submitting' && row.state !== 'unknown') continue
    const key = runTagKey(row.runnumber, row.tag)
    const mine = jobs.filter((job) => job.runTag === key)
    const found =
      (row.cluster !== undefined ? mine.find((job) => job.cluster === row.cluster) : undefined) ??
      mine.find((job) => !claimed.has(`${key}\0${job.cluster}`))
    if (found) {
      claimed.add(`${key}\0${found.cluster}`)
      settled.push({
        ...row,
        time: now,
        state: 'submitted',
        cluster: found.cluster,
        proc: found.proc,
        detail: `reconciled: ${found.source} knows it as job ${found.cluster}.${found.proc}`,
      })
    } else {
      settled.push({
        ...row,
        time: now,
        state: 'lost',
        cluster: undefined,
        proc: undefined,
        detail: `reconciled: was ${row.state}, but neither condor_q nor condor_history knows a job of it: never submitted`,
      })
    }
  }
  return settled
}

/**
 * A run's state from its ledger rows (after `reconcile`) and the scheduler's jobs. Each cluster that ran the
 * run is one attempt; the latest job decides: in the queue it is queued, running or held; out of it, done
 * (exit 0) or failed (other exit, removed, or vanished from both queue and history).
 */
export function runState(runnumber: number, tag: string, rows: readonly LedgerRow[], jobs: readonly SchedulerJob[]): RunState {
  const key = runTagKey(runnumber, tag)
  const submissions = latestPerSubmission(rows.filter((row) => row.runnumber === runnumber && row.tag === tag))
  const mine = jobs.filter((job) => job.runTag === key)
  const clusters = new Map<number, SchedulerJob | undefined>()
  for (const row of submissions) {
    if (row.cluster !== undefined && row.state !== 'failed' && row.state !== 'lost') clusters.set(row.cluster, undefined)
  }
  for (const job of mine) clusters.set(job.cluster, job)
  const pending = submissions.filter((row) => (row.state === 'submitting' || row.state === 'unknown') && row.cluster === undefined)
  const attempts = clusters.size + pending.length
  const base = { runnumber, tag, attempts }

  const flying = mine.filter((job) => IN_FLIGHT.has(job.status)).at(-1)
  if (flying) {
    const id = `job ${flying.cluster}.${flying.proc}`
    const state = flightState(flying.status)
    const detail = state === 'held' ? `${id}${jobTime(flying)}: ${flying.holdReason ?? 'no reason given'}` : `${id}${jobTime(flying)}`
    return { ...base, state, job: flying, cluster: flying.cluster, detail }
  }
  if (pending.length > 0) {
    const row = pending.at(-1)!
    const detail = `submission ${row.submission} is ${row.state} and not yet known to the scheduler`
    return { ...base, state: 'queued', job: undefined, cluster: undefined, detail }
  }
  if (clusters.size === 0) {
    const last = submissions.at(-1)
    const detail = last ? `not submitted yet: last try ${last.submission} ${last.state}: ${last.detail}` : 'not submitted yet'
    return { ...base, state: 'new', job: undefined, cluster: undefined, detail }
  }
  const cluster = Math.max(...clusters.keys())
  const job = clusters.get(cluster)
  const tries = `attempt ${attempts}`
  if (!job) {
    return { ...base, state: 'failed', job, cluster, detail: `${tries}: cluster ${cluster} is in neither condor_q nor condor_history` }
  }
  const id = `job ${job.cluster}.${job.proc}`
  if (job.status === JOB_STATUS.completed && job.exitCode === 0) {
    return { ...base, state: 'done', job, cluster, detail: `${id} finished${jobTime(job, 'at')}` }
  }
  return { ...base, state: 'failed', job, cluster, detail: `${tries}: ${id} ${howItEnded(job)}${jobTime(job, 'at')}` }
}

/** What a job still in condor_q is to us: idle is queued, held is held, anything else runs. */
function flightState(status: number): RunStateName {
  if (status === JOB_STATUS.idle) return 'queued'
  if (status === JOB_STATUS.held) return 'held'
  return 'running'
}

/** How a job that did not finish well ended, in words. */
function howItEnded(job: SchedulerJob): string {
  if (job.status === JOB_STATUS.removed) return 'was removed'
  if (job.exitCode === undefined) return 'ended abnormally (signal)'
  return `exited ${job.exitCode}`
}
