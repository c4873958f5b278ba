// A payload whose URL in the store is longer than nopayloaddb keeps (PayloadIOV.payload_url, max_length 255): not
// insertable, said in the plan, never sent (the fake refuses it as the real server does: 400).
import { mkdirSync } from 'node:fs'
import t from 'tap'
import { ACT, attachedCounts, prepareUpload, type UploadSetup } from '../helpers/upload-setup.js'

const writes = (s: UploadSetup, route: string) => s.server.requests.filter((r) => `${r.method} ${r.path}` === route).length

// A legal tag of 160 characters: the URLs of the three hotTowers payloads reach 264 to 270 characters, the others 238 to 244.
const LONG = `ana${'x'.repeat(157)}`

t.test('a payload URL over 255 characters is not insertable, and never sent', async (t) => {
  const s = await prepareUpload(t, [{ run: 68001, tag: LONG, files: ['/sphenix/lustre/HIST_CALOQA_68001-00000.root'] }])
  mkdirSync(s.store)
  const plan = await s.upload(['--global-tag', 'newcdbtag'])
  t.equal(plan.code, 0, plan.stderr)
  const refused = plan.stdout.match(/^68001 \S+ (\S+) not: its URL in the store has 2[67]\d characters, more than the 255 nopayloaddb keeps \(PayloadIOV\.payload_url\): POST piov would be refused; only a shorter tag makes it fit$/gm)
  t.equal(refused?.length, 3, 'the three hotTowers payloads')
  t.match(plan.stdout, /: 4 to insert, 0 skipped, 3 not insertable/)

  for (const night of [1, 2]) {
    const act = await s.upload(ACT)
    t.equal(act.code, 0, `night ${night}: ${act.stderr}`)
    t.match(act.stdout, /upload: (4|0) payloads inserted into newcdbtag .* 3 not insertable/)
  }
  t.equal(writes(s, 'POST piov'), 4, 'the three never sent')
  t.equal(Object.keys(attachedCounts(s)).length, 4)
})
