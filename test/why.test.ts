// `why` on every state a run can be in, each built by the stages' own code (test/helpers/report-output.ts) on the
// fake CDB and the fake scheduler: what it says, its JSON, and that it writes nothing.
import { mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { formatCsv } from '../lib/files/csv.js'
import { layout } from '../lib/files/layout.js'
import { QUERY_TABLE } from '../lib/files/query-csv.js'
import { runReduce } from '../lib/reduce.js'
import { currentPayloadFile } from '../lib/rules/calibrations.js'
import { SEED_RULES } from '../lib/rules/seed.js'
import { appendUploads } from '../lib/upload/ledger.js'
import type { RunStory } from '../lib/why/story.js'
import { nextStep } from '../lib/why/text.js'
import { fingerprint, writeStageInputs } from './helpers/condor-output.js'
import { fakeCondor } from './helpers/fake-condor.js'
import { afterSeveralNights, HOLD_REASON, type PipelineOutput } from './helpers/report-output.js'
import { runStageHere } from './helpers/run-script.js'

const TAG = 'new_newcdbtag_v008'
const why = (out: PipelineOutput, runs: number[], flags: string[] = []) =>
  runStageHere('why', ['--output', out.output, ...runs.flatMap((run) => ['--run', String(run)]), '--max-attempts', '2', ...flags], out.env)

interface Story { run: number; next: string; [key: string]: unknown }

t.test('why tells each state of a run after several nights, and writes nothing', async (t) => {
  const out = await afterSeveralNights(t)
  // 66503 held for memory (HoldReasonCode 34), 66509 held for another reason; 66507 done and uploaded.
  const ids = new Map((await fakeCondor(out.condorState, 'list')).split('\n').filter(Boolean).map((l) => [l.split(' ')[2], l.split(' ')[0]]))
  await fakeCondor(out.condorState, 'set', ids.get(`66503_${TAG}`)!, 'held', `reason=${HOLD_REASON}`, 'code=34')
  await fakeCondor(out.condorState, 'set', ids.get(`66509_${TAG}`)!, 'held', 'reason=The job attribute PeriodicHold expression became true', 'code=3')
  const done = JSON.parse((await why(out, [66507], ['--json'])).stdout) as Story[]
  t.match(done, [{ job: { state: 'done', exitCode: 0 }, uploads: [], next: /^its 0 payload files wait in output\/66507_new_newcdbtag_v008\/: task upload/ }],
    'done, not uploaded yet')
  // One payload file written: said in the singular.
  const doneFolder = join(out.output, 'output', `66507_${TAG}`)
  mkdirSync(doneFolder, { recursive: true })
  writeFileSync(join(doneFolder, `CEMC_meanTime_${TAG}_66507.root`), 'root')
  const one = JSON.parse((await why(out, [66507], ['--json'])).stdout) as Story[]
  t.match(one, [{ next: /^its 1 payload file waits in output\/66507_new_newcdbtag_v008\/: task upload .* puts it into the CDB/ }], 'one payload file')
  rmSync(join(doneFolder, `CEMC_meanTime_${TAG}_66507.root`))
  await appendUploads(join(out.output, 'uploads.csv'), [{
    time: '2026-12-01T03:00:00Z', runnumber: 66507, tag: TAG, type: 'CEMC_meanTime', globalTag: 'newcdbtag', state: 'uploaded',
    checksum: '0'.repeat(32), piov: 7, url: 'a/b.root', detail: 'piov 7 attached',
  }])
  const before = fingerprint(out.output)
  const runs = [66500, 66503, 66505, 66506, 66507, 66508, 66509, 66510, 70123, 50000]
  const json = await why(out, runs, ['--json'])
  t.equal(json.code, 0, json.stderr)
  const stories = JSON.parse(json.stdout) as Story[]
  const of = (run: number) => stories.find((s) => s.run === run)!
  t.same(Object.keys(of(66500)).filter((k) => ['run', 'runType', 'rules', 'inCatalog', 'tags', 'threshold', 'selected', 'keptTag', 'cdb',
    'listed', 'missingFiles', 'submissions', 'uploads', 'next'].includes(k)).length, 14, 'every field the issue names')

  t.match(of(66500), { runType: 'run3auau', rules: 'seed', inCatalog: true, selected: true, keptTag: TAG, threshold: 500000,
    tags: [{ tag: TAG, events: 800000, files: 4 }], cdb: { CEMC_meanTime: 'current' }, toProcess: false, submissions: [],
    next: /^nothing: its payloads are current/ }, 'current: settled, nothing to do')
  t.match(of(66503), { job: { state: 'held', holdCode: 34, memoryMb: 512 }, submissions: [{ cluster: 1, attempt: 1, state: 'submitted', memoryMb: 512 }],
    next: /^released with 768 MB next night \(attempt 2 of 2\)/ }, 'held for memory: released next night')
  // The by-hand command as examples/resubmit.ts takes it (OUTPUT RUN), not with flags it refuses.
  const resubmit = (run: number) => `then npx tsx examples/resubmit.ts ${out.output} ${run} --do-condor-submit`
  t.match(of(66509), { job: { state: 'held', holdCode: 3 }, next: /stays held: not for memory.*condor_release \d+\.\d+ or condor_rm/ },
    'held for another reason: a person')
  t.ok(of(66509).next.endsWith(resubmit(66509)), 'held: the command that resubmits it')
  t.match(of(66505), { listed: [], missingFiles: { length: 3 }, eventsOnDisk: 200000, next: /^no job until its files are back \(200000 events on disk\)/ },
    'files missing: too few events on disk, no list')
  t.match(of(66506), { job: { state: 'failed' }, submissions: { length: 2 }, next: /^nothing: given up after 2 attempts/ }, 'failed twice: given up')
  t.ok(of(66506).next.endsWith(resubmit(66506)), `given up: the command that resubmits it: ${of(66506).next}`)
  // "Read the job's log": which file. The job's standard error, as genStatus.sub names it in the frozen copy.
  const errorFile = /read the job's standard error, (\S+\/error\/job-\d+-\d+\.err), then/.exec(of(66506).next)?.[1]
  t.ok(errorFile, `given up: the job's standard error is named: ${of(66506).next}`)
  // The fake sets the job's end without running it, so no such file: the frozen copy it was submitted from says it.
  const frozen = join(errorFile!, '..', '..')
  t.match(readFileSync(join(frozen, 'genStatus.sub'), 'utf8'), /^error += error\/job-\$\(ClusterId\)-\$\(ProcId\)\.err$/m, 'the frozen copy writes it there')
  const [, failedCluster, failedProc] = /job (\d+)\.(\d+) exited/.exec((of(66506).job as { detail: string }).detail)!
  t.ok(errorFile!.endsWith(`/job-${failedCluster}-${failedProc}.err`), 'of the job that failed last')
  t.match(of(66507), { job: { state: 'done' }, uploads: [{ type: 'CEMC_meanTime', state: 'uploaded', globalTag: 'newcdbtag' }],
    next: /^the next check finds its uploaded payloads current/ }, 'done and uploaded')
  t.match(of(66508), { job: { state: 'running' }, next: /^waits for its job/ }, 'running')
  t.match(of(66510), { job: { state: 'queued' }, listed: { length: 4 }, next: /^waits for its job .* \(queued\)/ }, 'queued')
  t.match(of(70123), { inRange: true, inCatalog: false, selected: false, keptTag: null, next: /^nothing until the catalog has histogram files of it with more than 500000 events/ },
    'not in the catalog')
  t.match(of(50000), { inRange: false, next: /outside run3auau's range 66457-78954/ }, 'out of range')

  const text = await why(out, [66505, 66503])
  t.equal(text.code, 0, text.stderr)
  t.match(text.stdout, /^run 66505 \(run3auau, rule set seed\)\n  catalog: new_newcdbtag_v008 4 files 800000 events \(threshold more than 500000 events\)\n/)
  t.match(text.stdout, /  lists: no list \(200000 events on disk, 300001 short of the threshold\); 3 files missing on disk: /)
  t.match(text.stdout, /  CDB: a payload of .* is missing or outdated, by the check of /)
  t.match(text.stdout, /\n\nrun 66503 .*\n(  .*\n)*  job: \S+Z cluster 1 attempt 1, 512 MB: submitted/)
  t.match(text.stdout, /  scheduler now: held: job \d+\.\d+ since .*Job has gone over memory limit.* \[HoldReasonCode 34\], 512 MB asked\n  next: released with 768 MB/)
  t.same(fingerprint(out.output), before, 'nothing written: no log, no ledger row, no lock')

  // A run in flight whose files went missing after it was submitted: its job decides, not the list it lost.
  rmSync(join(out.output, 'datasets', `66510_${TAG}.list`))
  t.match(JSON.parse((await why(out, [66510], ['--json'])).stdout), [{ listed: [], next: /^waits for its job .* \(queued\)/ }])

  // The scheduler does not answer: a run it has a job of is not "submitted next night" (submit submits nothing then).
  const silent = await runStageHere('why', ['--output', out.output, '--run', '66503', '--json'], { ...out.env, FAKE_CONDOR_Q_MODE: 'fail' })
  t.equal(silent.code, 0, silent.stderr)
  t.match(JSON.parse(silent.stdout), [{ job: { state: 'unknown', detail: /condor_q/ },
    next: /^not known while the scheduler cannot be asked: .*submits nothing/ }], 'scheduler silent: unknown, not new')

  // Done, genStatus wrote every payload, the upload stopped part way: status's verdict, not "settles it".
  const folder = join(out.output, 'output', `66507_${TAG}`)
  mkdirSync(folder, { recursive: true })
  for (const type of SEED_RULES.payloadTypes) writeFileSync(join(folder, currentPayloadFile(type, TAG, 66507)), 'root')
  await appendUploads(join(out.output, 'uploads.csv'), [{
    time: '2026-12-01T03:01:00Z', runnumber: 66507, tag: TAG, type: 'HCALIN_meanTime', globalTag: 'newcdbtag', state: 'uploading',
    checksum: '0'.repeat(32), piov: 8, url: 'a/c.root', detail: 'piov 8 made',
  }])
  const partlyRun = await why(out, [66507], ['--json'])
  t.equal(partlyRun.code, 0, partlyRun.stderr)
  const partly = JSON.parse(partlyRun.stdout) as Story[]
  t.match(partly, [{ next: /^partly uploaded: 1 of 7 payloads in the CDB \(newcdbtag\), not .*HCALIN_meanTime.*: run upload again$/ }],
    'interrupted upload: upload again, as status says')
  const status = await runStageHere('status', ['--output', out.output], out.env)
  t.match(status.stdout, /66507 \S+ done: partly uploaded: 1 of 7 payloads/, 'status says the same')
  // Every payload written (CEMC_meanTime) is in the CDB but genStatus wrote no file for the others: the check keeps the run.
  for (const type of SEED_RULES.payloadTypes.filter((type) => type !== 'CEMC_meanTime')) rmSync(join(folder, currentPayloadFile(type, TAG, 66507)))
  const incomplete = JSON.parse((await why(out, [66507], ['--json'])).stdout) as Story[]
  t.match(incomplete, [{ next: /^the next check finds its uploaded payloads current; incomplete: genStatus wrote no .*HCALIN_meanTime.*keeps the run/ }],
    'uploaded but incomplete: not settled')

  // A submit killed between condor_submit and its `submitted` row: the submission shows, unconfirmed, as status settles it.
  const ledger = join(out.output, 'submissions.csv')
  writeFileSync(ledger, readFileSync(ledger, 'utf8').split('\n').filter((line) => !(line.includes(`,66510,${TAG},`) && line.includes(',submitted,'))).join('\n'))
  const cut = JSON.parse((await why(out, [66510], ['--json'])).stdout) as Story[]
  t.match(cut, [{ job: { state: 'queued' }, submissions: [{ attempt: 1, state: 'submitting', cluster: Number,
    detail: /; not confirmed: the submit stopped before recording it submitted; reconciled: condor_q knows it as job \d+\.\d+$/ }],
  next: /^waits for its job/ }], 'only `submitting` rows: shown, with the job the scheduler has')
  t.match((await why(out, [66510])).stdout, /  job: \S+Z cluster \d+ attempt 1, 512 MB: submitting \(.*; not confirmed: /)
  const statusNow = await runStageHere('status', ['--output', out.output, '--json'], out.env)
  const cluster = (cut[0]!.submissions as { cluster: number }[])[0]!.cluster
  t.match(statusNow.stdout, new RegExp(`"runnumber":66510,"tag":"${TAG}","state":"queued".*"attempts":1,"cluster":${cluster},`), 'status: the same cluster')

  // A run that left the selection (its rows gone from query.csv, the run list, the process list) with its job still
  // held: its submissions and the job are told, not hidden behind "not selected".
  await fakeCondor(out.condorState, 'set', ids.get(`66508_${TAG}`)!, 'held', 'reason=Cannot access initial working directory', 'code=21')
  for (const file of [layout.queryCsv(out.output), layout.runListCsv(out.output, 'run3auau'), layout.processCsv(out.output, 'run3auau')]) {
    writeFileSync(file, readFileSync(file, 'utf8').split('\n').filter((line) => !line.startsWith('66508,')).join('\n'))
  }
  const gone = JSON.parse((await why(out, [66508], ['--json'])).stdout) as Story[]
  t.match(gone, [{ selected: false, keptTag: null, submissions: [{ tag: TAG, cluster: Number, attempt: 1, state: 'submitted' }],
    job: { tag: TAG, state: 'held', holdCode: 21 },
    next: /^nothing until the catalog has histogram files of it .*; its job \d+\.\d+ of new_newcdbtag_v008 is still held, .*condor_rm/ }],
  'left the selection: every tag\'s submissions, and its job')
  t.match((await why(out, [66508])).stdout, /  job: \S+Z new_newcdbtag_v008 cluster \d+ attempt 1.*\n  scheduler now \(new_newcdbtag_v008\): held: /)

  const none = await runStageHere('why', ['--output', out.output], out.env)
  t.equal(none.code, 2)
  t.match(none.stderr, /--run is required/)
  const bad = await runStageHere('why', ['--output', out.output, '--run', '66x'], out.env)
  t.equal(bad.code, 2)
  t.match(bad.stderr, /--run: "66x" is not a run number/)
})

t.test('why: a superseded tag, and why the kept one won', async (t) => {
  const output = t.testdir()
  const row = (tag: string, segment: number, time: string) => ({ runnumber: 66600, tag, segment, events: 300000, full_file_path: `/l/${tag}-${segment}.root`, time })
  writeFileSync(join(output, 'query.csv'), formatCsv(QUERY_TABLE, [
    row('new_newcdbtag_v008', 0, '2025-07-01 12:00:00'), row('new_newcdbtag_v008', 1, '2025-07-01 12:00:00'),
    row('new_newcdbtag_v009', 0, '2026-03-01 08:00:00'), row('new_newcdbtag_v009', 1, '2026-03-01 08:00:00'),
  ]))
  await runReduce({ output, runType: 'run3auau', rules: SEED_RULES })
  const result = await runStageHere('why', ['--output', output, '--run', '66600'])
  t.equal(result.code, 0, result.stderr)
  t.match(result.stdout, /catalog: new_newcdbtag_v008 2 files 600000 events; new_newcdbtag_v009 2 files 600000 events/)
  t.match(result.stdout, /reduce: kept new_newcdbtag_v009: rule earliest-file keeps the tag whose earliest file \(of any run\) is the latest .*: new_newcdbtag_v008 2025-07-01 12:00:00, new_newcdbtag_v009 2026-03-01 08:00:00/)
  t.match(result.stdout, /CDB: not asked yet: the check stage has not run/)
  t.match(result.stdout, /next: the next check asks the CDB about it/)
})

t.test("why reads only its runs' rows of a query.csv reduce surveyed (a tag's earliest time kept by reduce); all of it otherwise", async (t) => {
  const output = t.testdir()
  const query = join(output, 'query.csv')
  const row = (runnumber: number, tag: string, time: string) => ({ runnumber, tag, segment: 0, events: 300000, full_file_path: `/l/${runnumber}-${tag}.root`, time })
  // v009's earliest file is of run 66610: the story of 66600 compares that time, which 66600's rows do not hold.
  writeFileSync(query, formatCsv(QUERY_TABLE, [
    row(66600, 'new_newcdbtag_v008', '2025-07-01 12:00:00'), row(66600, 'new_newcdbtag_v009', '2026-03-01 08:00:00'),
    row(66610, 'new_newcdbtag_v009', '2024-01-01 00:00:00'),
  ]))
  // A whole second, so the mtime set again after the edit below is the same to the nanosecond.
  utimesSync(query, 1e9, 1e9)
  await runReduce({ output, runType: 'run3auau', rules: SEED_RULES })
  const kept = /reduce: kept new_newcdbtag_v008: .*: new_newcdbtag_v008 2025-07-01 12:00:00, new_newcdbtag_v009 2024-01-01 00:00:00/
  const first = await runStageHere('why', ['--output', output, '--run', '66600'])
  t.match(first.stdout, kept)
  // Run 66610's row broken in place, the file's size, inode and mtime as reduce saw them.
  writeFileSync(query, readFileSync(query, 'utf8').replace('66610,new_newcdbtag_v009,0,300000', '66610,new_newcdbtag_v009,0,30000x'))
  utimesSync(query, 1e9, 1e9)
  const again = await runStageHere('why', ['--output', output, '--run', '66600'])
  t.equal(again.code, 0, again.stderr)
  t.equal(again.stdout, first.stdout, "66610's row is not read: the tag's time is reduce's")
  const broken = await runStageHere('why', ['--output', output, '--run', '66610'])
  t.match(broken.stderr, /query\.csv:4: /, "the asked run's own rows are read, and checked")
  rmSync(layout.tagTimesCache(output))
  const whole = await runStageHere('why', ['--output', output, '--run', '66600'])
  t.match(whole.stderr, /query\.csv:4: /, 'without what reduce kept, the whole file is read')
})

t.test('why: the CDB as the check that last succeeded found it, not when the process list last changed', async (t) => {
  const output = t.testdir()
  writeStageInputs(output, [{ run: 66601, tag: TAG, files: ['/l/0.root'] }])
  writeFileSync(join(output, 'run3auau.csv'), `runnumber,tag\n66601,${TAG}\n`)
  // Written on the first night; the checks since found the same runs, so they left the file (and its mtime) alone.
  utimesSync(join(output, 'run3auau-process.csv'), new Date('2026-11-01T02:05:00Z'), new Date('2026-11-01T02:05:00Z'))
  mkdirSync(join(output, 'log'))
  const night = (code: number, at: string) => writeFileSync(join(output, 'log', 'last-night.json'),
    JSON.stringify({ stages: { check: { at, code, line: 'check: 1 run to process' } }, lastGood: null, badSince: null }))
  const cdbNote = async () => (JSON.parse((await runStageHere('why', ['--output', output, '--run', '66601', '--json'])).stdout) as Story[])[0]!.cdbNote
  night(0, '2026-12-01T02:05:00.000Z')
  t.match(await cdbNote(), /missing or outdated, by the check of 2026-12-01T02:05:00\.000Z \(/, 'the last check')
  night(1, '2026-12-02T02:05:00.000Z')
  t.match(await cdbNote(), /by the check of 2026-11-01T02:05:00\.000Z \(.*\); the check of 2026-12-02T02:05:00\.000Z failed \(exit 1\), so this is from an earlier one$/,
    'the last check failed: the earlier answer, said to be so')
  rmSync(join(output, 'log', 'last-night.json'))
  t.match(await cdbNote(), /by the check of 2026-11-01T02:05:00\.000Z \(/, 'no record: the process list written then')
})

t.test("why: which payload types the check found missing or outdated, from the process list's columns", async (t) => {
  const output = t.testdir()
  writeStageInputs(output, [{ run: 66601, tag: TAG, files: ['/l/0.root'] }, { run: 66602, tag: TAG, files: ['/l/1.root'] }])
  writeFileSync(join(output, 'run3auau.csv'), `runnumber,tag\n66601,${TAG}\n66602,${TAG}\n`)
  // As the check writes it with reasons (--cdb rest, or filter-datasets with its server named); 66602's unknown.
  writeFileSync(join(output, 'run3auau-process.csv'),
    `runnumber,tag,missing,outdated\n66601,${TAG},CEMC_meanTime HCALIN_meanTime,CEMC_BadTowerMap\n66602,${TAG},,\n`)
  const json = await runStageHere('why', ['--output', output, '--run', '66601', '--run', '66602', '--json'])
  t.equal(json.code, 0, json.stderr)
  const [told, unknown] = JSON.parse(json.stdout) as Story[]
  t.same(told!.cdb, { CEMC_meanTime: 'missing', HCALIN_meanTime: 'missing', CEMC_BadTowerMap: 'outdated' })
  t.match(told!.cdbNote, /^by the check of \S+ \(the process list's missing and outdated columns\)$/)
  t.same(unknown!.cdb, {}, 'no reasons recorded: none told')
  t.match(unknown!.cdbNote, /which records only counts per type, not which/)
  const text = await runStageHere('why', ['--output', output, '--run', '66601'])
  t.match(text.stdout, /\n  CDB: CEMC_meanTime missing, HCALIN_meanTime missing, CEMC_BadTowerMap outdated; by the check of /)
})

t.test('why: payloads missing, listed, not submitted yet: submitted next night', async (t) => {
  const output = t.testdir()
  const rows = [0, 1].map((segment) => ({ runnumber: 66601, tag: TAG, segment, events: 300000, full_file_path: `/l/${segment}.root`, time: '2025-07-01 12:00:00' }))
  writeFileSync(join(output, 'query.csv'), formatCsv(QUERY_TABLE, rows))
  await runReduce({ output, runType: 'run3auau', rules: SEED_RULES })
  writeStageInputs(output, [{ run: 66601, tag: TAG, files: ['/l/0.root', '/l/1.root'] }])
  const result = await runStageHere('why', ['--output', output, '--run', '66601', '--json'])
  t.equal(result.code, 0, result.stderr)
  t.match(JSON.parse(result.stdout), [{ toProcess: true, cdb: {}, listed: ['/l/0.root', '/l/1.root'], missingFiles: [], submissions: [], job: null,
    next: 'submitted next night (attempt 1 of 3)' }])
})

t.test("why's next for a run without a list: one missing file in the singular, and no --min-events to lower without a threshold", async (t) => {
  const ctx = { first: 66457, last: 78954, maxAttempts: 3, maxMemory: 4, memoryScale: 1.5, output: '/o', uploaded: { uploaded: 0, note: '' }, absent: [] }
  const story = (missing: number, threshold: number | null) => ({
    inRange: true, toProcess: true, listed: [], eventsOnDisk: threshold === null ? 0 : 499000, threshold,
    missingFiles: Array.from({ length: missing }, (_, i) => `/l/${i}.root`),
  }) as unknown as RunStory
  t.equal(nextStep(story(1, 500000), undefined, ctx), 'no job until its files are back (499000 events on disk): the lists stage looks ' +
    'again every night; a person can restore the missing file or lower --min-events')
  t.match(nextStep(story(3, 500000), undefined, ctx), /a person can restore the 3 missing files or lower --min-events$/)
  t.match(nextStep(story(2, null), undefined, ctx), /a person can restore the 2 missing files$/, '--rules current: no threshold to lower')
})

t.test("why: a job held for another reason whose words hold '; ' or a carriage return: next says what a person does, not the reason again", async (t) => {
  const out = await afterSeveralNights(t)
  const ids = new Map((await fakeCondor(out.condorState, 'list')).split('\n').filter(Boolean).map((l) => [l.split(' ')[2], l.split(' ')[0]]))
  await fakeCondor(out.condorState, 'set', ids.get(`66509_${TAG}`)!, 'held', 'reason=Error from slot1: transfer failed; no space\rover', 'code=13')
  const result = await why(out, [66509], ['--json'])
  t.equal(result.code, 0, result.stderr)
  const [story] = JSON.parse(result.stdout) as Story[]
  t.match(story!.next, /^stays held: not for memory: left for a person \(condor_release or condor_rm it\); a person: condor_release \d+\.\d+ or condor_rm/)
  // docs/morning.md quotes this line (job 1.1 of run 66492): the same words, but for the job, run and output.
  const general = (text: string, output: string, run: number) =>
    text.replace(/\s+/g, ' ').replace(/\b\d+\.\d+\b/g, 'C.P').replaceAll(output, 'OUTPUT').replaceAll(String(run), 'RUN')
  const quoted = /`next: (stays held: not for memory: [^`]+)`/.exec(readFileSync(join(import.meta.dirname, '..', 'docs', 'morning.md'), 'utf8'))
  t.ok(quoted, 'docs/morning.md quotes the line')
  t.equal(general(quoted![1]!, '/path/to/caloprod/run3auau', 66492), general(story!.next, out.output, 66509), "docs/morning.md's quote")
})
