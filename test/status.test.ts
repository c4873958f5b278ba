import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { someRuns, stagedOutput, TAG } from './helpers/condor-output.js'
import { fakeCondor } from './helpers/fake-condor.js'
import { ROOT, runScript, runStageHere, stageArgs } from './helpers/run-script.js'
import { otherRunsUploads, prepareUpload, uploadedLine } from './helpers/upload-setup.js'

t.test('status prints each run of the process list with its state, hold reason and attempts', async (t) => {
  const { output, queue: state, env } = await stagedOutput(t, [...someRuns(6), { run: 68007, tag: TAG }], { condor: true })
  t.equal((await runStageHere('submit', ['--output', output, '--do-condor-submit', '--max-jobs', '5'], env)).code, 0)
  await fakeCondor(state, 'set', '1.1', 'running')
  await fakeCondor(state, 'set', '1.2', 'held', 'reason=The job attribute PeriodicHold expression became true')
  await fakeCondor(state, 'set', '1.3', 'completed', 'exit=0')
  await fakeCondor(state, 'set', '1.4', 'completed', 'exit=2')
  const ledger = readFileSync(join(output, 'submissions.csv'), 'utf8')

  const result = await runStageHere('status', ['--output', output], env)
  t.equal(result.code, 0, result.stderr)
  t.equal(result.stderr, '')
  const lines = result.stdout.split('\n')
  t.match(lines, [
    /^68001 new_newcdbtag_v008 queued: job 1\.0 since \d{4}-\d\d-\d\d \d\d:\d\d UTC$/,
    /^68002 new_newcdbtag_v008 running: job 1\.1 since /,
    /^68003 new_newcdbtag_v008 held: job 1\.2 since .* UTC: The job attribute PeriodicHold expression became true$/,
    /^68004 new_newcdbtag_v008 done: job 1\.3 finished at /,
    /^68005 new_newcdbtag_v008 failed: 1 of 3 attempts; attempt 1: job 1\.4 exited 2 at /,
    /^68006 new_newcdbtag_v008 new: not submitted yet$/,
    /^68007 new_newcdbtag_v008 new: no list in datasets\/ \(see the lists stage's log\); not submitted yet$/,
    'status: 7 runs: 2 new, 1 queued, 1 running, 1 held, 1 done, 1 failed',
    '',
  ])
  t.equal(readFileSync(join(output, 'submissions.csv'), 'utf8'), ledger, 'status writes no ledger row')

  const json = await runStageHere('status', ['--output', output, '--json'], env)
  t.equal(json.code, 0, json.stderr)
  const records = JSON.parse(json.stdout)
  t.equal(json.stdout.trim().split('\n').length, 7 + 2, 'one object a line, between [ and ]')
  t.same(records.map((r: { state: string }) => r.state), ['queued', 'running', 'held', 'done', 'failed', 'new', 'new'], 'the same states as the text')
  t.same(Object.keys(records[0]), ['runnumber', 'tag', 'state', 'detail', 'attempts', 'cluster', 'proc', 'hold_reason', 'memory_mb'])
  t.match(records[2], { runnumber: 68003, tag: 'new_newcdbtag_v008', state: 'held', attempts: 1, cluster: 1, proc: 2, hold_reason: 'The job attribute PeriodicHold expression became true' })
  t.match(records[2].detail, /^job 1\.2 since .* UTC: The job attribute PeriodicHold expression became true$/, 'the detail of the text')
  t.match(records[4], { state: 'failed', detail: /^1 of 3 attempts; attempt 1: job 1\.4 exited 2/, hold_reason: null })
  t.match(records[6], { runnumber: 68007, state: 'new', attempts: 0, cluster: null, proc: null, detail: /^no list in datasets/ })

  const givenUp = await runStageHere('status', ['--output', output, '--max-attempts', '1'], env)
  t.match(givenUp.stdout, /^68005 new_newcdbtag_v008 failed: 1 of 1 attempts, given up; /m)

  const down = await runStageHere('status', ['--output', output], { ...env, FAKE_CONDOR_Q_MODE: 'fail' })
  t.equal(down.code, 1)
  t.match(down.stderr, /^caloprod status: cannot ask the scheduler what is in flight: condor_q failed \(exit 1\)/)
  // After a bad night, the line report.html's banner opens with, after the count (the report's words); --json: the runs
  // only on stdout, the line on stderr.
  const failed = await runStageHere('submit', ['--output', output, '--do-condor-submit'], { ...env, FAKE_CONDOR_Q_MODE: 'fail' })
  t.equal(failed.code, 1)
  const line = failed.stderr.trim().replace(/^caloprod submit: /, '')
  const bad = await runStageHere('status', ['--output', output], env)
  t.equal(bad.code, 0, bad.stderr)
  const [count, night, end] = bad.stdout.split('\n').slice(-3)
  t.match(count, /^status: 7 runs: /)
  t.match(night, /^status: submit failed at \d{4}-\d\d-\d\d \d\d:\d\d UTC \(exit 1\): /)
  t.ok(night!.includes(`: ${line}; run3auau has had no good night since `), `the stage's own line: ${night}`)
  t.match(night, /\(the last submit that succeeded\)\. The runs above are those of the process list the check last wrote\.$/)
  t.equal(end, '')
  const badJson = await runStageHere('status', ['--output', output, '--json'], env)
  t.equal(badJson.code, 0, badJson.stderr)
  t.equal(JSON.parse(badJson.stdout).length, 7, '--json: the runs only on stdout')
  t.equal(badJson.stderr, `status: warning: ${night!.replace(/^status: /, '')}\n`, '--json: the night\'s line on stderr, as a warning')
  t.equal((await runStageHere('submit', ['--output', output, '--do-condor-submit'], env)).code, 0)
  t.notMatch((await runStageHere('status', ['--output', output], env)).stdout, /failed at/, 'a good night again: no such line')
  t.equal((await runStageHere('status', ['--output', output, '--json'], env)).stderr, '', 'nor a warning with --json')
  // A record status cannot read (hand-edited): the runs as before, and the file named, as the report names it.
  writeFileSync(join(output, 'log', 'last-night.json'), '{"stages": {"check": null}}\n')
  const edited = await runStageHere('status', ['--output', output], env)
  t.equal(edited.code, 0, edited.stderr)
  t.match(edited.stdout, /\nstatus: 7 runs: .*\nstatus: \S+last-night\.json is not caloprod's record of the last night \(.*\); the next stage to end writes it afresh\n$/)
})

t.test("status and the plan leave other processes' temporary files alone; a locked stage sweeps its own directories", async (t) => {
  const { output, env, condor } = await stagedOutput(t, someRuns(2), { condor: true })
  // Another node's stage writing the ledger: its pid means nothing on this host (here: a pid that has ended).
  const gone = spawnSync(process.execPath, ['-e', '']).pid!
  const names = [`.submissions.csv.${gone}.0123abcd.tmp`, `datasets/.68001_${TAG}.list.${gone}.89abcdef.tmp`, `condor/.jobs.list.${gone}.01234567.tmp`]
  for (const name of names) writeFileSync(join(output, name), 'half written\n')

  t.equal((await runStageHere('status', ['--output', output], env)).code, 0)
  t.equal((await runStageHere('submit', ['--output', output], env)).code, 0, 'the plan')
  t.same(names.filter((name) => !existsSync(join(output, name))), [], 'every temporary file is still there')

  t.equal((await runStageHere('condor', condor, env)).code, 0)
  t.same(names.filter((name) => existsSync(join(output, name))), [], 'a stage holding the lock removed them')
})

t.test('a hold for memory names the memory asked; a hold for scratch disk (code 34, subcode 104) does not', async (t) => {
  const { describeState } = await import('../lib/status.js')
  const held = (holdSubCode: number | undefined) => ({
    runnumber: 68001, tag: TAG, state: 'held' as const, attempts: 1, cluster: 1, schedd: undefined, submitted: undefined,
    detail: 'job 1.0 held: over its limit',
    job: { cluster: 1, proc: 0, runTag: `68001_${TAG}`, status: 5, exitCode: undefined, since: 0, source: 'condor_q' as const, schedd: 'a', holdReason: 'over its limit', holdCode: 34, holdSubCode, requestMemory: 512 },
  })
  t.equal(describeState(held(undefined), true, 3), 'job 1.0 held: over its limit (512 MB asked; attempt 1 of 3)')
  t.equal(describeState(held(104), true, 3), 'job 1.0 held: over its limit', 'the disk: no memory to speak of')
})

t.test("status and why keep of uploads.csv only their runs' payloads: a year of other campaigns' rows fits a small heap", async (t) => {
  const staged = await stagedOutput(t, someRuns(2))
  const output = staged.output
  // 120,000 payloads of runs status does not show (21 MB): kept whole, they need about 150 MB of heap.
  writeFileSync(join(output, 'uploads.csv'), `time,runnumber,tag,payload_type,global_tag,state,checksum,piov,url,detail\n${otherRunsUploads(120_000)}${uploadedLine(68001, 1, TAG)}`)
  const env = { ...staged.env, NODE_OPTIONS: '--max-old-space-size=48' }
  const result = await runScript('status', ['--output', output], env)
  t.equal(result.code, 0, result.stderr)
  t.match(result.stdout, /\nstatus: 2 runs: 2 new\n$/)
  const why = await runScript('why', ['--output', output, '--run', '68001'], env)
  t.equal(why.code, 0, `why keeps only the run asked's: ${why.stderr}`)
  t.match(why.stdout, /^run 68001 /)
  // Every row is still read: one broken far from the runs shown is the error.
  writeFileSync(join(output, 'uploads.csv'), readFileSync(join(output, 'uploads.csv'), 'utf8').replace(',70010,', ',7o010,'))
  const broken = await runScript('status', ['--output', output], env)
  t.equal(broken.code, 1)
  t.match(broken.stderr, /uploads\.csv:72: runnumber "7o010"/)
})

t.test('status on many finished runs opens their payloads a few runs at a time: no EMFILE under a low open-files limit', async (t) => {
  // 40 finished runs, seven payloads each: checked all at once, 280 files open together passed a limit of 128 (EMFILE,
  // as a campaign night's thousands pass the usual 1,024), and status called each file past it unreadable.
  const s = await prepareUpload(t, 40)
  const status = spawnSync('bash', ['-c', 'ulimit -n 128 && exec "$@"', 'bash', process.execPath, ...stageArgs('status', '--output', s.output)],
    { cwd: ROOT, env: { ...process.env, ...s.env }, encoding: 'utf8' })
  t.equal(readdirSync(join(s.output, 'output')).length, 40, 'each run wrote its folder')
  t.equal(status.status, 0, status.stderr)
  // Before, each file past the limit was "unreadable" (EMFILE), and status said upload would refuse it.
  t.notMatch(status.stdout, /EMFILE|unreadable|would refuse/)
  t.match(status.stdout, /\nstatus: 40 runs: 40 done\n$/)
})
