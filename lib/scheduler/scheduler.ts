// The only module that talks to HTCondor. Programs are started without a shell: a bash given a socket for stdin
// and no SHLVL (as zx's `$` starts it under cron) reads ~/.bashrc first, which once made a night ten times longer.
// zx 8 cannot start a program without a shell, so runInGroup does (stdin closed, timeout kills the whole group).
import { CaloprodError } from '../errors.js'
import type { Env } from '../config/options.js'
import { jobIdText, jobsConstraint, type JobId } from '../condor/job-ids.js'
import { classAdString } from '../condor/quote.js'
import { JOB_ATTRIBUTES, QUEUE_ARGS, resolvedOutput, SUBMISSION_FILES } from '../condor/submit-file.js'
import { runInGroup, type GroupResult } from '../spawn-group.js'
import { plural } from '../plural.js'

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
  /** HoldReasonCode of a held job: 34 is "memory usage exceeded" (see MEMORY_HOLD). */
  holdCode?: number
  /** HoldReasonSubCode: with 34, 104 means the scratch disk, not the memory, ran out. */
  holdSubCode?: number
  /** RequestMemory in MB, as the schedd evaluates it (condor_qedit changes it). */
  requestMemory?: number
  /** EnteredCurrentStatus, seconds since the epoch. */
  since: number | undefined
  /** QDate: when the job was submitted, seconds since the epoch (orders a cluster the ledger does not name). */
  queued?: number
  /** A job in condor_history has left the queue. */
  source: 'condor_q' | 'condor_history'
  /** GlobalJobId up to the first `#` (cluster ids are counted per schedd). */
  schedd?: string
}

export interface SchedulerOptions {
  env: Env
  /** Seconds one call may take. */
  timeout: number
  /** Schedds to ask by name (`-name`) besides this host's: those the ledger says took a submission. */
  schedds?: readonly string[]
  /** Filled with each of `schedds` that could not be asked, and why: not an error, its jobs are just unknown. */
  unanswered?: Map<string, string>
}

/** HoldReason goes last: it is free text and may hold the separator. */
const FIELDS = [
  'ClusterId', 'ProcId', 'JobStatus', 'ExitCode', 'EnteredCurrentStatus', JOB_ATTRIBUTES.runTag, 'GlobalJobId', 'HoldReasonCode',
  'HoldReasonSubCode', 'RequestMemory', 'QDate', 'HoldReason',
]

/**
 * HoldReasonCode 34, JobOutOfResources: the starter held the job for using more memory than it requested ("Job has
 * gone over memory limit of N megabytes.", src/condor_starter.V6.1/vanilla_proc.cpp), unless HoldReasonSubCode is
 * DISK_SUBCODE (its scratch disk outgrew STARTD_ENFORCE_DISK_LIMITS: condor_holdcodes.h).
 */
export const MEMORY_HOLD = 34
export const DISK_SUBCODE = 104

/** Whether the scheduler holds `job` for its memory (MEMORY_HOLD, and not for its disk). */
export const heldForMemory = (job: Pick<SchedulerJob, 'holdCode' | 'holdSubCode'> | undefined): boolean =>
  job?.holdCode === MEMORY_HOLD && job.holdSubCode !== DISK_SUBCODE

type Ran = GroupResult & { stdout: string; stderr: string }

/** Runs `program args` with no shell and stdin closed; rejects with a CaloprodError when it cannot be started. */
async function run(program: string, args: readonly string[], options: SchedulerOptions, cwd?: string): Promise<Ran> {
  const out: Buffer[] = []
  const err: Buffer[] = []
  const ended = await runInGroup(program, args, {
    cwd: cwd ?? '/',
    env: options.env,
    stdio: 'pipe',
    onStdout: (chunk) => out.push(chunk),
    onStderr: (chunk) => err.push(chunk),
    timeoutMs: options.timeout * 1000,
    graceMs: 5000, // SIGKILL for what still runs of the group 5 s after the timeout's SIGTERM
  }).catch((error: NodeJS.ErrnoException) => {
    const why = error.code === 'ENOENT' ? 'is not on PATH (source the HTCondor environment)' : `cannot be started: ${error.message}`
    throw new CaloprodError(`${program} ${why}`)
  })
  return { ...ended, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }
}

/** How a program that did not exit 0 ended, with the first line it printed. */
const howItFailed = (result: Ran) =>
  `(${result.signal ? `killed by ${result.signal}` : `exit ${result.code}`}): ${firstLine(result.stderr || result.stdout)}`

const firstLine = (text: string) => text.split('\n').map((line) => line.trim()).find(Boolean)?.slice(0, 300) ?? '(no message)'

/** A whole number condor printed; `undefined` when the attribute is unset, NaN when it is no number. */
const optionalInt = (value = '') => (value === 'undefined' ? undefined : /^-?\d+$/.test(value) ? Number(value) : NaN)

/** The schedd's name in a GlobalJobId (`<schedd>#<cluster>.<proc>#<time>`), or undefined. */
const scheddOf = (globalJobId = '') => /^([^#]+)#/.exec(globalJobId)?.[1]

function parseJobLine(line: string, source: SchedulerJob['source']): SchedulerJob {
  const fields = line.split('\t')
  const [cluster, proc, status, exitCode, since, runTag = '', globalJobId, holdCode, holdSubCode, memory, qdate] = fields
  const holdReason = fields.slice(11).join('\t')
  const job: SchedulerJob = {
    cluster: Number(cluster), proc: Number(proc), status: Number(status), exitCode: optionalInt(exitCode),
    since: optionalInt(since), runTag, source,
    holdReason: holdReason === 'undefined' || holdReason === '' ? undefined : holdReason,
  }
  const schedd = scheddOf(globalJobId)
  if (schedd) job.schedd = schedd
  const [code, subCode] = [optionalInt(holdCode), optionalInt(holdSubCode)]
  if (Number.isInteger(code)) job.holdCode = code
  if (Number.isInteger(subCode)) job.holdSubCode = subCode
  const queued = optionalInt(qdate)
  if (Number.isInteger(queued)) job.queued = queued
  // An expression the schedd cannot reduce to a number (RequestMemory unset) is no memory we know of.
  const mb = Number(memory)
  if (memory !== 'undefined' && Number.isFinite(mb) && mb > 0) job.requestMemory = Math.ceil(mb)
  const numbers = [job.cluster, job.proc, job.status, job.exitCode ?? 0, job.since ?? 0]
  if (fields.length < FIELDS.length || numbers.some((n) => !Number.isInteger(n)) || job.runTag === '' || job.runTag === 'undefined') {
    throw new CaloprodError(
      `${source} printed a line caloprod cannot read: ${JSON.stringify(line.slice(0, 200))}; expected ${FIELDS.join(', ')}`,
    )
  }
  return job
}

/**
 * condor_q shows only the jobs of the account that asks (CONDOR_Q_ONLY_MY_JOBS, true by default; a constraint does
 * not lift it), so a person looking from their own account would see the production account's queued jobs as
 * unknown, and a resubmit by hand would send them again: `-allusers` (HTCondor 8.5 and later). condor_history shows
 * every account's jobs and has no such option.
 */
const everyOwner = (program: string) => (program === 'condor_q' ? ['-allusers'] : [])

/** `-name SCHEDD` for a tool asking `schedd`, nothing for this host's. */
const scheddArgs = (schedd: string | undefined) => (schedd === undefined ? [] : ['-name', schedd])

/** Asks condor_q or condor_history (of `schedd`, else this host's) for the jobs matching `constraint`. */
async function ask(program: SchedulerJob['source'], constraint: string, options: SchedulerOptions, schedd?: string) {
  const result = await run(program, [...scheddArgs(schedd), ...everyOwner(program), '-constraint', constraint, '-af:t', ...FIELDS], options)
  const who = `${program}${schedd === undefined ? '' : ` -name ${schedd}`}`
  if (result.timedOut) {
    const silent = `did not answer within ${options.timeout}s; is the schedd up (condor_status -schedd)?`
    throw new CaloprodError(`cannot ask the scheduler what is in flight: ${who} ${silent}`)
  }
  if (result.code !== 0) throw new CaloprodError(`cannot ask the scheduler what is in flight: ${who} failed ${howItFailed(result)}`)
  return result.stdout.split('\n').filter((line) => line.trim() !== '').map((line) => parseJobLine(line, program))
}

/**
 * Every job of this output directory (by `CaloprodOutput`: the resolved path, and the path as given, which older
 * jobs carry) in condor_q then condor_history (a job in both just left the queue), of this host's schedd and each
 * of `options.schedds` other than it (asked by -name), sorted. Throws CaloprodError only when this host's schedd cannot be asked.
 */
export async function schedulerJobs(output: string, options: SchedulerOptions): Promise<SchedulerJob[]> {
  // `=?=` compares strings case-sensitively (ClassAd `==` does not) and is never undefined.
  const names = [...new Set([await resolvedOutput(output), output])]
  const constraint = names.map((name) => `${JOB_ATTRIBUTES.output} =?= ${classAdString(name)}`).join(' || ')
  const jobs = new Map<string, SchedulerJob>()
  const askBoth = async (schedd?: string) => {
    for (const program of ['condor_q', 'condor_history'] as const) {
      for (const job of await ask(program, constraint, options, schedd)) jobs.set(`${job.schedd}#${job.cluster}.${job.proc}`, job)
    }
  }
  await askBoth()
  const answered = new Set([...jobs.values()].map((job) => job.schedd))
  // This host's schedd has just answered, whatever its answer held: its name (condor_q -totals, which needs no
  // collector either) spares asking it again by -name, which asks the collector first and fails while it is down.
  // Taken only if its jobs' GlobalJobIds agree: without the schedd's local ad condor_q names it by the host alone,
  // where a schedd run by a user names itself user@host (daemon.cpp localName, get_daemon_name.cpp); then it is
  // asked by that name as any other.
  if ((options.schedds ?? []).some((schedd) => !answered.has(schedd))) {
    const local = await localScheddName(options).catch(() => undefined)
    if (local !== undefined && [...answered].every((schedd) => schedd === local)) answered.add(local)
  }
  for (const schedd of options.schedds ?? []) {
    if (answered.has(schedd)) continue
    await askBoth(schedd).catch((err: unknown) => {
      if (!(err instanceof CaloprodError)) throw err
      options.unanswered?.set(schedd, err.message.replace(/^cannot ask the scheduler what is in flight: /, ''))
    })
  }
  return [...jobs.values()].sort((a, b) => a.cluster - b.cluster || a.proc - b.proc)
}

/**
 * The Name of this host's schedd, the one condor_submit sends to, as `condor_q -totals` titles its answer:
 * `-- Schedd: <Name> : <address> @ <time>` (queue.cpp show_schedd_queue and print_full_header, htcondor 7491a145;
 * condor_q locates the schedd condor_submit does and prints its Name, which heads each job's GlobalJobId). Asked
 * before condor_submit runs, so that a submission whose answer is lost names the schedd to ask from any host.
 * Throws CaloprodError when condor_q fails, times out or names none.
 */
export async function localScheddName(options: SchedulerOptions): Promise<string> {
  const result = await run('condor_q', ['-totals'], options)
  const cannot = 'cannot learn the name of this host\'s schedd (condor_submit\'s)'
  if (result.timedOut) throw new CaloprodError(`${cannot}: condor_q -totals did not answer within ${options.timeout}s`)
  if (result.code !== 0) throw new CaloprodError(`${cannot}: condor_q -totals failed ${howItFailed(result)}`)
  const name = /^-- Schedd: (\S+) : /m.exec(result.stdout)?.[1]
  if (!name || name === 'Unknown') {
    throw new CaloprodError(`${cannot}: condor_q -totals printed no "-- Schedd: <name> : <address>" line: ${firstLine(result.stdout)}`)
  }
  return name
}

/** Which schedd queued cluster `cluster` from this host, by its first job's GlobalJobId; undefined if none says. */
async function scheddOfCluster(cluster: number, options: SchedulerOptions): Promise<string | undefined> {
  for (const program of ['condor_q', 'condor_history']) {
    const result = await run(program, [...everyOwner(program), '-constraint', `ClusterId == ${cluster} && ProcId == 0`, '-af', 'GlobalJobId'], options)
      .catch(() => undefined)
    const schedd = result?.code === 0 ? scheddOf(result.stdout.split('\n')[0]?.trim()) : undefined
    if (schedd) return schedd
  }
}

/**
 * What condor_submit did. `unknown`: it may have submitted (timed out, or printed what we cannot read). `schedd`:
 * the schedd that took the cluster, as condor_q then names it (condor_submit itself never does).
 */
type SubmitOutcome =
  | { kind: 'submitted'; cluster: number; schedd: string | undefined; detail: string }
  | { kind: 'failed'; detail: string }
  | { kind: 'unknown'; cluster: number | undefined; schedd: string | undefined; detail: string }

/** Runs condor_submit in the submission directory `dir`; its `N job(s) submitted to cluster C.` must count `jobs`. */
export async function condorSubmit(dir: string, jobs: number, options: SchedulerOptions): Promise<SubmitOutcome> {
  const result = await run('condor_submit', [SUBMISSION_FILES.sub, '-queue', QUEUE_ARGS], options, dir)
    .catch((err: Error) => err.message)
  if (typeof result === 'string') return { kind: 'failed', detail: result }
  if (result.timedOut || result.signal) {
    const how = result.timedOut ? `did not finish within ${options.timeout}s and was stopped` : 'was killed'
    const detail = `condor_submit ${how} (${result.signal}); the jobs may have been submitted`
    return { kind: 'unknown', cluster: undefined, schedd: undefined, detail }
  }
  if (result.code !== 0) {
    // Its commit went out and no answer came back: the schedd may hold the cluster (submit.cpp, MyQ->disconnect).
    if (/Failed to commit job submission/.test(result.stderr)) {
      const detail = `condor_submit failed ${howItFailed(result)}; the jobs may have been submitted`
      return { kind: 'unknown', cluster: undefined, schedd: undefined, detail }
    }
    return { kind: 'failed', detail: `condor_submit failed ${howItFailed(result)}` }
  }
  const match = /(\d+) job\(s\) submitted to cluster (\d+)\./.exec(result.stdout)
  if (!match) {
    const detail = `condor_submit exited 0 without a "N job(s) submitted to cluster C." line: ${firstLine(result.stdout)}`
    return { kind: 'unknown', cluster: undefined, schedd: undefined, detail }
  }
  const [count, cluster] = [Number(match[1]), Number(match[2])]
  const schedd = await scheddOfCluster(cluster, options)
  if (count !== jobs) {
    return { kind: 'unknown', cluster, schedd, detail: `condor_submit reports ${plural(count, 'job')} in cluster ${cluster}, expected ${jobs}` }
  }
  return { kind: 'submitted', cluster, schedd, detail: `${count} job(s) submitted to cluster ${cluster}` }
}

/** The jobs of a call, for a message: `C.P`, or the first and last and how many. */
const jobsLabel = (jobs: readonly JobId[]) =>
  jobs.length === 1 ? jobIdText(jobs[0]!) : `${jobIdText(jobs[0]!)} … ${jobIdText(jobs.at(-1)!)} (${jobs.length} jobs)`

/**
 * `condor_qedit [-name SCHEDD] -constraint <the jobs> RequestMemory N` (the schedd matches a job against
 * RequestMemory afresh when it leaves hold): one transaction, every job it matches or none. A job of `jobs` that has
 * left the queue is not matched, which fails the call only when none is left (qedit.cpp, qmgmt.cpp
 * SetAttributeByConstraint, htcondor 7491a145); condor_release then reports it not found. Resolves to what went
 * wrong, in words, or undefined. `jobs`: of one schedd, few enough for one argument (lib/condor/job-ids.ts).
 */
export async function setRequestMemory(
  jobs: readonly JobId[], memoryMb: number, schedd: string | undefined, options: SchedulerOptions,
): Promise<string | undefined> {
  const args = [...scheddArgs(schedd), '-constraint', jobsConstraint(jobs), 'RequestMemory', String(memoryMb)]
  const result = await run('condor_qedit', args, options).catch((err: Error) => err.message)
  if (typeof result === 'string') return result
  if (result.timedOut) return `condor_qedit ${jobsLabel(jobs)} did not answer within ${options.timeout}s`
  if (result.code !== 0) return `condor_qedit ${jobsLabel(jobs)} failed ${howItFailed(result)}`
}

/**
 * `condor_release [-name SCHEDD] C.P …`: the schedd judges each job on its own and commits those it released; the
 * tool prints a line per job, `Job C.P released` on stdout, its failure on stderr (`Job C.P not found`, `… not held
 * to be released`, `Permission denied to release job C.P`), and exits 0 if it released any (rm.cpp printNewMessages,
 * dc_schedd.cpp JobActionResults::getResultString, htcondor 7491a145). So a job is released when its line says so,
 * whatever the exit code. Resolves to each job's failure in words, in the order of `jobs`, undefined for one released.
 */
export async function releaseJobs(
  jobs: readonly JobId[], schedd: string | undefined, options: SchedulerOptions,
): Promise<(string | undefined)[]> {
  const ids = jobs.map(jobIdText)
  const result = await run('condor_release', [...scheddArgs(schedd), ...ids], options).catch((err: Error) => err.message)
  if (typeof result === 'string') return ids.map(() => result)
  const released = new Set(result.stdout.split('\n').map((line) => /^Job (\d+\.\d+) released$/.exec(line.trim())?.[1]))
  const said = new Map<string, string>()
  for (const line of result.stderr.split('\n').map((l) => l.trim())) {
    // `Job C.P not found`, `Permission denied to release job C.P`, …: not an address's `127.0` of an error stack.
    const id = /(?:^Job |\bjob )(\d+\.\d+)(?:\s|$)/.exec(line)?.[1]
    if (id !== undefined && !/^No result found/.test(line)) said.set(id, line)
  }
  const call = `condor_release ${jobsLabel(jobs)}`
  return ids.map((id) => {
    if (released.has(id)) return undefined
    if (result.timedOut) return `${call} did not answer within ${options.timeout}s`
    const line = said.get(id)
    if (line !== undefined) return `condor_release ${id} failed: ${line}`
    return result.code === 0 && !result.signal ? `${call} exited 0 without a line for ${id}` : `${call} failed ${howItFailed(result)}`
  })
}
