// A job held for memory is given more and released, night after night, until --max-attempts; any other hold is
// left for a person. Played on the fake scheduler's condor_qedit and condor_release.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { readLedger } from '../../lib/files/ledger.js'
import { prepareSubmit, someRuns, type Prepared } from '../helpers/condor-output.js'
import { fakeCondor, readFakeState } from '../helpers/fake-condor.js'
import { runStageHere } from '../helpers/run-script.js'

const OVER = 'Error from slot1_3@node07: Job has gone over memory limit of 512 megabytes. Peak usage: 601 megabytes.'
const act = (s: Prepared, flags: string[] = [], env: Record<string, string> = {}) =>
  runStageHere('submit', ['--output', s.output, '--do-condor-submit', ...flags], { ...s.env, ...env })
const job = (s: Prepared, id: string) => readFakeState(s.state).jobs.find((j) => `${j.ClusterId}.${j.ProcId}` === id)!
const calls = (s: Prepared, program: string) => readFakeState(s.state).calls.filter((c) => c.program === program).map((c) => c.argv.join(' '))

t.test('held for memory: released with 1.5x on each night, up to --max-attempts; another hold is left alone', async (t) => {
  const s = await prepareSubmit(t, someRuns(2))
  const flags = ['--max-attempts', '3', '--max-memory', '1.5']
  t.equal((await act(s, flags)).code, 0, 'night 1: both runs submitted, cluster 1, 512 MB each')
  t.equal(job(s, '1.0').RequestMemory, 512)
  await fakeCondor(s.state, 'set', '1.1', 'held', 'reason=The job attribute OnExitHold expression evaluated to TRUE', 'code=3')

  const memories: number[] = []
  for (const night of [2, 3]) {
    await fakeCondor(s.state, 'set', '1.0', 'held', `reason=${OVER}`, 'code=34')
    const result = await act(s, flags)
    t.equal(result.code, 0, result.stderr)
    t.match(result.stdout, /1 held for memory and released with more, 1 held/, `night ${night}: the summary counts both`)
    t.match(result.stderr, /run 68002 .*: held: job 1\.1 .*OnExitHold.*; not for memory: left for a person/, 'the other hold is named')
    t.equal(job(s, '1.0').JobStatus, 1, `night ${night}: the same job is idle again`)
    t.equal(job(s, '1.1').JobStatus, 5, 'the other stays held')
    memories.push(job(s, '1.0').RequestMemory!)
  }
  t.same(memories, [768, 1152], '512 MB times 1.5, twice')
  t.same(calls(s, 'condor_qedit'), [
    '-name sphnxsub01.fake.bnl.gov -constraint ClusterId == 1 && ProcId == 0 RequestMemory 768',
    '-name sphnxsub01.fake.bnl.gov -constraint ClusterId == 1 && ProcId == 0 RequestMemory 1152',
  ], 'only the job held for memory is edited, on the schedd that queued it')
  t.same(calls(s, 'condor_release'), ['-name sphnxsub01.fake.bnl.gov 1.0', '-name sphnxsub01.fake.bnl.gov 1.0'])
  t.equal(readFakeState(s.state).calls.filter((c) => c.program === 'condor_submit').length, 1, 'never a second job for a run')

  const rows = (await readLedger(join(s.output, 'submissions.csv'))).rows.filter((r) => r.runnumber === 68001)
  t.same(rows.map((r) => [r.state, r.attempt, r.cluster, r.memoryMb]), [
    ['submitting', 1, undefined, 512], ['submitted', 1, 1, 512], ['released', 2, 1, 768], ['released', 3, 1, 1152],
  ], 'each release is a ledger row with the memory asked and its attempt')

  await fakeCondor(s.state, 'set', '1.0', 'held', `reason=${OVER}`, 'code=34')
  const last = await act(s, flags)
  t.equal(last.code, 0, last.stderr)
  t.match(last.stderr, /run 68001 .*gave up after 3 attempts \(--max-attempts 3\): left for a person/, 'night 4: given up')
  t.equal(job(s, '1.0').JobStatus, 5, 'still held')
  t.equal(calls(s, 'condor_release').length, 2, 'not released a third time')

  const status = await runStageHere('status', ['--output', s.output, '--max-attempts', '3'], s.env)
  t.match(status.stdout, /^68001 new_newcdbtag_v008 held: .*job 1\.0 .*Job has gone over memory limit/m)
  const json = await runStageHere('status', ['--output', s.output, '--json'], s.env)
  t.match(JSON.parse(json.stdout), [{ runnumber: 68001, state: 'held', attempts: 3, memory_mb: 1152 }], 'status --json: attempts and memory')
  // why needs the run list the reduce stage writes; this output directory was made from the process list on.
  writeFileSync(join(s.output, 'run3auau.csv'), readFileSync(join(s.output, 'run3auau-process.csv')))
  const why = await runStageHere('why', ['--output', s.output, '--run', '68001', '--max-attempts', '3', '--max-memory', '1.5'], s.env)
  t.equal(why.code, 0, why.stderr)
  t.match(why.stdout, /job: \S+ cluster 1 attempt 1, 512 MB: submitted .*\n  job: \S+ cluster 1 attempt 2, 768 MB: released .*\n  job: \S+ cluster 1 attempt 3, 1152 MB: released /,
    'why: each release with its memory')
  t.match(why.stdout, /scheduler now: held: .*\[HoldReasonCode 34\], 1152 MB asked\n  next: stays held: gave up after 3 attempts/)
  t.match(why.stdout, /next: .*; a person: condor_qedit 1\.0 RequestMemory 1728, then condor_release 1\.0 \(released as it is, it is held again\), or condor_rm 1\.0, then /,
    'why: more memory before a release, never a bare condor_release of a memory hold')
})

t.test('a night with many jobs held for memory: one condor_qedit and one condor_release for all, a log line per run', async (t) => {
  const s = await prepareSubmit(t, someRuns(8))
  t.equal((await act(s)).code, 0, 'night 1: cluster 1 of 8 jobs')
  await fakeCondor(s.state, 'set', '1', 'held', `reason=${OVER}`, 'code=34')
  await fakeCondor(s.state, 'set', '1.5', 'held', 'reason=The job attribute OnExitHold expression evaluated to TRUE', 'code=3')
  const night = await act(s, ['--verbose'])
  t.equal(night.code, 0, night.stderr)
  t.match(night.stdout, /7 held for memory and released with more, 1 held/)
  const ids = [0, 1, 2, 3, 4, 6, 7]
  t.same(calls(s, 'condor_qedit'), [
    `-name sphnxsub01.fake.bnl.gov -constraint ClusterId == 1 && (${ids.map((p) => `ProcId == ${p}`).join(' || ')}) RequestMemory 768`,
  ])
  t.same(calls(s, 'condor_release'), [`-name sphnxsub01.fake.bnl.gov ${ids.map((p) => `1.${p}`).join(' ')}`])
  t.same(ids.map((p) => [job(s, `1.${p}`).JobStatus, job(s, `1.${p}`).RequestMemory]), ids.map(() => [1, 768]))
  t.same([job(s, '1.5').JobStatus, job(s, '1.5').RequestMemory], [5, 512], 'the other hold is left alone')
  for (const p of ids) t.match(night.stderr, new RegExp(`run ${68001 + p} new_newcdbtag_v008: job 1\\.${p} released with 768 MB\n`))
  const rows = (await readLedger(join(s.output, 'submissions.csv'))).rows.filter((r) => r.state === 'released')
  t.same(rows.map((r) => [r.runnumber, r.attempt, r.proc, r.memoryMb]), ids.map((p) => [68001 + p, 2, p, 768]), 'a released row per job')
})

t.test('HoldReasonCode 34 for the scratch disk (HoldReasonSubCode 104) is no memory hold: left for a person', async (t) => {
  const s = await prepareSubmit(t, someRuns(1))
  t.equal((await act(s)).code, 0)
  await fakeCondor(s.state, 'set', '1.0', 'held', 'reason=Job has exceeded allocated disk', 'code=34', 'subcode=104')
  const result = await act(s)
  t.match(result.stderr, /held: .*allocated disk; not for memory: left for a person/)
  t.same(calls(s, 'condor_release'), [])
})

t.test('--max-memory caps the memory given; a job already at the cap is left for a person', async (t) => {
  const s = await prepareSubmit(t, someRuns(1))
  t.equal((await act(s, ['--max-memory', '0.7'])).code, 0)
  await fakeCondor(s.state, 'set', '1.0', 'held', `reason=${OVER}`, 'code=34')
  t.equal((await act(s, ['--max-memory', '0.7'])).code, 0)
  t.equal(job(s, '1.0').RequestMemory, 717, '0.7 GB, not 768 MB')
  await fakeCondor(s.state, 'set', '1.0', 'held', `reason=${OVER}`, 'code=34')
  const capped = await act(s, ['--max-memory', '0.7'])
  t.match(capped.stderr, /it has 717 MB, the most --max-memory allows: left for a person/)
  t.equal(job(s, '1.0').JobStatus, 5)
})

t.test('a release the schedd refuses is in the ledger and the log, and counts as an attempt', async (t) => {
  const s = await prepareSubmit(t, someRuns(1))
  t.equal((await act(s)).code, 0)
  await fakeCondor(s.state, 'set', '1.0', 'held', `reason=${OVER}`, 'code=34')
  const refused = await act(s, [], { FAKE_CONDOR_EDIT_MODE: 'fail' })
  t.equal(refused.code, 0, 'the night goes on')
  t.match(refused.stderr, /could not release job 1\.0 with 768 MB: condor_qedit 1\.0 failed \(exit 1\): Failed to connect to queue manager/)
  t.match(refused.stdout, /1 not released \(see the log\)/)
  const rows = (await readLedger(join(s.output, 'submissions.csv'))).rows
  t.equal(rows.at(-1)!.state, 'released')
  const status = await runStageHere('status', ['--output', s.output, '--json'], s.env)
  t.match(JSON.parse(status.stdout), [{ state: 'held', attempts: 2 }])
})

t.test('the fake tools answer as HTCondor does', async (t) => {
  const s = await prepareSubmit(t, someRuns(3))
  t.equal((await act(s)).code, 0)
  const run = (program: string, ...args: string[]) => runFake(s, program, args)
  t.match(await run('condor_release', '1.0'), { code: 1, stdout: '', stderr: '\nJob 1.0 not held to be released\n' })
  t.match(await run('condor_release', '7.0'), { code: 1, stderr: '\nJob 7.0 not found\n' })
  t.match(await run('condor_qedit', '7.0', 'RequestMemory', '900'), {
    code: 1, stderr: 'Failed to set attribute "RequestMemory" for job 7.0.\nQueue transaction failed.  No attributes were set.\n',
  })
  t.match(await run('condor_qedit', '1.0', 'RequestMemory', '900'), { code: 0, stdout: 'Set attribute "RequestMemory" for 1 matching jobs.\n' })
  t.match(await run('condor_qedit', '-name', 'nosuch', '1.0', 'RequestMemory', '900'), { code: 1, stderr: /No such schedd named nosuch/ })
  t.match(await run('condor_qedit', '1.0', 'Owner', '"eve"'), {
    code: 1, stderr: 'Update of immutable attribute "Owner" is not allowed.\nTransaction failed.  No attributes were set.\n',
  })

  // Several job ids: one transaction, all or nothing; the first job not in the queue names itself.
  t.match(await run('condor_qedit', '1.2', '1.0', '7.0', 'RequestMemory', '1000'), {
    code: 1, stderr: 'Failed to set attribute "RequestMemory" for job 7.0.\nQueue transaction failed.  No attributes were set.\n',
  })
  t.equal(job(s, '1.0').RequestMemory, 900, 'nothing was set')
  t.match(await run('condor_qedit', '1.2', '1.0', 'RequestMemory', '1000'), { code: 0, stdout: 'Set attribute "RequestMemory" for 2 matching jobs.\n' })
  // -constraint: what matches, and none is an error.
  const named = '(ClusterId == 1 && (ProcId == 1 || ProcId == 2)) || (ClusterId == 7 && ProcId == 0)'
  t.match(await run('condor_qedit', '-constraint', named, 'RequestMemory', '1100'), { code: 0, stdout: 'Set attribute "RequestMemory" for 2 matching jobs.\n' })
  t.same([job(s, '1.0').RequestMemory, job(s, '1.1').RequestMemory, job(s, '1.2').RequestMemory], [1000, 1100, 1100])
  t.match(await run('condor_qedit', '-constraint', 'ClusterId == 7', 'RequestMemory', '1'), {
    code: 1, stderr: 'Failed to set attribute "RequestMemory" by constraint: ( (ClusterId == 7) )\nQueue transaction failed.  No attributes were set.\n',
  })
  t.match(await run('condor_qedit', '-constraint', 'ClusterId ==', 'RequestMemory', '1'), { code: 1, stderr: 'condor_qedit: invalid constraint: ClusterId ==\n' })

  // condor_release of several: a line per job in the order given, exit 0 when any was released.
  await fakeCondor(s.state, 'set', '1.0', 'held', `reason=${OVER}`, 'code=34')
  await fakeCondor(s.state, 'set', '1.2', 'held', `reason=${OVER}`, 'code=34')
  t.match(await run('condor_release', '1.0', '7.0', '1.1', '1.2'), {
    code: 0, stdout: 'Job 1.0 released\nJob 1.2 released\n', stderr: 'Job 7.0 not found\nJob 1.1 not held to be released\n',
  })
  t.same([job(s, '1.0').JobStatus, job(s, '1.2').JobStatus], [1, 1])
  t.match(await run('condor_release', '-name', 'nosuch', '1.0'), { code: 1, stderr: 'Error: cannot get address of schedd nosuch\n' })
  t.match(await runFake(s, 'condor_release', ['1.0', '1.1'], { FAKE_CONDOR_EDIT_MODE: 'fail' }), {
    code: 1, stderr: 'DCSchedd::actOnJobs:6001:Failed to connect to schedd\nNo result found for job 1.0\nNo result found for job 1.1\n',
  })
  t.match(await run('condor_rm', '1.0', '7.0'), { code: 0, stdout: 'Job 1.0 marked for removal\n', stderr: 'Job 7.0 not found\n' })
  t.equal(job(s, '1.0').JobStatus, 3)
})

t.test('the fake tools act on the caller\'s jobs only, as the schedd does', async (t) => {
  const s = await prepareSubmit(t, someRuns(2))
  t.equal((await act(s)).code, 0)
  await fakeCondor(s.state, 'set', '1', 'held', `reason=${OVER}`, 'code=34')
  const eve = { FAKE_CONDOR_USER: 'eve' }
  t.match(await runFake(s, 'condor_qedit', ['-constraint', 'ClusterId == 1', 'RequestMemory', '900'], eve), {
    code: 1, stderr: /^Failed to set attribute "RequestMemory" by constraint/, // CONDOR_Q_ONLY_MY_JOBS: none of eve's
  })
  t.match(await runFake(s, 'condor_qedit', ['1.0', 'RequestMemory', '900'], eve), { code: 1, stderr: /^Failed to set attribute "RequestMemory" for job 1\.0\./ })
  t.match(await runFake(s, 'condor_release', ['1.0', '1.1'], eve), {
    code: 1, stderr: '\nPermission denied to release job 1.0\nPermission denied to release job 1.1\n',
  })
  t.equal(job(s, '1.0').JobStatus, 5, 'still held')
})

async function runFake(s: Prepared, program: string, args: string[], env: Record<string, string> = {}) {
  const { execFile } = await import('node:child_process')
  const { FAKES } = await import('../helpers/fake-condor.js')
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(join(FAKES, program), args, { env: { ...process.env, ...s.env, ...env } }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }))
  })
}

