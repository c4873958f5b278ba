// What became of each run's jobs: the ledger (what caloprod submitted) joined with what condor knows. Pure; rows
// and jobs are grouped by run and tag once, so the state of every run costs one pass over them.
import type { FoldersRead } from '../files/folder-files.js'
import type { LedgerRow } from '../files/ledger.js'
import { runTagKey } from '../files/dataset-list.js'
import { JOB_STATUS, type SchedulerJob } from './scheduler.js'

/**
 * `unknown`: the latest job is in the ledger but no schedd knows it (a rotated history, a schedd that does not
 * answer), so it may have run or be running; see `writtenSince` and the submit stage's rule.
 */
export type RunStateName = 'new' | 'queued' | 'running' | 'held' | 'done' | 'failed' | 'unknown'

export interface RunState {
  runnumber: number
  tag: string
  state: RunStateName
  /** Submissions that reached (or may have reached) the scheduler. */
  attempts: number
  /** The job the state is about: the latest one. */
  job: SchedulerJob | undefined
  cluster: number | undefined
  /** The schedd of the latest cluster, when the ledger or the scheduler names it. */
  schedd: string | undefined
  /** When the latest cluster was submitted, by the ledger (ISO 8601 UTC); undefined for a job it does not have. */
  submitted: string | undefined
  /** The ledger's submission (frozen directory) of the latest cluster. */
  submission?: string
  /** The state in words: hold reason, exit code, cluster, why a submission did not count. */
  detail: string
  /**
   * An `unknown` run whose schedd did not answer now (not one that answered without the job): its job may well be
   * queued or running there, however long ago it was submitted.
   */
  silent?: boolean
}

/** The schedds that did not answer, and why; the submit stage running now (lock.ts `submitInFlight`), if any. */
export type StateContext = { unanswered?: ReadonlyMap<string, string>; inFlight?: { since: string; by: string } }

const IN_FLIGHT: ReadonlySet<number> = new Set([
  JOB_STATUS.idle, JOB_STATUS.running, JOB_STATUS.held, JOB_STATUS.transferring, JOB_STATUS.suspended,
])

/** Items by `<run>_<tag>` (or any key), in their order. */
export function byRunTag<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>()
  for (const item of items) {
    const k = key(item)
    if (!groups.has(k)) groups.set(k, [])
    groups.get(k)!.push(item)
  }
  return groups
}

const rowKey = (row: LedgerRow) => runTagKey(row.runnumber, row.tag)

/** The last row of each submission of each run: a submission's current state. */
function latestPerSubmission(rows: readonly LedgerRow[]): LedgerRow[] {
  const latest = new Map<string, LedgerRow>()
  for (const row of rows) latest.set(`${row.submission}\0${row.runnumber}\0${row.tag}`, row)
  return [...latest.values()]
}

const unsettled = (row: LedgerRow) => row.state === 'submitting' || row.state === 'unknown'

/** Whether a job is the cluster a row names: a row without a schedd (an older ledger) names this host's. */
const named = (row: LedgerRow) => (job: SchedulerJob) => job.cluster === row.cluster && (!row.schedd || job.schedd === row.schedd)

/** Whether any submission is still `submitting` or `unknown`: only the scheduler can settle it. */
export function hasUnsettled(rows: readonly LedgerRow[]): boolean {
  return latestPerSubmission(rows).some(unsettled)
}

/**
 * The schedds to ask by name, by the ledger: the one the latest cluster of each of `runs` went to, and the one of
 * each unsettled submission of any run (`reconcile` settles them all, and only an answer from its schedd may). Sorted.
 */
export function scheddsToAsk(rows: readonly LedgerRow[], runs: readonly { runnumber: number; tag: string }[]): string[] {
  const latest = new Map<string, string | undefined>()
  for (const row of rows) if (row.cluster !== undefined) latest.set(rowKey(row), row.schedd)
  const schedds = new Set(runs.map((run) => latest.get(runTagKey(run.runnumber, run.tag))))
  for (const row of latestPerSubmission(rows)) if (unsettled(row)) schedds.add(row.schedd)
  return [...schedds].filter((schedd): schedd is string => schedd !== undefined).sort()
}

/** When a job entered its state, e.g. ` since 2025-01-01 02:00 UTC`. */
const jobTime = (job: SchedulerJob, word: 'since' | 'at' = 'since') =>
  job.since === undefined ? '' : ` ${word} ${minutes(job.since * 1000)}`

const minutes = (ms: number) => `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`

/**
 * Whether a row was written by the submit stage running now (`inFlight.since`: when it took the lock; the ledger's
 * times are whole seconds): its `submitting` and `unknown` rows are being decided, not left by a stopped submit.
 */
export function writtenInFlight(row: LedgerRow, inFlight: { since: string } | undefined): boolean {
  return inFlight !== undefined && Date.parse(row.time) >= Math.floor(Date.parse(inFlight.since) / 1000) * 1000
}

/**
 * Rows settling submissions left `submitting` (a crash before condor_submit) or `unknown` (it timed out or printed
 * nonsense): a job of the run (at the row's schedd, if it names one) whose cluster no row names is the one
 * submitted; none means `lost` (submit again). Left as they are: the rows of the submit stage running now
 * (`context.inFlight`, lock.ts `submitInFlight`), and those whose schedd did not answer (`context.unanswered`): its
 * silence is no proof the job is not there.
 */
export function reconcile(
  rows: readonly LedgerRow[], jobs: readonly SchedulerJob[], now: string, context: StateContext = {},
): LedgerRow[] {
  // A cluster a row names, by schedd; a row without one (an older ledger) names that cluster of any schedd.
  const id = (key: string, schedd: string | undefined, cluster: number | undefined) => `${key}\0${schedd ?? '*'}#${cluster}`
  const claimed = new Set(rows.filter((row) => row.cluster !== undefined).map((row) => id(rowKey(row), row.schedd, row.cluster)))
  const isClaimed = (key: string, job: SchedulerJob) =>
    claimed.has(id(key, job.schedd, job.cluster)) || claimed.has(id(key, '*', job.cluster))
  const jobsOf = byRunTag(jobs, (job) => job.runTag)
  const settled: LedgerRow[] = []
  for (const row of latestPerSubmission(rows)) {
    if (!unsettled(row) || writtenInFlight(row, context.inFlight)) continue
    if (row.schedd !== undefined && context.unanswered?.has(row.schedd)) continue
    const key = rowKey(row)
    const mine = (jobsOf.get(key) ?? []).filter((job) => !row.schedd || job.schedd === row.schedd)
    const found = (row.cluster !== undefined ? mine.find(named(row)) : undefined) ?? mine.find((job) => !isClaimed(key, job))
    if (found) {
      claimed.add(id(key, found.schedd, found.cluster))
      settled.push({
        ...row, time: now, state: 'submitted', cluster: found.cluster, proc: found.proc,
        ...(found.schedd ? { schedd: found.schedd } : {}),
        detail: `reconciled: ${found.source} knows it as job ${found.cluster}.${found.proc}`,
      })
    } else {
      const detail = `reconciled: was ${row.state}, but neither condor_q nor condor_history knows a job of it: never submitted`
      settled.push({ ...row, time: now, state: 'lost', cluster: undefined, proc: undefined, detail })
    }
  }
  return settled
}

/**
 * One cluster that ran (or may have run) the run; `submitted` '' for a job the ledger lacks. `at` orders attempts:
 * the ledger's time, never before an earlier row's (the ledger is appended in order; its times are each submitting
 * host's clock, which a node behind or a clock stepped back puts out of it), else the job's QDate (a cluster
 * submitted by hand, or by a condor_submit that reported a failed commit the schedd had made), else the oldest.
 */
type Attempt = {
  cluster: number; schedd: string | undefined; job: SchedulerJob | undefined; submitted: string; submission?: string; at: number
  /** Its place in the ledger (of the submission's first row); undefined for a job the ledger lacks. */
  rank?: number
}

/** A run's attempts, oldest first: each cluster the ledger names, and each job of the run it does not. */
function attemptsOf(rows: readonly LedgerRow[], jobs: readonly SchedulerJob[]): Attempt[] {
  const firstTime = new Map<string, string>()
  const order = new Map<string, { at: number; rank: number }>()
  let latest = -Infinity
  for (const row of rows) {
    if (firstTime.has(row.submission)) continue
    firstTime.set(row.submission, row.time)
    latest = Math.max(latest, Date.parse(row.time))
    order.set(row.submission, { at: latest, rank: order.size })
  }
  const attempts = new Map<string, Attempt>()
  for (const row of latestPerSubmission(rows)) {
    if (row.cluster === undefined || row.state === 'failed' || row.state === 'lost') continue
    const job = jobs.find(named(row))
    const schedd = job?.schedd ?? row.schedd
    const submitted = firstTime.get(row.submission)!
    const attempt = { cluster: row.cluster, schedd, job, submitted, submission: row.submission, ...order.get(row.submission)! }
    attempts.set(`${schedd}#${row.cluster}`, attempt)
  }
  for (const job of jobs) {
    const key = `${job.schedd}#${job.cluster}`
    const known = attempts.get(key)
    if (known) known.job ??= job
    else attempts.set(key, { cluster: job.cluster, schedd: job.schedd, job, submitted: '', at: (job.queued ?? -Infinity) * 1000 })
  }
  // A time lifted to the one before ties with it: the ledger says which came later (each schedd numbers its own clusters).
  const tie = (a: Attempt, b: Attempt) => (a.rank !== undefined && b.rank !== undefined ? a.rank - b.rank : a.cluster - b.cluster)
  return [...attempts.values()].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : tie(a, b)))
}

/** A run's state from its rows (after `reconcile`) and jobs: a job in the queue decides, else the latest attempt. */
function stateOf(
  runnumber: number, tag: string, rows: readonly LedgerRow[], jobs: readonly SchedulerJob[], context: StateContext,
): RunState {
  const submissions = latestPerSubmission(rows)
  const ordered = attemptsOf(rows, jobs)
  const pending = submissions.filter((row) => unsettled(row) && row.cluster === undefined)
  // A job released with more memory keeps its cluster: each release is one more attempt.
  const releases = rows.filter((row) => row.state === 'released').length
  const attempts = ordered.length + pending.length + releases
  const base = { runnumber, tag, attempts }
  const of = (attempt: Attempt) => ({
    cluster: attempt.cluster, schedd: attempt.schedd, submitted: attempt.submitted || undefined, submission: attempt.submission,
  })

  const flying = ordered.filter((attempt) => attempt.job && IN_FLIGHT.has(attempt.job.status)).at(-1)
  if (flying) {
    const job = flying.job!
    const id = `job ${job.cluster}.${job.proc}`
    const state = job.status === JOB_STATUS.idle ? 'queued' : job.status === JOB_STATUS.held ? 'held' : 'running'
    const detail = state === 'held' ? `${id}${jobTime(job)}: ${job.holdReason ?? 'no reason given'}` : `${id}${jobTime(job)}`
    return { ...base, state, job, ...of(flying), detail }
  }
  const none = { job: undefined, cluster: undefined, schedd: undefined, submitted: undefined }
  if (pending.length > 0) {
    const row = pending.at(-1)!
    // Left unsettled by `reconcile` because the schedd it went to did not answer: its job may be there, or not.
    const silent = !writtenInFlight(row, context.inFlight) && row.schedd !== undefined ? context.unanswered?.get(row.schedd) : undefined
    if (silent !== undefined) {
      const detail = `submission ${row.submission} is ${row.state}: schedd ${row.schedd} did not answer: ${silent}`
      return { ...base, state: 'unknown', ...none, schedd: row.schedd, submission: row.submission, detail, silent: true }
    }
    const detail = writtenInFlight(row, context.inFlight)
      ? `submission ${row.submission} is being submitted now, by ${context.inFlight!.by}`
      : `submission ${row.submission} is ${row.state} and not yet known to the scheduler`
    return { ...base, state: 'queued', ...none, detail }
  }
  const latest = ordered.at(-1)
  if (!latest) {
    const last = submissions.at(-1)
    const detail = last ? `not submitted yet: last try ${last.submission} ${last.state}: ${last.detail}` : 'not submitted yet'
    return { ...base, state: 'new', ...none, detail }
  }
  const tries = `attempt ${attempts}`
  const job = latest.job
  if (!job) {
    const silent = latest.schedd !== undefined && context.unanswered?.has(latest.schedd) === true
    return { ...base, state: 'unknown', job, ...of(latest), detail: `${tries}: ${lostTrack(latest, context)}`, ...(silent ? { silent } : {}) }
  }
  const id = `job ${job.cluster}.${job.proc}`
  if (job.status === JOB_STATUS.completed && job.exitCode === 0) {
    return { ...base, state: 'done', job, ...of(latest), detail: `${id} finished${jobTime(job, 'at')}` }
  }
  const how = job.status === JOB_STATUS.removed ? 'was removed'
    : job.exitCode === undefined ? 'ended abnormally (signal)' : `exited ${job.exitCode}`
  return { ...base, state: 'failed', job, ...of(latest), detail: `${tries}: ${id} ${how}${jobTime(job, 'at')}` }
}

/** Why nobody knows a cluster: which schedd was asked, and what it said. */
function lostTrack(attempt: Attempt, context: StateContext): string {
  const where = attempt.schedd ? `schedd ${attempt.schedd}` : "this host's schedd (the ledger names none)"
  const silent = attempt.schedd ? context.unanswered?.get(attempt.schedd) : undefined
  const submitted = `submitted ${minutes(Date.parse(attempt.submitted))}`
  if (silent) return `cluster ${attempt.cluster} (${submitted}): ${where} did not answer: ${silent}`
  return `cluster ${attempt.cluster} (${submitted}) is known to neither condor_q nor condor_history of ${where}`
}

/** The state of each of `runs`, in their order, from the whole ledger (after `reconcile`) and every job reported. */
export function runStates(
  runs: readonly { runnumber: number; tag: string }[], rows: readonly LedgerRow[], jobs: readonly SchedulerJob[],
  context: StateContext = {},
): RunState[] {
  const rowsOf = byRunTag(rows, rowKey)
  const jobsOf = byRunTag(jobs, (job) => job.runTag)
  return runs.map(({ runnumber, tag }) => {
    const key = runTagKey(runnumber, tag)
    return stateOf(runnumber, tag, rowsOf.get(key) ?? [], jobsOf.get(key) ?? [], context)
  })
}

/** The state of one run; for many, `runStates`, which groups the rows and jobs once. */
export function runState(
  runnumber: number, tag: string, rows: readonly LedgerRow[], jobs: readonly SchedulerJob[], context: StateContext = {},
): RunState {
  return runStates([{ runnumber, tag }], rows, jobs, context)[0]!
}

/**
 * An `unknown` run whose job folder `output/<run>_<tag>/` got files after the cluster was submitted (`written`: the
 * newest file's mtime, ms) is done: the job wrapper copies genStatus's output only when genStatus exited 0. Both
 * times by the file server's clock: `frozen` is when its submission was frozen (condor/freeze.ts frozenAt); only
 * without it (the folder deleted) the ledger's time, by the clock of the host that submitted.
 */
export function writtenSince(state: RunState, written: number | undefined, frozen?: number): RunState {
  if (state.state !== 'unknown' || written === undefined || state.submitted === undefined) return state
  if (written < (frozen ?? Date.parse(state.submitted))) return state
  const folder = `output/${runTagKey(state.runnumber, state.tag)}/`
  // Its schedd not asked (silent) is not a schedd that no longer knows the job: say which it is.
  const detail = state.silent
    ? `schedd ${state.schedd} did not answer, but cluster ${state.cluster} wrote ${folder} at ${minutes(written)}`
    : `cluster ${state.cluster} is known to no schedd any more, but wrote ${folder} at ${minutes(written)}`
  return { ...state, state: 'done', detail }
}

/** `state` as writtenSince settles it from the folders `read` holds; undefined when `read` did not read its folder. */
export function writtenSinceRead(state: RunState, read: FoldersRead): RunState | undefined {
  const seen = read.folder(state.runnumber, state.tag)
  return seen && writtenSince(state, seen.newest, state.submission === undefined ? undefined : read.frozen.get(state.submission))
}
