// What the submit stage does when things go wrong: a crash between the ledger's two rows, a scheduler that
// cannot be asked, condor_submit failing, hanging or printing what cannot be read. Never a duplicate.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { readLedger } from '../../lib/files/ledger.js'
import { prepareSubmit as prepare, someRuns, TAG, type Prepared as Setup } from '../helpers/condor-output.js'
import { DEFAULT_SCHEDD, FAKES, fakeCondor, readFakeState, submitCalls, type FakeJob } from '../helpers/fake-condor.js'
import { alive } from '../helpers/processes.js'
import { runStageHere, startScript } from '../helpers/run-script.js'

const OTHER = 'sphnxsub02.fake.bnl.gov'


const act = (s: Setup, flags: string[] = [], env: Record<string, string> = {}) =>
  runStageHere('submit', ['--output', s.output, '--do-condor-submit', ...flags], { ...s.env, ...env })
const jobsOf = (s: Setup, run: number): FakeJob[] => readFakeState(s.state).jobs.filter((j) => j.CaloprodRunTag === `${run}_${TAG}`)
const ledger = async (s: Setup) => (await readLedger(join(s.output, 'submissions.csv'))).rows

t.test('killed between "submitting" and "submitted": the next run finds the jobs and submits nothing twice', async (t) => {
  const s = await prepare(t, someRuns(2))
  const { child, done } = startScript('submit', ['--output', s.output, '--do-condor-submit'], { ...s.env, FAKE_CONDOR_SUBMIT_MODE: 'submit-then-hang' })
  // Wait until condor_submit has queued the jobs (and hangs), then kill the stage as a crash would.
  while (readFakeState(s.state).jobs.length < 2) await new Promise((resolve) => setTimeout(resolve, 50))
  child.kill('SIGKILL')
  await done
  await fakeCondor(s.state, 'stop-hanging')
  t.same((await ledger(s)).map((r) => r.state), ['submitting', 'submitting'], 'the crash left only the announcement')

  const next = await act(s)
  t.equal(next.code, 0, next.stderr)
  t.match(next.stderr, /warning: took over the lock of the submit stage .*killed\?/)
  t.equal(next.stdout, 'submit: nothing to submit; 2 in flight\n')
  t.equal(submitCalls(s.state), 1, 'condor_submit ran once')
  t.equal(readFakeState(s.state).jobs.length, 2)
  const rows = await ledger(s)
  t.same(rows.slice(2).map((r) => [r.runnumber, r.state, r.cluster, r.proc]), [[68001, 'submitted', 1, 0], [68002, 'submitted', 1, 1]])
  t.match(rows[2].detail, /reconciled: condor_q knows it as job 1\.0/)
})

t.test('an interrupted submission the scheduler never saw is submitted again; one it saw is not', async (t) => {
  const s = await prepare(t, someRuns(2))
  // The ledger says both were being submitted; the queue has a job of 68001 only.
  writeFileSync(join(s.output, 'submissions.csv'), `time,runnumber,tag,attempt,state,cluster,proc,submission,detail\n${[68001, 68002].map((run) => `2025-01-01T02:00:00Z,${run},${TAG},1,submitting,,,20250101T020000Z-1,x\n`).join('')}`)
  writeFileSync(s.state, JSON.stringify({
    nextCluster: 8, calls: [],
    jobs: [{ ClusterId: 7, ProcId: 0, JobStatus: 2, EnteredCurrentStatus: 1735696800, CaloprodRunTag: `68001_${TAG}`, CaloprodOutput: s.output }],
  }))
  const result = await act(s)
  t.equal(result.code, 0, result.stderr)
  t.match(result.stdout, /^submit: 1 run submitted to cluster 8 .*; 1 in flight\n$/)
  t.equal(jobsOf(s, 68001).length, 1)
  t.equal(jobsOf(s, 68002).length, 1)
  const rows = await ledger(s)
  t.same(rows.slice(2).map((r) => [r.runnumber, r.attempt, r.state, r.cluster]), [
    [68001, 1, 'submitted', 7], [68002, 1, 'lost', undefined], [68002, 1, 'submitting', undefined], [68002, 1, 'submitted', 8],
  ])
})

t.test('a scheduler that cannot be asked stops the stage before anything is submitted', async (t) => {
  const s = await prepare(t, someRuns(2))
  for (const mode of ['FAKE_CONDOR_Q_MODE', 'FAKE_CONDOR_HISTORY_MODE']) {
    const result = await act(s, [], { [mode]: 'fail' })
    t.equal(result.code, 1)
    t.equal(result.stdout, '')
    t.match(result.stderr, /^caloprod submit: cannot ask the scheduler what is in flight: condor_(q|history) failed \(exit 1\): .*schedd is down.*\n$/)
  }
  // condor_q is the first program the stage starts, and hangs at once: a short timeout holds on a busy machine too.
  const slow = await act(s, ['--timeout', '1s'], { FAKE_CONDOR_Q_MODE: 'hang' })
  t.equal(slow.code, 1)
  t.match(slow.stderr, /condor_q did not answer within 1s/)
  t.equal(submitCalls(s.state), 0)
  t.notOk(existsSync(join(s.output, 'submissions.csv')))
  t.notOk(existsSync(join(s.output, 'submissions')))
})

t.test('condor_submit failing: the ledger says so, nothing counts as an attempt, the next run submits', async (t) => {
  const s = await prepare(t, someRuns(2))
  const failed = await act(s, [], { FAKE_CONDOR_SUBMIT_MODE: 'fail' })
  t.equal(failed.code, 1)
  t.match(failed.stderr, /^caloprod submit: condor_submit failed \(exit 1\): condor_submit: ERROR: Failed to connect to local queue manager \(fake\) \(in .*\); nothing was submitted; recorded in .*submissions\.csv\n$/)
  t.same((await ledger(s)).map((r) => r.state), ['submitting', 'submitting', 'failed', 'failed'])
  const next = await act(s)
  t.equal(next.code, 0, next.stderr)
  t.match(next.stdout, /^submit: 2 runs submitted to cluster 1 /)
  t.same((await ledger(s)).slice(4).map((r) => [r.attempt, r.state]), [[1, 'submitting'], [1, 'submitting'], [1, 'submitted'], [1, 'submitted']])
})

t.test('the condor log directory deleted after the condor stage made it: the job is held when it starts, left for a person', async (t) => {
  // condor_submit opens no file by default (SUBMIT_SKIP_FILECHECKS): the shadow cannot open the log and holds the job.
  const s = await prepare(t, someRuns(1))
  rmSync(s.logs, { recursive: true })
  const sent = await act(s)
  t.equal(sent.code, 0, sent.stderr)
  await fakeCondor(s.state, 'run', 'all')
  t.match(jobsOf(s, 68001), [{ JobStatus: 5, HoldReasonCode: 22, HoldReason: 'Failed to initialize user log' }])
  const status = await runStageHere('status', ['--output', s.output], s.env)
  t.match(status.stdout, new RegExp(`^68001 ${TAG} held: .*Failed to initialize user log`, 'm'))
  const next = await act(s)
  t.equal(next.code, 0, next.stderr)
  t.match(next.stderr, /run 68001 .*held: .*Failed to initialize user log.*not for memory: left for a person/)
  t.equal(submitCalls(s.state), 1, 'not submitted again, not released')
})

t.test('the same where the site turned file checks on (SUBMIT_SKIP_FILECHECKS = false): condor_submit refuses, the ledger says so', async (t) => {
  const s = await prepare(t, someRuns(1))
  rmSync(s.logs, { recursive: true })
  const failed = await act(s, [], { FAKE_CONDOR_SUBMIT_FILECHECKS: '1' })
  t.equal(failed.code, 1)
  t.match(failed.stderr, /^caloprod submit: condor_submit failed \(exit 1\): .*ERROR: Invalid log file: ".*\/condor logs\/job-1-0\.log" \(No such file or directory\)/)
  t.match(failed.stderr, / \(in .*\); nothing was submitted; recorded in .*submissions\.csv\n$/)
  t.same((await ledger(s)).map((r) => r.state), ['submitting', 'failed'])
  t.equal(readFakeState(s.state).jobs.length, 0)
  t.notOk(existsSync(s.logs), 'submit leaves the directory to the condor stage')
})

t.test('condor_submit printing nonsense after exit 0: recorded unknown, found by condor_q next time, not submitted twice', async (t) => {
  const s = await prepare(t, someRuns(2))
  const garbled = await act(s, [], { FAKE_CONDOR_SUBMIT_MODE: 'garbage' })
  t.equal(garbled.code, 1)
  t.match(garbled.stderr, /condor_submit exited 0 without a "N job\(s\) submitted to cluster C\." line: .*recorded in .* as unknown: the next run asks condor_q before submitting these runs again/)
  const next = await act(s)
  t.equal(next.code, 0, next.stderr)
  t.equal(next.stdout, 'submit: nothing to submit; 2 in flight\n')
  t.equal(readFakeState(s.state).jobs.length, 2)
  t.same((await ledger(s)).map((r) => r.state), ['submitting', 'submitting', 'unknown', 'unknown', 'submitted', 'submitted'])
})

t.test('condor_submit reporting a different job count: unknown, with the cluster, settled next time', async (t) => {
  const s = await prepare(t, someRuns(2))
  const odd = await act(s, [], { FAKE_CONDOR_SUBMIT_MODE: 'miscount' })
  t.equal(odd.code, 1)
  t.match(odd.stderr, /condor_submit reports 3 jobs in cluster 1, expected 2/)
  const next = await act(s)
  t.equal(next.stdout, 'submit: nothing to submit; 2 in flight\n')
  t.same((await ledger(s)).slice(4).map((r) => [r.state, r.cluster]), [['submitted', 1], ['submitted', 1]])
})

t.test('condor_submit timing out: recorded unknown; the scheduler never saw it, so the next run submits', async (t) => {
  const s = await prepare(t, someRuns(1))
  // condor_q and condor_history answer first, within the same --timeout: a margin that holds on a busy machine.
  const slow = await act(s, ['--timeout', '10s'], { FAKE_CONDOR_SUBMIT_MODE: 'hang' })
  t.equal(slow.code, 1)
  t.match(slow.stderr, /condor_submit did not finish within 10s and was stopped \(SIGTERM\); the jobs may have been submitted .*recorded in .* as unknown/)
  const next = await act(s)
  t.equal(next.code, 0, next.stderr)
  t.match(next.stdout, /^submit: 1 run submitted to cluster 1 /)
  t.same((await ledger(s)).map((r) => r.state), ['submitting', 'unknown', 'lost', 'submitting', 'submitted'])
})

t.test('a night with no jobs and nothing to settle needs no scheduler: an outage is not a failure then', async (t) => {
  const s = await prepare(t, [])
  const result = await act(s, [], { FAKE_CONDOR_Q_MODE: 'fail', FAKE_CONDOR_HISTORY_MODE: 'fail' })
  t.equal(result.code, 0, result.stderr)
  t.equal(result.stdout, 'submit: nothing to submit\n')
  t.equal(readFakeState(s.state).calls.length, 0)
})

t.test('SIGTERM while condor_submit runs: it is stopped before the lock is released, and the next run submits each run once', async (t) => {
  const s = await prepare(t, someRuns(2))
  // A condor_submit that says it started, then takes its time before it queues anything.
  const bin = join(s.output, '..', 'slow-bin')
  const pidFile = join(s.output, '..', 'submit.pid')
  mkdirSync(bin)
  writeFileSync(join(bin, 'condor_submit'), `#!/bin/sh\necho $$ > "${pidFile}"\nsleep 30\nexec "${join(FAKES, 'condor_submit')}" "$@"\n`)
  chmodSync(join(bin, 'condor_submit'), 0o755)
  const { child, done } = startScript('submit', ['--output', s.output, '--do-condor-submit'], { ...s.env, PATH: `${bin}:${s.env.PATH}` })
  let ended = false
  void done.then(() => (ended = true))
  while (!ended && (!existsSync(pidFile) || readFileSync(pidFile, 'utf8').trim() === '')) await new Promise((resolve) => setTimeout(resolve, 50))
  if (ended) return t.fail(`the stage ended before condor_submit started: ${(await done).stderr}`)
  const pid = Number(readFileSync(pidFile, 'utf8'))
  child.kill('SIGTERM')
  const stopped = await done
  t.equal(stopped.code, 143, stopped.stderr)
  t.notOk(alive(pid), 'condor_submit did not outlive the stage')
  t.equal(readFakeState(s.state).jobs.length, 0, 'nothing was queued')

  const next = await act(s)
  t.equal(next.code, 0, next.stderr)
  t.match(next.stdout, /^submit: 2 runs submitted to cluster 1 /)
  t.equal(readFakeState(s.state).jobs.length, 2, 'each run once')
})

t.test('condor_submit "Failed to commit" after the schedd committed: unknown, not "nothing was submitted"; no duplicate', async (t) => {
  const s = await prepare(t, someRuns(2))
  const first = await act(s, [], { FAKE_CONDOR_SUBMIT_MODE: 'commit-lost' })
  t.equal(first.code, 1)
  t.match(first.stderr, /Failed to commit job submission into the queue.*the jobs may have been submitted/)
  t.notMatch(first.stderr, /nothing was submitted/)
  t.same((await ledger(s)).map((r) => r.state), ['submitting', 'submitting', 'unknown', 'unknown'])
  t.equal(readFakeState(s.state).jobs.length, 2, 'the schedd has them')

  const next = await act(s)
  t.equal(next.code, 0, next.stderr)
  t.equal(next.stdout, 'submit: nothing to submit; 2 in flight\n')
  t.equal(submitCalls(s.state), 1)
  t.same((await ledger(s)).slice(4).map((r) => [r.runnumber, r.state, r.cluster, r.proc]), [[68001, 'submitted', 1, 0], [68002, 'submitted', 1, 1]])
})

t.test('"Failed to commit" on one submit node, settled by a run on another: its schedd is asked by name, no duplicate', async (t) => {
  const s = await prepare(t, someRuns(2))
  t.equal((await act(s, [], { FAKE_CONDOR_SUBMIT_MODE: 'commit-lost' })).code, 1)
  t.match(await ledger(s), [
    { state: 'submitting', cluster: undefined, schedd: DEFAULT_SCHEDD }, { state: 'submitting', schedd: DEFAULT_SCHEDD },
    { state: 'unknown', cluster: undefined, schedd: DEFAULT_SCHEDD }, { state: 'unknown', schedd: DEFAULT_SCHEDD },
  ], 'the schedd condor_submit talks to is named before it runs')
  t.equal(readFakeState(s.state).jobs.length, 2, 'the first node\'s schedd has them')
  // The cron moved to another submit node: its own schedd has none of these jobs.
  const moved = { FAKE_CONDOR_SCHEDD: OTHER }
  const down = await act(s, [], { ...moved, FAKE_CONDOR_DOWN: DEFAULT_SCHEDD })
  t.equal(down.code, 0, down.stderr)
  t.equal(down.stdout, 'submit: nothing to submit; 2 unknown to every schedd\n', 'its schedd silent: left unknown')
  t.match(down.stderr, /run 68001 .*: unknown: submission .* is unknown: schedd sphnxsub01\.fake\.bnl\.gov did not answer: .*not sent again while its schedd does not answer/)
  t.match((await runStageHere('status', ['--output', s.output], { ...s.env, ...moved, FAKE_CONDOR_DOWN: DEFAULT_SCHEDD })).stdout,
    /^68002 new_newcdbtag_v008 unknown: submission .* schedd sphnxsub01\.fake\.bnl\.gov did not answer/m)
  const next = await act(s, [], moved)
  t.equal(next.code, 0, next.stderr)
  t.equal(next.stdout, 'submit: nothing to submit; 2 in flight\n')
  t.equal(submitCalls(s.state), 1, 'nothing sent twice')
  t.match((await ledger(s)).slice(4), [
    { runnumber: 68001, state: 'submitted', cluster: 1, proc: 0, schedd: DEFAULT_SCHEDD }, { runnumber: 68002, state: 'submitted', cluster: 1, proc: 1 },
  ])
})

t.test('condor_submit timing out on one node, settled on another: the named schedd answers without it, so it is lost and sent', async (t) => {
  const s = await prepare(t, someRuns(1))
  t.equal((await act(s, ['--timeout', '10s'], { FAKE_CONDOR_SUBMIT_MODE: 'hang' })).code, 1)
  const next = await act(s, [], { FAKE_CONDOR_SCHEDD: OTHER })
  t.equal(next.code, 0, next.stderr)
  t.match(next.stdout, /^submit: 1 run submitted to cluster 1 /)
  t.match((await ledger(s)).slice(2), [{ state: 'lost', schedd: DEFAULT_SCHEDD }, { state: 'submitting', schedd: OTHER }, { state: 'submitted', schedd: OTHER }])
})

t.test("a pending row naming this host's schedd is settled by this host's answer: a collector that does not answer (-name fails) holds nothing up", async (t) => {
  const s = await prepare(t, someRuns(1))
  t.equal((await act(s, ['--timeout', '10s'], { FAKE_CONDOR_SUBMIT_MODE: 'hang' })).code, 1)
  t.match(await ledger(s), [{ state: 'submitting', schedd: DEFAULT_SCHEDD }, { state: 'unknown', schedd: DEFAULT_SCHEDD }])
  // The central manager is down: condor_q and condor_history with -name fail; this host's schedd still answers.
  const next = await act(s, [], { FAKE_CONDOR_COLLECTOR: 'down' })
  t.equal(next.code, 0, next.stderr)
  t.match(next.stdout, /^submit: 1 run submitted to cluster 1 /, 'this host\'s schedd never saw it: lost, and sent')
  t.same((await ledger(s)).map((r) => r.state), ['submitting', 'unknown', 'lost', 'submitting', 'submitted'])
  t.equal(submitCalls(s.state), 2)
})

t.test("this host's schedd's name cannot be learned: the stage fails before condor_submit, nothing recorded", async (t) => {
  const s = await prepare(t, someRuns(1))
  // condor_q answers the stage's job queries, but its -totals fails (the schedd went down between the two).
  const bin = join(s.output, '..', 'totals-bin')
  mkdirSync(bin)
  writeFileSync(join(bin, 'condor_q'), `#!/bin/sh\ncase " $* " in *" -totals "*) echo "-- Failed to fetch ads from: <127.0.0.1:9618> (fake)" >&2; exit 1;; esac\nexec "${join(FAKES, 'condor_q')}" "$@"\n`, { mode: 0o755 })
  const failed = await act(s, [], { PATH: `${bin}:${s.env.PATH}` })
  t.equal(failed.code, 1)
  t.match(failed.stderr, /^caloprod submit: cannot learn the name of this host's schedd \(condor_submit's\): condor_q -totals failed \(exit 1\): .*; nothing was submitted\n$/)
  t.equal(submitCalls(s.state), 0)
  t.notOk(existsSync(join(s.output, 'submissions.csv')), 'no submitting row')
  t.match((await act(s)).stdout, /^submit: 1 run submitted to cluster 1 /, 'the next run submits')
})
