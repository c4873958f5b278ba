// What tells caloprod a payload is in the CDB: nopayloaddb's own answer to the attach (the payload IOV in the list),
// never a 200 alone: a proxy or a single sign-on page answers 200 with HTML, and the CDB then holds nothing.
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ACT, attachedCounts, patchState, piovs, prepareUpload, type FakePiov, type UploadSetup } from '../helpers/upload-setup.js'

const ledger = (s: UploadSetup) => readFileSync(join(s.output, 'uploads.csv'), 'utf8')
const writes = (s: UploadSetup, route: string) => s.server.requests.filter((r) => `${r.method} ${r.path}` === route).length

t.test('PUT piov_attach answered 200 with a login page: an unknown outcome, not uploaded; the next run attaches that payload IOV', async (t) => {
  const s = await prepareUpload(t, 1)
  mkdirSync(s.store)
  s.server.setFaults({ route: 'PUT piov_attach', html: true })
  const act = await s.upload(ACT)
  t.equal(act.code, 1, 'the stage fails')
  const line = /^caloprod upload: 68001 \S+ CEMC_BadTowerMap: the CDB answered PUT piov_attach with an HTML page "Single Sign-On: please log in", not JSON; the next run asks the CDB what came of it before writing again\n$/
  t.match(act.stderr, line, 'one line')
  t.same(attachedCounts(s), {}, 'the CDB holds nothing')
  t.notMatch(ledger(s), /,uploaded,/, 'nothing recorded uploaded')
  t.match(ledger(s), /,created,[0-9a-f]{32},1,[^\n]*piov 1 made[^\n]*\n$/, 'the created row left for the next run')
  t.equal(writes(s, 'PUT piov_attach'), 1, 'stopped at the first: what came of it is unknown')

  s.server.setFaults({})
  const next = await s.upload(ACT)
  t.equal(next.code, 0, next.stderr)
  t.match(next.stdout, /upload: 7 payloads inserted into newcdbtag/)
  t.equal(piovs(s).length, 7, 'payload IOV 1 attached, not made again')
  t.same(piovs(s).filter((p) => !p.list), [], 'none left detached')
  t.same(Object.values(attachedCounts(s)), Array(7).fill(1))
})

t.test('the ledger says uploaded, the CDB holds none of it: planned again, the payload IOVs in no list attached, not made again', async (t) => {
  const s = await prepareUpload(t, 1)
  mkdirSync(s.store)
  t.equal((await s.upload(ACT)).code, 0)
  // What an older caloprod left after a login page answered its attaches: `uploaded` rows, the payload IOVs in no list.
  patchState(s, (state) => {
    for (const p of state.piovs as FakePiov[]) p.list = null
    ;(state.piovs as FakePiov[]).splice(0, 1)
  })
  const plan = await s.upload(['--global-tag', 'newcdbtag'])
  t.equal(plan.code, 0, plan.stderr)
  const lost = 'the ledger says uploaded [^ ]+ \\(piov \\d+\\), but the CDB does not hold this checksum for the run$'
  t.match(plan.stdout, new RegExp(`^68001 \\S+ CEMC_BadTowerMap insert: EMCalHotMap_\\S+ \\(\\d+ bytes, md5 [0-9a-f]{32}\\) as \\S+, IOV \\[68001, 68002\\); ${lost}`, 'm'), 'payload IOV 1 is gone: made again')
  t.equal(plan.stdout.match(new RegExp(`^68001 \\S+ \\S+ insert: piov \\d+, made for \\S+, IOV \\[68001, 68002\\); ${lost}`, 'gm'))?.length, 6, 'the others attached')

  const act = await s.upload(ACT)
  t.equal(act.code, 0, act.stderr)
  t.match(act.stdout, /upload: 7 payloads inserted into newcdbtag/)
  t.equal(writes(s, 'POST piov'), 7 + 1, 'one payload IOV made again, for the one gone')
  t.same(piovs(s).filter((p) => !p.list), [], 'none left detached')
  t.same(Object.values(attachedCounts(s)), Array(7).fill(1))
  t.match((await s.upload(ACT)).stdout, /0 payloads inserted .* 7 skipped/)
})
