import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { readLedger } from '../lib/files/ledger.js'
import { fingerprint, prepareSubmit as prepare, someRuns, TAG, writeCondorDir, writeStageInputs, type Prepared as Setup } from './helpers/condor-output.js'
import { FAKE_GENSTATUS, fakeCondor, readFakeState, submitCalls, type FakeJob } from './helpers/fake-condor.js'
import { runStageHere } from './helpers/run-script.js'

const submit = (s: Setup, flags: string[] = [], env: Record<string, string> = {}) =>
  runStageHere('submit', ['--output', s.output, ...flags], { ...s.env, ...env })
const act = (s: Setup, flags: string[] = [], env: Record<string, string> = {}) => submit(s, ['--do-condor-submit', ...flags], env)

const jobsOf = (s: Setup, run: number): FakeJob[] => readFakeState(s.state).jobs.filter((j) => j.CaloprodRunTag === `${run}_${TAG}`)
const ledger = async (s: Setup) => (await readLedger(join(s.output, 'submissions.csv'))).rows
const submissions = (s: Setup) => readdirSync(join(s.output, 'submissions')).filter((n) => !n.startsWith('.')).sort()

t.test('without --do-condor-submit: the plan, and the output directory stays byte for byte as it was', async (t) => {
  const s = await prepare(t, someRuns(3))
  const first = await act(s)
  t.equal(first.code, 0, first.stderr)
  await fakeCondor(s.state, 'set', '1.1', 'completed', 'exit=1')
  await fakeCondor(s.state, 'set', '1.2', 'held', 'reason=Error from slot1@node: out of memory')
  writeStageInputs(s.output, [...someRuns(3), { run: 68009, tag: TAG, files: ['/d/x.root'] }])
  await writeCondorDir(s)
  // An interrupted submission the plan would settle (but must not record).
  writeFileSync(join(s.output, 'submissions.csv'), `${readFileSync(join(s.output, 'submissions.csv'), 'utf8')}2025-01-01T00:00:00Z,68009,${TAG},1,submitting,,,,,20250101T000000Z-9,x\n`)
  const before = fingerprint(s.output)
  const logsBefore = fingerprint(s.logs)

  const plan = await submit(s)
  t.equal(plan.code, 0, plan.stderr)
  t.equal(plan.stderr, '')
  t.match(plan.stdout.split('\n').map((line) => line.split(':')[0]), [
    'ledger', `68001 ${TAG} skip`, `68002 ${TAG} submit`, `68003 ${TAG} skip`, `68009 ${TAG} submit`, 'plan', '',
  ], 'the settling it would record, one line per run in run order, then the summary')
  t.match(plan.stdout, /^68003 new_newcdbtag_v008 skip: held: job 1\.2 since .*: Error from slot1@node: out of memory; not for memory: left for a person/m)
  t.match(plan.stdout, /^68002 new_newcdbtag_v008 submit: retry 2 of 3: attempt 1: job 1\.1 exited 1 at /m)
  t.match(plan.stdout, /^ledger: would record run 68009 .* as lost/m)
  t.match(plan.stdout, /^plan: would submit 2 runs \(1 retry\); 1 in flight, 1 held; nothing changed \(--do-condor-submit submits\)\n$/m)
  t.same(fingerprint(s.output), before, 'every byte, mode and mtime, folders included: no log, no lock, no ledger row')
  t.same(fingerprint(s.logs), logsBefore, 'the condor logs are untouched too')
  t.equal(submitCalls(s.state), 1, 'no condor_submit')
})

t.test('two submits in a row submit each run once', async (t) => {
  const s = await prepare(t, someRuns(3))
  const first = await act(s)
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, /^submit: 3 runs submitted to cluster 1 \(submissions\/\d{8}T\d{6}Z-1\)\n$/)
  t.equal(first.stderr, '')
  const second = await act(s)
  t.equal(second.code, 0, second.stderr)
  t.equal(second.stdout, 'submit: nothing to submit; 3 in flight\n')
  t.equal(submitCalls(s.state), 1)
  t.equal(readFakeState(s.state).jobs.length, 3)
  const rows = await ledger(s)
  t.same(rows.map((r) => [r.runnumber, r.attempt, r.state, r.cluster, r.proc]), [
    [68001, 1, 'submitting', undefined, undefined], [68002, 1, 'submitting', undefined, undefined], [68003, 1, 'submitting', undefined, undefined],
    [68001, 1, 'submitted', 1, 0], [68002, 1, 'submitted', 1, 1], [68003, 1, 'submitted', 1, 2],
  ])
  const job = jobsOf(s, 68002)[0]
  t.equal(job.CaloprodOutput, s.output, 'each job carries its output directory and its run and tag')
  t.equal(job.RequestMemory, 512)
  const quiet = await act(s, ['--quiet'])
  t.equal(quiet.code, 0)
  t.equal(quiet.stdout + quiet.stderr, '', 'a quiet night with --quiet prints nothing')
  const log = readFileSync(join(s.output, 'log', `${new Date().toISOString().slice(0, 10)}.log`), 'utf8')
  t.equal((log.match(/submit\[\d+\] info: start:/g) ?? []).length, 3, 'every invocation is in the log')
})

t.test('each submission runs from its own frozen copy, which later runs never change', async (t) => {
  const s = await prepare(t, someRuns(2))
  const priorLog = join(s.logs, 'job-0-0.log')
  writeFileSync(priorLog, 'an earlier submission\n')
  t.equal((await act(s)).code, 0)
  const [name] = submissions(s)
  const frozen = join(s.output, 'submissions', name)
  const copy = fingerprint(frozen)
  t.same(readdirSync(frozen).sort(), ['datasets', 'error', 'genStatus.sh', 'genStatus.sub', 'jobs.list', 'stdout'])
  t.equal(readFileSync(join(frozen, 'jobs.list'), 'utf8'), someRuns(2).map((r) => `${join(frozen, 'datasets', `${r.run}_${TAG}.list`)}\n`).join(''))
  t.equal(readFileSync(join(frozen, 'genStatus.sub'), 'utf8'), readFileSync(join(s.output, 'condor', 'genStatus.sub'), 'utf8'))
  const { parent, ...call } = readFakeState(s.state).calls.find((c) => c.program === 'condor_submit')!
  t.same(call, { program: 'condor_submit', argv: ['genStatus.sub', '-queue', 'input_run from jobs.list'], cwd: frozen, mode: 'ok' })
  t.ok(parent, 'the fake names the process that started it')
  t.same(jobsOf(s, 68001)[0].Args[1], join(frozen, 'datasets', `68001_${TAG}.list`), 'the job reads the frozen list')

  // The next night: new lists, a new submit file, a third run; the first two are still queued.
  writeStageInputs(s.output, [...someRuns(2).map((r) => ({ ...r, files: ['/d/changed.root'] })), { run: 68003, tag: TAG, files: ['/d/c.root'] }])
  await writeCondorDir(s, 4)
  const next = await act(s)
  t.match(next.stdout, /^submit: 1 run submitted to cluster 2 \(submissions\/\d{8}T\d{6}Z-2\); 2 in flight\n$/)
  t.same(fingerprint(frozen), copy, 'the first submission is as it was')
  t.equal(submissions(s).length, 2)
  t.equal(readFileSync(priorLog, 'utf8'), 'an earlier submission\n', 'condor logs of earlier submissions are kept')
})

t.test('a path with a space and a $ reaches the job intact, and the job writes its payloads there', async (t) => {
  const s = await prepare(t, [{ run: 68006, tag: TAG, files: ['/d/a.root', '/d/b.root'] }], 'out dir $x')
  const result = await act(s)
  t.equal(result.code, 0, result.stderr)
  const [job] = readFakeState(s.state).jobs
  const [name] = submissions(s)
  t.same(job.Args, [FAKE_GENSTATUS, join(s.output, 'submissions', name, 'datasets', `68006_${TAG}.list`), `${s.output}/output`])
  t.equal(job.CaloprodOutput, s.output)
  t.equal(job.CaloprodRunTag, `68006_${TAG}`)
  t.equal(job.UserLog, join(s.logs, 'job-1-0.log'))

  await fakeCondor(s.state, 'run')
  const done = readFakeState(s.state).jobs[0]
  t.equal(done.ExitCode, 0, readFileSync(done.Err!, 'utf8'))
  t.ok(existsSync(join(s.output, 'output', `68006_${TAG}`, `CEMC_meanTime_${TAG}_68006.root`)))
  t.ok(existsSync(join(s.output, 'output', `68006_${TAG}`, 'QA', `EMCalHotMap_${TAG}_68006.root`)))
  t.match(readFileSync(done.Out!, 'utf8'), new RegExp(`genStatus\\.sh: copied 68006_${TAG} to .*out dir \\$x/output`))

  const after = await act(s)
  t.equal(after.code, 0, after.stderr)
  t.equal(after.stdout, 'submit: nothing to submit; 1 done but not yet in the CDB\n', 'done but still in the process list: reported, not resubmitted')
  t.match(readFileSync(join(s.output, 'log', `${new Date().toISOString().slice(0, 10)}.log`), 'utf8'), /68006 new_newcdbtag_v008 skip: done but still not current in the CDB: job 1\.0 finished at .*; its payloads are in output\/68006_new_newcdbtag_v008\//)
  t.equal(submitCalls(s.state), 1)
})

t.test('a job held for another reason than HoldReasonCode 34 is left alone and reported with its reason', async (t) => {
  const s = await prepare(t, someRuns(1))
  t.equal((await act(s)).code, 0)
  await fakeCondor(s.state, 'set', '1.0', 'held', 'reason=Error from slot1@sphnx02: Job has gone over memory limit of 512 megabytes.')
  const result = await act(s)
  t.equal(result.code, 0, result.stderr)
  t.equal(result.stdout, 'submit: nothing to submit; 1 held\n')
  t.match(result.stderr, /^submit: warning: run 68001 new_newcdbtag_v008: held: job 1\.0 since .* UTC: Error from slot1@sphnx02: Job has gone over memory limit of 512 megabytes\.; not for memory: left for a person \(condor_release or condor_rm it\)\n$/)
  t.equal(submitCalls(s.state), 1)
})

t.test('a failed job is submitted again until --max-attempts, then left for a person', async (t) => {
  const s = await prepare(t, someRuns(1))
  t.equal((await act(s, ['--max-attempts', '2'])).code, 0)
  await fakeCondor(s.state, 'set', '1', 'completed', 'exit=1')
  const retry = await act(s, ['--max-attempts', '2'])
  t.equal(retry.code, 0, retry.stderr)
  t.match(retry.stdout, /^submit: 1 run \(1 retry\) submitted to cluster 2 /)
  await fakeCondor(s.state, 'set', '2', 'removed')
  const giveUp = await act(s, ['--max-attempts', '2'])
  t.equal(giveUp.code, 0, giveUp.stderr)
  t.equal(giveUp.stdout, 'submit: nothing to submit; 1 given up\n')
  t.match(giveUp.stderr, /warning: run 68001 new_newcdbtag_v008: gave up after 2 attempts \(--max-attempts 2\): attempt 2: job 2\.0 was removed/)
  t.same((await ledger(s)).filter((r) => r.state === 'submitted').map((r) => [r.attempt, r.cluster]), [[1, 1], [2, 2]])
  const more = await act(s, ['--max-attempts', '3'])
  t.match(more.stdout, /^submit: 1 run \(1 retry\) submitted to cluster 3 /, 'a higher --max-attempts lets it try again')
})

t.test('a run given up after its one attempt says attempt, not attempts', async (t) => {
  const s = await prepare(t, someRuns(1))
  t.equal((await act(s, ['--max-attempts', '1'])).code, 0)
  await fakeCondor(s.state, 'set', '1', 'completed', 'exit=1')
  const giveUp = await act(s, ['--max-attempts', '1'])
  t.equal(giveUp.code, 0, giveUp.stderr)
  t.match(giveUp.stderr, /warning: run 68001 new_newcdbtag_v008: gave up after 1 attempt \(--max-attempts 1\): /)
})

t.test('--max-jobs caps the runs submitted per invocation; the rest wait for the next one', async (t) => {
  const s = await prepare(t, someRuns(5))
  const first = await act(s, ['--max-jobs', '2'])
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, /^submit: 2 runs submitted to cluster 1 .*; 3 deferred by --max-jobs\n$/)
  t.match(first.stderr, /warning: 5 runs are due; submitting 2 \(--max-jobs 2\), the other 3 wait for the next run/)
  t.same(readFakeState(s.state).jobs.map((j) => j.CaloprodRunTag), [`68001_${TAG}`, `68002_${TAG}`])
  const second = await act(s, ['--max-jobs', '2'])
  t.match(second.stdout, /^submit: 2 runs submitted to cluster 2 .*; 2 in flight, 1 deferred by --max-jobs\n$/)
  const third = await act(s, ['--max-jobs', '2'])
  t.match(third.stdout, /^submit: 1 run submitted to cluster 3 .*; 4 in flight\n$/)
  t.equal(readFakeState(s.state).jobs.length, 5)
})

t.test('a condor/ directory written for another output directory is refused', async (t) => {
  const s = await prepare(t, someRuns(1))
  const sub = join(s.output, 'condor', 'genStatus.sub')
  writeFileSync(sub, readFileSync(sub, 'utf8').replace(/CaloprodOutput {2}= ".*"/, 'CaloprodOutput  = "/elsewhere"'))
  const result = await act(s)
  t.equal(result.code, 1)
  t.match(result.stderr, /genStatus\.sub: was not written by the condor stage for .*; re-run the condor stage/)
  t.equal(submitCalls(s.state), 0)
})
