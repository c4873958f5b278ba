import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import t from 'tap'
import { ROOT } from '../helpers/run-script.js'
import { killThenRerun, prepareUpload } from '../helpers/upload-setup.js'

t.test('SIGKILL before the POST, then right after its answer: every payload in the CDB once, none made twice', async (t) => {
  const ledger = await killThenRerun(t, await prepareUpload(t, 2), ['before POST piov', 'after POST piov'])
  t.match(ledger, /,failed,.*settled: an interrupted upload; the CDB made no payload IOV for it/, 'the kill before the POST')
  t.match(ledger, /,created,[0-9a-f]{32},\d+,.*settled: an interrupted upload; the CDB made piov \d+ for it, in no payload list/, 'the answer lost')
})

t.test('the production code holds no test hook: the kills and pauses come from test/helpers/upload-kill.mjs, loaded by the tests only', async (t) => {
  const hooks: string[] = []
  for (const dir of ['tasks', 'lib']) {
    for (const entry of readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })) {
      if (!entry.isFile()) continue
      const path = join(entry.parentPath, entry.name)
      if (/CALOPROD_TEST_|UPLOAD_KILL|UPLOAD_PAUSE/.test(readFileSync(path, 'utf8'))) hooks.push(relative(ROOT, path))
    }
  }
  t.same(hooks, [])
})
