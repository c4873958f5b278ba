import t from 'tap'
import { planRun } from '../../lib/upload/plan.js'
import type { PayloadCheck } from '../../lib/upload/payload-files.js'
import type { UploadRow } from '../../lib/upload/ledger.js'

const TAG = 'new_newcdbtag_v008'
const RUN = 68001
const md5 = 'ab'.repeat(16)
const file = (type: 'CEMC_meanTime' | 'HCALIN_meanTime'): PayloadCheck => ({ ok: true, file: { type, path: `/out/${type}.root`, name: `${type}_${TAG}_${RUN}.root`, size: 10, md5 } })
const lists = new Map([['CEMC_meanTime', 'CEMC_meanTime_1'], ['HCALIN_meanTime', 'HCALIN_meanTime_2']])
const row = (type: string, url: string, checksum: string, start = RUN, end = RUN + 1) =>
  ({ type, url, checksum, majorIov: 0, minorIov: start, majorIovEnd: 0, minorIovEnd: end })

t.test('insert, or skip by the ledger, the checksum in the CDB, a current payload built elsewhere; not without a list', async (t) => {
  const view = { runnumber: RUN, tag: TAG, checks: [file('CEMC_meanTime'), file('HCALIN_meanTime')] }
  const [a, b] = planRun({ ...view, cdb: [] }, 'newcdbtag', lists, [])
  t.match(a, { action: 'insert', url: `CEMC_meanTime/ab/ab/${md5}_CEMC_meanTime_${TAG}_${RUN}.root`, why: /IOV \[68001, 68002\)$/ })
  t.equal(b!.action, 'insert')

  const uploaded: UploadRow = { time: '2026-12-01T00:00:00Z', runnumber: RUN, tag: TAG, type: 'CEMC_meanTime', globalTag: 'newcdbtag', state: 'uploaded', checksum: md5, piov: 7, url: 'x', detail: '' }
  t.match(planRun({ ...view, cdb: [] }, 'newcdbtag', lists, [uploaded])[0], { action: 'skip', why: /^in the ledger: uploaded .* \(piov 7\)$/ })
  t.equal(planRun({ ...view, cdb: [] }, 'othertag', lists, [uploaded])[0]!.action, 'insert', 'the ledger counts per global tag')
  t.equal(planRun({ ...view, cdb: [] }, 'newcdbtag', lists, [uploaded, { ...uploaded, state: 'failed' }])[0]!.action, 'insert', 'the latest row decides')

  t.match(planRun({ ...view, cdb: [row('CEMC_meanTime', 'u', md5)] }, 'newcdbtag', lists, [])[0], { action: 'skip', why: /already in the CDB with this checksum/ })
  t.equal(planRun({ ...view, cdb: [row('CEMC_meanTime', 'u', md5, RUN - 10, RUN)] }, 'newcdbtag', lists, [])[0]!.action, 'insert', 'an IOV that ended before the run does not count')
  const elsewhere = row('CEMC_meanTime', `/cdb/CEMC_meanTime_${TAG}_${RUN}.root`, 'ff'.repeat(16), RUN - 5, RUN + 100)
  t.match(planRun({ ...view, cdb: [elsewhere] }, 'newcdbtag', lists, [])[0], { action: 'skip', why: /already has a current payload .* not replaced/ })
  const outdated = row('CEMC_meanTime', `/cdb/CEMC_meanTime_old_${RUN}.root`, 'ff'.repeat(16), RUN - 5, RUN + 100)
  t.equal(planRun({ ...view, cdb: [outdated] }, 'newcdbtag', lists, [])[0]!.action, 'insert', 'an outdated payload is replaced for this run')

  t.match(planRun({ ...view, cdb: [] }, 'newcdbtag', new Map([['CEMC_meanTime', 'l']]), [])[1], { action: 'not', why: /no payload list for HCALIN_meanTime; creating one in a tag is an administrator's act/ })
  const missing: PayloadCheck = { ok: false, problem: { type: 'HCALIN_meanTime', path: '/x', reason: 'missing', detail: 'no file' } }
  t.match(planRun({ ...view, checks: [missing], cdb: [] }, 'newcdbtag', lists, [])[0], { action: 'not', problem: 'missing', why: 'missing: no file' })
})
