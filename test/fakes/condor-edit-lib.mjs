// The fake condor_qedit, condor_release and condor_rm (test/fakes/) on the pool of condor-lib.mjs: what caloprod
// does to a job held for memory. Written from HTCondor's source (github.com/htcondor/htcondor):
// - src/condor_tools/qedit.cpp (at 09b5dccd): `condor_qedit [-n SCHEDD] C.P ATTR VALUE` prints
//   `Set attribute "ATTR".` per attribute and exits 0; a job not in the queue fails with `Failed to set attribute
//   "ATTR" for job C.P.` and `Transaction failed.  No attributes were set.` (exit 1); JobStatus, ClusterId, ProcId
//   and Owner are protected; an unknown schedd is `No such schedd named SCHEDD in local pool`. Only `-n` is read
//   (the second letter), so `-name` works too. (Releases since 8.9 print `Set attribute "ATTR" for 1 matching
//   jobs.`: caloprod reads only the exit code.)
// - src/condor_rm.V6/rm.cpp with JobActionResults::getResultString (src/condor_daemon_client/dc_schedd.cpp):
//   `condor_release [-name SCHEDD] C.P` prints `Job C.P released` (stdout, exit 0), `Job C.P not found` or
//   `Job C.P not held to be released` (stderr, exit 1); condor_rm prints `Job C.P marked for removal`.
// The schedd applies a release at once: the job goes back to idle (JobStatus 1), its HoldReason, HoldReasonCode and
// HoldReasonSubCode gone; a removed job leaves the queue for the history (JobStatus 3). An edited RequestMemory holds
// from the next match on, which is why caloprod edits before it releases.
// FAKE_CONDOR_EDIT_MODE=fail (every one of the three fails to reach the schedd), FAKE_CONDOR_DOWN as condor-lib.mjs.
import { fail, knownSchedds, loadState, localSchedd, parentCommand, parseLiteral, saveState, scheddOf, statePath, STATUS } from './condor-lib.mjs'

const PROTECTED = new Set(['owner', 'clusterid', 'procid', 'mytype', 'targettype', 'jobstatus'])

/** Writes `lines` to stderr and exits 1, as the real tools end a failed action. */
function refuse(...lines) {
  process.stderr.write(lines.map((line) => `${line}\n`).join(''))
  process.exit(1)
}

/** Runs the fake `program` (condor_qedit, condor_release or condor_rm) on process.argv. */
export function main(program) {
  const args = process.argv.slice(2)
  let schedd = localSchedd()
  if (args[0] === '-name' || args[0] === '-n') {
    if (!args[1]) fail(program, `${args[0]} requires another argument`)
    schedd = args[1]
    args.splice(0, 2)
  }
  const [id, ...rest] = args
  if (!id || !/^\d+\.\d+$/.test(id)) fail(program, `the fake takes one job id C.P, not ${JSON.stringify(id ?? '')}`)
  const path = statePath(program)
  const state = loadState(path)
  state.calls.push({ program, argv: process.argv.slice(2), schedd, parent: parentCommand() })
  saveState(path, state)
  const down = (process.env.FAKE_CONDOR_DOWN ?? '').split(',').includes(schedd)
  if (process.env.FAKE_CONDOR_EDIT_MODE === 'fail' || down) refuse(`Failed to connect to queue manager <127.0.0.1:9618> (fake)`)
  if (!knownSchedds(state).has(schedd)) {
    refuse(program === 'condor_qedit' ? `${program}: No such schedd named ${schedd} in local pool` : `${program}: unknown host ${schedd}`)
  }
  const job = state.jobs.find((j) => scheddOf(j) === schedd && `${j.ClusterId}.${j.ProcId}` === id && [1, 2, 5, 6, 7].includes(j.JobStatus))
  const now = Math.floor(Date.now() / 1000)

  if (program === 'condor_qedit') {
    const [attr, value] = rest
    if (attr === undefined || value === undefined || rest.length !== 2) fail(program, 'the fake sets one attribute: C.P ATTR VALUE')
    if (PROTECTED.has(attr.toLowerCase())) refuse(`Update of attribute "${attr}" is not allowed.`, 'Transaction failed.  No attributes were set.')
    if (!job) refuse(`Failed to set attribute "${attr}" for job ${id}.`, 'Transaction failed.  No attributes were set.')
    let parsed
    try {
      parsed = parseLiteral(value)
    } catch {
      refuse(`Update aborted, illegal attribute-value specified for attribute "${attr}".`, 'Transaction failed.  No attributes were set.')
    }
    const key = Object.keys(job).find((k) => k.toLowerCase() === attr.toLowerCase()) ?? attr
    job[key] = parsed
    saveState(path, state)
    process.stdout.write(`Set attribute "${attr}".\n`)
    return
  }
  if (rest.length) fail(program, 'the fake takes one job id')
  if (!job) refuse(`Job ${id} not found`)
  if (program === 'condor_release') {
    if (job.JobStatus !== STATUS.held) refuse(`Job ${id} not held to be released`)
    job.JobStatus = STATUS.idle
    delete job.HoldReason
    delete job.HoldReasonCode
    delete job.HoldReasonSubCode
  } else {
    job.JobStatus = STATUS.removed
  }
  job.EnteredCurrentStatus = now
  saveState(path, state)
  process.stdout.write(`Job ${id} ${program === 'condor_release' ? 'released' : 'marked for removal'}\n`)
}
