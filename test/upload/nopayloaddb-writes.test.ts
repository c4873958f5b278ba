// The fake nopayloaddb's writes (test/fakes/cdb-write-lib.mjs) against what the real one answered. The layouts and
// their outcomes were recorded from nopayloaddb 0c9f2f8 (2026-07-23) running on Debian's Django 3.2.25 and
// PostgreSQL 15, CDB_IOV_MODE unset (continuous). CALOPROD_REAL_NOPAYLOADDB=http://host:port/api/cdb_rest/ runs the
// same layouts against a real server too (one without authentication), so a new release can be compared.
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { saveState, loadState } from '../fakes/cdb-lib.mjs'
import { startFakeNopayloaddb } from '../fakes/nopayloaddb.mjs'
import { CLOCK_SKEW_MS } from '../../lib/clock-skew.js'

type Iov = readonly [number, number | null]
interface Layout {
  /** Inserted (POST piov, PUT piov_attach) while the tag is unlocked, then the tag gets `status`. */
  before?: Iov[]
  status?: 'unlocked' | 'locked' | 'frozen'
  steps: Iov[]
  /** The attach answer of each step: 200, "html 500" (the view crashed), or the 500's detail. */
  answers: (200 | 'html 500' | RegExp)[]
  /** The list afterwards, by start: "[start,end) url", url `u<start>_<end>_<step>` (`b<i>` for `before`). */
  list: string[]
}

const LAYOUTS: Record<string, Layout> = {
  'ascending, one run after another': { steps: [[100, 101], [102, 103], [101, 102]], answers: [200, 200, 200], list: ['[100,101) u100_101_0', '[101,102) u101_102_2', '[102,103) u102_103_1'] },
  'nothing before the run, something after': { steps: [[200, 201], [100, 101]], answers: [200, 'html 500'], list: ['[200,201) u200_201_0'] },
  'the next IOV moves back to the new one\'s end': {
    steps: [[100, 101], [200, 201], [300, 301], [250, 251]],
    answers: [200, 200, 200, 200],
    list: ['[100,101) u100_101_0', '[200,201) u200_201_1', '[250,251) u250_251_3', '[251,301) u300_301_2'],
  },
  'a run inside an earlier closed IOV': { steps: [[100, 110], [105, 106]], answers: [200, 'html 500'], list: ['[100,110) u100_110_0'] },
  'an earlier closed IOV ending where the new one ends': { steps: [[100, 110], [105, 110]], answers: [200, 200], list: ['[100,105) u100_110_0', '[105,110) u105_110_1'] },
  'a run inside an open IOV: split around it': {
    steps: [[100, null], [105, 106]],
    answers: [200, 200],
    list: ['[100,105) u100_null_0', '[105,106) u105_106_1', '[106,inf) u100_null_0'],
  },
  // Recorded by the review of uploads over an open IOV (at 68000, then 68001, 68002, 68003 each open): each ends the one before.
  'open-ended inserts upwards over an open IOV': {
    steps: [[100, null], [101, null], [102, null], [103, null]],
    answers: [200, 200, 200, 200],
    list: ['[100,101) u100_null_0', '[101,102) u101_null_1', '[102,103) u102_null_2', '[103,inf) u103_null_3'],
  },
  'the first run replaced while a later one is there': {
    steps: [[100, 101], [101, 102], [100, 101]],
    answers: [200, 200, 'html 500'],
    list: ['[100,101) u100_101_0', '[101,102) u101_102_1'],
  },
  'a run replaced: its old IOV detached': { steps: [[100, 101], [100, 101]], answers: [200, 200], list: ['[100,101) u100_101_1'] },
  'a run replaced between two': {
    steps: [[100, 101], [101, 102], [102, 103], [101, 102]],
    answers: [200, 200, 200, 200],
    list: ['[100,101) u100_101_0', '[101,102) u101_102_3', '[102,103) u102_103_2'],
  },
  'the same start, longer': { steps: [[100, 110], [100, 101]], answers: [200, 'html 500'], list: ['[100,110) u100_110_0'] },
  'one IOV over two': { steps: [[100, 101], [105, 106], [95, 110]], answers: [200, 200, 200], list: ['[95,110) u95_110_2'] },
  'locked: after an earlier IOV': { before: [[100, 101]], status: 'locked', steps: [[101, 102]], answers: ['html 500'], list: ['[100,101) u100_101_b0'] },
  'locked: the same start': {
    before: [[100, 101]],
    status: 'locked',
    steps: [[100, 101]],
    answers: [/^GT is LOCKED\. You are attempting to insert IOV \(major_iov,minor_iov,major_iov_end, minor_iov_end\) \(0,100,0,101\)\. Conflicts with existing IOV u100_101_b0 \(0,100,0,101\)$/],
    list: ['[100,101) u100_101_b0'],
  },
  'locked: before a later IOV': { before: [[200, 201]], status: 'locked', steps: [[100, 101]], answers: ['html 500'], list: ['[200,201) u200_201_b0'] },
  'locked: an empty list': { status: 'locked', steps: [[100, 101]], answers: [200], list: ['[100,101) u100_101_0'] },
  'frozen': { status: 'frozen', steps: [[100, 101]], answers: [/^Global Tag is frozen\.$/], list: [] },
}

interface Target {
  api: string
  /** A new global tag with one (empty) payload list, unlocked; returns the tag's and the list's names and how to set the status. */
  newList(): Promise<{ tag: string; list: string; setStatus(status: string): Promise<void> }>
}

async function call(api: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${api}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, type: res.headers.get('content-type') ?? '', text, json: () => JSON.parse(text) }
}

async function fakeTarget(t: Test): Promise<Target & { state: string; errors: string[] }> {
  const state = join(t.testdir(), 'cdb.json')
  saveState(state, { default: 'missing', runs: {}, globalTags: {} })
  const server = await startFakeNopayloaddb({ state })
  t.teardown(() => server.close())
  let n = 0
  const setTag = (name: string, status: string) => {
    const s = loadState(state)
    s.globalTags![name] = { status: status as 'unlocked', lists: ['CEMC_meanTime'] }
    saveState(state, s)
  }
  return {
    api: server.apiUrl,
    state,
    errors: server.errors,
    async newList() {
      const tag = `t${n++}`
      setTag(tag, 'unlocked')
      return { tag, list: `CEMC_meanTime_${tag}`, setStatus: async (status) => setTag(tag, status) }
    },
  }
}

function realTarget(api: string): Target {
  let n = Date.now() % 1000000
  return {
    api,
    async newList() {
      for (const name of ['unlocked', 'locked', 'frozen']) await call(api, 'POST', 'gtstatus', { name })
      await call(api, 'POST', 'pt', { name: 'CEMC_meanTime' })
      const tag = `caloprod_cmp_${n++}`
      await call(api, 'POST', 'gt', { name: tag, status: 'unlocked', author: 'caloprod' })
      const list = (await call(api, 'POST', 'pl', { payload_type: 'CEMC_meanTime' })).json().name as string
      await call(api, 'PUT', 'pl_attach', { payload_list: list, global_tag: tag })
      return { tag, list, setStatus: async (status) => void (await call(api, 'PUT', `gt_change_status/${tag}/${status}`)) }
    },
  }
}

async function insert(api: string, list: string, [start, end]: Iov, label: string) {
  const body: Record<string, unknown> = { payload_url: `u${start}_${end}_${label}`, checksum: 'c', size: 123, major_iov: 0, minor_iov: start }
  if (end !== null) Object.assign(body, { major_iov_end: 0, minor_iov_end: end })
  const created = await call(api, 'POST', 'piov', body)
  return call(api, 'PUT', 'piov_attach', { payload_list: list, piov_id: created.json().id })
}

async function listOf(api: string, list: string): Promise<string[]> {
  const rows = (await call(api, 'GET', `piov?page=1&page_size=1000&payload_list=${list}`)).json().results as Record<string, number>[]
  return rows
    .sort((a, b) => a.minor_iov! - b.minor_iov!)
    .map((r) => `[${r.minor_iov},${r.minor_iov_end! >= 2 ** 63 - 1 ? 'inf' : r.minor_iov_end}) ${r.payload_url}`)
}

async function checkLayouts(t: Test, target: Target) {
  for (const [name, layout] of Object.entries(LAYOUTS)) {
    const { list, setStatus } = await target.newList()
    for (const [i, iov] of (layout.before ?? []).entries()) t.equal((await insert(target.api, list, iov, `b${i}`)).status, 200)
    if (layout.status) await setStatus(layout.status)
    const answers: (number | string)[] = []
    for (const [i, iov] of layout.steps.entries()) {
      const a = await insert(target.api, list, iov, String(i))
      answers.push(a.status === 200 ? 200 : a.type.includes('html') ? `html ${a.status}` : `${a.status} ${a.json().detail}`)
    }
    t.equal(answers.length, layout.answers.length)
    for (const [i, want] of layout.answers.entries()) {
      if (want instanceof RegExp) t.match(answers[i], new RegExp(`^500 ${want.source.slice(1)}`), `${name}: step ${i}`)
      else t.equal(answers[i], want, `${name}: step ${i}`)
    }
    t.same(await listOf(target.api, list), layout.list, name)
  }
}

/** payloadiovs of any global tag answers what was attached to its lists (the fake's seeded state is newcdbtag's only). */
async function checkReadBack(t: Test, target: Target) {
  const { tag, list } = await target.newList()
  t.equal((await insert(target.api, list, [100, 101], 'rb')).status, 200)
  const read = async (run: number) => (await call(target.api, 'GET', `payloadiovs/?gtName=${tag}&majorIOV=0&minorIOV=${run}`)).json() as unknown[][]
  t.match(await read(100), [['CEMC_meanTime', 'u100_101_rb', 'c', null, 0, 100, 0, 101]], `payloadiovs of ${tag} at run 100`)
  t.same(await read(99), [], 'nothing starts at or before run 99')
}

/**
 * A payload IOV's `inserted` is when the server made it, naive UTC (TIME_ZONE 'UTC', USE_TZ False): what settling an
 * interrupted upload compares with its ledger row, within CLOCK_SKEW_MS (lib/upload/settle.ts).
 */
async function checkInserted(t: Test, target: Target) {
  const body = { payload_url: `ins_${Date.now()}`, checksum: 'c', major_iov: 0, minor_iov: 1, major_iov_end: 0, minor_iov_end: 2 }
  const created = (await call(target.api, 'POST', 'piov', body)).json() as { inserted: string }
  t.match(created.inserted, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?$/, 'naive')
  t.ok(Math.abs(Date.parse(`${created.inserted}Z`) - Date.now()) < CLOCK_SKEW_MS, `UTC, now: ${created.inserted}`)
  const found = (await call(target.api, 'GET', `piov?page=1&search=${body.payload_url}`)).json() as { results: { inserted: string }[] }
  t.equal(found.results[0]?.inserted, created.inserted, 'the search carries it')
}

/** PayloadIOV's payload_url and checksum are CharField(max_length=255) (cdb_rest/models.py): 256 characters are refused. */
async function checkMaxLength(t: Test, target: Target) {
  const piov = (url: string, checksum = 'c') => call(target.api, 'POST', 'piov', { payload_url: url, checksum, major_iov: 0, minor_iov: 1, major_iov_end: 0, minor_iov_end: 2 })
  const long = `ml_${Date.now()}_`.padEnd(256, 'x')
  const refused = await piov(long)
  t.equal(refused.status, 400)
  t.equal(refused.text, '{"payload_url":["Ensure this field has no more than 255 characters."]}')
  t.same((await piov('u', 'c'.repeat(256))).json(), { checksum: ['Ensure this field has no more than 255 characters.'] })
  t.equal((await piov(long.slice(0, 255))).status, 200, '255 characters are taken')
}

t.test('the fake: each layout answered and rewritten as nopayloaddb 0c9f2f8 does', async (t) => {
  const fake = await fakeTarget(t)
  await checkLayouts(t, fake)
  await checkReadBack(t, fake)
  await checkInserted(t, fake)
  await checkMaxLength(t, fake)
})

const real = process.env.CALOPROD_REAL_NOPAYLOADDB
t.test('a real nopayloaddb: the same layouts (CALOPROD_REAL_NOPAYLOADDB)', { skip: real ? false : 'CALOPROD_REAL_NOPAYLOADDB is not set' }, async (t) => {
  await checkLayouts(t, realTarget(real!))
  await checkReadBack(t, realTarget(real!))
  await checkInserted(t, realTarget(real!))
  await checkMaxLength(t, realTarget(real!))
})

t.test('the fake: size dropped, 403 never 401, an HTML 500 for what crashes, the created row unattached', async (t) => {
  const fake = await fakeTarget(t)
  const { list } = await fake.newList()
  const created = await call(fake.api, 'POST', 'piov', { payload_url: 'CEMC_meanTime/ab/cd/abcd_x.root', checksum: 'abcd', size: 4567, major_iov: 0, minor_iov: 500, major_iov_end: 0, minor_iov_end: 501 })
  t.equal(created.status, 200)
  t.match(created.json(), { payload_list: null, minor_iov: 500, minor_iov_end: 501, comb_iov: '0.0000000000000000500' })
  t.notOk('size' in created.json(), 'size is not a field of the serializer')
  t.equal((await call(fake.api, 'PUT', 'piov_attach', { payload_list: list, piov_id: created.json().id })).status, 200)
  t.equal(loadState(fake.state).piovs![0]!.size, null, 'size stored as null')

  const search = (await call(fake.api, 'GET', 'piov?page=1&search=abcd_x')).json()
  t.match(search, { count: 1, page: 1, results: [{ payload_url: 'CEMC_meanTime/ab/cd/abcd_x.root', payload_list: list, payload_type: 'CEMC_meanTime' }] })

  const html = await call(fake.api, 'POST', 'piov', { payload_url: 'u', checksum: 'c', minor_iov: 5 })
  t.match(html, { status: 500, type: /text\/html/, text: /<title>Server Error \(500\)<\/title>/ }, 'no major_iov: KeyError')
  t.match((await call(fake.api, 'POST', 'piov', { payload_url: 'u', major_iov: 0, minor_iov: 5 })).json(), { checksum: ['This field is required.'] })
  t.match((await call(fake.api, 'PUT', 'piov_attach', { payload_list: 'nosuch_1', piov_id: 1 })), { status: 500, type: /text\/html/ })
  t.match((await call(fake.api, 'PUT', 'piov_attach', { piov_id: 1 })).json(), { detail: 'PayloadList not found.' })

  const authed = loadState(fake.state)
  authed.writeToken = 'tok'
  saveState(fake.state, authed)
  const body = { payload_url: 'u', checksum: 'c', major_iov: 0, minor_iov: 7, major_iov_end: 0, minor_iov_end: 8 }
  const none = await call(fake.api, 'POST', 'piov', body)
  t.match(none, { status: 403, text: '{"detail":"Authentication credentials were not provided"}' })
  t.match(await call(fake.api, 'POST', 'piov', body, { authorization: 'Bearer wrong' }), { status: 403, text: /invalid access_token/ })
  t.match(await call(fake.api, 'POST', 'piov', body, { authorization: 'Token tok' }), { status: 403, text: /Wrong access_token format/ })
  t.match(await call(fake.api, 'POST', 'piov', body, { authorization: 'Bearer tok extra' }), { status: 500, type: /text\/html/ })
  t.equal((await call(fake.api, 'GET', 'globalTags')).status, 200, 'reads need no token')
  t.equal((await call(fake.api, 'POST', 'piov', body, { authorization: 'Bearer tok' })).status, 200)
})

t.test('the fake: globalTags carries each tag\'s status, with the real fields', async (t) => {
  const fake = await fakeTarget(t)
  const s = loadState(fake.state)
  s.globalTags = { newcdbtag: { status: 'locked', lists: ['CEMC_meanTime'] }, other: { status: 'unlocked', lists: [] } }
  saveState(fake.state, s)
  const tags = (await call(fake.api, 'GET', 'globalTags')).json()
  t.same(Object.keys(tags[0]), ['id', 'name', 'author', 'status', 'payload_lists_count', 'payload_iov_count', 'created', 'updated'])
  t.match(tags, [{ name: 'newcdbtag', status: 'locked', payload_lists_count: 1 }, { name: 'other', status: 'unlocked' }])
})

t.test('the fake: seeded payloads are in the tag\'s list: a replaced run\'s old IOV detached, the next one moved back', async (t) => {
  const fake = await fakeTarget(t)
  const s = loadState(fake.state)
  delete s.globalTags
  s.runs = { '50': { CEMC_meanTime: 'outdated' }, '100': { CEMC_meanTime: 'outdated' }, '300': { CEMC_meanTime: 'outdated' } }
  saveState(fake.state, s)
  const list = 'CEMC_meanTime_newcdbtag'
  t.equal((await insert(fake.api, list, [100, 101], 'new')).status, 200)
  t.match(await listOf(fake.api, list), [/^\[50,51\) \/cvmfs\//, '[100,101) u100_101_new', /^\[101,301\) \/cvmfs\/.*_outdated_300\.root$/])
  t.match(loadState(fake.state).piovs!.find((p) => p.minor_iov === 100 && p.url.startsWith('/cvmfs')), { list: null }, 'the seeded IOV of 100 detached')
  const crash = await insert(fake.api, list, [200, 201], 'new')
  t.match(crash, { status: 500, type: /text\/html/ }, 'run 200 now lies inside [101, 301)')
  t.match(fake.errors, [/^PUT piov_attach: NameError: name 'minor_iov_end' is not defined$/], 'the exception Django would log')
})
