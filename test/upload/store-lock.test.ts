// Two uploads into one CDB at once, from two output directories (two run types, each its own cron and its own person):
// each plans a run from what payloadiovs answers just before its insert, so an insert of the other in between made
// the plan wrong. Here run 68001's upload, held after its reads, went on to insert [68001, ∞) above the open IOV it
// had read, and the attach detached the [79200, ∞) the other upload had just put above it: run 79200 then read run
// 68001's payload, though both uploads said they had inserted theirs (the other's next upload attached it again). Now the payload store's lock (lib/upload/store-lock.ts) keeps
// the second out, exit 3, naming the first; run again once the first has ended, it inserts, and each run reads its own.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { storeLockFile } from '../../lib/upload/store-lock.js'
import { PAYLOAD_TYPES, selectIov } from '../fakes/cdb-lib.mjs'
import { TAG } from '../helpers/condor-output.js'
import { runStageHere, startScript } from '../helpers/run-script.js'
import { ACT, patchState, pauseUploadAt, piovs, prepareUpload, type UploadSetup } from '../helpers/upload-setup.js'

const OPEN = '9223372036854775807'

/** The URL a reader of `run` gets for `type` (the fake's read side, as payloadiovs answers it). */
function urlAt(s: UploadSetup, type: string, run: number): string | undefined {
  return selectIov(JSON.parse(readFileSync(s.cdbState, 'utf8')), type, run, () => undefined)?.url
}

/** Another output directory with run `run` done, uploading into `s`'s CDB and payload store. */
async function otherOutput(t: Test, s: UploadSetup, run: number) {
  const other = await prepareUpload(t, [{ run, tag: TAG, files: [`/sphenix/lustre/HIST_CALOQA_${run}-00000.root`] }])
  const env = { ...other.env, NOPAYLOADCLIENT_CONF: join(s.output, '..', 'npc.json'), FAKE_CDB_STATE: s.cdbState }
  return () => runStageHere('upload', ['--output', other.output, ...ACT], env)
}

t.test('an upload of another output directory while one runs: kept out (exit 3), then run after it; each run reads its own payload', async (t) => {
  const s = await prepareUpload(t, 1)
  mkdirSync(s.store)
  // Every type's last IOV open from 66000, as CDBUtils insertPayload leaves it: both runs go in as [run, ∞).
  patchState(s, (state) => {
    state.piovs = PAYLOAD_TYPES.map((type, i) => ({ id: 1000 + i, url: `${type}/00/00/seed_${type}.root`, checksum: 'ee'.repeat(16), size: null,
      minor_iov: 66000, minor_iov_end: OPEN, major_iov_end: OPEN, list: `${type}_newcdbtag`, type, globalTag: 'newcdbtag' }))
    state.nextPiov = 1000 + PAYLOAD_TYPES.length
  })
  const [paused, go] = [join(s.output, '..', 'upload.paused'), join(s.output, '..', 'upload.go')]
  // Held after it read the CDB around 68001, before its first insert.
  const first = startScript('upload', ['--output', s.output, ...ACT], { ...s.env, ...pauseUploadAt('before POST piov', 1, paused, go) })
  t.teardown(() => void first.child.kill('SIGKILL'))
  let ended = false
  void first.done.then(() => (ended = true))
  while (!(existsSync(paused) && readFileSync(paused, 'utf8') !== '') && !ended) await new Promise((resolve) => setTimeout(resolve, 50))
  if (ended) return t.fail(`the first upload ended before its insert: ${(await first.done).stderr}`)

  await t.test('the other output directory\'s upload, meanwhile and after', async (t) => {
    const upload = await otherOutput(t, s, 79200)
    const meanwhile = await upload()
    t.equal(meanwhile.code, 3, `kept out (it inserted [79200, ∞), which the first then detached) ${meanwhile.stderr}`)
    t.match(meanwhile.stderr, new RegExp(`^caloprod upload: another upload into the CDB is running, one at a time for every output directory: ${s.store} is in use by the upload stage \\(pid ${first.child.pid}\\) .*; nothing was uploaded\\n$`))
    writeFileSync(go, '')
    const firstEnd = await first.done
    t.equal(firstEnd.code, 0, firstEnd.stderr)
    t.notOk(existsSync(storeLockFile(s.store)), 'the first upload let go of the store')
    t.same(piovs(s).filter((piov) => piov.list === null).map((piov) => piov.url), [],
      'no payload IOV either upload attached was detached (79200\'s were, by the first upload\'s [68001, ∞), after the other said it inserted them)')
    const after = await upload()
    t.equal(after.code, 0, after.stderr)
    t.match(after.stdout, /upload: 7 payloads inserted into newcdbtag from 1 finished run, 0 failed/)
  })
  for (const type of PAYLOAD_TYPES) {
    t.match(urlAt(s, type, 68001), /_68001(cdb)?\.root$/, `${type}: 68001 reads its own`)
    t.match(urlAt(s, type, 79200), /_79200(cdb)?\.root$/, `${type}: 79200 reads its own (it read 68001's)`)
  }
})
