import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { attachedCounts, patchState, piovs, prepareUpload, storeFiles } from '../helpers/upload-setup.js'

const ACT = ['--do-cdb-upload', '--global-tag', 'newcdbtag']

t.test('SIGKILL after the attach: every payload in the CDB once, no partial file', async (t) => {
  const s = await prepareUpload(t, 2)
  mkdirSync(s.store)
  for (const step of ['attached']) {
    const killed = await s.upload(ACT, { CALOPROD_TEST_UPLOAD_KILL: step })
    t.equal(killed.signal, 'SIGKILL', `killed after ${step}`)
  }
  // A copy killed before its rename: a hidden temporary file of a dead process in the store.
  const dir = join(s.store, piovs(s)[0]!.url, '..')
  writeFileSync(join(dir, '.x_EMCalHotMap.root.999999.0badc0de.tmp'), 'root half')
  const rerun = await s.upload(ACT)
  t.equal(rerun.code, 0, rerun.stderr)
  const counts = attachedCounts(s)
  t.equal(Object.keys(counts).length, 14)
  t.same(Object.values(counts).filter((n) => n !== 1), [], 'no payload attached twice')
  t.same(storeFiles(s.store).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left in the store')
  t.equal(storeFiles(s.store).length, 14)
  const ledger = readFileSync(join(s.output, 'uploads.csv'), 'utf8')
  t.match(ledger, /,uploaded,[0-9a-f]{32},,.*settled: an interrupted upload; the CDB holds this checksum/, 'the kill after the attach settled as uploaded')
  t.match((await s.upload(ACT)).stdout, /0 payloads inserted .* 14 skipped/)
})

