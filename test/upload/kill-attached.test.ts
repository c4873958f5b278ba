import t from 'tap'
import { killThenRerun, prepareUpload } from '../helpers/upload-setup.js'

t.test('SIGKILL before the attach, then after it: every payload in the CDB once, no partial file', async (t) => {
  const ledger = await killThenRerun(t, await prepareUpload(t, 2), ['before PUT piov_attach', 'after PUT piov_attach'])
  t.match(ledger, /,uploaded,[0-9a-f]{32},\d+,.*settled: an interrupted upload; the CDB holds this checksum/, 'the kill after the attach settled as uploaded')
  t.match(ledger, /,created,[0-9a-f]{32},(\d+),.*piov \d+ made[^\n]*\n(?:[^\n]*\n)*?[^\n]*,uploaded,[0-9a-f]{32},\1,/, 'the piov made before the kill is the one attached')
})
