import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { TAG } from './helpers/condor-output.js'
import { attachedCounts, piovs, prepareUpload, storeFiles } from './helpers/upload-setup.js'
import { runStageHere } from './helpers/run-script.js'
import { FAKES } from './helpers/fake-condor.js'

const SEVEN = ['CEMC_BadTowerMap', 'CEMC_meanTime', 'HCALIN_meanTime', 'HCALOUT_meanTime', 'CEMC_hotTowers_fracBadChi2', 'HCALIN_hotTowers_fracBadChi2', 'HCALOUT_hotTowers_fracBadChi2']

t.test('the whole loop: plan, upload, check finds the runs current, an incomplete run stays in the process list', async (t) => {
  const s = await prepareUpload(t, 2)
  mkdirSync(s.store)
  // genStatus wrote no HCALIN_meanTime for 68002 (an empty histogram).
  rmSync(join(s.output, 'output', `68002_${TAG}`, `HCALIN_meanTime_${TAG}_68002.root`))

  const plan = await s.upload([])
  t.equal(plan.code, 0, plan.stderr)
  const lines = plan.stdout.trim().split('\n')
  t.equal(lines.filter((l) => / insert: /.test(l)).length, 13)
  t.match(plan.stdout, new RegExp(`^68002 ${TAG} HCALIN_meanTime not: missing: `, 'm'))
  t.match(plan.stdout, new RegExp(`^68002 ${TAG} incomplete: genStatus wrote no payload for HCALIN_meanTime`, 'm'))
  t.match(lines.at(-1), /^upload: plan for 2 finished runs into newcdbtag \(the tag check reads; --do-cdb-upload needs --global-tag\): 13 to insert, 0 skipped, 1 not insertable, 1 run incomplete$/)
  t.notOk(existsSync(join(s.output, 'uploads.csv')), 'the plan writes no ledger')
  t.same(storeFiles(s.store), [], 'the plan copies nothing')
  t.same(piovs(s), [], 'the plan inserts nothing')

  const noTag = await s.upload(['--do-cdb-upload'])
  t.equal(noTag.code, 2)
  t.match(noTag.stderr, /^caloprod upload: --do-cdb-upload needs --global-tag TAG/)

  const act = await s.upload(['--do-cdb-upload', '--global-tag', 'newcdbtag'])
  t.equal(act.code, 0, act.stderr)
  t.match(act.stdout, /upload: 13 payloads inserted into newcdbtag from 2 finished runs, 0 failed, 0 skipped, 1 not insertable, 1 run incomplete/)
  const counts = attachedCounts(s)
  t.equal(Object.keys(counts).length, 13)
  t.ok(Object.values(counts).every((n) => n === 1), 'each payload once')
  const files = storeFiles(s.store)
  t.equal(files.length, 13)
  for (const file of files) t.match(file, /^[A-Za-z]+_[A-Za-z0-9_]+\/[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{32}_.+\.root$/)
  const piov = piovs(s).find((p) => p.type === 'CEMC_BadTowerMap' && p.minor_iov === 68001)!
  t.match(piov, { minor_iov: 68001, minor_iov_end: 68002, url: new RegExp(`^CEMC_BadTowerMap/../../[0-9a-f]{32}_EMCalHotMap_${TAG}_68001cdb\\.root$`) })
  t.equal(readFileSync(join(s.store, piov.url), 'utf8'), readFileSync(join(s.output, 'output', `68001_${TAG}`, `EMCalHotMap_${TAG}_68001cdb.root`), 'utf8'))
  const ledger = readFileSync(join(s.output, 'uploads.csv'), 'utf8').trim().split('\n')
  t.equal(ledger[0], 'time,runnumber,tag,payload_type,global_tag,state,checksum,piov,url,detail')
  t.equal(ledger.filter((l) => l.includes(',uploading,')).length, 13)
  t.equal(ledger.filter((l) => l.includes(',uploaded,')).length, 13)

  const again = await s.upload(['--do-cdb-upload', '--global-tag', 'newcdbtag'])
  t.equal(again.code, 0, again.stderr)
  t.match(again.stdout, /13 skipped/)
  t.equal(piovs(s).length, 13, 'a second upload inserts nothing')
  t.match((await s.upload([])).stdout, new RegExp(`^68001 ${TAG} CEMC_BadTowerMap skip: in the ledger: uploaded .* \\(piov \\d+\\)$`, 'm'))

  const status = await runStageHere('status', ['--output', s.output], s.env)
  t.match(status.stdout, new RegExp(`^68001 ${TAG} uploaded: 7 payloads uploaded to the CDB \\(newcdbtag\\), awaiting the next check; job 1\\.0 finished`, 'm'))
  t.match(status.stdout, new RegExp(`^68002 ${TAG} uploaded: 6 payloads uploaded to the CDB \\(newcdbtag\\), awaiting the next check; incomplete: genStatus wrote no HCALIN_meanTime;`, 'm'))
  t.match(status.stdout, /^status: 2 runs: 2 uploaded$/m)

  // The next night's check (the fake filter-datasets over the same CDB state) finds 68001 current.
  writeFileSync(join(s.output, 'run3auau.csv'), `runnumber,tag\n68001,${TAG}\n68002,${TAG}\n`)
  const check = await runStageHere('check', ['--output', s.output, '--bin-filter-datasets', join(FAKES, 'CaloCDB-FilterDatasets'), '--recheck'], s.env)
  t.equal(check.code, 0, check.stderr)
  t.equal(readFileSync(join(s.output, 'run3auau-process.csv'), 'utf8'), `runnumber,tag,missing,outdated\n68002,${TAG},HCALIN_meanTime,\n`, 'the uploaded run left the process list; the incomplete one stays, missing the payload its job did not write')
  // And so does check asking nopayloaddb directly (the fake's read side over the same state).
  rmSync(join(s.output, 'run3auau-process.csv'))
  const rest = await runStageHere('check', ['--output', s.output, '--cdb', 'rest', '--recheck'], s.env)
  t.equal(rest.code, 0, rest.stderr)
  t.equal(readFileSync(join(s.output, 'run3auau-process.csv'), 'utf8'), `runnumber,tag,missing,outdated\n68002,${TAG},HCALIN_meanTime,\n`, 'check --cdb rest agrees')
})

t.test('payloads the CDB already holds are recorded once (present, or uploaded when the same file): status does not ask for another upload', async (t) => {
  // 68001's CEMC_meanTime is current in the CDB, another file than its job wrote (a tag's payload built elsewhere).
  const s = await prepareUpload(t, 1, { default: 'missing', runs: { 68001: { CEMC_meanTime: `current:${TAG}` } } })
  mkdirSync(s.store)
  const act = await s.upload(['--do-cdb-upload', '--global-tag', 'newcdbtag'])
  t.equal(act.code, 0, act.stderr)
  t.match(act.stdout, /upload: 6 payloads inserted into newcdbtag from 1 finished run, 0 failed, 1 skipped/)
  const rows = () => readFileSync(join(s.output, 'uploads.csv'), 'utf8').trim().split('\n').slice(1)
  const present = rows().filter((l) => l.includes(',present,'))
  t.equal(present.length, 1)
  t.match(present[0], new RegExp(`,68001,${TAG},CEMC_meanTime,newcdbtag,present,[0-9a-f]{32},,CEMC_meanTime/.*,nothing inserted: the CDB already has a current payload`))
  const status = await runStageHere('status', ['--output', s.output], s.env)
  t.match(status.stdout, new RegExp(`^68001 ${TAG} uploaded: 6 payloads uploaded to the CDB \\(newcdbtag\\), 1 more was current there already, awaiting the next check;`, 'm'))

  // The ledger lost (a hand edit): the CDB now holds this job's own files; upload records them as uploaded, once.
  const before = rows().length
  writeFileSync(join(s.output, 'uploads.csv'), 'time,runnumber,tag,payload_type,global_tag,state,checksum,piov,url,detail\n')
  const again = await s.upload(['--do-cdb-upload', '--global-tag', 'newcdbtag'])
  t.equal(again.code, 0, again.stderr)
  t.match(again.stdout, /0 payloads inserted .* 7 skipped/)
  t.same(rows().map((l) => l.split(',')[5]).sort(), [...Array(6).fill('uploaded'), 'present'].sort(), 'each payload recorded once')
  t.ok(rows().every((l) => /,nothing inserted: /.test(l)))
  const third = await s.upload(['--do-cdb-upload', '--global-tag', 'newcdbtag'])
  t.equal(third.code, 0, third.stderr)
  t.equal(rows().length, 7, 'a night that finds the same adds no row')
  t.ok(before > 7, 'the first upload wrote its uploading and uploaded rows besides')
  const status2 = await runStageHere('status', ['--output', s.output], s.env)
  t.match(status2.stdout, /uploaded: 6 payloads uploaded to the CDB \(newcdbtag\), 1 more was current there already/)
})

t.test('a payload cut off: status says so of the finished run, as the upload that refuses it does', async (t) => {
  const s = await prepareUpload(t, 1)
  mkdirSync(s.store)
  const file = join(s.output, 'output', `68001_${TAG}`, `CEMC_meanTime_${TAG}_68001.root`)
  const whole = readFileSync(file)
  writeFileSync(file, whole.subarray(0, whole.length - 1))
  const status = await runStageHere('status', ['--output', s.output], s.env)
  t.equal(status.code, 0, status.stderr)
  const cut = `upload would refuse CEMC_meanTime (truncated): ${file} has ${whole.length - 1} bytes where its ROOT header says ${whole.length}: cut off`
  t.match(status.stdout, new RegExp(`^68001 ${TAG} done: job 1\\.0 finished .*; ${cut.replace(/[.()]/g, '\\$&')}`, 'm'))
  const upload = await s.upload(['--do-cdb-upload', '--global-tag', 'newcdbtag'])
  t.equal(upload.code, 1)
  t.ok(upload.stderr.includes(`has ${whole.length - 1} bytes where its ROOT header says ${whole.length}`), upload.stderr)
  writeFileSync(file, whole)
  t.notMatch((await runStageHere('status', ['--output', s.output], s.env)).stdout, /truncated/, 'whole again: nothing said')
})
