// fake-condor (test/fakes/fake-condor) moves the fake pool ($FAKE_CONDOR_STATE, see condor-lib.mjs) along, for tests
// and the demo. JOB is `C.P`, `C` (a cluster) or `all`, optionally after `SCHEDD#` (as GlobalJobId begins);
// without it, the jobs of every schedd match.
//   fake-condor set JOB STATUS [exit=N] [reason=TEXT] [code=N] [subcode=N]   STATUS: idle running held completed
//                             removed (or 1-7); code, subcode: HoldReasonCode (34: out of memory), HoldReasonSubCode
//   fake-condor run [JOB]     runs idle jobs as condor would (Cmd Args in Iwd, a fresh _CONDOR_SCRATCH_DIR,
//                             stdout/stderr to Out/Err) and marks them completed with their exit code; holds a job
//                             whose log folder is gone, or that holds $$( in an attribute
//   fake-condor forget JOB    the history rotated: finished jobs (completed, removed) leave condor_history
//                             (MAX_HISTORY_LOG, MAX_HISTORY_ROTATIONS in HTCondor's configuration manual)
//   fake-condor list          one line per job: id, status, CaloprodRunTag, args
//   fake-condor stop-hanging  kills fake condor commands left hanging by a *_MODE=hang
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { IN_QUEUE, STATUS, fail, loadState, saveState, scheddOf, statePath } from './condor-lib.mjs'
import { endOnClosedPipe } from './closed-pipe.mjs'

/** Runs the fake-condor command on process.argv. */
export function main() {
  endOnClosedPipe()
  const program = 'fake-condor'
  const [command, ...args] = process.argv.slice(2)
  const path = statePath(program)
  const state = loadState(path)
  const matches = (selector = 'all') => (job) => {
    const [schedd, id] = selector.includes('#') ? selector.split('#') : [scheddOf(job), selector]
    return schedd === scheddOf(job) && (id === 'all' || id === `${job.ClusterId}.${job.ProcId}` || id === String(job.ClusterId))
  }
  const now = () => Math.floor(Date.now() / 1000)

  if (command === 'set') {
    const [selector, status, ...rest] = args
    const code = STATUS[status] ?? Number(status)
    if (!Number.isInteger(code) || code < 1 || code > 7) fail(program, `unknown status ${status}`)
    const jobs = state.jobs.filter(matches(selector))
    if (jobs.length === 0) fail(program, `no job ${selector}`)
    for (const job of jobs) {
      job.JobStatus = code
      job.EnteredCurrentStatus = now()
      delete job.HoldReason
      delete job.HoldReasonCode
      delete job.HoldReasonSubCode
      for (const setting of rest) {
        const [key, ...value] = setting.split('=')
        if (key === 'exit') job.ExitCode = Number(value.join('='))
        else if (key === 'reason') job.HoldReason = value.join('=')
        else if (key === 'code') job.HoldReasonCode = Number(value.join('='))
        else if (key === 'subcode') job.HoldReasonSubCode = Number(value.join('='))
        else fail(program, `unknown setting ${setting}`)
      }
    }
    saveState(path, state)
  } else if (command === 'run') {
    for (const job of state.jobs.filter(matches(args[0])).filter((j) => j.JobStatus === STATUS.idle)) {
      // The shadow opens the job's log before anything runs (baseshadow.cpp initUserLog): where it cannot, the job
      // is held, HoldReasonCode 22 (UnableToInitUserLog, condor_holdcodes.h), subcode 0, with this reason.
      // Standard output and error that cannot be written back hold it too (TransferOutputError, 12, the errno as
      // subcode); that reason's words are the fake's own.
      const unwritable = [job.UserLog, job.Out, job.Err].find((file) => file && !existsSync(dirname(file)))
      if (unwritable) {
        const log = unwritable === job.UserLog
        Object.assign(job, {
          JobStatus: STATUS.held, EnteredCurrentStatus: now(), HoldReasonCode: log ? 22 : 12, HoldReasonSubCode: log ? 0 : 2,
          HoldReason: log ? 'Failed to initialize user log' : `Failed to write ${unwritable}: No such file or directory (errno 2)`,
        })
        continue
      }
      // When a job is matched the schedd expands $$(NAME) and $$([expr]) in every attribute but MATCH_* from the
      // machine's ad, then the job's (qmgmt.cpp dollarDollarExpand, htcondor 7491a145); a name found in neither holds
      // the job: holdJob with reason code 0 and "Cannot expand $$ expression (NAME).". The fake has no machine ad,
      // so it holds every such job (a real machine's ad may instead define the name, changing the value silently).
      const unexpanded = Object.entries(job).filter(([name, value]) => !/^MATCH_/i.test(name) && typeof value === 'string')
        .map(([, value]) => /\$\$\(([^)]*)\)/.exec(value)?.[1]).find((name) => name !== undefined)
      if (unexpanded !== undefined) {
        Object.assign(job, {
          JobStatus: STATUS.held, EnteredCurrentStatus: now(), HoldReasonCode: 0, HoldReasonSubCode: 0,
          HoldReason: `Cannot expand $$ expression (${unexpanded}).`,
        })
        continue
      }
      const scratch = mkdtempSync(join(tmpdir(), 'fake-condor-scratch-'))
      const result = spawnSync(job.Cmd, job.Args, { cwd: job.Iwd, env: { ...process.env, _CONDOR_SCRATCH_DIR: scratch }, encoding: 'utf8' })
      rmSync(scratch, { recursive: true, force: true })
      if (job.Out) writeFileSync(job.Out, result.stdout ?? '')
      if (job.Err) writeFileSync(job.Err, (result.stderr ?? '') + (result.error ? `${result.error.message}\n` : ''))
      job.JobStatus = STATUS.completed
      job.EnteredCurrentStatus = now()
      if (result.status === null) delete job.ExitCode
      else job.ExitCode = result.status
    }
    saveState(path, state)
  } else if (command === 'forget') {
    const forgotten = state.jobs.filter(matches(args[0])).filter((job) => !IN_QUEUE.has(job.JobStatus))
    if (forgotten.length === 0) fail(program, `no finished job ${args[0]} to forget`)
    state.jobs = state.jobs.filter((job) => !forgotten.includes(job))
    saveState(path, state)
  } else if (command === 'list') {
    for (const job of state.jobs) process.stdout.write(`${job.ClusterId}.${job.ProcId} ${job.JobStatus} ${job.CaloprodRunTag} ${JSON.stringify(job.Args)}\n`)
  } else if (command === 'stop-hanging') {
    for (const pid of state.hanging ?? []) {
      try { process.kill(pid, 'SIGKILL') } catch {}
    }
    state.hanging = []
    saveState(path, state)
  } else {
    fail(program, 'usage: fake-condor set|run|forget|list|stop-hanging ...', 2)
  }
}
