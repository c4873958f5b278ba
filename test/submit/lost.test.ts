// Jobs the scheduler of this host does not know: a history that rotated, a cron moved to another submit node (its
// schedd asked by name, with clusters numbered again from 1), a schedd that does not answer, a ledger written before
// it named schedds. And one output directory spelled several ways. Never a run sent twice while its job may live.
import { execFile } from 'node:child_process'
import { mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { readLedger } from '../../lib/files/ledger.js'
import { prepareSubmit as prepare, someRuns, TAG, type Prepared as Setup } from '../helpers/condor-output.js'
import { DEFAULT_SCHEDD, FAKES, fakeCondor, readFakeState, submitCalls } from '../helpers/fake-condor.js'
import { runStageHere } from '../helpers/run-script.js'

const OTHER = 'sphnxsub02.fake.bnl.gov'

const act = (s: Setup, env: Record<string, string> = {}, output = s.output, cwd?: string) =>
  runStageHere('submit', ['--output', output, '--do-condor-submit'], { ...s.env, ...env }, cwd)
const status = (s: Setup, flags: string[] = [], env: Record<string, string> = {}) =>
  runStageHere('status', ['--output', s.output, ...flags], { ...s.env, ...env })
const ledger = async (s: Setup) => (await readLedger(join(s.output, 'submissions.csv'))).rows

/** Moves every ledger row `days` into the past, as if the submissions had been made then. */
function backdate(s: Setup, days: number): void {
  const path = join(s.output, 'submissions.csv')
  const shift = (iso: string) => new Date(Date.parse(iso) - days * 86400_000).toISOString().replace(/\.\d+Z$/, 'Z')
  const [header, ...lines] = readFileSync(path, 'utf8').trimEnd().split('\n')
  writeFileSync(path, `${[header, ...lines.map((line) => line.replace(/^[^,]+/, shift))].join('\n')}\n`)
}

t.test('a job whose history rotated is unknown, not failed: kept, done once it wrote its payloads, sent again after 2 days', async (t) => {
  const s = await prepare(t, someRuns(3))
  t.equal((await act(s)).code, 0)
  await fakeCondor(s.state, 'set', '1.0', 'completed', 'exit=0')
  await fakeCondor(s.state, 'set', '1.1', 'completed', 'exit=1')
  await fakeCondor(s.state, 'forget', '1')
  t.same(readFakeState(s.state).jobs.map((j) => j.ProcId), [2], 'the finished jobs left the history')

  const next = await act(s)
  t.equal(next.code, 0, next.stderr)
  t.equal(next.stdout, 'submit: nothing to submit; 1 in flight, 2 unknown to every schedd\n')
  t.match(next.stderr, /warning: run 68001 new_newcdbtag_v008: unknown: attempt 1: cluster 1 \(submitted .*\) is known to neither condor_q nor condor_history of schedd sphnxsub01\.fake\.bnl\.gov; sent again after .* UTC if it wrote nothing by then/)
  t.equal(submitCalls(s.state), 1, 'nothing sent twice')

  const seen = await status(s)
  t.equal(seen.code, 0, seen.stderr)
  t.match(seen.stdout, /^68001 new_newcdbtag_v008 unknown: attempt 1: cluster 1 \(submitted .*\) is known to neither condor_q nor condor_history of schedd sphnxsub01\.fake\.bnl\.gov$/m)
  t.match(seen.stdout, /^status: 3 runs: 1 queued, 2 unknown$/m)
  t.match(JSON.parse((await status(s, ['--json'])).stdout), [{ state: 'unknown', cluster: 1, attempts: 1 }, { state: 'unknown' }, { state: 'queued' }])

  // 68001's job copied its payloads (the wrapper does only when genStatus exits 0): done. 68002's did not.
  const folder = join(s.output, 'output', `68001_${TAG}`)
  mkdirSync(join(folder, 'QA'), { recursive: true })
  writeFileSync(join(folder, `CEMC_meanTime_${TAG}_68001.root`), 'root')
  const stale = join(s.output, 'output', `68002_${TAG}`, `CEMC_meanTime_${TAG}_68002.root`)
  mkdirSync(dirname(stale), { recursive: true })
  writeFileSync(stale, 'root')
  utimesSync(stale, new Date('2020-01-01'), new Date('2020-01-01'))
  t.match((await status(s)).stdout, new RegExp(`^68001 ${TAG} done: cluster 1 is known to no schedd any more, but wrote output/68001_${TAG}/ at .* UTC; incomplete: genStatus wrote no `, 'm'))
  t.match((await status(s)).stdout, new RegExp(`^68002 ${TAG} unknown: `, 'm'), "a file older than the submission is an earlier job's")

  backdate(s, 3)
  const later = await act(s)
  t.equal(later.code, 0, later.stderr)
  t.match(later.stdout, /^submit: 1 run \(1 retry\) submitted to cluster 2 .*; 1 in flight, 1 done but not yet in the CDB\n$/)
  const rows = await ledger(s)
  t.match(rows.at(-1), { runnumber: 68002, attempt: 2, state: 'submitted', cluster: 2 })
  t.match(rows.at(-2), { state: 'submitting', detail: /condor_submit in submissions/ })
  const plan = await runStageHere('submit', ['--output', s.output], s.env)
  t.match(plan.stdout, /^68002 new_newcdbtag_v008 skip: queued: job 2\.0/m)
})

t.test('the cron moved to another submit node: the first schedd is asked by name; its clusters are not the new one\'s', async (t) => {
  const s = await prepare(t, someRuns(2))
  t.equal((await act(s)).code, 0)
  t.match(await ledger(s), [
    { state: 'submitting', cluster: undefined, schedd: DEFAULT_SCHEDD, memoryMb: 512 }, { state: 'submitting', schedd: DEFAULT_SCHEDD },
    { state: 'submitted', cluster: 1, proc: 0, schedd: DEFAULT_SCHEDD, memoryMb: 512 }, { state: 'submitted', cluster: 1, proc: 1, schedd: DEFAULT_SCHEDD },
  ], 'the ledger names the schedd condor_submit goes to (before it runs), the one that took the cluster and the memory asked')
  const moved = { FAKE_CONDOR_SCHEDD: OTHER }

  const second = await act(s, moved)
  t.equal(second.code, 0, second.stderr)
  t.equal(second.stdout, 'submit: nothing to submit; 2 in flight\n')
  t.same(readFakeState(s.state).calls.filter((c) => c.program !== 'condor_submit').slice(-5).map((c) => [c.program, c.schedd, c.argv.includes('-totals')]), [
    ['condor_q', OTHER, false], ['condor_history', OTHER, false], ['condor_q', OTHER, true], ['condor_q', DEFAULT_SCHEDD, false], ['condor_history', DEFAULT_SCHEDD, false],
  ], "this host first, its name, then the schedd the ledger names")

  await fakeCondor(s.state, 'set', `${DEFAULT_SCHEDD}#1.1`, 'completed', 'exit=1')
  const retry = await act(s, moved)
  t.match(retry.stdout, /^submit: 1 run \(1 retry\) submitted to cluster 1 /, 'the new schedd counts its clusters from 1')
  t.same(readFakeState(s.state).jobs.map((j) => j.GlobalJobId?.replace(/#\d+$/, '')), [`${DEFAULT_SCHEDD}#1.0`, `${DEFAULT_SCHEDD}#1.1`, `${OTHER}#1.0`])
  const states = (await status(s, [], moved)).stdout
  t.match(states, new RegExp(`^68002 ${TAG} queued: job 1\\.0 since `, 'm'), "its cluster 1 on the new schedd, not the old schedd's")
  t.match(states, /^status: 2 runs: 2 queued$/m)

  // The first node's schedd is down: its run is unknown, the stage goes on and says so.
  const down = await act(s, { ...moved, FAKE_CONDOR_DOWN: DEFAULT_SCHEDD })
  t.equal(down.code, 0, down.stderr)
  t.equal(down.stdout, 'submit: nothing to submit; 1 in flight, 1 unknown to every schedd\n')
  t.match(down.stderr, /warning: schedd sphnxsub01\.fake\.bnl\.gov did not answer \(condor_q -name sphnxsub01\.fake\.bnl\.gov failed \(exit 1\): .*schedd is down.*\): its runs are unknown/)
  t.match(down.stderr, /run 68001 .*: unknown: attempt 1: cluster 1 \(submitted .*\): schedd sphnxsub01\.fake\.bnl\.gov did not answer: /)
  t.equal(submitCalls(s.state), 2)
})

t.test('a ledger written before it named schedds, read on another submit node: unknown, not sent again', async (t) => {
  const s = await prepare(t, someRuns(2))
  const old = 'time,runnumber,tag,attempt,state,cluster,proc,submission,detail\n' + [68001, 68002]
    .map((run, proc) => `${new Date().toISOString()},${run},${TAG},1,submitted,1,${proc},20250101T020000Z-1,2 job(s) submitted to cluster 1\n`).join('')
  writeFileSync(join(s.output, 'submissions.csv'), old)
  // Their jobs are on the first node's schedd, which this node's condor_q does not ask.
  writeFileSync(s.state, JSON.stringify({ nextCluster: 2, calls: [], jobs: [68001, 68002].map((run, proc) => ({
    ClusterId: 1, ProcId: proc, JobStatus: 2, EnteredCurrentStatus: 1735696800, CaloprodRunTag: `${run}_${TAG}`, CaloprodOutput: s.output,
  })) }))
  const result = await act(s, { FAKE_CONDOR_SCHEDD: OTHER })
  t.equal(result.code, 0, result.stderr)
  t.equal(result.stdout, 'submit: nothing to submit; 2 unknown to every schedd\n')
  t.match(result.stderr, /cluster 1 \(submitted .*\) is known to neither condor_q nor condor_history of this host's schedd \(the ledger names none\)/)
  t.equal(submitCalls(s.state), 0)
  t.equal(readFileSync(join(s.output, 'submissions.csv'), 'utf8'), old, 'nothing appended, so the ledger keeps its columns')
  t.equal((await act(s)).stdout, 'submit: nothing to submit; 2 in flight\n', 'on the first node they are in flight')
})

t.test('one output directory by a symlink, a relative path or a trailing slash: the same jobs, nothing sent twice', async (t) => {
  const s = await prepare(t, someRuns(3))
  const root = dirname(s.output)
  // As /sphenix/u/<user> is /direct/sphenix+u/<user> on sPHENIX's machines.
  symlinkSync(s.output, join(root, 'linked'))
  t.equal((await act(s, {}, join(root, 'linked'))).code, 0, 'submitted through the symlink')
  t.equal(readFakeState(s.state).jobs[0]!.CaloprodOutput, s.output, 'jobs carry the resolved path')
  for (const [spelling, cwd] of [[s.output, undefined], [`${s.output}/`, undefined], ['out', root], ['./linked/', root]] as const) {
    const again = await act(s, {}, spelling, cwd)
    t.equal(again.code, 0, again.stderr)
    t.equal(again.stdout, 'submit: nothing to submit; 3 in flight\n', spelling)
  }
  t.equal(submitCalls(s.state), 1)
  t.equal(readFakeState(s.state).jobs.length, 3)
})

t.test('a schedd that does not answer keeps its runs unknown however old: never sent again while it is silent', async (t) => {
  const s = await prepare(t, someRuns(2))
  t.equal((await act(s)).code, 0)
  const moved = { FAKE_CONDOR_SCHEDD: OTHER }
  // Three days on, both jobs still idle on the first node's schedd (a long queue), which is down tonight.
  backdate(s, 3)
  const down = await act(s, { ...moved, FAKE_CONDOR_DOWN: DEFAULT_SCHEDD })
  t.equal(down.code, 0, down.stderr)
  t.equal(down.stdout, 'submit: nothing to submit; 2 unknown to every schedd\n')
  t.match(down.stderr, /run 68001 .*: unknown: attempt 1: cluster 1 \(submitted .*\): schedd sphnxsub01\.fake\.bnl\.gov did not answer: .*; not sent again while its schedd does not answer/)
  t.equal(submitCalls(s.state), 1, 'nothing sent twice')
  t.equal(readFakeState(s.state).jobs.length, 2)
  const plan = (await runStageHere('submit', ['--output', s.output], { ...s.env, ...moved, FAKE_CONDOR_DOWN: DEFAULT_SCHEDD })).stdout
  t.match(plan, /^68002 new_newcdbtag_v008 skip: unknown: .*did not answer/m)
  // Back up: the jobs are there, in flight.
  t.equal((await act(s, moved)).stdout, 'submit: nothing to submit; 2 in flight\n')
  t.equal(submitCalls(s.state), 1)
})

t.test('a cluster the ledger does not name, submitted after the ledger\'s: ordered by its QDate, it decides', async (t) => {
  const s = await prepare(t, someRuns(1))
  t.equal((await act(s)).code, 0)
  await fakeCondor(s.state, 'set', '1.0', 'completed', 'exit=1')
  backdate(s, 1)
  // A person submits condor/ by hand, as genStatus.sub's header says how; the job succeeds.
  const byHand = await promisify(execFile)(join(FAKES, 'condor_submit'), ['genStatus.sub', '-queue', 'input_run from jobs.list'],
    { cwd: join(s.output, 'condor'), env: { ...process.env, ...s.env } })
  t.match(byHand.stdout, /1 job\(s\) submitted to cluster 2\./)
  await fakeCondor(s.state, 'set', '2.0', 'completed', 'exit=0')
  const next = await act(s)
  t.equal(next.code, 0, next.stderr)
  t.equal(next.stdout, 'submit: nothing to submit; 1 done but not yet in the CDB\n', 'not sent again for nothing')
  t.equal(submitCalls(s.state), 2)
  t.match((await status(s)).stdout, new RegExp(`^68001 ${TAG} done: job 2\\.0 finished at `, 'm'))
})

t.test('an unknown submission that names a schedd which does not answer is left unsettled: not lost, not sent again', async (t) => {
  const s = await prepare(t, someRuns(2))
  // condor_submit reports a job count it was not asked for: unknown, with the cluster and the schedd that took it.
  t.equal((await act(s, { FAKE_CONDOR_SUBMIT_MODE: 'miscount' })).code, 1)
  t.match((await ledger(s)).slice(2), [{ state: 'unknown', cluster: 1, schedd: DEFAULT_SCHEDD }, { state: 'unknown', cluster: 1 }])
  // The cron moved to another submit node, and the first node's schedd is down tonight.
  const silent = { FAKE_CONDOR_SCHEDD: OTHER, FAKE_CONDOR_DOWN: DEFAULT_SCHEDD }
  const down = await act(s, silent)
  t.equal(down.code, 0, down.stderr)
  t.equal(down.stdout, 'submit: nothing to submit; 2 unknown to every schedd\n')
  t.match(down.stderr, /run 68001 .*: unknown: attempt 1: cluster 1 \(submitted .*\): schedd sphnxsub01\.fake\.bnl\.gov did not answer: .*not sent again while its schedd does not answer/)
  t.equal(submitCalls(s.state), 1, 'nothing sent twice')
  t.same((await ledger(s)).map((r) => r.state), ['submitting', 'submitting', 'unknown', 'unknown'], 'nothing settled as lost')
  t.match((await status(s, [], silent)).stdout, /^68002 new_newcdbtag_v008 unknown: .*schedd sphnxsub01\.fake\.bnl\.gov did not answer/m)
  // Back up: the jobs are found and the rows settled.
  t.equal((await act(s, { FAKE_CONDOR_SCHEDD: OTHER })).stdout, 'submit: nothing to submit; 2 in flight\n')
  t.match((await ledger(s)).slice(4), [{ state: 'submitted', cluster: 1, schedd: DEFAULT_SCHEDD }, { state: 'submitted', cluster: 1 }])
  t.equal(submitCalls(s.state), 1)
})
