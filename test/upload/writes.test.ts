// Writing to nopayloaddb as it really answers (the fake follows nopayloaddb 0c9f2f8: test/fakes/cdb-write-lib.mjs):
// a POST whose answer never came, attaches refused with Django's HTML 500, and the layouts its continuous insert
// fails on or rewrites.
import { mkdirSync, readFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { TAG } from '../helpers/condor-output.js'
import { ACT, attachedCounts, patchState, piovs, prepareUpload, type UploadSetup } from '../helpers/upload-setup.js'
import { PAYLOAD_TYPES } from '../fakes/cdb-lib.mjs'
import { startFakeNopayloaddb } from '../fakes/nopayloaddb.mjs'
import { HttpClient } from '../../lib/cdb/http.js'

const writes = (s: UploadSetup, route: string) => s.server.requests.filter((r) => `${r.method} ${r.path}` === route).length

/** Attached payload IOVs [start, end) of every type in newcdbtag, as an earlier upload would have left them. */
function seed(s: UploadSetup, iovs: readonly [number, number][]) {
  patchState(s, (state) => {
    for (const [start, end] of iovs) {
      for (const type of PAYLOAD_TYPES) {
        const id = state.nextPiov ?? 1000
        state.nextPiov = id + 1
        const url = `${type}/00/00/seed_${type}_${start}.root`
        ;(state.piovs ??= []).push({ id, url, checksum: 'ee'.repeat(16), size: null, minor_iov: start, minor_iov_end: end, major_iov_end: 0, list: `${type}_newcdbtag`, type, globalTag: 'newcdbtag' })
      }
    }
  })
}

async function until(what: string, condition: () => boolean, ms = 60000) {
  for (const end = Date.now() + ms; !condition(); await new Promise((resolve) => setTimeout(resolve, 100))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
  }
}

t.test('a POST piov whose answer never comes is not sent again; the next run finds the payload IOV and attaches it', async (t) => {
  const s = await prepareUpload(t, 2)
  mkdirSync(s.store)
  s.server.setFaults({ route: 'POST piov', latencyMs: 8000 })
  const lost = await s.upload([...ACT, '--timeout', '3s'])
  t.equal(lost.code, 1)
  t.match(lost.stderr, /^caloprod upload: 68001 \S+ CEMC_BadTowerMap: nopayloaddb http:\S+, POST piov: no answer within 3 s; .*; the next run asks the CDB what came of it before writing again$/m)
  t.equal(writes(s, 'POST piov'), 1, 'sent once')
  await until('the paused server to make the payload IOV', () => piovs(s).length > 0)
  t.match(readFileSync(join(s.output, 'uploads.csv'), 'utf8'), /,uploading,[0-9a-f]{32},,/, 'the row stays open')

  s.server.setFaults({})
  const next = await s.upload(ACT)
  t.equal(next.code, 0, next.stderr)
  t.match(readFileSync(join(s.output, 'uploads.csv'), 'utf8'), /,CEMC_BadTowerMap,newcdbtag,created,[0-9a-f]{32},1,.*settled: an interrupted upload; the CDB made piov 1 for it, in no payload list/)
  t.equal(writes(s, 'POST piov'), 14, 'the other 13 made, not that one again')
  t.equal(piovs(s).length, 14, 'one payload IOV per payload')
  t.same(Object.values(attachedCounts(s)), Array(14).fill(1))
})

t.test('attaches refused with an HTML 500: each sent once, one line; the next run attaches the same payload IOVs', async (t) => {
  const s = await prepareUpload(t, 2)
  mkdirSync(s.store)
  s.server.setFaults({ route: 'PUT piov_attach', fail500: 1000 })
  const refused = await s.upload(ACT)
  t.equal(refused.code, 1)
  const last = refused.stderr.trim().split('\n').at(-1)!
  t.match(last, /^caloprod upload: upload: 0 payloads inserted into newcdbtag from 2 finished runs, 14 failed, .*; first failure: 68001 \S+ CEMC_BadTowerMap: nopayloaddb http:\/\/127\.0\.0\.1:\d+\/api\/cdb_rest\/, PUT piov_attach: answered 500 Internal Server Error: an HTML page "Server Error \(500\)"; check the server log of nopayloaddb$/)
  t.notMatch(refused.stderr, /<html|<title|doctype/i, 'no HTML dumped')
  t.equal(writes(s, 'PUT piov_attach'), 14, 'a refused write is not tried again')
  t.equal(writes(s, 'POST piov'), 14)
  t.equal(readFileSync(join(s.output, 'uploads.csv'), 'utf8').match(/,created,[0-9a-f]{32},\d+,.*the attach was refused/g)?.length, 14, 'each id recorded')

  s.server.setFaults({})
  const next = await s.upload(ACT)
  t.equal(next.code, 0, next.stderr)
  t.equal(writes(s, 'POST piov'), 14, 'no payload IOV made again')
  t.equal(piovs(s).length, 14)
  t.same(piovs(s).filter((p) => !p.list), [], 'none left detached')
  t.same(Object.values(attachedCounts(s)), Array(14).fill(1))
})

t.test('layouts nopayloaddb fails on are refused before anything is sent; below a later IOV runs go in downwards', async (t) => {
  const s = await prepareUpload(t, 2)
  mkdirSync(s.store)
  // An upload of run 68010 before: nothing before 68001 and 68002, something after them.
  seed(s, [[68010, 68011]])
  const refused = await s.upload(ACT)
  t.equal(refused.code, 1)
  t.match(refused.stderr, new RegExp(`68002 ${TAG} CEMC_BadTowerMap not: no IOV of CEMC_BadTowerMap before run 68002 in the tag, but one after it \\(the last starts at run 68010\\): nopayloaddb's continuous insert fails there \\(an HTML 500\\)`))
  t.match(refused.stderr, /14 failed, 0 skipped, 14 not insertable/)
  t.equal(writes(s, 'POST piov') + writes(s, 'PUT piov_attach'), 0, 'nothing sent')

  // With an IOV before them (run 68000), both go in: 68002 first, moving 68010's IOV back to 68003, then 68001.
  seed(s, [[68000, 68001]])
  const plan = await s.upload([])
  t.match(plan.stdout, new RegExp(`^68002 ${TAG} CEMC_meanTime insert: .*IOV \\[68002, 68003\\); it moves the start of the next IOV of CEMC_meanTime \\(the last starts at run 68010\\) back to run 68003: the runs between get its payload$`, 'm'))
  t.match(plan.stdout, new RegExp(`^68001 ${TAG} CEMC_meanTime insert: .*IOV \\[68001, 68002\\)$`, 'm'))
  const act = await s.upload(ACT)
  t.equal(act.code, 0, act.stderr)
  t.same(s.server.errors, [], 'no insert the real server would crash on')
  t.equal(writes(s, 'PUT piov_attach'), 14)
  const meanTime = piovs(s).filter((p) => p.type === 'CEMC_meanTime' && p.list).map((p) => `${p.minor_iov}-${p.minor_iov_end} ${p.url.includes('seed') ? 'seed' : 'ours'}`)
  t.same(meanTime.sort(), ['68000-68001 seed', '68001-68002 ours', '68002-68003 ours', '68003-68011 seed'], 'what nopayloaddb made of the tag')
})

t.test('the HTTP client sends a write once (a 500, a 503, no answer) and reads again; a refused connection is tried again', async (t) => {
  const server = await startFakeNopayloaddb({ state: join(t.testdir(), 'cdb.json') })
  const client = new HttpClient({ server: server.apiUrl, timeoutMs: 2000, attempts: 3, retryBaseMs: 1, retryMaxMs: 5 })
  const sent = () => server.requests.length
  for (const faults of [{ fail500: 5 }, { status: 503 }, { latencyMs: 4000 }]) {
    server.setFaults({ route: 'POST piov', ...faults })
    const before = sent()
    await t.rejects(client.request('POST', `${server.apiUrl}piov`, { what: 'POST piov', json: {} }))
    t.equal(sent() - before, 1, `POST with ${JSON.stringify(faults)}: sent once`)
    server.setFaults({ route: 'GET globalTags', ...faults })
    await t.rejects(client.get(`${server.apiUrl}globalTags`, 'globalTags'))
    t.equal(sent() - before, 4, `GET with ${JSON.stringify(faults)}: tried 3 times`)
  }
  await server.close()
  // A port nobody listens on (and no connection kept alive to it).
  const spare = createServer()
  await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(spare.address() as AddressInfo).port}/api/cdb_rest/`
  await new Promise((resolve) => spare.close(resolve))
  const tries: string[] = []
  const refused = new HttpClient({ server: url, attempts: 3, retryBaseMs: 1, retryMaxMs: 5, onRetry: (m) => tries.push(m) })
  await t.rejects(refused.request('POST', `${url}piov`, { what: 'POST piov', json: {} }), /connection refused .*\(tried 3 times\)/)
  t.equal(tries.length, 2, 'never sent: tried again')
})
