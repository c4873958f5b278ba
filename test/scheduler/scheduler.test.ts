// lib/scheduler/scheduler.ts in-process against the fake HTCondor (test/fakes: condor_q, condor_history and
// condor_submit first on PATH, their queue in FAKE_CONDOR_STATE): what the scheduler reports, what condor_submit
// did, and each way they fail (FAKE_CONDOR_*_MODE) or do not answer in time.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { CaloprodError } from '../../lib/errors.js'
import { condorSubmit, JOB_STATUS, localScheddName, schedulerJobs, type SchedulerOptions } from '../../lib/scheduler/scheduler.js'
import { prepareSubmit, someRuns, TAG } from '../helpers/condor-output.js'
import { DEFAULT_SCHEDD, FAKES, fakeCondorEnv, readFakeState, stopHanging } from '../helpers/fake-condor.js'

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
// A fake that answers is given a minute: a machine under load can take seconds to start node.
const options = (state: string, extra: Record<string, string> = {}, timeout = 60): SchedulerOptions => ({
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
    holdReason: undefined, source: 'condor_q', schedd: DEFAULT_SCHEDD,
  }, 'the schedd from GlobalJobId')
  t.match(jobs[1], { status: JOB_STATUS.removed, source: 'condor_history', exitCode: undefined })
  const held = { status: JOB_STATUS.held, source: 'condor_q', holdReason: 'Error from slot1: memory\tusage exceeded' }
  t.match(jobs[2], held, 'a hold reason keeps its tabs')
  t.match(jobs[3], { status: JOB_STATUS.completed, exitCode: 0, source: 'condor_history' })

  const [q, history] = readFakeState(state).calls
  t.equal(q.program, 'condor_q')
  t.equal(history.program, 'condor_history')
  t.same(q.argv.slice(0, 4), ['-allusers', '-constraint', 'CaloprodOutput =?= "/data/run3auau"', '-af:t'], 'asked by output, case-sensitively')
  t.same(history.argv.slice(0, 3), ['-constraint', 'CaloprodOutput =?= "/data/run3auau"', '-af:t'], 'condor_history has no -allusers')
})

t.test("schedulerJobs: the production account's jobs, asked from a person's own account (condor_q -allusers)", async (t) => {
  const output = '/data/run3auau'
  const { state } = fakeQueue(t, [
    job(output, 3, 0, JOB_STATUS.held, { Owner: 'sphnxpro', HoldReason: 'memory usage exceeded' }),
    job(output, 2, 0, JOB_STATUS.completed, { Owner: 'sphnxpro', ExitCode: 0 }),
  ])
  const asAlice = options(state, { FAKE_CONDOR_USER: 'alice' })
  // What condor_q shows alice without -allusers (CONDOR_Q_ONLY_MY_JOBS): none of them.
  const bare = execFileSync(join(FAKES, 'condor_q'), ['-constraint', 'true', '-af', 'ClusterId'], { env: asAlice.env, encoding: 'utf8' })
  t.equal(bare, '', 'condor_q alone shows only the asking account\'s jobs')
  const jobs = await schedulerJobs(output, asAlice)
  t.same(jobs.map((j) => [j.cluster, j.status, j.source]), [[2, JOB_STATUS.completed, 'condor_history'], [3, JOB_STATUS.held, 'condor_q']],
    'the held job is seen as held, not unknown')
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
  // The fake hangs before doing anything, so a short timeout holds on a busy machine too.
  await t.rejects(schedulerJobs('/data/out', options(state, { FAKE_CONDOR_Q_MODE: 'hang' }, 1)), {
    constructor: CaloprodError,
    message: 'cannot ask the scheduler what is in flight: condor_q did not answer within 1s; is the schedd up (condor_status -schedd)?',
  })
  t.ok(Date.now() - started < 30_000, `stopped after ${Date.now() - started} ms`)
})

t.test('schedulerJobs: a line it cannot read fails with that line, not a wrong job', async (t) => {
  const { state } = fakeQueue(t, [job('/data/out', 9, 0, JOB_STATUS.idle, { CaloprodRunTag: undefined })])
  await t.rejects(schedulerJobs('/data/out', options(state)), {
    constructor: CaloprodError,
    message:
      `condor_q printed a line caloprod cannot read: "9\\t0\\t1\\tundefined\\t1751400009\\tundefined\\t${DEFAULT_SCHEDD}#9.0#1751400009\\tundefined\\tundefined\\tundefined\\tundefined\\tundefined"; ` +
      'expected ClusterId, ProcId, JobStatus, ExitCode, EnteredCurrentStatus, CaloprodRunTag, GlobalJobId, HoldReasonCode, ' +
      'HoldReasonSubCode, RequestMemory, QDate, HoldReason',
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
  t.same(await condorSubmit(s.dir, 2, options(s.state)), {
    kind: 'submitted', cluster: 1, schedd: DEFAULT_SCHEDD, detail: '2 job(s) submitted to cluster 1',
  }, 'the schedd that took it, as condor_q names it')
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
    kind: 'unknown', cluster: 1, schedd: DEFAULT_SCHEDD, detail: 'condor_submit reports 2 jobs in cluster 1, expected 3',
  })
  t.same(await condorSubmit(s.dir, 2, options(s.state, { FAKE_CONDOR_SUBMIT_MODE: 'miscount' })), {
    kind: 'unknown', cluster: 2, schedd: DEFAULT_SCHEDD, detail: 'condor_submit reports 3 jobs in cluster 2, expected 2',
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
    schedd: undefined,
    detail: 'condor_submit exited 0 without a "N job(s) submitted to cluster C." line: Submitting job(s)',
  })
  t.equal(readFakeState(s.state).jobs.length, 2, 'and they were')
})

t.test('condorSubmit: one that does not finish is stopped at the timeout: unknown, it may have submitted', async (t) => {
  const s = await submissionDir(t)
  // `hang` hangs at once; `submit-then-hang` queues first, which on a busy machine can take seconds.
  for (const [mode, timeout] of [['hang', 1], ['submit-then-hang', 15]] as const) {
    const started = Date.now()
    t.same(await condorSubmit(s.dir, 2, options(s.state, { FAKE_CONDOR_SUBMIT_MODE: mode }, timeout)), {
      kind: 'unknown',
      cluster: undefined,
      schedd: undefined,
      detail: `condor_submit did not finish within ${timeout}s and was stopped (SIGTERM); the jobs may have been submitted`,
    }, mode)
    t.ok(Date.now() - started < timeout * 1000 + 30_000, `${mode}: stopped after ${Date.now() - started} ms`)
  }
  t.equal(readFakeState(s.state).jobs.length, 2, 'submit-then-hang queued its jobs before it hung')
})

t.test('schedulerJobs: other schedds by name (-name), each cluster by its schedd; one that cannot be asked is unanswered', async (t) => {
  const output = '/data/run3auau'
  const other = 'sphnxsub02.fake.bnl.gov'
  // Two schedds, each with its own cluster 4: a cron that moved from one submit node to another.
  const { state } = fakeQueue(t, [
    job(output, 4, 0, JOB_STATUS.running),
    job(output, 4, 0, JOB_STATUS.completed, { ExitCode: 0, GlobalJobId: `${other}#4.0#1751400000` }),
  ])
  const unanswered = new Map<string, string>()
  const jobs = await schedulerJobs(output, { ...options(state), schedds: [DEFAULT_SCHEDD, other, 'gone.fake.bnl.gov'], unanswered })
  t.same(jobs.map((j) => [j.schedd, j.cluster, j.status, j.source]), [
    [DEFAULT_SCHEDD, 4, JOB_STATUS.running, 'condor_q'],
    [other, 4, JOB_STATUS.completed, 'condor_history'],
  ])
  const calls = readFakeState(state).calls
  t.same(calls.map((c) => [c.program, c.schedd, c.argv.slice(0, 2)]), [
    ['condor_q', DEFAULT_SCHEDD, ['-allusers', '-constraint']],
    ['condor_history', DEFAULT_SCHEDD, ['-constraint', `CaloprodOutput =?= "${output}"`]],
    ['condor_q', DEFAULT_SCHEDD, ['-totals']],
    ['condor_q', other, ['-name', other]],
    ['condor_history', other, ['-name', other]],
    ['condor_q', 'gone.fake.bnl.gov', ['-name', 'gone.fake.bnl.gov']],
  ], "this host's schedd is not asked again by name (its name from -totals); a schedd the collector does not know stops at condor_q")
  t.same([...unanswered], [
    ['gone.fake.bnl.gov', 'condor_q -name gone.fake.bnl.gov failed (exit 1): Error: Collector has no record of schedd/submitter'],
  ])

  const down = new Map<string, string>()
  await schedulerJobs(output, { ...options(state, { FAKE_CONDOR_DOWN: other }), schedds: [other], unanswered: down })
  t.match(down.get(other), /^condor_q -name sphnxsub02\.fake\.bnl\.gov failed \(exit 1\): .*schedd is down/, 'a schedd that is down')
  await t.rejects(schedulerJobs(output, options(state, { FAKE_CONDOR_DOWN: DEFAULT_SCHEDD })), /condor_q failed/, "this host's: an error")
})

t.test('condorSubmit: the schedd of this host takes the cluster, numbered by that schedd', async (t) => {
  const s = await submissionDir(t)
  const other = 'sphnxsub02.fake.bnl.gov'
  t.match(await condorSubmit(s.dir, 2, options(s.state)), { kind: 'submitted', cluster: 1, schedd: DEFAULT_SCHEDD })
  t.match(await condorSubmit(s.dir, 2, options(s.state, { FAKE_CONDOR_SCHEDD: other })), { kind: 'submitted', cluster: 1, schedd: other })
  t.same(readFakeState(s.state).jobs.map((j) => j.GlobalJobId?.replace(/#\d+$/, '')), [
    `${DEFAULT_SCHEDD}#1.0`, `${DEFAULT_SCHEDD}#1.1`, `${other}#1.0`, `${other}#1.1`,
  ])
})

t.test('no shell between caloprod and condor: a login shell would read ~/.bashrc first', async (t) => {
  const s = await submissionDir(t)
  // Under cron and npm SHLVL is unset; bash, given a socket for stdin, then sources ~/.bashrc (Debian's bash).
  const home = join(s.dir, '..', '..', 'home')
  mkdirSync(home)
  const marker = join(home, 'bashrc-was-read')
  writeFileSync(join(home, '.bashrc'), `echo "$0" >> '${marker}'\n`)
  const env: NodeJS.ProcessEnv = { ...process.env, ...fakeCondorEnv(s.state), HOME: home }
  delete env.SHLVL
  const cronLike: SchedulerOptions = { env, timeout: 60 }
  t.match(await condorSubmit(s.dir, 2, cronLike), { kind: 'submitted' })
  t.equal((await schedulerJobs(s.output, cronLike)).length, 2)
  t.notOk(existsSync(marker), 'no shell read ~/.bashrc')
  const calls = readFakeState(s.state).calls
  t.same(new Set(calls.map((c) => c.program)), new Set(['condor_submit', 'condor_q', 'condor_history']))
  for (const call of calls) {
    t.match(call.parent, new RegExp(`^${process.execPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`), `${call.program} started by node itself`)
  }
})

t.test("localScheddName: this host's schedd by condor_q -totals's title; one that fails or names none is an error", async (t) => {
  const { dir, state } = fakeQueue(t, [])
  t.equal(await localScheddName(options(state)), DEFAULT_SCHEDD)
  t.equal(await localScheddName(options(state, { FAKE_CONDOR_SCHEDD: 'sphnxsub02.fake.bnl.gov' })), 'sphnxsub02.fake.bnl.gov', 'another submit node')
  await t.rejects(localScheddName(options(state, { FAKE_CONDOR_Q_MODE: 'fail' })),
    { message: /^cannot learn the name of this host's schedd \(condor_submit's\): condor_q -totals failed \(exit 1\): .*schedd is down/ })
  // A condor_q whose answer has no title (as a site's wrapper might print): no name is guessed.
  const bin = join(dir, 'bin')
  mkdirSync(bin)
  writeFileSync(join(bin, 'condor_q'), '#!/bin/sh\necho "Total for query: 0 jobs; 0 completed, 0 removed, 0 idle, 0 running, 0 held, 0 suspended"\n', { mode: 0o755 })
  const untitled = options(state)
  untitled.env = { ...untitled.env, PATH: `${bin}:${untitled.env.PATH}` }
  await t.rejects(localScheddName(untitled), new CaloprodError(
    'cannot learn the name of this host\'s schedd (condor_submit\'s): condor_q -totals printed no "-- Schedd: <name> : <address>" line: Total for query: 0 jobs; 0 completed, 0 removed, 0 idle, 0 running, 0 held, 0 suspended',
  ))
})

t.test("schedulerJobs: the -totals name spares asking this host's schedd by -name only where its jobs' GlobalJobIds agree", async (t) => {
  const output = '/data/run3auau'
  const { dir, state } = fakeQueue(t, [job(output, 4, 0, JOB_STATUS.running)])
  // A collector that is down: only this host's schedd can be asked.
  const agree = { ...options(state, { FAKE_CONDOR_COLLECTOR: 'down' }), schedds: [DEFAULT_SCHEDD, 'sphnxsub02.fake.bnl.gov'], unanswered: new Map<string, string>() }
  await schedulerJobs(output, agree)
  t.same([...agree.unanswered.keys()], ['sphnxsub02.fake.bnl.gov'], "this host's schedd is not asked again by -name")
  // condor_q naming this host's schedd by the host alone (no local ad of a schedd a user runs, which names itself
  // user@host in its GlobalJobIds): that name is no proof, and it is asked by -name as any other.
  const bin = join(dir, 'bin')
  mkdirSync(bin)
  writeFileSync(join(bin, 'condor_q'), `#!/bin/sh\ncase " $* " in *" -totals "*) printf '\\n\\n-- Schedd: host-only.fake.bnl.gov : <127.0.0.1:9618> @ 12/07/26 02:00:00\\n'; exit 0;; esac\nexec "${join(FAKES, 'condor_q')}" "$@"\n`, { mode: 0o755 })
  const disagree = { ...options(state, { FAKE_CONDOR_COLLECTOR: 'down' }), schedds: ['host-only.fake.bnl.gov'], unanswered: new Map<string, string>() }
  disagree.env = { ...disagree.env, PATH: `${bin}:${disagree.env.PATH}` }
  await schedulerJobs(output, disagree)
  t.same([...disagree.unanswered.keys()], ['host-only.fake.bnl.gov'], 'asked by -name, and silent with the collector down: its rows stay unknown, never lost')
})
