// The report's view of finished runs: `uploaded` (the upload ledger has its payloads) and incomplete (genStatus
// wrote no file for a type), in the states, the details and the runs that need a person.
import t from 'tap'
import type { SchedulerJob } from '../../lib/scheduler/scheduler.js'
import type { LedgerRow } from '../../lib/files/ledger.js'
import type { ReportInputs } from '../../lib/report/gather.js'
import { needsAPerson, runViews } from '../../lib/report/runs.js'
import type { UploadRow } from '../../lib/upload/ledger.js'
import { uploadVerdict } from '../../lib/status.js'

const tag = 'new_newcdbtag_v009'
const now = new Date('2026-12-01T12:00:00Z')

const submitted = (runnumber: number, cluster: number): LedgerRow => ({
  time: '2026-11-30T02:15:00Z', runnumber, tag, attempt: 1, state: 'submitted', cluster, proc: 0, submission: 's1', detail: '',
})
const finished = (runnumber: number, cluster: number): SchedulerJob => ({
  cluster, proc: 0, runTag: `${runnumber}_${tag}`, status: 4, exitCode: 0, holdReason: undefined, since: now.getTime() / 1000 - 3600, source: 'condor_history',
})
const upload = (runnumber: number, type: UploadRow['type'], state: UploadRow['state']): UploadRow => ({
  time: '2026-12-01T03:00:00Z', runnumber, tag, type, globalTag: 'newcdbtag', state, checksum: 'c', piov: 1, url: 'u', detail: '',
})

function inputs(uploads: UploadRow[], absent: Map<number, string[]>): ReportInputs {
  const runs = [70001, 70002, 70003].map((runnumber) => ({ runnumber, tag }))
  return {
    options: { output: '/nowhere', runType: 'run3auau', maxAttempts: 3, timeout: 60, rules: { payloadTypes: ['CEMC_meanTime', 'HCALIN_meanTime', 'HCALOUT_meanTime'] } },
    now,
    runList: runs,
    process: runs.map((run) => ({ ...run, missing: [], outdated: [], why: '' })),
    settled: new Map(),
    lists: new Set(runs.map((r) => `${r.runnumber}_${tag}.list`)),
    runFiles: new Map(),
    missing: undefined,
    ledger: runs.map((r, i) => submitted(r.runnumber, 10 + i)),
    uploads,
    absent: absent as ReportInputs['absent'],
    folders: { folder: () => undefined, frozen: new Map() },
    scheduler: { answered: true, jobs: runs.map((r, i) => finished(r.runnumber, 10 + i)), unanswered: new Map() },
    check: undefined,
    lastNight: { stages: {}, lastGood: null, badSince: null },
    inFlight: undefined,
    uploading: undefined,
    problems: [],
  }
}

t.test('a finished run with uploaded payloads is uploaded; without, done; a failed upload does not count', async (t) => {
  const views = runViews(inputs([
    upload(70001, 'CEMC_meanTime', 'uploading'),
    upload(70001, 'CEMC_meanTime', 'uploaded'),
    upload(70001, 'HCALIN_meanTime', 'uploaded'),
    upload(70003, 'CEMC_meanTime', 'uploading'),
    upload(70003, 'CEMC_meanTime', 'failed'),
  ], new Map([[70001, ['HCALOUT_meanTime']]])))
  t.same(views.map((v) => v.state), ['uploaded', 'done', 'done'])
  t.match(views[0].detail, /^2 payloads uploaded to the CDB, awaiting the next check/)
})

t.test('a finished run lacking a payload file is incomplete: in its detail and among the runs that need a person', async (t) => {
  const views = runViews(inputs([upload(70002, 'CEMC_meanTime', 'uploaded')], new Map([[70002, ['HCALOUT_meanTime']], [70003, []]])))
  t.match(views[1].detail, /incomplete: genStatus wrote no HCALOUT_meanTime$/)
  t.notMatch(views[2].detail, /incomplete/)
  const items = needsAPerson(views, now)
  t.same(items.filter((i) => i.what.split(', ').includes('incomplete')).map((i) => i.runnumber), [70002])
})

t.test('runs that need a person: one row per run with its reasons joined; routine missing files are not among them', async (t) => {
  const views = runViews(inputs([], new Map([[70002, ['HCALOUT_meanTime']]])))
  const [held, done, other] = views
  Object.assign(held, { state: 'held', holdReason: 'over memory', lastJob: '1.0', absent: ['CEMC_meanTime'], missing: 2, files: 10, toProcess: true })
  Object.assign(other, { missing: 3, files: 40, toProcess: true, hasList: true })
  const items = needsAPerson([held, done, other], now)
  t.same(items.map((i) => i.runnumber).sort(), [held.runnumber, done.runnumber].sort(), 'a run with a list and some files missing is routine')
  const row = items.find((i) => i.runnumber === held.runnumber)!
  t.equal(items.filter((i) => i.runnumber === held.runnumber).length, 1, 'a held run once')
  t.equal(row.what, 'held, incomplete')
  t.match(row.detail, /^over memory; job 1\.0; genStatus wrote no CEMC_meanTime/)
})

t.test('a run partly uploaded is done, not uploaded; so is one a check after the upload still found missing', async (t) => {
  const partly = runViews(inputs([upload(70001, 'CEMC_meanTime', 'uploaded'), upload(70001, 'HCALIN_meanTime', 'failed')], new Map()))
  t.equal(partly[0].state, 'done')
  t.match(partly[0].detail, /^partly uploaded: 1 of 3 payloads in the CDB \(newcdbtag\), not HCALIN_meanTime, HCALOUT_meanTime: run upload again; /)
  const all = (['CEMC_meanTime', 'HCALIN_meanTime', 'HCALOUT_meanTime'] as const).map((type) => upload(70001, type, 'uploaded'))
  t.equal(runViews(inputs(all, new Map()))[0].state, 'uploaded', 'every payload in: uploaded, awaiting the next check')
  const checked = inputs(all, new Map())
  checked.lastNight.stages.check = { at: '2026-12-02T02:05:00Z', code: 0, line: 'check: 3 runs to process' }
  const after = runViews(checked)[0]
  t.equal(after.state, 'done', 'not "awaiting the next check" once a check has run and still lists it')
  t.match(after.detail, /^uploaded to the CDB \(newcdbtag\) at 2026-12-01T03:00:00Z, but the check at 2026-12-02T02:05:00Z still found it missing or outdated/)
  t.same(needsAPerson([after], now).map((i) => `${i.runnumber} ${i.what}: ${i.detail}`),
    [`70001 uploaded, not current: ${after.detail.split('; ')[0]}`], 'a person: no night changes it')
  const dayLater = new Date('2026-12-03T12:00:00Z')
  t.same(needsAPerson([after], dayLater).map((i) => i.what), ['uploaded, not current'], 'not "done, not in the CDB" a day on: it is in the CDB')
  checked.lastNight.stages.check = { at: '2026-12-01T02:05:00Z', code: 0, line: '' }
  t.equal(runViews(checked)[0].state, 'uploaded', 'a check before the upload says nothing of it')
  t.same(needsAPerson(runViews(checked), now), [], 'nor needs a person')
})

t.test('a finished run whose upload failed says so, with the CDB\'s words, in the report, status and why', async (t) => {
  const refused = { ...upload(70003, 'CEMC_meanTime', 'failed'), detail: 'POST piov: answered 400 Bad Request: "locked"' }
  const views = runViews(inputs([upload(70003, 'CEMC_meanTime', 'uploading'), refused], new Map()))
  t.equal(views[2].state, 'done', 'not in the CDB: done, not uploaded')
  const said = /^upload unfinished: 1 payload not in the CDB \(newcdbtag\): 1 refused; the last at 2026-12-01T03:00:00Z: POST piov: answered 400 Bad Request: "locked"; run upload again once that is fixed/
  t.match(views[2].detail, said, 'the report\'s detail')
  // status and why tell a finished run's upload through uploadVerdict.
  t.match(uploadVerdict([refused], ['CEMC_meanTime'], undefined), { uploaded: 0, note: said })
  t.same(uploadVerdict([], ['CEMC_meanTime'], undefined), { uploaded: 0, note: '', unfinished: false }, 'never tried: nothing to say')
  // An attach refused leaves the payload IOV made (`created`); an interrupted one `uploading`: not in the CDB either.
  const attach = { ...upload(70003, 'HCALIN_meanTime', 'created'), time: '2026-12-01T03:00:01Z', detail: 'the attach was refused (PUT piov_attach: 400)' }
  const stopped = { ...upload(70003, 'HCALOUT_meanTime', 'uploading'), time: '2026-12-01T03:00:02Z', detail: 'into payload list HCALOUT_meanTime_newcdbtag' }
  t.match(uploadVerdict([refused, attach, stopped], ['CEMC_meanTime', 'HCALIN_meanTime', 'HCALOUT_meanTime'], undefined), {
    uploaded: 0,
    note: /^upload unfinished: 3 payloads not in the CDB \(newcdbtag\): 1 refused, 1 made but not attached, 1 interrupted; the last at 2026-12-01T03:00:01Z: the attach was refused \(PUT piov_attach: 400\); run upload again/,
  }, 'the latest refusal\'s words, not an interrupted row\'s')
})

t.test('while an upload runs, a run it has written rows of is being uploaded; one it has not reached, it may yet take up', async (t) => {
  const uploading = { since: '2026-12-01T03:00:00.500Z', by: 'the upload stage (pid 4242) on host since 2026-12-01T03:00:00.500Z' }
  const types = ['CEMC_meanTime', 'HCALIN_meanTime', 'HCALOUT_meanTime'] as const
  const mine = [{ ...upload(70001, 'CEMC_meanTime', 'uploaded'), time: '2026-12-01T03:00:01.000Z' }, { ...upload(70001, 'HCALIN_meanTime', 'created'), time: '2026-12-01T03:00:01.200Z' }]
  // A refusal of an earlier upload, half a second before this one took the lock.
  const earlier = { ...upload(70002, 'CEMC_meanTime', 'failed'), time: '2026-12-01T03:00:00.000Z', detail: 'POST piov: answered 400' }
  const views = runViews({ ...inputs([...mine, earlier], new Map()), uploading })
  t.match(views[0], { state: 'done', detail: /^being uploaded now into newcdbtag, by the upload stage \(pid 4242\) on host since \S+: 1 of 3 payloads in the CDB so far; job / })
  t.match(views[1].detail, /^upload unfinished: 1 payload not in the CDB \(newcdbtag\): 1 refused; the last at \S+: POST piov: answered 400; the upload running now \(the upload stage \(pid 4242\) .*\) may yet take it up; /)
  t.match(uploadVerdict(mine, [...types], undefined), { note: /^partly uploaded: 1 of 3 payloads .*: run upload again; the last at 2026-12-01T03:00:01.200Z: see uploads.csv$/ }, 'once it has ended: partly uploaded, and the last word of what is not in')
  // Refused earlier in the upload running now: said with the CDB's words, though the upload may come back to the run.
  const attachRefused = { ...upload(70001, 'HCALIN_meanTime', 'created'), time: '2026-12-01T03:00:01.300Z', detail: 'the attach was refused (PUT piov_attach: 400); the next run attaches piov 7 again' }
  const postRefused = { ...upload(70001, 'HCALOUT_meanTime', 'failed'), time: '2026-12-01T03:00:01.400Z', detail: 'POST piov: answered 400 Bad Request: "locked"' }
  t.match(uploadVerdict([...mine, attachRefused], [...types], undefined, uploading), { note: /^being uploaded now into newcdbtag, by .*: 1 of 3 payloads in the CDB so far; 1 refused so far, the last at 2026-12-01T03:00:01.300Z: the attach was refused \(PUT piov_attach: 400\); the next run attaches piov 7 again$/ })
  t.match(uploadVerdict([...mine, attachRefused, postRefused], [...types], undefined, uploading), { note: /; 2 refused so far, the last at 2026-12-01T03:00:01.400Z: POST piov: answered 400 Bad Request: "locked"$/ })
  t.match(uploadVerdict(mine, [...types], undefined, uploading), { note: /: 1 of 3 payloads in the CDB so far$/ }, 'a payload IOV made, its attach to come: nothing refused')
  const all = types.map((type) => ({ ...upload(70001, type, 'uploaded'), time: '2026-12-01T03:00:02.000Z' }))
  t.match(uploadVerdict(all, [...types], undefined, uploading), { uploaded: 3, note: /^3 payloads uploaded to the CDB \(newcdbtag\), awaiting the next check$/ }, 'every payload in: uploaded, though it still runs')
})

t.test('a finished run whose upload stopped short of the CDB needs a person, unless an upload runs now', async (t) => {
  const refused = { ...upload(70003, 'CEMC_meanTime', 'failed'), detail: 'POST piov: answered 400 Bad Request: "locked"' }
  const partly = [upload(70002, 'CEMC_meanTime', 'uploaded'), { ...upload(70002, 'HCALIN_meanTime', 'created'), detail: 'the attach was refused' }]
  const all = (['CEMC_meanTime', 'HCALIN_meanTime', 'HCALOUT_meanTime'] as const).map((type) => upload(70001, type, 'uploaded'))
  const rows = [...all, ...partly, refused]
  const items = needsAPerson(runViews(inputs(rows, new Map())), now)
  t.same(items.map((i) => `${i.runnumber} ${i.what}`), ['70003 upload unfinished', '70002 upload unfinished'], 'refused, and partly in; not the uploaded run')
  t.match(items[0]!.detail, /^upload unfinished: 1 payload not in the CDB \(newcdbtag\): 1 refused; .*"locked"; run upload again once that is fixed$/)
  t.match(items[1]!.detail, /^partly uploaded: 1 of 3 payloads in the CDB \(newcdbtag\), not HCALIN_meanTime, HCALOUT_meanTime: run upload again; the last at \S+: the attach was refused$/, "with the CDB's words")
  // Finished over a day ago: one reason, the upload's, not "done, not in the CDB" beside it.
  const old = { ...inputs([refused], new Map()), now: new Date('2026-12-03T12:00:00Z') }
  t.same(needsAPerson(runViews(old), old.now).map((i) => `${i.runnumber} ${i.what}`),
    ['70003 upload unfinished', '70002 done, not in the CDB', '70001 done, not in the CDB'])
  // An upload running now may take them up (its own rows, or runs it has not reached yet): nobody is needed yet.
  const uploading = { since: '2026-12-01T02:00:00.000Z', by: 'the upload stage (pid 4242) on host since 2026-12-01T02:00:00.000Z' }
  t.same(needsAPerson(runViews({ ...inputs(rows, new Map()), uploading }), now), [], 'none while an upload runs')
  t.same(needsAPerson(runViews({ ...inputs(rows, new Map()), uploading: { ...uploading, since: '2026-12-01T04:00:00.000Z' } }), now), [],
    'none while an upload that has not reached them runs')
})
