import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ACT, prepareUpload } from '../helpers/upload-setup.js'


t.test('bad input (store, configuration, tag): one line, exit 1, nothing half-done', async (t) => {
  const s = await prepareUpload(t, 2)
  const quiet = (r: { stderr: string }) => r.stderr.trim().split('\n').filter((l) => !l.includes('warning'))
  const noStore = await s.upload(ACT)
  t.equal(noStore.code, 1)
  t.match(quiet(noStore), [/^caloprod upload: the payload store .*store \(write_dir in NOPAYLOADCLIENT_CONF=.*npc\.json\) does not exist/])

  const conf = JSON.parse(readFileSync(s.env.NOPAYLOADCLIENT_CONF!, 'utf8'))
  const noWriteDir = join(s.output, '..', 'no-write-dir.json')
  writeFileSync(noWriteDir, JSON.stringify({ ...conf, write_dir: undefined }))
  const r1 = await s.upload(ACT, { NOPAYLOADCLIENT_CONF: noWriteDir })
  t.equal(r1.code, 1)
  t.match(r1.stderr, /has no write_dir/)

  const sysStore = join(s.output, '..', 'sys-store.json')
  writeFileSync(sysStore, JSON.stringify({ ...conf, write_dir: '/sys' }))
  const r2 = await s.upload(ACT, { NOPAYLOADCLIENT_CONF: sysStore })
  t.equal(r2.code, 1)
  t.match(r2.stderr, /the payload store \/sys .* is not writable by this user/)

  mkdirSync(s.store)
  const r3 = await s.upload(['--do-cdb-upload', '--global-tag', 'nosuchtag'])
  t.equal(r3.code, 1)
  t.match(r3.stderr, /^caloprod upload: global tag nosuchtag does not exist in the CDB/)
  t.notOk(existsSync(join(s.output, 'uploads.csv')), 'no ledger row for any of them')
  t.same(readdirSync(s.store), [], 'nothing copied')
})
