import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { TAG } from '../helpers/condor-output.js'
import { rootFile } from '../helpers/root-file.js'
import { ACT, attachedCounts, patchState, piovs, prepareUpload, storeFiles } from '../helpers/upload-setup.js'


t.test('bad input (the CDB refuses, the files are bad): one line, exit 1, nothing half-done', async (t) => {
  const s = await prepareUpload(t, 2)
  mkdirSync(s.store)
  patchState(s, (state) => (state.writeToken = 'sekrit-token-123'))
  const r4 = await s.upload(ACT)
  t.equal(r4.code, 1)
  t.match(r4.stderr, /^caloprod upload: 68001 \S+ CEMC_BadTowerMap: nopayloaddb http:\/\/127\.0\.0\.1:\d+\/api\/cdb_rest\/, POST piov: answered 403 .*"Authentication credentials were not provided".*set CALOPROD_CDB_TOKEN/m)
  t.equal(s.server.requests.filter((r) => r.method === 'POST').length, 1, '403: sent once, nothing more tried')
  t.same(piovs(s), [], '403: nothing inserted')
  t.same(storeFiles(s.store), [], '403: the file copied for it is removed again')

  // A corrupt and an empty payload: their runs insert nothing, the stage fails naming the file.
  writeFileSync(join(s.output, 'output', `68001_${TAG}`, `CEMC_meanTime_${TAG}_68001.root`), 'not a ROOT file')
  writeFileSync(join(s.output, 'output', `68002_${TAG}`, `HCALOUT_meanTime_${TAG}_68002.root`), '')
  const plan = await s.upload([])
  t.equal(plan.code, 0)
  t.match(plan.stdout, new RegExp(`^68001 ${TAG} CEMC_meanTime not: not ROOT: .* does not start with "root"`, 'm'))
  t.match(plan.stdout, new RegExp(`^68002 ${TAG} HCALOUT_meanTime not: empty: `, 'm'))
  const r5 = await s.upload(ACT, { CALOPROD_CDB_TOKEN: 'sekrit-token-123' })
  t.equal(r5.code, 1)
  t.match(r5.stderr, /caloprod upload: upload: 0 payloads inserted .* 2 failed.*first failure: 68001 .*CEMC_meanTime .*not a ROOT file; none of the run's payloads was inserted/)
  t.same(piovs(s), [])

  // The token works once right; it appears in no output, log or ledger.
  writeFileSync(join(s.output, 'output', `68001_${TAG}`, `CEMC_meanTime_${TAG}_68001.root`), rootFile('fixed'))
  writeFileSync(join(s.output, 'output', `68002_${TAG}`, `HCALOUT_meanTime_${TAG}_68002.root`), rootFile('fixed too'))
  // A locked tag is refused before anything is sent.
  const LISTS = ['CEMC_BadTowerMap', 'CEMC_meanTime', 'HCALIN_meanTime', 'HCALOUT_meanTime', 'CEMC_hotTowers_fracBadChi2', 'HCALIN_hotTowers_fracBadChi2']
  patchState(s, (state) => {
    state.globalTags = { newcdbtag: { status: 'locked', lists: LISTS } }
    state.runs = { '68001': { CEMC_meanTime: 'outdated' } }
  })
  const writes = () => s.server.requests.filter((r) => r.method !== 'GET').length
  const before = writes()
  const ledgerBefore = readFileSync(join(s.output, 'uploads.csv'), 'utf8')
  const r6 = await s.upload(ACT, { CALOPROD_CDB_TOKEN: 'sekrit-token-123' })
  t.equal(r6.code, 1)
  t.match(r6.stderr, /^caloprod upload: global tag newcdbtag is locked in the CDB: it takes no new payloads; nothing was uploaded\n$/m)
  t.equal(writes(), before, 'locked: nothing sent')
  t.equal(readFileSync(join(s.output, 'uploads.csv'), 'utf8'), ledgerBefore, 'locked: no ledger row')
  t.match((await s.upload([])).stdout, /into newcdbtag .*; the tag is locked: --do-cdb-upload would insert nothing$/m, 'the plan says so')

  // Unlocked: the outdated payload of 68001 is replaced (its IOV detached), a type without a payload list is not.
  patchState(s, (state) => (state.globalTags = { newcdbtag: { status: 'unlocked', lists: LISTS } }))
  const r7 = await s.upload(ACT, { CALOPROD_CDB_TOKEN: 'sekrit-token-123' })
  t.equal(r7.code, 0, r7.stderr)
  t.match((await s.upload([])).stdout, /HCALOUT_hotTowers_fracBadChi2 not: global tag newcdbtag has no payload list for HCALOUT_hotTowers_fracBadChi2; creating one in a tag is an administrator's act/)
  t.equal(Object.keys(attachedCounts(s)).length, 12, 'the rest went in')
  t.match(piovs(s).filter((p) => p.url.includes('ana000_fake_outdated')), [{ minor_iov: 68001, list: null }], 'the replaced IOV is detached')
  for (const text of [r4.stdout, r4.stderr, r5.stderr, r6.stdout, r6.stderr, r7.stdout, r7.stderr, readFileSync(join(s.output, 'uploads.csv'), 'utf8'), readFileSync(join(s.output, 'log', `${new Date().toISOString().slice(0, 10)}.log`), 'utf8')]) {
    t.notMatch(text, /sekrit-token-123/, 'the token is never written')
  }
})

t.test('a CALOPROD_CDB_TOKEN with a line break or control character is refused up front, naming it, never showing it', async (t) => {
  const s = await prepareUpload(t, 2)
  mkdirSync(s.store)
  for (const [what, token] of [['a trailing line break', 'SEKRITtok\n'], ['a line break inside', 'SEKRIT\ntok'], ['a control character', 'SEKRIT\x01tok'], ['a space', 'SEKRIT tok']]) {
    const result = await s.upload(ACT, { CALOPROD_CDB_TOKEN: token })
    t.equal(result.code, 2, `${what}: exit 2`)
    t.equal(result.stderr, 'caloprod upload: CALOPROD_CDB_TOKEN holds a line break, space or other character a bearer token cannot have; set it to the token alone (nothing was uploaded)\n', what)
    t.notMatch(result.stdout + result.stderr, /SEKRIT/, `${what}: the token is not shown`)
    t.equal(s.server.requests.filter((r) => r.method !== 'GET').length, 0, `${what}: nothing sent`)
  }
})
