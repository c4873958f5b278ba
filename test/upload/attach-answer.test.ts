// What tells caloprod a payload is in the CDB: nopayloaddb's own answer to the attach (the payload IOV in the list),
// never a 200 alone: a proxy or a single sign-on page answers 200 with HTML, and the CDB then holds nothing.
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ACT, attachedCounts, piovs, prepareUpload, type UploadSetup } from '../helpers/upload-setup.js'

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
