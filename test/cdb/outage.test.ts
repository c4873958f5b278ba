// A CDB that cannot answer, seen through filter-datasets: it counts every lookup outdated (or missing) and exits 0
// (test/fakes/cdb-filter-datasets.mjs, FAKE_CDB_OUTAGE, after nopayloadclient's and CDBInterface's sources). The check
// asks the server of NOPAYLOADCLIENT_CONF itself before and after, and about runs filter-datasets calls not current;
// a night it cannot trust exits 1 with one line naming the CDB and writes nothing. Nights that only look alike (new
// runs with no maps, a map that really changed) go through.
import { mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import t, { type Test } from 'tap'
import type { FakeCdbState } from '../fakes/cdb-lib.mjs'
import { payloadIovRows, payloadIovs, startFakeNopayloaddb, type FakeRoute } from '../fakes/nopayloaddb.mjs'
import { calls, FAKE_FILTER_DATASETS, fakeCdb, fakeCdbEnv, lookups, runListCsv, setCdbState } from '../helpers/fake-cdb.js'
import { runStageHere } from '../helpers/run-script.js'
import { SEVEN_PAYLOAD_TYPES } from '../../lib/rules/calibrations.js'
const SEVEN = SEVEN_PAYLOAD_TYPES.join(' ')

const RUN_LIST: [number, string][] = [[66500, 'v8'], [66501, 'v8'], [66502, 'v8'], [66503, 'v9'], [66504, 'v9']]
const ALL_CURRENT: FakeCdbState = { default: 'current', runs: {} }
const read = (path: string) => readFileSync(path, 'utf8')
const mtime = (path: string) => statSync(path).mtimeMs
const age = (path: string) => utimesSync(path, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'))

/** A first night on which every map is current: all five runs settled, nothing to process. */
async function settledNight(t: Test, routes?: Record<string, FakeRoute>) {
  const root = t.testdir()
  const output = join(root, 'out')
  mkdirSync(output)
  const runList = join(output, 'run3auau.csv')
  writeFileSync(runList, runListCsv(RUN_LIST))
  const cdb = fakeCdb(root, ALL_CURRENT)
  const server = await startFakeNopayloaddb({ state: cdb.state, runList, routes })
  t.teardown(() => server.close())
  // The payload store nopayloadclient reads (read_dir_list), holding the file of every row the server answers.
  const store = join(root, 'store/')
  const tags = new Map(RUN_LIST)
  const files = RUN_LIST.flatMap(([run]) => payloadIovRows(ALL_CURRENT, run, { tagOf: (r) => tags.get(r) }).map((row) => `${store}${String(row[1])}`))
  for (const file of files) {
    mkdirSync(dirname(file), { recursive: true })
    writeFileSync(file, '')
  }
  const conf = server.writeConfig(join(root, 'nopayloadclient.json'), { read_dir_list: ['/cvmfs/not-mounted/', store] })
  const paths = {
    process: join(output, 'run3auau-process.csv'),
    settled: join(output, 'run3auau-settled.csv'),
    summary: join(output, 'run3auau-check.json'),
    runList,
  }
  const check = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runStageHere('check', ['--output', output, '--bin-filter-datasets', FAKE_FILTER_DATASETS, ...args], {
      ...fakeCdbEnv(cdb), OFFLINE_MAIN: '', NOPAYLOADCLIENT_CONF: conf, ...env,
    })
  const first = await check([])
  t.equal(first.code, 0, first.stderr)
  t.equal(read(paths.process), 'runnumber,tag,missing,outdated\n')
  t.equal(read(paths.settled).split('\n').length, 7, 'five runs settled')
  for (const path of [paths.process, paths.settled, paths.summary]) age(path)
  const before = { process: read(paths.process), settled: read(paths.settled), summary: read(paths.summary) }
  const mtimes = () => [paths.process, paths.settled, paths.summary].map(mtime)
  const was = mtimes()
  const untouched = (t: Test, name: string) => {
    t.same({ process: read(paths.process), settled: read(paths.settled), summary: read(paths.summary) }, before, `${name}: files as they were`)
    t.same(mtimes(), was, `${name}: untouched`)
  }
  return { root, output, cdb, server, conf, store, paths, check, untouched }
}

/** The one line of a refused check. */
function refusedLine(t: Test, name: string, result: { code: number | null; stdout: string; stderr: string }): string {
  t.equal(result.code, 1, `${name}: exit 1`)
  t.equal(result.stdout, '', `${name}: no summary`)
  const lines = result.stderr.trim().split('\n')
  t.equal(lines.length, 1, `${name}: one line: ${result.stderr}`)
  return lines[0]
}

for (const release of ['cdbinterface', 'cdbutils']) {
  t.test(`${release}: the CDB down during --recheck: refused before filter-datasets runs, nothing written`, async (t) => {
    const { server, check, untouched, cdb } = await settledNight(t)
    await server.close()
    const asked = calls(cdb).length
    const line = refusedLine(t, 'down', await check(['--recheck', '--cdb-tries', '2'], { FAKE_CDB_OUTAGE: 'gateway', FAKE_CDB_RELEASE: release }))
    t.match(line, /^caloprod check: CDB check refused, nothing was written: /)
    t.match(line, `nopayloaddb ${server.apiUrl}, the list of global tags: connection refused`)
    t.match(line, /filter-datasets would count every payload of every run outdated/)
    t.equal(calls(cdb).length, asked, 'filter-datasets not started')
    untouched(t, 'down')
  })

  t.test(`${release}: an outage while filter-datasets ran: the runs the cache knows as current are asked directly; refused`, async (t) => {
    const { server, check, untouched } = await settledNight(t)
    server.requests.length = 0
    const line = refusedLine(t, 'outage', await check(['--recheck'], { FAKE_CDB_OUTAGE: 'gateway', FAKE_CDB_RELEASE: release }))
    t.match(line, /^caloprod check: CDB check refused, nothing was written: filter-datasets called runs 66500, 66501, 66502, 66503, 66504 missing or outdated/)
    t.match(line, `but nopayloaddb ${server.apiUrl} answers that their maps are current`)
    t.match(line, /filter-datasets did not get the CDB's answers: the payload files of the runs are all under read_dir_list of NOPAYLOADCLIENT_CONF=.*nopayloadclient\.json \(\/cvmfs\/not-mounted\/ .*\/store\/\), so an outage while it ran, most likely; re-run the check stage when the CDB is healthy$/)
    t.same(server.requests.map((r) => r.path), ['globalTags', 'globalTags', ...Array(5).fill('payloadiovs/')], 'before, after, then each run the cache knew')
    untouched(t, 'outage')
  })

  t.test(`${release}: a payload file nopayloadclient cannot find under read_dir_list: refused, naming the folders and the file`, async (t) => {
    const { server, check, untouched, store, conf } = await settledNight(t)
    // One file of run 66502 not (yet) in the store: nopayloadclient fails every lookup of that run (plhandler.cpp).
    const tags = new Map(RUN_LIST)
    const gone = String(payloadIovRows(ALL_CURRENT, 66502, { tagOf: (r) => tags.get(r) })[3][1])
    rmSync(join(store, gone))
    const line = refusedLine(t, 'no file', await check(['--recheck'], { FAKE_CDB_PAYLOAD_FILES: '1', FAKE_CDB_RELEASE: release }))
    t.match(line, `filter-datasets called run 66502 missing or outdated, but nopayloaddb ${server.apiUrl} answers that its maps are current: `)
    t.match(line, `filter-datasets did not get the CDB's answers: nopayloadclient cannot find their payload files: none of the folders of ` +
      `read_dir_list of NOPAYLOADCLIENT_CONF=${conf} (/cvmfs/not-mounted/ ${store}) holds ${gone} (run 66502)`)
    t.match(line, /check that the payload store is mounted there \(cvmfs\) and published, then re-run the check stage$/)
    t.notMatch(line, /an outage while it ran/, 'not called an outage')
    untouched(t, 'no file')
  })
}

t.test('an outage while filter-datasets ran, and payloadiovs answering [] for every run (a proxy dropping the query string): refused, not every run sent', async (t) => {
  let dropped = false
  const route: FakeRoute = (ctx) => payloadIovs(dropped ? { ...ctx, query: new URLSearchParams() } : ctx)
  const { server, check, untouched } = await settledNight(t, { 'GET payloadiovs/': route })
  dropped = true
  const line = refusedLine(t, 'dropped', await check(['--recheck'], { FAKE_CDB_OUTAGE: 'gateway', FAKE_CDB_RELEASE: 'cdbinterface' }))
  t.match(line, `caloprod check: CDB check refused, nothing was written: nopayloaddb ${server.apiUrl} answers no payload of global tag "newcdbtag" for any of the 5 runs asked, nor for its newest IOVs`)
  t.match(line, /a proxy dropping the query string, or a read replica without the tag\? check the server; the answer of filter-datasets cannot be checked$/)
  untouched(t, 'dropped')
})

t.test('every run settled: nothing to ask, so the CDB is not asked at all, down or not', async (t) => {
  const { server, check, untouched, cdb } = await settledNight(t)
  const asked = calls(cdb).length
  server.requests.length = 0
  const up = await check([])
  t.equal(up.code, 0, up.stderr)
  t.match(up.stdout, /5 settled, none asked; 0 to process/)
  t.same(server.requests, [], 'no request to nopayloaddb')
  // The CDB down: the later stages still run on a night that needs nothing of it.
  await server.close()
  const down = await check([])
  t.equal(down.code, 0, down.stderr)
  t.equal(down.stderr, '', 'nothing said')
  t.match(down.stdout, /5 settled, none asked; 0 to process/)
  t.equal(calls(cdb).length, asked, 'filter-datasets not started')
  untouched(t, 'settled')
})

t.test('without NOPAYLOADCLIENT_CONF: a whole answer of failed lookups, settled runs among them, is refused', async (t) => {
  const { check, untouched, output } = await settledNight(t)
  const line = refusedLine(t, 'no conf', await check(['--recheck'], { FAKE_CDB_OUTAGE: 'gateway', FAKE_CDB_RELEASE: 'cdbinterface', NOPAYLOADCLIENT_CONF: undefined }))
  t.match(line, /^caloprod check: CDB check refused, nothing was written: filter-datasets answered every payload of all 5 runs missing or outdated, /)
  t.match(line, /also of runs 66500, 66501, 66502, 66503, 66504, which were current when last asked/)
  t.match(line, /set NOPAYLOADCLIENT_CONF so that caloprod can ask the CDB itself/)
  t.match(line, join(output, 'run3auau-settled.csv'), 'says which cache to delete if the maps are really gone')
  untouched(t, 'no conf')
})

t.test('a server without the global tag filter-datasets asks (another database): refused before filter-datasets runs', async (t) => {
  const { check, untouched, cdb, server } = await settledNight(t)
  setCdbState(cdb, { ...ALL_CURRENT, globalTags: { sphenix_test: { status: 'unlocked', lists: [] } } })
  const asked = calls(cdb).length
  const line = refusedLine(t, 'no tag', await check(['--recheck']))
  t.match(line, `nopayloaddb ${server.apiUrl} has no global tag "newcdbtag" (it has sphenix_test)`)
  t.equal(calls(cdb).length, asked, 'filter-datasets not started')
  untouched(t, 'no tag')
})

t.test('nothing listens where filter-datasets looks: it crashes (nopayloadclient), and the check fails as for any crash', async (t) => {
  const { check, untouched } = await settledNight(t)
  const result = await check(['--recheck', '--cdb-tries', '1'], { FAKE_CDB_OUTAGE: 'refused', FAKE_CDB_FAIL_RUN: '66502' })
  const line = refusedLine(t, 'refused', result)
  t.match(line, /^caloprod check: CDB check failed for run 66502: filter-datasets crashed \(killed by SIGABRT\)/)
  untouched(t, 'refused')
})

t.test('nights that only look like an outage go through', async (t) => {
  const { check, cdb, paths, server } = await settledNight(t)
  // New runs with no map yet: since 2026-03 every lookup of theirs answers '' too. The settled runs are not asked.
  writeFileSync(paths.runList, runListCsv([...RUN_LIST, [66505, 'v9'], [66506, 'v9']]))
  setCdbState(cdb, { default: 'current', runs: { 66505: 'missing', 66506: 'missing' } })
  const fresh = await check([], { FAKE_CDB_RELEASE: 'cdbinterface' })
  t.equal(fresh.code, 0, fresh.stderr)
  t.equal(read(paths.process), `runnumber,tag,missing,outdated\n66505,v9,${SEVEN},\n66506,v9,${SEVEN},\n`)
  t.ok(lookups(cdb).includes('66505,CEMC_meanTime_default'), 'the second lookup of <type>_default')
  t.match(fresh.stdout, /CEMC_meanTime 2 outdated/, 'counted outdated, as the 2026-03 release does')

  // A map the cache knew as current really changed: the CDB, asked directly, agrees with filter-datasets.
  setCdbState(cdb, { default: 'current', runs: { 66501: { '*': 'current', CEMC_meanTime: 'outdated' }, 66505: 'missing', 66506: 'missing' } })
  server.requests.length = 0
  const changed = await check(['--recheck'])
  t.equal(changed.code, 0, changed.stderr)
  t.equal(read(paths.process), `runnumber,tag,missing,outdated\n66501,v8,,CEMC_meanTime\n66505,v9,${SEVEN},\n66506,v9,${SEVEN},\n`)
  t.same(server.requests.filter((r) => r.path === 'payloadiovs/').map((r) => r.run), ['66501', '66505', '66506'], 'the kept runs asked directly')
})

t.test('without NOPAYLOADCLIENT_CONF, new runs that lack every map go through', async (t) => {
  const { check, cdb, paths } = await settledNight(t)
  writeFileSync(paths.runList, runListCsv([...RUN_LIST, [66505, 'v9']]))
  setCdbState(cdb, { default: 'current', runs: { 66505: 'missing' } })
  const result = await check([], { FAKE_CDB_RELEASE: 'cdbinterface', NOPAYLOADCLIENT_CONF: undefined })
  t.equal(result.code, 0, result.stderr)
  t.equal(read(paths.process), 'runnumber,tag,missing,outdated\n66505,v9,,\n')
})

t.test('a NOPAYLOADCLIENT_CONF that names no file, or a file without a key nopayloadclient requires: filter-datasets exits 1, the check fails naming it', async (t) => {
  const { check, conf, root, untouched } = await settledNight(t)
  const empty = await check(['--recheck'], { NOPAYLOADCLIENT_CONF: '', FAKE_CDB_RELEASE: 'cdbinterface' })
  t.equal(empty.code, 1)
  t.match(empty.stderr, /filter-datasets exited with code 1; its last words: "config file does not exist:/)
  // The server's own configuration less one key: caloprod's own questions to nopayloaddb go through, filter-datasets stops.
  const partial = join(root, 'partial.json')
  const { cache_life_time: _, ...rest } = JSON.parse(readFileSync(conf, 'utf8')) as Record<string, unknown>
  writeFileSync(partial, JSON.stringify(rest))
  const missingKey = await check(['--recheck'], { NOPAYLOADCLIENT_CONF: partial, FAKE_CDB_RELEASE: 'cdbinterface' })
  t.equal(missingKey.code, 1)
  t.match(missingKey.stderr, /filter-datasets exited with code 1; its last words: "config does not contain key <cache_life_time>"/)
  untouched(t, 'bad conf')
})
