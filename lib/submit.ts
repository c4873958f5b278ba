// The submit stage: plan (what to do with each run of condor/jobs.list, and why), then, with --do-condor-submit,
// settle interrupted submissions, freeze a copy of condor/, record `submitting`, condor_submit, record what it did.
import { readFile, stat } from 'node:fs/promises'
import { join, relative } from 'node:path'
import type { Env, Options } from './config/options.js'
import { CaloprodError, InputError, UsageError } from './errors.js'
import { layout } from './files/layout.js'
import { freezeSubmission } from './condor/freeze.js'
import type { RunState } from './scheduler/job-state.js'
import { currentStates } from './scheduler/current-states.js'
import { runTagKey } from './files/dataset-list.js'
import { readJobsList, type Job } from './condor/jobs-list.js'
import { readProcessList } from './files/process-list.js'
import { condorSubmit, localScheddName } from './scheduler/scheduler.js'
import { memoryOfSubmitFile, outputAttributeLine, resolvedOutput, SUBMISSION_FILES } from './condor/submit-file.js'
import { appendLedger, type LedgerRow } from './files/ledger.js'
import type { Log } from './log.js'
import { decideHeld, releaseHeld } from './scheduler/memory-hold.js'
import { plural } from './plural.js'

export type SubmitOptions = Pick<Options, 'output' | 'runType' | 'doCondorSubmit' | 'maxJobs' | 'maxAttempts' | 'timeout'>
  & Partial<Pick<Options, 'maxMemory' | 'memoryScale'>> & {
  /** Runs a person asked for (examples/resubmit.ts): submitted even past `maxAttempts`, `by hand` in the ledger. */
  runs?: readonly number[]
}

type SubmitContext = { env: Env; log: Log; now?: () => Date }

/** `release`: a job held for memory, with more; `defer`: left for the next run by --max-jobs. */
type Action = 'submit' | 'release' | 'skip' | 'defer'

interface PlanEntry {
  job: Job
  state: RunState
  action: Action
  note: string
  /** The process list's reason for the run, if it gives one. */
  why: string
  attempt: number
  /** MB a release gives the job. */
  memoryMb?: number
}

/** `reconciled` rows are appended only when acting; `memoryMb`: genStatus.sub's. */
type Plan = Awaited<ReturnType<typeof planSubmission>>

/**
 * Days after which a run whose job no schedd knows, and which wrote nothing to output/, is sent again. Only a
 * history is rotated, never a queue, and a job cut off from its schedd ends when its lease runs out (40 minutes by
 * default); two days let a schedd that is down for a night come back first. A run whose schedd does not answer now
 * is not sent however old its submission (`RunState.silent`): that schedd may still queue or run its job.
 */
export const LOST_AFTER_DAYS = 2

/** What to do with a run in a given state; `byHand`: a person asked for the run, past --max-attempts too. */
function decide(state: RunState, maxAttempts: number, byHand: boolean, now: Date): { action: Action; note: string } {
  const retry = (why: string): { action: Action; note: string } => {
    if (state.attempts < maxAttempts) return { action: 'submit', note: `retry ${state.attempts + 1} of ${maxAttempts}: ${why}` }
    if (byHand) return { action: 'submit', note: `by hand after ${plural(state.attempts, 'attempt')} (--max-attempts ${maxAttempts}): ${why}` }
    return { action: 'skip', note: `gave up after ${plural(state.attempts, 'attempt')} (--max-attempts ${maxAttempts}): ${why}` }
  }
  switch (state.state) {
    case 'new':
      return { action: 'submit', note: state.attempts === 0 ? 'new: never submitted' : `new: ${state.detail}` }
    case 'queued':
    case 'running':
    case 'held':
      return { action: 'skip', note: `${state.state}: ${state.detail}` }
    case 'done': {
      const payloads = `its payloads are in output/${state.runnumber}_${state.tag}/ (task upload puts them into the CDB)`
      return { action: 'skip', note: `done but still not current in the CDB: ${state.detail}; ${payloads}` }
    }
    case 'failed':
      return retry(state.detail)
    case 'unknown': {
      const due = Date.parse(state.submitted ?? '') + LOST_AFTER_DAYS * 86400_000
      if (byHand) return { action: 'submit', note: `by hand: unknown: ${state.detail}` }
      // Its job may be queued or running at that schedd: the days count only against a schedd that answers.
      if (state.silent) return { action: 'skip', note: `unknown: ${state.detail}; not sent again while its schedd does not answer` }
      if (now.getTime() < due) {
        const when = new Date(due).toISOString().slice(0, 16).replace('T', ' ')
        return { action: 'skip', note: `unknown: ${state.detail}; sent again after ${when} UTC if it wrote nothing by then` }
      }
      return retry(`${state.detail}, and it wrote nothing to output/ in ${LOST_AFTER_DAYS} days`)
    }
  }
}

/**
 * The plan: every job of condor/jobs.list (or of `options.runs`) with its state and what to do with it. Reads
 * only; throws CaloprodError when the scheduler cannot be asked (nothing can be decided without it).
 */
export async function planSubmission(options: SubmitOptions, ctx: SubmitContext) {
  const condor = layout.condorDir(options.output)
  const subPath = join(condor, SUBMISSION_FILES.sub)
  const jobsPath = join(condor, SUBMISSION_FILES.jobs)
  const listed = await readJobsList(jobsPath)
  // A run asked for by name that is not there is an error.
  const missing = options.runs?.find((run) => !listed.some((job) => job.runnumber === run))
  if (missing !== undefined) {
    const where = `${jobsPath} (not in the process list, or it has no list)`
    throw new UsageError(`run ${missing} is not in ${where}; nothing was submitted`)
  }
  const jobs = options.runs ? listed.filter((job) => options.runs!.includes(job.runnumber)) : listed
  const sub = await readFile(subPath, 'utf8').catch(() => {
    throw new InputError(subPath, undefined, 'does not exist; run the condor stage first')
  })
  // A condor/ directory written for another output directory (moved or copied): its jobs would write there.
  const subLines = new Set(sub.split('\n'))
  if (![await resolvedOutput(options.output), options.output].some((name) => subLines.has(outputAttributeLine(name)))) {
    const why = `was not written by the condor stage for ${options.output}; re-run the condor stage`
    throw new InputError(subPath, undefined, why)
  }
  for (const job of jobs) {
    if (!(await stat(job.list).catch(() => undefined))?.isFile()) {
      throw new InputError(jobsPath, listed.indexOf(job) + 1, `${job.list} does not exist; re-run the lists and condor stages`)
    }
  }
  // The process list's reasons by run, or none when it is not there (a hand-made condor/ directory).
  const processCsv = layout.processCsv(options.output, options.runType)
  const processList = (await stat(processCsv).catch(() => undefined)) ? await readProcessList(processCsv) : []
  const why = new Map(processList.map((entry) => [runTagKey(entry.runnumber, entry.tag), entry.why]))
  const now = (ctx.now ?? (() => new Date()))()
  // By hand, only the runs asked for are settled; the stage settles the others.
  const settle = (row: LedgerRow) => !options.runs || options.runs.includes(row.runnumber)
  const current = await currentStates(options.output, jobs, { env: ctx.env, timeout: options.timeout, now, settle })
  if (current.tornTail) {
    ctx.log.warn(`${layout.ledgerCsv(options.output)}: the last line is incomplete (a crash while writing?); it is ignored`)
  }

  let submitting = 0
  const memoryMb = memoryOfSubmitFile(sub)
  const memoryRules = {
    maxAttempts: options.maxAttempts, maxMemoryMb: Math.round((options.maxMemory ?? 4) * 1024),
    scale: options.memoryScale ?? 1.5, submittedMb: memoryMb,
  }
  const entries = jobs.map((job, i): PlanEntry => {
    const state = current.states[i]!
    const base = { job, state, why: why.get(runTagKey(job.runnumber, job.tag)) ?? '', attempt: state.attempts + 1 }
    if (state.state === 'held') {
      const held = decideHeld(state, memoryRules)
      return { ...base, action: held.release ? 'release' : 'skip', note: held.note, memoryMb: held.memoryMb }
    }
    let { action, note } = decide(state, options.maxAttempts, options.runs !== undefined, now)
    if (action === 'submit' && ++submitting > options.maxJobs) {
      action = 'defer'
      note = `waits for the next run (--max-jobs ${options.maxJobs}); ${note}`
    }
    return { ...base, action, note }
  })
  return { entries, reconciled: current.reconciled, jobs: current.jobs, unanswered: current.unanswered, memoryMb }
}

const formatPlan = (plan: Plan) =>
  plan.entries.map((e) => `${e.job.runnumber} ${e.job.tag} ${e.action}: ${e.note}${e.why ? ` [${e.why}]` : ''}`)

/** The counts of a plan, for the summary line. */
function counts(plan: Plan): string {
  const n = (test: (e: PlanEntry) => boolean) => plan.entries.filter(test).length
  const parts = [
    [n((e) => e.state.state === 'queued' || e.state.state === 'running'), 'in flight'],
    [n((e) => e.action === 'release'), 'held for memory and released with more'],
    [n((e) => e.state.state === 'held' && e.action !== 'release'), 'held'],
    [n((e) => e.state.state === 'done'), 'done but not yet in the CDB'],
    [n((e) => e.action === 'skip' && e.state.state === 'failed'), 'given up'],
    [n((e) => e.action === 'skip' && e.state.state === 'unknown'), 'unknown to every schedd'],
    [n((e) => e.action === 'defer'), 'deferred by --max-jobs'],
  ] as const
  const text = parts.filter(([count]) => count > 0).map(([count, what]) => `${count} ${what}`).join(', ')
  return text ? `; ${text}` : ''
}

function submitCounts(plan: Plan): string {
  const submit = plan.entries.filter((e) => e.action === 'submit')
  const retries = submit.filter((e) => e.state.state === 'failed' || e.state.state === 'unknown').length
  return `${submit.length} run${submit.length === 1 ? '' : 's'}${retries ? ` (${retries} ${retries === 1 ? 'retry' : 'retries'})` : ''}`
}

/** Ledger rows for the jobs of a submission, in one state. */
function rowsFor(
  plan: Plan, submit: PlanEntry[], submission: string, time: string, state: LedgerRow['state'], detail: string,
  cluster?: number, schedd?: string,
): LedgerRow[] {
  return submit.map((entry, proc) => ({
    time, runnumber: entry.job.runnumber, tag: entry.job.tag, attempt: entry.attempt, state, submission, detail,
    cluster, proc: cluster === undefined ? undefined : proc, ...(schedd ? { schedd } : {}),
    ...(plan.memoryMb === undefined ? {} : { memoryMb: plan.memoryMb }),
  }))
}

/**
 * Without `doCondorSubmit`: the plan, changing nothing. With it: one cluster from a frozen copy, each step in the
 * ledger first; throws CaloprodError (exit 1) when condor_submit fails, times out or cannot be read.
 */
export async function runSubmit(options: SubmitOptions, ctx: SubmitContext): Promise<{ lines: string[] }> {
  const plan = await planSubmission(options, ctx)
  const deferred = plan.entries.filter((e) => e.action === 'defer').length
  const submit = plan.entries.filter((e) => e.action === 'submit')
  if (!options.doCondorSubmit) {
    const settle = plan.reconciled.map((row) =>
      `ledger: would record run ${row.runnumber} ${row.tag} of ${row.submission} as ${row.state}: ${row.detail}`)
    const summary = `plan: would submit ${submitCounts(plan)}${counts(plan)}; nothing changed (--do-condor-submit submits)`
    return { lines: [...settle, ...formatPlan(plan), summary] }
  }

  const ledger = layout.ledgerCsv(options.output)
  if (await appendLedger(ledger, plan.reconciled)) ctx.log.warn(`${ledger}: cut off an incomplete last line`)
  for (const row of plan.reconciled) {
    ctx.log.info(`ledger: run ${row.runnumber} ${row.tag} of ${row.submission}: ${row.state}: ${row.detail}`)
  }
  for (const line of formatPlan(plan)) ctx.log.info(line)
  const leftForAPerson = (e: PlanEntry) => e.action === 'skip' && ['held', 'failed', 'unknown'].includes(e.state.state)
  for (const { job, note } of plan.entries.filter(leftForAPerson)) ctx.log.warn(`run ${job.runnumber} ${job.tag}: ${note}`)
  for (const [schedd, why] of plan.unanswered) ctx.log.warn(`schedd ${schedd} did not answer (${why}): its runs are unknown`)
  if (deferred) {
    const rest = `(--max-jobs ${options.maxJobs}), the other ${deferred} wait${deferred === 1 ? 's' : ''} for the next run`
    ctx.log.warn(`${submit.length + deferred} runs are due; submitting ${submit.length} ${rest}`)
  }
  const now = ctx.now ?? (() => new Date())
  const time = () => now().toISOString().replace(/\.\d+Z$/, 'Z')
  const release = plan.entries.filter((e) => e.action === 'release').map((e) => ({ state: e.state, memoryMb: e.memoryMb!, note: e.note }))
  const refused = await releaseHeld(release, ledger, { env: ctx.env, log: ctx.log, timeout: options.timeout, time })
  const notReleased = refused.length ? `; ${refused.length} not released (see the log)` : ''
  if (submit.length === 0) return { lines: [`submit: nothing to submit${counts(plan)}${notReleased}`] }

  // Named before condor_submit runs: a submission whose answer is lost is settled by asking that schedd, from any host.
  const local = await localScheddName({ env: ctx.env, timeout: options.timeout }).catch((err: unknown) => {
    throw err instanceof CaloprodError ? new CaloprodError(`${err.message}; nothing was submitted`) : err
  })
  const frozen = await freezeSubmission(options.output, submit.map((e) => e.job), now())
  const how = `${options.runs ? 'by hand: ' : ''}condor_submit in ${relative(options.output, frozen.dir)}`
  await appendLedger(ledger, rowsFor(plan, submit, frozen.name, time(), 'submitting', how, undefined, local))
  const outcome = await condorSubmit(frozen.dir, submit.length, { env: ctx.env, timeout: options.timeout })
  ctx.log.info(`${frozen.name}: ${outcome.detail}`)
  const cluster = outcome.kind === 'failed' ? undefined : outcome.cluster
  const schedd = (outcome.kind === 'failed' ? undefined : outcome.schedd) ?? local
  await appendLedger(ledger, rowsFor(plan, submit, frozen.name, time(), outcome.kind, outcome.detail, cluster, schedd))
  if (outcome.kind === 'failed') {
    throw new CaloprodError(`${outcome.detail} (in ${frozen.dir}); nothing was submitted; recorded in ${ledger}`)
  }
  if (outcome.kind === 'unknown') {
    const next = 'the next run asks condor_q before submitting these runs again'
    throw new CaloprodError(`${outcome.detail} (in ${frozen.dir}); recorded in ${ledger} as unknown: ${next}`)
  }
  const where = relative(options.output, frozen.dir)
  return { lines: [`submit: ${submitCounts(plan)} submitted to cluster ${outcome.cluster} (${where})${counts(plan)}${notReleased}`] }
}
