// Settling an `uploading` row a crash or a lost answer left open takes up only the payload IOV its own POST made: not
// one another ledger row names (of another global tag: a payload IOV belongs to one list, and attaching it to a
// second moves it out of the first), nor one nopayloaddb made before the row (CLOCK_SKEW_MS).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { ACT, attachedCounts, killUploadAt, otherRunsUploads, patchState, piovs, prepareUpload, type FakePiov } from '../helpers/upload-setup.js'
import { PAYLOAD_TYPES } from '../fakes/cdb-lib.mjs'
import { CLOCK_SKEW_MS } from '../../lib/clock-skew.js'
import { madeFor } from '../../lib/upload/settle.js'
import type { UploadRow } from '../../lib/upload/ledger.js'

const SEVEN = PAYLOAD_TYPES.slice(0, 7)
const OPEN = '9223372036854775807'

t.test('madeFor: the latest payload IOV in no list that no ledger row names, stamped no earlier than the row less the skew', async (t) => {
  const time = '2026-12-01T12:00:00.000Z'
  const row = { time } as UploadRow
  const at = Date.parse(time)
  t.same(madeFor(row, [{ id: 3, inserted: at + 1000 }, { id: 4, inserted: at + 2000 }], new Set()), { id: 4, passed: 0 })
  t.same(madeFor(row, [{ id: 3, inserted: at + 1000 }, { id: 4, inserted: at + 2000 }], new Set([4])), { id: 3, passed: 1 }, 'another row\'s')
  t.same(madeFor(row, [{ id: 3, inserted: at - CLOCK_SKEW_MS }], new Set()), { id: 3, passed: 0 }, 'within the skew')
  t.same(madeFor(row, [{ id: 3, inserted: at - CLOCK_SKEW_MS - 1 }], new Set()), { passed: 1 }, 'made before the row')
  t.same(madeFor(row, [{ id: 3, inserted: undefined }], new Set()), { passed: 1 }, 'no readable stamp')
  t.same(madeFor(row, [], new Set()), { passed: 0 })
})

const B = ['--do-cdb-upload', '--global-tag', 'othertag']

t.test('two tags: an interrupted upload into one never takes the payload IOV made for the other', async (t) => {
  const s = await prepareUpload(t, 1)
  mkdirSync(s.store)
  patchState(s, (state) => {
    state.globalTags = { newcdbtag: { status: 'unlocked', lists: [...SEVEN] }, othertag: { status: 'unlocked', lists: [...SEVEN] } }
  })
  t.equal((await s.uploadProcess(B, killUploadAt('after POST piov'))).signal, 'SIGKILL', 'B killed after its POST: piov 1 made, its id unseen')
  t.equal((await s.uploadProcess(ACT, killUploadAt('before POST piov'))).signal, 'SIGKILL', 'A killed before its POST: nothing made for A')
  const a = await s.upload(ACT)
  t.equal(a.code, 0, a.stderr)
  const b = await s.upload(B)
  t.equal(b.code, 0, b.stderr)
  const all = Object.fromEntries(SEVEN.map((type) => [`68001 ${type}`, 1]))
  t.same(attachedCounts(s, 'newcdbtag'), all, 'A holds each payload once')
  t.same(attachedCounts(s, 'othertag'), all, 'B holds each payload once')
  t.equal(piovs(s).length, 14, 'no payload IOV made in vain')
  t.match(piovs(s).find((p) => p.id === 1), { globalTag: 'othertag' }, 'piov 1 went to the tag it was made for')
  const ledger = readFileSync(join(s.output, 'uploads.csv'), 'utf8')
  t.match(ledger, /,CEMC_BadTowerMap,othertag,created,[0-9a-f]{32},1,.*settled: an interrupted upload; the CDB made piov 1 for it/)
  t.match(ledger, /,CEMC_BadTowerMap,newcdbtag,failed,[0-9a-f]{32},,.*settled: an interrupted upload; the CDB made no payload IOV for it \(1 in no payload list with its URL and IOV: another ledger row's, or made before it\)/)
  t.match((await s.upload(ACT)).stdout, /0 payloads inserted .* 7 skipped/)
  t.match((await s.upload(B)).stdout, /0 payloads inserted .* 7 skipped/)
})

t.test('a payload IOV with the URL made before the upload began (someone else\'s) is not taken', async (t) => {
  const s = await prepareUpload(t, 1)
  mkdirSync(s.store)
  t.equal((await s.uploadProcess(ACT, killUploadAt('after POST piov'))).signal, 'SIGKILL')
  const hourAgo = new Date(Date.now() - 3600_000).toISOString().replace('Z', '000')
  patchState(s, (state) => void ((state.piovs as FakePiov[])[0]!.inserted = hourAgo))
  const next = await s.upload(ACT)
  t.equal(next.code, 0, next.stderr)
  t.same(Object.values(attachedCounts(s)), Array(7).fill(1))
  t.match(piovs(s).find((p) => p.id === 1), { list: null }, 'piov 1 left as it was')
  t.match(readFileSync(join(s.output, 'uploads.csv'), 'utf8'), /,failed,.*the CDB made no payload IOV for it \(1 in no payload list .*\); will be tried again/)
})

t.test('an open POST piov ([run, ∞)) whose answer was lost is found and attached, not made again', async (t) => {
  const s = await prepareUpload(t, 1)
  mkdirSync(s.store)
  patchState(s, (state) => {
    ;(state.piovs ??= []).push(...SEVEN.map((type, i) => ({ id: 1000 + i, url: `${type}/00/00/seed_${type}_68000.root`, checksum: 'ee'.repeat(16), size: null,
      minor_iov: 68000, minor_iov_end: OPEN, major_iov_end: OPEN, list: `${type}_newcdbtag`, type, globalTag: 'newcdbtag' })))
    state.nextPiov = 2000
  })
  t.equal((await s.uploadProcess(ACT, killUploadAt('after POST piov'))).signal, 'SIGKILL', 'killed after its first open POST: piov 2000 made, its id unseen')
  t.match(piovs(s).find((p) => p.id === 2000), { minor_iov: 68001, list: null }, 'made open and detached')
  const next = await s.upload(ACT)
  t.equal(next.code, 0, next.stderr)
  t.match(readFileSync(join(s.output, 'uploads.csv'), 'utf8'), /,created,[0-9a-f]{32},2000,.*settled: an interrupted upload; the CDB made piov 2000 for it/)
  t.same(piovs(s).filter((p) => p.list === null), [], 'no payload IOV left detached: piov 2000 attached, none made in vain')
  t.equal(piovs(s).length, 14)
  t.same(Object.values(attachedCounts(s)).filter((n) => n !== 1), [], 'one IOV per run and type')
})

t.test("a run that left the process list after its upload was interrupted is still settled; other campaigns' payloads are not kept", async (t) => {
  const s = await prepareUpload(t, 1)
  mkdirSync(s.store)
  t.equal((await s.uploadProcess(ACT, killUploadAt('after POST piov'))).signal, 'SIGKILL', 'killed after its POST: a payload IOV made, its id unseen')
  // The check then found 68001 current and wrote a process list without it; a year of other runs' payloads before.
  writeFileSync(join(s.output, 'run3auau-process.csv'), 'runnumber,tag\n')
  const ledger = join(s.output, 'uploads.csv')
  const [header, ...rows] = readFileSync(ledger, 'utf8').split('\n')
  writeFileSync(ledger, `${header}\n${otherRunsUploads(120_000)}${rows.join('\n')}`)
  const after = await s.uploadProcess(ACT, { NODE_OPTIONS: '--max-old-space-size=48' })
  t.equal(after.code, 0, after.stderr)
  t.match(after.stdout, /no finished run in the process list/)
  const last = readFileSync(ledger, 'utf8').trim().split('\n').at(-1)!
  t.match(last, /^[^,]+,68001,new_newcdbtag_v008,[^,]+,newcdbtag,created,[0-9a-f]{32},1,.*"settled: an interrupted upload; the CDB made piov 1 for it/,
    'the interrupted payload settled: its own payload IOV found (attached only for a run the process list still has)')
  t.equal(piovs(s).length, 1, 'nothing made again')
})
