// The fake condor_qedit, condor_release and condor_rm (test/fakes/) on the pool of condor-lib.mjs: what caloprod
// does to jobs held for memory, many at a time. Written from HTCondor's source (github.com/htcondor/htcondor at
// 7491a145, 2026-08-21):
// - src/condor_tools/qedit.cpp (main, makeJobidConstraint) with src/condor_schedd.V6/qmgmt.cpp
//   (SetAttributeByConstraint, ModifyAttrCheck). `condor_qedit [-n[ame] SCHEDD] RESTRICTION ATTR VALUE...`; all the
//   edits are one transaction, all or nothing. RESTRICTION is either
//   - job ids `C.P C.P ...` (the first bare argument and every one after it that starts with a digit): each job is
//     edited in turn; the first that is not in the queue, or not the caller's, fails the whole call: `Failed to set
//     attribute "ATTR" for job C.P.` then `Queue transaction failed.  No attributes were set.` (stderr, exit 1); or
//   - `-constraint EXPR`: every job of the queue the expression matches is edited, and the caller's jobs only
//     (CONDOR_Q_ONLY_MY_JOBS, true by default, adds `User == "<caller>"` at the schedd), so a job the expression names
//     that has left the queue is simply not matched. None matched is an error: `Failed to set attribute "ATTR" by
//     constraint: ( (EXPR) )` then `Queue transaction failed.  No attributes were set.` (exit 1). A constraint that
//     does not parse: `condor_qedit: invalid constraint: EXPR` (exit 1).
//   Success prints `Set attribute "ATTR" for N matching jobs.` per attribute (exit 0): N is how many jobs the edit
//   reached, so with a constraint it may be fewer than the jobs it names. An immutable attribute (Owner, ClusterId,
//   ProcId, JobUniverse, MyType, TargetType, User, OsUser: SYSTEM_IMMUTABLE_JOB_ATTRS in param_info.in) is refused
//   before the schedd is asked: `Update of immutable attribute "ATTR" is not allowed.` then `Transaction failed.  No
//   attributes were set.` (exit 1); so is a value that is no expression (`Update aborted, illegal value for : ATTR`).
//   An unknown schedd: `condor_qedit: No such schedd named SCHEDD in local pool`; one that does not answer: `Failed
//   to connect to queue manager <address>` (exit 1).
// - src/condor_rm.V6/rm.cpp (main, procArg, printNewMessages) with src/condor_daemon_client/dc_schedd.cpp
//   (DCSchedd::actOnJobs, JobActionResults::getResultString) and src/condor_schedd.V6/schedd.cpp
//   (Scheduler::actOnJobs). `condor_release [-name SCHEDD] C.P C.P ...` (condor_rm alike) sends the ids in one
//   request; the schedd judges each job on its own and commits the ones it could act on in one transaction, none if
//   it could act on none. The tool then prints one line per id, in the order given: `Job C.P released` (`marked for
//   removal`) on stdout, else on stderr `Job C.P not found` (not in the queue), `Permission denied to release job
//   C.P` (another user's), `Job C.P not held to be released` (not held, or held while its input spools). It exits 0
//   when the schedd acted on at least one job, else 1 (then an empty line comes first on stderr: the empty error
//   stack). A schedd that does not answer: `DCSchedd::actOnJobs:6001:Failed to connect to schedd`, then `No result
//   found for job C.P` per id (stderr, exit 1); an unknown one: `Error: cannot get address of schedd SCHEDD` (exit 1).
// The schedd applies a release at once: the job goes back to idle (JobStatus 1), its HoldReason, HoldReasonCode and
// HoldReasonSubCode gone; a removed job leaves the queue for the history (JobStatus 3). An edited RequestMemory holds
// from the next match on, which is why caloprod edits before it releases.
// What the fakes leave out: owner names and cluster ids (`C`) as restrictions, -constraint for condor_release and
// condor_rm, -jobids, -edits, -pool, queue superusers; each fails with a line saying so (or is not modelled).
// FAKE_CONDOR_EDIT_MODE=fail (every one of the three fails to reach the schedd), FAKE_CONDOR_DOWN as condor-lib.mjs.
import {
  callerName, fail, IN_QUEUE, knownSchedds, loadState, localSchedd, parentCommand, parseConstraint, parseLiteral, saveState,
  scheddOf, statePath, STATUS,
} from './condor-lib.mjs'
import { carryOnAfterClosedPipe } from './closed-pipe.mjs'

const IMMUTABLE = new Set(['owner', 'clusterid', 'jobuniverse', 'procid', 'mytype', 'targettype', 'user', 'osuser'])
/** HoldReasonCode 16, SpoolingInput: such a job is not released. */
const SPOOLING_INPUT = 16

/** Writes `lines` to stderr and exits 1, as the real tools end a failed action. */
function refuse(...lines) {
  process.stderr.write(lines.map((line) => `${line}\n`).join(''))
  process.exit(1)
}

/** Whether `arg` is `-` and a prefix of `word` at least `min` letters long (is_dash_arg_prefix). */
const dashPrefix = (arg, word, min) => arg.startsWith('-') && arg.length - 1 >= min && word.startsWith(arg.slice(1))

const idOf = (job) => `${job.ClusterId}.${job.ProcId}`
const mine = (job) => (job.Owner ?? callerName()) === callerName()

/** Records the call, then the queue of `schedd`'s jobs, or how reaching that schedd fails. */
function open(program, schedd) {
  const path = statePath(program)
  const state = loadState(path)
  state.calls.push({ program, argv: process.argv.slice(2), schedd, parent: parentCommand() })
  saveState(path, state)
  const down = (process.env.FAKE_CONDOR_DOWN ?? '').split(',').includes(schedd) || process.env.FAKE_CONDOR_EDIT_MODE === 'fail'
  return { path, state, down, known: knownSchedds(state).has(schedd) }
}

/** The queue's job `id` of `schedd` (in the queue: not completed, not removed), or undefined. */
const queued = (state, schedd, id) => state.jobs.find((j) => scheddOf(j) === schedd && idOf(j) === id && IN_QUEUE.has(j.JobStatus))

function qedit(args) {
  const program = 'condor_qedit'
  let schedd = localSchedd()
  let constraint
  const constraints = []
  const ids = []
  const edits = []
  let restricted = false
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (dashPrefix(arg, 'name', 1)) {
      if (i + 1 >= args.length || args[i + 1].startsWith('-')) refuse(`${program}: ${arg} requires a SCHEDD name as an argument`)
      schedd = args[++i]
    } else if (dashPrefix(arg, 'constraint', 1)) {
      if (i + 1 >= args.length) refuse(`${program}: ${arg} requires a ClassAd expression an argument`)
      const text = args[++i]
      constraints.push(text)
      try {
        const matches = parseConstraint(text)
        constraint = constraint ? ((c) => (job) => c(job) && matches(job))(constraint) : matches
      } catch {
        refuse(`${program}: invalid constraint: ${text}`)
      }
      restricted = true
    } else if (arg.startsWith('-')) {
      fail(program, `the fake does not know the option ${arg}`)
    } else if (!restricted) {
      restricted = true
      if (!/^\d/.test(arg)) fail(program, `the fake takes job ids C.P or -constraint, not the owner name ${arg}`)
      ids.push(arg)
      while (i + 1 < args.length && /^\d/.test(args[i + 1])) ids.push(args[++i])
    } else {
      const eq = arg.indexOf('=')
      if (eq < 0 && i + 1 >= args.length) refuse(`${program} : expression required after attribute ${arg}`)
      edits.push(eq < 0 ? [arg, args[++i]] : [arg.slice(0, eq).trim(), arg.slice(eq + 1).trim()])
    }
  }
  if (ids.some((id) => !/^\d+\.\d+$/.test(id))) fail(program, `the fake takes job ids C.P, not ${ids.join(' ')}`)
  if (ids.length && constraint) fail(program, 'the fake takes job ids or -constraint, not both')
  if (!ids.length && !constraint) refuse(`${program} : Error - there were no jobs specified.`)
  if (!edits.length) refuse(`${program} : Error - no attributes specifed.`)
  const values = []
  for (const [attr, value] of edits) {
    if (attr.toLowerCase() === 'jobstatus') fail(program, 'the fake does not edit JobStatus')
    try {
      values.push(parseLiteral(value))
    } catch {
      refuse(`Update aborted, illegal value for : ${attr}`, 'Transaction failed.  No attributes were set.')
    }
  }
  const immutable = edits.find(([attr]) => IMMUTABLE.has(attr.toLowerCase()))
  if (immutable) refuse(`Update of immutable attribute "${immutable[0]}" is not allowed.`, 'Transaction failed.  No attributes were set.')

  const { path, state, down, known } = open(program, schedd)
  if (!known) refuse(`${program}: No such schedd named ${schedd} in local pool`)
  if (down) refuse('Failed to connect to queue manager <127.0.0.1:9618> (fake)')
  // qedit keeps the ids in a std::set: in order of cluster, then proc.
  const sorted = [...new Set(ids)].sort((a, b) => {
    const [ca, pa] = a.split('.').map(Number)
    const [cb, pb] = b.split('.').map(Number)
    return ca - cb || pa - pb
  })
  const changes = []
  const lines = []
  for (const [n, [attr]] of edits.entries()) {
    let reached
    if (ids.length) {
      reached = []
      for (const id of sorted) {
        const job = queued(state, schedd, id)
        if (!job || !mine(job)) refuse(`Failed to set attribute "${attr}" for job ${id}.`, 'Queue transaction failed.  No attributes were set.')
        reached.push(job)
      }
    } else {
      reached = state.jobs.filter((j) => scheddOf(j) === schedd && IN_QUEUE.has(j.JobStatus) && mine(j) && constraint(j))
      // The constraint as qedit prints it: its -constraint arguments joined (GenericQuery::makeQuery).
      const query = `( ${constraints.map((text) => `(${text})`).join(' && ')} )`
      if (!reached.length) refuse(`Failed to set attribute "${attr}" by constraint: ${query}`, 'Queue transaction failed.  No attributes were set.')
    }
    for (const job of reached) changes.push([job, attr, values[n]])
    lines.push(`Set attribute "${attr}" for ${reached.length} matching jobs.`)
  }
  for (const [job, attr, value] of changes) job[Object.keys(job).find((k) => k.toLowerCase() === attr.toLowerCase()) ?? attr] = value
  saveState(path, state)
  process.stdout.write(lines.map((line) => `${line}\n`).join(''))
}

/** condor_release or condor_rm on the job ids of the command line. */
function act(program, args) {
  const release = program === 'condor_release'
  let schedd = localSchedd()
  const ids = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (dashPrefix(arg, 'name', 1)) {
      if (i + 1 >= args.length) refuse(`${program}: -name requires another argument`)
      schedd = args[++i]
    } else if (arg.startsWith('-')) fail(program, `the fake does not know the option ${arg}`)
    else if (/^\d+\.\d+$/.test(arg)) ids.push(arg)
    else fail(program, `the fake takes job ids C.P, not ${JSON.stringify(arg)}`)
  }
  if (!ids.length) refuse('You did not specify any jobs')
  const { path, state, down, known } = open(program, schedd)
  if (!known) refuse(`Error: cannot get address of schedd ${schedd}`)
  if (down) refuse('DCSchedd::actOnJobs:6001:Failed to connect to schedd', ...ids.map((id) => `No result found for job ${id}`))
  const now = Math.floor(Date.now() / 1000)
  const verb = release ? 'release' : 'remove'
  // The schedd's verdict per job (the last one for an id given twice), each seeing the ones before it.
  const results = new Map()
  for (const id of ids) {
    const job = queued(state, schedd, id)
    if (!job) results.set(id, `Job ${id} not found`)
    else if (!mine(job)) results.set(id, `Permission denied to ${verb} job ${id}`)
    else if (release && (job.JobStatus !== STATUS.held || job.HoldReasonCode === SPOOLING_INPUT)) results.set(id, `Job ${id} not held to be released`)
    else {
      if (release) {
        job.JobStatus = STATUS.idle
        delete job.HoldReason
        delete job.HoldReasonCode
        delete job.HoldReasonSubCode
      } else job.JobStatus = STATUS.removed
      job.EnteredCurrentStatus = now
      results.set(id, undefined)
    }
  }
  const acted = [...results.values()].some((failure) => failure === undefined)
  if (acted) saveState(path, state) // one transaction: committed only when it acted on a job
  else process.stderr.write('\n')
  for (const id of ids) {
    const failure = results.get(id)
    if (failure === undefined) process.stdout.write(`Job ${id} ${release ? 'released' : 'marked for removal'}\n`)
    else process.stderr.write(`${failure}\n`)
  }
  process.exitCode = acted ? 0 : 1
}

/** Runs the fake `program` (condor_qedit, condor_release or condor_rm) on process.argv. */
export function main(program) {
  carryOnAfterClosedPipe()
  const args = process.argv.slice(2)
  if (program === 'condor_qedit') qedit(args)
  else act(program, args)
}
