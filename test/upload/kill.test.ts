import t from 'tap'
import { killThenRerun, prepareUpload } from '../helpers/upload-setup.js'

t.test('SIGKILL after the copy, then after the POST: every payload in the CDB once, no partial file', async (t) => {
  const ledger = await killThenRerun(t, await prepareUpload(t, 2), ['copied', 'posted'])
  t.match(ledger, /,failed,.*settled: an interrupted upload that never reached the global tag/)
})
