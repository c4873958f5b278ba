// The only module that talks to HTCondor: condor_q and condor_history (what is queued, what finished) and
// condor_submit. Each runs with zx's `$` (arguments quoted), the caller's environment and a timeout; from
// zx/core, because the whole of zx takes a tenth of a second more to load, on every night's submit.
import { $ } from 'zx/core'
import type { Env } from '../config/options.js'
import { CaloprodError } from '../errors.js'
import { classAdString } from '../condor/quote.js'
import { JOB_ATTRIBUTES, QUEUE_ARGS, SUBMISSION_FILES } from '../condor/submit-file.js'

/** HTCondor's JobStatus values. */
export const JOB_STATUS = { idle: 1, running: 2, removed: 3, completed: 4, held: 5, transferring: 6, suspended: 7 } as const

/** One caloprod job as the scheduler reports it. */
export interface SchedulerJob {
  cluster: number
  proc: number
  /** `<run>_<tag>` (CaloprodRunTag). */
  runTag: string
  status: number
  /** Set once a job has exited normally. */
  exitCode: number | undefined
  holdReason: string | undefined
  /** When the job entered its status, seconds since the epoch. */
  since: number | undefined
  /** Which program reported it: a job in condor_history has left the queue. */
  source: 'condor_q' | 'condor_history'
}

export interface SchedulerOptions {
  env: Env
  /** Seconds one call may take. */
  timeout: number
}

/** HoldReason goes last: it is free text and may hold the separator. */
const FIELDS = ['ClusterId', 'ProcId', 'JobStatus', 'ExitCode', 'EnteredCurrentStatus', JOB_ATTRIBUTES.runTag, 'HoldReason']

function firstLine(text: string): string {
  return text.split('\n').map((line) => line.trim()).find(Boolean)?.slice(0, 300) ?? '(no message)'
}

function run(options: SchedulerOptions & { cwd?: string }) {
  return $({ env: options.env as NodeJS.ProcessEnv, cwd: options.cwd, timeout: options.timeout * 1000, quiet: true, nothrow: true })
}

function optionalInt(value: string): number | undefined {
  return value === 'undefined' ? undefined : /^-?\d+$/.test(value) ? Number(value) : NaN
}

function parseJobLine(line: string, source: SchedulerJob['source']): SchedulerJob {
  const fields = line.split('\t')
  const [cluster, proc, status, exitCode, since, runTag] = fields
  const holdReason = fields.slice(6).join('\t')
  const job: SchedulerJob = {
    cluster: Number(cluster),
    proc: Number(proc),
    status: Number(status),
    exitCode: optionalInt(exitCode ?? ''),
    since: optionalInt(since ?? ''),
    runTag: runTag ?? '',
    holdReason: holdReason === 'undefined' || holdReason === '' ? undefined : holdReason,
    source,
  }
  const numbers = [job.cluster, job.proc, job.status, job.exitCode ?? 0, job.since ?? 0]
  if (fields.length < FIELDS.length || numbers.some((n) => !Number.isInteger(n)) || job.runTag === '' || job.runTag === 'undefined') {
    throw new CaloprodError(
      `${source} printed a line caloprod cannot read: ${JSON.stringify(line.slice(0, 200))}; expected ${FIELDS.join(', ')}`,
    )
  }
  return job
}

/** Asks condor_q or condor_history for the jobs matching `constraint`. Throws CaloprodError if it fails. */
async function ask(program: SchedulerJob['source'], constraint: string, options: SchedulerOptions): Promise<SchedulerJob[]> {
  const result = await run(options)`${program} -constraint ${constraint} -af:t ${FIELDS}`
  if (result.signal) {
    throw new CaloprodError(
      `cannot ask the scheduler what is in flight: ${program} did not answer within ${options.timeout}s; ` +
        'is the schedd up (condor_status -schedd)?',
    )
  }
  if (result.exitCode !== 0) {
    throw new CaloprodError(
      `cannot ask the scheduler what is in flight: ${program} failed (exit ${result.exitCode}): ` +
        `${firstLine(result.stderr || result.stdout)}`,
    )
  }
  return result.stdout.split('\n').filter((line) => line.trim() !== '').map((line) => parseJobLine(line, program))
}

/**
 * Every job of this output directory the scheduler knows: those in the queue (condor_q) and those that left it
 * (condor_history), asked by the `CaloprodOutput` attribute. A job in both (it just left) is taken from the
 * history. Sorted by cluster and proc. Throws CaloprodError when either program fails or times out.
 */
export async function schedulerJobs(output: string, options: SchedulerOptions): Promise<SchedulerJob[]> {
  // `=?=` compares strings case-sensitively (ClassAd `==` does not) and is never undefined.
  const constraint = `${JOB_ATTRIBUTES.output} =?= ${classAdString(output)}`
  const jobs = new Map<string, SchedulerJob>()
  for (const job of await ask('condor_q', constraint, options)) jobs.set(`${job.cluster}.${job.proc}`, job)
  for (const job of await ask('condor_history', constraint, options)) jobs.set(`${job.cluster}.${job.proc}`, job)
  return [...jobs.values()].sort((a, b) => a.cluster - b.cluster || a.proc - b.proc)
}

/** What condor_submit did. `unknown`: it may have submitted (timed out, or printed what we cannot read). */
export type SubmitOutcome =
  | { kind: 'submitted'; cluster: number; detail: string }
  | { kind: 'failed'; detail: string }
  | { kind: 'unknown'; cluster: number | undefined; detail: string }

/**
 * Runs `condor_submit genStatus.sub -queue "input_run from jobs.list"` in the submission directory `dir`
 * and reads the cluster from its `N job(s) submitted to cluster C.` line, which must count `jobs` jobs.
 */
export async function condorSubmit(dir: string, jobs: number, options: SchedulerOptions): Promise<SubmitOutcome> {
  const result = await run({ ...options, cwd: dir })`condor_submit ${SUBMISSION_FILES.sub} -queue ${QUEUE_ARGS}`
  if (result.signal) {
    return {
      kind: 'unknown',
      cluster: undefined,
      detail:
        `condor_submit did not finish within ${options.timeout}s and was stopped (${result.signal}); ` +
        'the jobs may have been submitted',
    }
  }
  if (result.exitCode !== 0) {
    return { kind: 'failed', detail: `condor_submit failed (exit ${result.exitCode}): ${firstLine(result.stderr || result.stdout)}` }
  }
  const match = /(\d+) job\(s\) submitted to cluster (\d+)\./.exec(result.stdout)
  if (!match) {
    return {
      kind: 'unknown',
      cluster: undefined,
      detail: `condor_submit exited 0 without a "N job(s) submitted to cluster C." line: ${firstLine(result.stdout)}`,
    }
  }
  const [count, cluster] = [Number(match[1]), Number(match[2])]
  if (count !== jobs) {
    return { kind: 'unknown', cluster, detail: `condor_submit reports ${count} jobs in cluster ${cluster}, expected ${jobs}` }
  }
  return { kind: 'submitted', cluster, detail: `${count} job(s) submitted to cluster ${cluster}` }
}
