import t from 'tap'
import { killThenRerun, prepareUpload } from '../helpers/upload-setup.js'

t.test('SIGKILL before the POST, then right after its answer: every payload in the CDB once, none made twice', async (t) => {
  const ledger = await killThenRerun(t, await prepareUpload(t, 2), ['before POST piov', 'after POST piov'])
  t.match(ledger, /,failed,.*settled: an interrupted upload; the CDB made no payload IOV for it/, 'the kill before the POST')
  t.match(ledger, /,created,[0-9a-f]{32},\d+,.*settled: an interrupted upload; the CDB made piov \d+ for it, in no payload list/, 'the answer lost')
})
