// status, why and the report keep only the latest row of each payload of uploads.csv (readLatestUploads), the upload
// stage those and the payload IOVs rows name (readUploadState): the same rows, in the same order, as latestUploads over
// the whole ledger, and the same error for a ledger a person broke.
import { appendFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { PAYLOAD_TYPES } from '../../lib/rules/calibrations.js'
import { appendUploads, latestUploads, readLatestUploads, readUploadState, readUploads, type UploadRow } from '../../lib/upload/ledger.js'

const STATES = ['uploading', 'created', 'uploaded', 'failed', 'present'] as const
const DETAILS = ['', 'piov 7 made, to attach to CEMC_meanTime_newcdbtag', 'POST piov answered 400: {"detail": "locked"}', 'plain words']

t.test('the latest row of each payload, in latestUploads order, on a ledger of 2000 rows', async (t) => {
  const dir = t.testdir()
  const path = join(dir, 'uploads.csv')
  let seed = 7
  const next = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed % n)
  const rows: UploadRow[] = Array.from({ length: 2000 }, (_, i) => ({
    time: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(), runnumber: 68000 + next(40), tag: `new_newcdbtag_v00${next(3)}`,
    type: PAYLOAD_TYPES[next(7)]!, globalTag: next(5) === 0 ? 'othertag' : 'newcdbtag', state: STATES[next(5)]!,
    checksum: 'ab'.repeat(16), piov: next(2) ? 1000 + i : undefined, url: `x/${i}.root`, detail: DETAILS[next(4)]!,
  }))
  for (let i = 0; i < rows.length; i += 100) await appendUploads(path, rows.slice(i, i + 100))
  const whole = [...latestUploads((await readUploads(path)).rows).values()]
  t.ok(whole.length > 100 && whole.length < 2000, `${whole.length} payloads`)
  t.same(await readLatestUploads(path), whole)
  // (A second t.testdir() would empty the folder, and every read after it would compare nothing with nothing.)
  t.same(await readLatestUploads(join(dir, 'none.csv')), [], 'no ledger: no rows')
  const all = (await readUploads(path)).rows
  t.equal(all.length, 2000)
  const state = await readUploadState(path)
  t.same([...state.latest], [...latestUploads(all)], "the upload stage's latest rows")
  t.same([...state.piovs].sort(), [...new Set(all.flatMap((r) => (r.piov === undefined ? [] : [r.piov])))].sort(), 'and every payload IOV a row names')
  // Kept to the runs of a process list: their latest rows, and every other payload whose latest row is unsettled.
  const listed = (r: Pick<UploadRow, 'runnumber' | 'tag'>) => r.runnumber < 68010 && r.tag !== 'new_newcdbtag_v001'
  const kept = await readUploadState(path, listed)
  const expected = [...latestUploads(all)].filter(([, r]) => listed(r) || r.state === 'uploading' || r.state === 'created')
  t.ok(expected.length > 20 && expected.length < state.latest.size, `${expected.length} of ${state.latest.size} payloads kept`)
  t.same(new Map(kept.latest), new Map(expected), 'the listed runs\' latest rows and the unsettled payloads of any run')
  t.same(kept.piovs, state.piovs, 'every payload IOV a row names, of any run')
})

t.test('a ledger broken twice fails with the error readUploads gives: bad CSV first, then the first bad row', async (t) => {
  const path = join(t.testdir(), 'uploads.csv')
  await appendUploads(path, [{
    time: '2026-01-01T00:00:00.000Z', runnumber: 68001, tag: 'new_newcdbtag_v008', type: 'CEMC_meanTime', globalTag: 'newcdbtag',
    state: 'uploaded', checksum: 'ab'.repeat(16), piov: 1, url: 'x.root', detail: '',
  }])
  const good = '2026-01-01T00:00:01.000Z,68002,new_newcdbtag_v008,CEMC_meanTime,newcdbtag,uploaded,' + 'ab'.repeat(16) + ',2,y.root,\n'
  appendFileSync(path, good.replace(',uploaded,', ',sent,') + good + good.replace('y.root,', 'y.root,"not"closed\n'))
  const message = await readUploads(path).then(() => 'read', (err: Error) => err.message)
  t.match(message, /uploads\.csv:5: is not valid CSV/)
  t.equal(await readLatestUploads(path).then(() => 'read', (err: Error) => err.message), message)
  writeFileSync(path, `time,runnumber,tag,payload_type,global_tag,state,checksum,piov,url,detail\n${good}${good.replace(',uploaded,', ',sent,')}${good.replace('68002', 'x')}`)
  t.match(await readLatestUploads(path).then(() => 'read', (err: Error) => err.message), /uploads\.csv:3: state "sent" is not one of/)
})

t.test('keep: only the payloads of the runs it takes are kept, and a bad row of any other run is still the error', async (t) => {
  const path = join(t.testdir(), 'uploads.csv')
  const row = (runnumber: number, tag: string, state: UploadRow['state']): UploadRow => ({
    time: '2026-01-01T00:00:00.000Z', runnumber, tag, type: 'CEMC_meanTime', globalTag: 'newcdbtag', state,
    checksum: 'ab'.repeat(16), piov: undefined, url: 'x.root', detail: '',
  })
  await appendUploads(path, [row(68001, 'v1', 'uploading'), row(68002, 'v1', 'uploading'), row(68001, 'v2', 'failed'), row(68001, 'v1', 'uploaded')])
  const shown = (r: Pick<UploadRow, 'runnumber' | 'tag'>) => r.runnumber === 68001 && r.tag === 'v1'
  t.same(await readLatestUploads(path, shown), [row(68001, 'v1', 'uploaded')], 'the latest row of the run shown, no other')
  t.same(await readLatestUploads(path, (r) => r.runnumber === 68001), [row(68001, 'v1', 'uploaded'), row(68001, 'v2', 'failed')])
  appendFileSync(path, `2026-01-01T00:00:01.000Z,68002,v1,CEMC_meanTime,newcdbtag,sent,${'ab'.repeat(16)},,x.root,\n`)
  t.match(await readLatestUploads(path, shown).then(() => 'read', (err: Error) => err.message), /uploads\.csv:6: state "sent" is not one of/,
    'a row of a run not shown is checked all the same')
})
