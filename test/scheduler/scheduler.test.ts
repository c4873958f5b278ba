// lib/scheduler/scheduler.ts in-process against the fake HTCondor (test/fakes: condor_q, condor_history and
// condor_submit first on PATH, their queue in FAKE_CONDOR_STATE): what the scheduler reports, what condor_submit
// did, and each way they fail (FAKE_CONDOR_*_MODE) or do not answer in time.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { CaloprodError } from '../../lib/errors.js'
import { condorSubmit, JOB_STATUS, schedulerJobs, type SchedulerOptions } from '../../lib/scheduler/scheduler.js'
import { prepareSubmit, someRuns, TAG } from '../helpers/condor-output.js'
import { fakeCondorEnv, readFakeState, stopHanging } from '../helpers/fake-condor.js'

/** A fake queue holding `jobs` (their attributes as condor_q would print them). */
function fakeQueue(t: Test, jobs: Record<string, unknown>[]): { dir: string; state: string } {
  const dir = t.testdir()
  const state = join(dir, 'condor-state.json')
  writeFileSync(state, JSON.stringify({ nextCluster: 100, jobs, calls: [] }))
  t.teardown(() => stopHanging(state))
  return { dir, state }
}

// The whole environment, as a stage passes it: bash (zx's shell) given only the fakes' variables would take its
// socket stdin for sshd's and read ~/.bashrc, whose complaints would become condor_*'s first line.
const options = (state: string, extra: Record<string, string> = {}, timeout = 10): SchedulerOptions => ({
  env: { ...process.env, ...fakeCondorEnv(state, extra) },
  timeout,
})

const job = (output: string, cluster: number, proc: number, status: number, more: Record<string, unknown> = {}) => ({
  ClusterId: cluster, ProcId: proc, JobStatus: status, EnteredCurrentStatus: 1751400000 + cluster,
  CaloprodRunTag: `${68000 + cluster}_${TAG}`, CaloprodOutput: output, ...more,
})

t.test("schedulerJobs: this output directory's jobs from condor_q and condor_history, sorted", async (t) => {
  const output = '/data/run3auau'
  const { state } = fakeQueue(t, [
    job(output, 7, 1, JOB_STATUS.completed, { ExitCode: 0 }),
    job(output, 7, 0, JOB_STATUS.held, { HoldReason: 'Error from slot1: memory\tusage exceeded' }),
    job(output, 3, 0, JOB_STATUS.running),
    job('/data/other', 1, 0, JOB_STATUS.idle),
    job('/data/Run3auau', 2, 0, JOB_STATUS.idle),
    job(output, 5, 0, JOB_STATUS.removed),
  ])
  const jobs = await schedulerJobs(output, options(state))
  const ids = jobs.map((j) => `${j.cluster}.${j.proc}`)
  t.same(ids, ['3.0', '5.0', '7.0', '7.1'], 'by cluster and proc; another output (or its case) is not ours')
  t.same(jobs[0], {
    cluster: 3, proc: 0, status: JOB_STATUS.running, exitCode: undefined, since: 1751400003, runTag: `68003_${TAG}`,
    holdReason: undefined, source: 'condor_q',
  })
  t.match(jobs[1], { status: JOB_STATUS.removed, source: 'condor_history', exitCode: undefined })
  const held = { status: JOB_STATUS.held, source: 'condor_q', holdReason: 'Error from slot1: memory\tusage exceeded' }
  t.match(jobs[2], held, 'a hold reason keeps its tabs')
  t.match(jobs[3], { status: JOB_STATUS.completed, exitCode: 0, source: 'condor_history' })

  const [q, history] = readFakeState(state).calls
  t.equal(q.program, 'condor_q')
  t.equal(history.program, 'condor_history')
  t.same(q.argv.slice(0, 3), ['-constraint', 'CaloprodOutput =?= "/data/run3auau"', '-af:t'], 'asked by output, case-sensitively')
})

t.test('schedulerJobs: an empty queue is no jobs; an output path with quotes is matched exactly', async (t) => {
  const odd = '/data/a "quoted" \\dir'
  const { state } = fakeQueue(t, [job(odd, 4, 0, JOB_STATUS.idle)])
  t.same(await schedulerJobs('/data/nothing-here', options(state)), [])
  t.same((await schedulerJobs(odd, options(state))).map((j) => j.cluster), [4])
})

t.test('schedulerJobs: a failing condor_q or condor_history says which, with its first line', async (t) => {
  const { state } = fakeQueue(t, [])
  for (const [mode, program] of [['FAKE_CONDOR_Q_MODE', 'condor_q'], ['FAKE_CONDOR_HISTORY_MODE', 'condor_history']]) {
    await t.rejects(schedulerJobs('/data/out', options(state, { [mode]: 'fail' })), {
      constructor: CaloprodError,
      exitCode: 1,
      message:
        `cannot ask the scheduler what is in flight: ${program} failed (exit 1): ` +
        `${program}: -- Failed to fetch ads from: <127.0.0.1:9618> : schedd is down (fake)`,
    })
  }
})

t.test('schedulerJobs: a condor_q that does not answer is stopped at the timeout', async (t) => {
  const { state } = fakeQueue(t, [])
  const started = Date.now()
  await t.rejects(schedulerJobs('/data/out', options(state, { FAKE_CONDOR_Q_MODE: 'hang' }, 0.5)), {
    constructor: CaloprodError,
    message: 'cannot ask the scheduler what is in flight: condor_q did not answer within 0.5s; is the schedd up (condor_status -schedd)?',
  })
  t.ok(Date.now() - started < 5000, `stopped after ${Date.now() - started} ms`)
})

t.test('schedulerJobs: a line it cannot read fails with that line, not a wrong job', async (t) => {
  const { state } = fakeQueue(t, [job('/data/out', 9, 0, JOB_STATUS.idle, { CaloprodRunTag: undefined })])
  await t.rejects(schedulerJobs('/data/out', options(state)), {
    constructor: CaloprodError,
    message:
      'condor_q printed a line caloprod cannot read: "9\\t0\\t1\\tundefined\\t1751400009\\tundefined\\tundefined"; ' +
      'expected ClusterId, ProcId, JobStatus, ExitCode, EnteredCurrentStatus, CaloprodRunTag, HoldReason',
  })
})

/** A submission directory as submit runs condor_submit from: condor/ of a prepared output, with its job folders. */
async function submissionDir(t: Test, runs = 2) {
  const p = await prepareSubmit(t, someRuns(runs))
  const dir = join(p.output, 'condor')
  for (const folder of ['stdout', 'error']) mkdirSync(join(dir, folder))
  mkdirSync(p.logs, { recursive: true })
  return { ...p, dir }
}

t.test('condorSubmit: the cluster of "N job(s) submitted to cluster C.", the jobs then in condor_q', async (t) => {
  const s = await submissionDir(t)
  t.same(await condorSubmit(s.dir, 2, options(s.state)), { kind: 'submitted', cluster: 1, detail: '2 job(s) submitted to cluster 1' })
  const calls = readFakeState(s.state).calls
  t.match(calls, [{ program: 'condor_submit', argv: ['genStatus.sub', '-queue', 'input_run from jobs.list'], cwd: s.dir }])
  const jobs = await schedulerJobs(s.output, options(s.state))
  t.same(jobs.map((j) => [j.cluster, j.proc, j.runTag, j.status, j.source]), [
    [1, 0, `68001_${TAG}`, JOB_STATUS.idle, 'condor_q'],
    [1, 1, `68002_${TAG}`, JOB_STATUS.idle, 'condor_q'],
  ])
})

t.test('condorSubmit: another count of jobs than asked is unknown, with the cluster', async (t) => {
  const s = await submissionDir(t)
  t.same(await condorSubmit(s.dir, 3, options(s.state)), {
    kind: 'unknown', cluster: 1, detail: 'condor_submit reports 2 jobs in cluster 1, expected 3',
  })
  t.same(await condorSubmit(s.dir, 2, options(s.state, { FAKE_CONDOR_SUBMIT_MODE: 'miscount' })), {
    kind: 'unknown', cluster: 2, detail: 'condor_submit reports 3 jobs in cluster 2, expected 2',
  })
})

t.test('condorSubmit: a refusal is failed, with condor_submit\'s first line', async (t) => {
  const s = await submissionDir(t)
  t.same(await condorSubmit(s.dir, 2, options(s.state, { FAKE_CONDOR_SUBMIT_MODE: 'fail' })), {
    kind: 'failed', detail: 'condor_submit failed (exit 1): condor_submit: ERROR: Failed to connect to local queue manager (fake)',
  })
  rmSync(join(s.dir, 'genStatus.sh'))
  t.match(await condorSubmit(s.dir, 2, options(s.state)), {
    kind: 'failed',
    detail: /^condor_submit failed \(exit 1\): condor_submit: ERROR: .*genStatus\.sh/,
  }, 'a submit file it cannot run')
  t.same(readFakeState(s.state).jobs, [], 'nothing queued')
})

t.test('condorSubmit: an answer without the cluster line is unknown: the jobs may be queued', async (t) => {
  const s = await submissionDir(t)
  t.same(await condorSubmit(s.dir, 2, options(s.state, { FAKE_CONDOR_SUBMIT_MODE: 'garbage' })), {
    kind: 'unknown',
    cluster: undefined,
    detail: 'condor_submit exited 0 without a "N job(s) submitted to cluster C." line: Submitting job(s)',
  })
  t.equal(readFakeState(s.state).jobs.length, 2, 'and they were')
})

t.test('condorSubmit: one that does not finish is stopped at the timeout: unknown, it may have submitted', async (t) => {
  const s = await submissionDir(t)
  for (const mode of ['hang', 'submit-then-hang']) {
    const started = Date.now()
    t.same(await condorSubmit(s.dir, 2, options(s.state, { FAKE_CONDOR_SUBMIT_MODE: mode }, 0.5)), {
      kind: 'unknown',
      cluster: undefined,
      detail: 'condor_submit did not finish within 0.5s and was stopped (SIGTERM); the jobs may have been submitted',
    }, mode)
    t.ok(Date.now() - started < 5000, `${mode}: stopped after ${Date.now() - started} ms`)
  }
  t.equal(readFakeState(s.state).jobs.length, 2, 'submit-then-hang queued its jobs before it hung')
})
