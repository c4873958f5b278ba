// `check --cdb rest` as cron runs it (tasks/check.ts), against the fake nopayloaddb and each of its faults: one line
// naming the server, the run and what to do, exit 1 (2 for usage), process list and cache untouched.
import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type { FakeCdbState } from '../fakes/cdb-lib.mjs'
import { payloadIovs, startFakeNopayloaddb, type FakeNopayloaddb, type FakeNopayloaddbFaults, type FakeRoute } from '../fakes/nopayloaddb.mjs'
import { fakeCdb, runListCsv, setCdbState } from '../helpers/fake-cdb.js'
import { runScript } from '../helpers/run-script.js'

const RUN_LIST: [number, string][] = [[66500, 'v8'], [66501, 'v8'], [66502, 'v8'], [66503, 'v9'], [66504, 'v9']]
const STATE: FakeCdbState = { default: 'missing', runs: { 66500: 'current', 66501: { '*': 'current', CEMC_meanTime: 'outdated' }, 66503: 'current:v9' } }
const PROCESS = 'runnumber,tag\n66501,v8\n66502,v8\n66504,v9\n'

const read = (path: string) => readFileSync(path, 'utf8')
const mtime = (path: string) => statSync(path).mtimeMs
const age = (path: string) => utimesSync(path, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'))

async function setup(t: Test, routes?: Record<string, FakeRoute>) {
  const root = t.testdir()
  const output = join(root, 'out')
  const cdb = fakeCdb(root, STATE)
  writeFileSync(join(root, 'run3auau.csv'), runListCsv(RUN_LIST))
  const server = await startFakeNopayloaddb({ state: cdb.state, runList: join(root, 'run3auau.csv'), routes })
  t.teardown(() => server.close())
  const conf = server.writeConfig(join(root, 'nopayloadclient.json'))
  const paths = { process: join(output, 'run3auau-process.csv'), settled: join(output, 'run3auau-settled.csv') }
  const check = (args: string[] = [], env: Record<string, string> = {}) =>
    runScript('check', [...(args.includes('--cdb') ? [] : ['--cdb', 'rest']), '--output', output, ...args], { NOPAYLOADCLIENT_CONF: conf, ...env })
  // A first night, clean; then every map is made, so a run that got through would change both files.
  const { mkdirSync } = await import('node:fs')
  mkdirSync(output)
  writeFileSync(join(output, 'run3auau.csv'), runListCsv(RUN_LIST))
  const first = await check()
  t.equal(first.code, 0, first.stderr)
  t.equal(read(paths.process), PROCESS)
  setCdbState(cdb, { default: 'current', runs: {} })
  age(paths.process)
  age(paths.settled)
  const before = { process: read(paths.process), settled: read(paths.settled), mtimes: [mtime(paths.process), mtime(paths.settled)] }
  const untouched = (t: Test, name: string) => {
    t.equal(read(paths.process), before.process, `${name}: process.csv as it was`)
    t.equal(read(paths.settled), before.settled, `${name}: cache as it was`)
    t.same([mtime(paths.process), mtime(paths.settled)], before.mtimes, `${name}: untouched`)
  }
  return { root, output, cdb, server, conf, paths, check, untouched }
}

/** The one line a failed check prints, checked for what every failure says. */
function failedLine(t: Test, name: string, result: { code: number | null; stdout: string; stderr: string }, code = 1): string {
  t.equal(result.code, code, `${name}: exit ${code}`)
  t.equal(result.stdout, '', `${name}: no summary`)
  const lines = result.stderr.trim().split('\n')
  t.equal(lines.length, 1, `${name}: one line: ${result.stderr}`)
  return lines[0]
}

t.test('each fault of the server: one line naming server, run and what to do; nothing written', async (t) => {
  const { server, check, untouched } = await setup(t)
  const prefix = `caloprod check: CDB check failed, nothing was written: nopayloaddb ${server.apiUrl}, `
  const cases: [string, FakeNopayloaddbFaults, string[], RegExp, (s: FakeNopayloaddb) => void][] = [
    ['server down (proxy 503)', { status: 503 }, [], /run 665\d\d: answered 503 Service Unavailable: an HTML page "Application is not available" \(tried 2 times\); check the server log/, () => {}],
    ['403', { status: 403, failRun: 66502 }, [], /run 66502: answered 403 Forbidden \(access refused: check the token.*"You do not have permission/, (s) =>
      t.equal(s.requests.filter((r) => r.run === '66502').length, 1, '403: not retried')],
    ['HTML page', { html: true, failRun: 66504 }, [], /run 66504: the answer is an HTML page "Single Sign-On: please log in", not JSON; check that --cdb-url or NOPAYLOADCLIENT_CONF/, () => {}],
    ['truncated body', { truncate: true, failRun: 66501 }, [], /run 66501: the answer was cut short .*\(tried 2 times\); a proxy or the server cut the answer short/, (s) =>
      t.equal(s.requests.filter((r) => r.run === '66501').length, 2, 'truncated: retried')],
    ['hang', { hang: true, failRun: 66504 }, ['--timeout', '2s'], /run 66504: no answer within --timeout 2s for the whole check; the server is slow or stuck/, () => {}],
  ]
  for (const [name, faults, args, message, more] of cases) {
    server.setFaults(faults)
    server.requests.length = 0
    const line = failedLine(t, name, await check(['--cdb-retries', '2', ...args]))
    t.ok(line.startsWith(prefix), `${name}: names the server: ${line}`)
    t.match(line, message, name)
    more(server)
    untouched(t, name)
  }
  server.setFaults({})
})

t.test('500s then success: retried, and the stage goes on as on a clean night', async (t) => {
  const { server, check, paths, root } = await setup(t)
  server.setFaults({ fail500: 3 })
  server.requests.length = 0
  const result = await check(['--verbose'])
  t.equal(result.code, 0, result.stderr)
  t.equal(server.requests.length, 6, 'the 3 runs not settled, each twice')
  t.match(result.stderr, /run 665\d\d: try 1 of 3: answered 500 Internal Server Error: an HTML page "Server Error \(500\)"; trying again in/)
  t.match(result.stdout, /^check: 5 runs, 2 settled, 3 asked in 6 requests; 0 to process; .* updated\n$/)
  t.equal(read(paths.process), 'runnumber,tag\n')
  // Everything settled now: the next night makes no request at all.
  server.requests.length = 0
  const quiet = await check()
  t.match(quiet.stdout, /5 settled, none asked; 0 to process/)
  t.equal(server.requests.length, 0, '0 requests')
  t.ok(root)
})

t.test('nobody there, a name that does not resolve, a malformed or missing configuration', async (t) => {
  const { check, untouched, root } = await setup(t)
  const closed = await startFakeNopayloaddb({})
  await closed.close()
  const refused = failedLine(t, 'refused', await check(['--cdb-retries', '2', '--cdb-url', closed.apiUrl]))
  t.match(refused, new RegExp(`^caloprod check: CDB check failed, nothing was written: nopayloaddb ${closed.apiUrl}, run 665\\d\\d: connection refused .*\\(tried 2 times\\); check that nopayloaddb is up`))
  untouched(t, 'refused')

  const dns = failedLine(t, 'dns', await check(['--cdb-url', 'nopayloaddb.caloprod.invalid/api/cdb_rest/']))
  t.match(dns, /nopayloaddb http:\/\/nopayloaddb\.caloprod\.invalid\/api\/cdb_rest\/, run 665\d\d: the host name does not resolve \(DNS\); check the host name/)
  untouched(t, 'dns')

  const bad = join(root, 'bad.json')
  writeFileSync(bad, '{"base_url": 8000, "api_res": "/api/cdb_rest/"}\n')
  const malformed = failedLine(t, 'malformed conf', await check([], { NOPAYLOADCLIENT_CONF: bad }))
  t.equal(malformed, `caloprod check: NOPAYLOADCLIENT_CONF=${bad}: key "base_url" must be a non-empty string (e.g. "base_url": "localhost:8000"), not 8000; fix the file or point NOPAYLOADCLIENT_CONF at another (nopayloadclient's config/default.json shows the keys)`)
  untouched(t, 'malformed conf')

  const neither = failedLine(t, 'neither', await check([], { NOPAYLOADCLIENT_CONF: '' }), 2)
  t.match(neither, /--cdb rest needs nopayloaddb's address: set NOPAYLOADCLIENT_CONF .* or pass --cdb-url URL/)
  untouched(t, 'neither')

  const usage = failedLine(t, 'bad flag', await check(['--cdb', 'soap']), 2)
  t.match(usage, /--cdb: unknown CDB backend "soap": expected filter-datasets or rest/)
  const url = failedLine(t, 'bad url', await check(['--cdb-url', 'ftp://cdb/']), 2)
  t.match(url, /--cdb-url: "ftp:\/\/cdb\/" is not a nopayloaddb API URL/)
  untouched(t, 'bad flags')
})

t.test('an answer of the wrong shape names the run and what is wrong, never "everything outdated"', async (t) => {
  let body = ''
  const { check, untouched } = await setup(t, { 'GET payloadiovs/': (ctx) => (ctx.query.get('minorIOV') === '66502' && body ? { body } : payloadIovs(ctx)) })
  const shapes: [string, RegExp][] = [
    ['[["CEMC_BadTowerMap", "x", null, null, 0, 66502, 0]]', /run 66502: row 1 has 7 columns, expected 8 or 9/],
    ['{"detail": "GlobalTag newcdbtag does not exist"}', /run 66502: the answer is an object, not a list of payload rows/],
    ['[["CEMC_meanTime", "u", null, null, 0, 66502, 0, "66503"]]', /run 66502: row 1 \(CEMC_meanTime\): minor_iov_end is string "66503", not an integer/],
    ['[["CEMC_meanTime", "u", null, null, 0, 66600, 0, 66601]]', /run 66502: the row of CEMC_meanTime starts at IOV \(0, 66600\), after the run asked for/],
    ['[["CEMC_meanTime", "u", null, null, 0, 1, 0, 2], ["CEMC_meanTime", "v", null, null, 0, 3, 0, 4]]', /run 66502: two rows for payload type CEMC_meanTime/],
    ['[["CEMC_meanTime", "u", null, 12, 0, 66502, 0, 9223372036854775807', /run 66502: the answer is not whole JSON \(the text ends where "," or "\]" should follow/],
  ]
  for (const [text, message] of shapes) {
    body = text
    const line = failedLine(t, text, await check(['--recheck']))
    t.match(line, /^caloprod check: CDB check failed, nothing was written: nopayloaddb http:\/\/127\.0\.0\.1:\d+\/api\/cdb_rest\/, /)
    t.match(line, message, text)
    untouched(t, text)
  }
})

t.test('a global tag with nothing in it: the runs are missing, and one warning names the tag', async (t) => {
  const { check, paths } = await setup(t)
  const result = await check(['--recheck', '--global-tag', 'newcdbtga'])
  t.equal(result.code, 0, result.stderr)
  t.equal(result.stderr, 'check: warning: global tag "newcdbtga" has no payload of any type for any of the 5 runs asked, so they are all missing: is the tag misspelt? (--global-tag, default newcdbtag)\n')
  t.equal(read(paths.process), runListCsv(RUN_LIST))
  t.match(result.stdout, /5 to process \(CEMC_BadTowerMap 5 missing;/)
})
