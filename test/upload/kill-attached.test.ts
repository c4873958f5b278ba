import t from 'tap'
import { killThenRerun, prepareUpload } from '../helpers/upload-setup.js'

t.test('SIGKILL after the attach: every payload in the CDB once, no partial file', async (t) => {
  const ledger = await killThenRerun(t, await prepareUpload(t, 2), ['attached'])
  t.match(ledger, /,uploaded,[0-9a-f]{32},,.*settled: an interrupted upload; the CDB holds this checksum/, 'the kill after the attach settled as uploaded')
})
