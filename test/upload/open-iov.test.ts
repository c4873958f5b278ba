// A type whose last IOV is open, [S, ∞), as CDBUtils insertPayload with a start alone makes it: runs above S go in
// as [run, ∞), upwards, each ending the one before; the order is chosen per type, so another type's later IOV does
// not turn these downwards. The reviewer's reproductions (test/review/order.test.ts, order2.test.ts), against the fake
// nopayloaddb, whose attach follows the real one (cdb_rest/views.py at 0c9f2f8, PayloadIOVAttachAPIView.put).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { TAG } from '../helpers/condor-output.js'
import { ACT, attachedCounts, patchState, piovs, prepareUpload, type UploadSetup } from '../helpers/upload-setup.js'
import { PAYLOAD_TYPES, selectIov } from '../fakes/cdb-lib.mjs'

const OPEN = '9223372036854775807'

/** An attached payload IOV of `type` in newcdbtag; `end` undefined: open (2^63-1 at both ends, as POST piov without an end makes it). */
function seed(s: UploadSetup, type: string, start: number, end?: number) {
  patchState(s, (state) => {
    const id = (state.nextPiov as number | undefined) ?? 1000
    state.nextPiov = id + 1
    ;(state.piovs ??= []).push({ id, url: `${type}/00/00/seed_${type}_${start}.root`, checksum: 'ee'.repeat(16), size: null,
      minor_iov: start, minor_iov_end: end ?? OPEN, major_iov_end: end === undefined ? OPEN : 0, list: `${type}_newcdbtag`, type, globalTag: 'newcdbtag' })
  })
}

/** What payloadiovs answers for `type` at `run` (the fake's read side): its URL, and where its IOV starts and ends. */
function reader(s: UploadSetup, type: string, run: number) {
  const iov = selectIov(JSON.parse(readFileSync(s.cdbState, 'utf8')), type, run, () => undefined)
  return iov && { url: iov.url, start: Number(iov.start), end: iov.end >= BigInt(OPEN) ? 'inf' : Number(iov.end) }
}

/** Every run's payload of every type is its own, read back as a reader of the run does. */
function eachRunReadsItsOwn(t: Test, s: UploadSetup, runs: number[], types: readonly string[]) {
  const wrong = runs.flatMap((run) => types.filter((type) => !new RegExp(`_${run}(cdb)?\\.root$`).test(reader(s, type, run)?.url ?? '')).map((type) => `${run} ${type}: ${reader(s, type, run)?.url}`))
  t.same(wrong, [], 'a reader of each run gets its own payload')
}

async function uploadTwice(t: Test, s: UploadSetup, inserted: number, runs: number) {
  const plan = await s.upload([])
  t.equal(plan.code, 0, plan.stderr)
  t.match(plan.stdout, new RegExp(`: ${inserted} to insert, 0 skipped, 0 not insertable`), 'the plan foresees every insert')
  const act = await s.upload(ACT)
  t.equal(act.code, 0, act.stderr)
  t.match(act.stdout, new RegExp(`upload: ${inserted} payloads inserted into newcdbtag from ${runs} finished runs, 0 failed`), 'the act does what the plan said')
  t.same(s.server.errors ?? [], [], 'no insert the server crashed on')
  const before = piovs(s)
  const again = await s.upload(ACT)
  t.equal(again.code, 0, again.stderr)
  t.match(again.stdout, /upload: 0 payloads inserted into newcdbtag/, 'a second upload inserts nothing')
  t.same(piovs(s), before, 'and changes nothing in the CDB')
}

t.test('an open last IOV below two consecutive runs: both go in as [run, ∞), the second ending the first', async (t) => {
  const s = await prepareUpload(t, 2)
  mkdirSync(s.store)
  for (const type of PAYLOAD_TYPES) seed(s, type, 68000)
  const plan = await s.upload([])
  t.match(plan.stdout, /^68001 \S+ CEMC_meanTime insert: .*IOV \[68001, ∞\): the type's last IOV is open/m)
  await uploadTwice(t, s, 14, 2)
  eachRunReadsItsOwn(t, s, [68001, 68002], PAYLOAD_TYPES)
  t.same(reader(s, 'CEMC_meanTime', 68000), { url: 'CEMC_meanTime/00/00/seed_CEMC_meanTime_68000.root', start: 68000, end: 68001 }, 'the open IOV ends at the first run')
  t.match(reader(s, 'CEMC_meanTime', 68001), { start: 68001, end: 68002 })
  t.match(reader(s, 'CEMC_meanTime', 70000), { start: 68002, end: 'inf' }, 'the last run stays open, as insertPayload leaves it')
  t.same(Object.values(attachedCounts(s)).filter((n) => n !== 1), [], 'one IOV per run and type')
})

t.test("another type's IOV after the runs does not send every type downwards: three runs over an open IOV all go in", async (t) => {
  const s = await prepareUpload(t, 3)
  mkdirSync(s.store)
  seed(s, 'CEMC_meanTime', 68000)
  for (const type of PAYLOAD_TYPES) if (type !== 'CEMC_meanTime') seed(s, type, 67000, 67001)
  seed(s, 'HCALIN_meanTime', 69000, 69001)
  await uploadTwice(t, s, 21, 3)
  eachRunReadsItsOwn(t, s, [68001, 68002, 68003], PAYLOAD_TYPES)
  t.match(reader(s, 'CEMC_meanTime', 70000), { start: 68003, end: 'inf' })
  t.match(reader(s, 'HCALIN_meanTime', 69000), { url: 'HCALIN_meanTime/00/00/seed_HCALIN_meanTime_69000.root', start: 68004 }, 'below the later IOV downwards, closed: it moves back to meet the runs, as the plan says')
  t.match(reader(s, 'HCALOUT_meanTime', 70000), { start: 68003, end: 68004 }, 'above a closed last IOV: closed inserts upwards')
})

t.test('a run with an unusable file inserts nothing, though its types are inserted in different orders', async (t) => {
  const s = await prepareUpload(t, 2)
  mkdirSync(s.store)
  seed(s, 'CEMC_meanTime', 68000)
  seed(s, 'HCALIN_meanTime', 67000, 67001)
  seed(s, 'HCALIN_meanTime', 69000, 69001)
  writeFileSync(join(s.output, 'output', `68001_${TAG}`, `HCALOUT_meanTime_${TAG}_68001.root`), 'not a ROOT file')
  const act = await s.upload(ACT)
  t.equal(act.code, 1)
  t.match(act.stderr, /first failure: 68001 \S+ HCALOUT_meanTime .*none of the run's payloads was inserted/)
  t.same(Object.keys(attachedCounts(s)).filter((k) => k.startsWith('68001 ')), [], 'nothing of run 68001, in any group')
  t.equal(Object.keys(attachedCounts(s)).filter((k) => k.startsWith('68002 ')).length, 7, 'run 68002 whole')
})

t.test('a payload IOV made open whose attach was refused, the tag meanwhile given a later IOV: not attached (it would take the later one out), a closed one made', async (t) => {
  const s = await prepareUpload(t, 1)
  mkdirSync(s.store)
  for (const type of PAYLOAD_TYPES) seed(s, type, 68000)
  s.server.setFaults({ route: 'PUT piov_attach', fail500: 1000 })
  const refused = await s.upload(ACT)
  t.equal(refused.code, 1)
  const made = piovs(s).filter((p) => !p.list)
  t.ok(made.length > 0 && made.every((p) => String(p.minor_iov_end) === OPEN), 'made open, [68001, ∞), and left detached')
  s.server.setFaults({})
  // Someone inserts a later IOV of every type meanwhile: 68001 now lies below it, so its payload must be closed.
  for (const type of PAYLOAD_TYPES) seed(s, type, 69000, 69001)
  const next = await s.upload(ACT)
  t.equal(next.code, 0, next.stderr)
  t.match(next.stderr, /68001 \S+ CEMC_meanTime: piov \d+ was made for \[68001, ∞\), but the tag's IOVs now take \[68001, 68002\): left detached, a new one is made/)
  for (const type of PAYLOAD_TYPES) t.match(reader(s, type, 69000), { url: `${type}/00/00/seed_${type}_69000.root`, start: 69000, end: 69001 }, `${type}: the later IOV still read`)
  eachRunReadsItsOwn(t, s, [68001], PAYLOAD_TYPES)
})
