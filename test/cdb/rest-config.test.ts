// `check --cdb rest` when the server cannot be reached or its configuration is wrong, when its answers have the wrong
// shape, and when the global tag is empty: one line naming what to fix, exit 1 (2 for usage), nothing written.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { payloadIovs, startFakeNopayloaddb } from '../fakes/nopayloaddb.mjs'
import { runListCsv, setCdbState } from '../helpers/fake-cdb.js'
import { failedLine, read, RUN_LIST, setup } from '../helpers/rest-check.js'
import { SEVEN_PAYLOAD_TYPES } from '../../lib/rules/calibrations.js'

t.test('nobody there, a name that does not resolve, a malformed or missing configuration', async (t) => {
  const { check, untouched, root } = await setup(t)
  const closed = await startFakeNopayloaddb({})
  await closed.close()
  const refused = failedLine(t, 'refused', await check(['--cdb-tries', '2', '--cdb-url', closed.apiUrl]))
  t.match(refused, new RegExp(`^caloprod check: CDB check failed, nothing was written: nopayloaddb ${closed.apiUrl}, the list of global tags: connection refused .*\\(tried 2 times\\); check that nopayloaddb is up`))
  untouched(t, 'refused')

  const dns = failedLine(t, 'dns', await check(['--cdb-url', 'nopayloaddb.caloprod.invalid/api/cdb_rest/']))
  t.match(dns, /nopayloaddb http:\/\/nopayloaddb\.caloprod\.invalid\/api\/cdb_rest\/, the list of global tags: the host name does not resolve \(DNS\); check the host name/)
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
    ['[["CEMC_meanTime", "u", null, 12, 0, 66502, 0, 9223372036854775807', /run 66502: the answer is not whole JSON \(.*JSON.*; 66 characters\)/],
  ]
  for (const [text, message] of shapes) {
    body = text
    const line = failedLine(t, text, await check(['--recheck']))
    t.match(line, /^caloprod check: CDB check failed, nothing was written: nopayloaddb http:\/\/127\.0\.0\.1:\d+\/api\/cdb_rest\/, /)
    t.match(line, message, text)
    untouched(t, text)
  }
})

t.test('a global tag the server does not have: exit 2 naming the tags it has; one with nothing in it: a warning', async (t) => {
  const { check, paths, untouched, server, cdb } = await setup(t)
  server.requests.length = 0
  const typo = failedLine(t, 'typo', await check(['--recheck', '--global-tag', 'newcdbtga']), 2)
  t.equal(typo, `caloprod check: global tag "newcdbtga" (--global-tag): nopayloaddb ${server.apiUrl} has no such tag; it has newcdbtag; nothing was written`)
  t.same(server.requests.map((r) => r.path), ['globalTags'], 'asked once, and about no run')
  const listed = (await (await fetch(`${server.apiUrl}globalTags`)).json()) as Record<string, unknown>[]
  t.same(listed.map((tag) => Object.keys(tag)), [['id', 'name', 'author', 'status', 'payload_lists_count', 'payload_iov_count', 'created', 'updated']],
    'the fake answers as nopayloaddb\'s GlobalTagListSerializer does')
  const fromEnv = failedLine(t, 'typo from the environment', await check(['--recheck'], { CALOPROD_GLOBAL_TAG: 'newcdbtga' }), 2)
  t.match(fromEnv, /global tag "newcdbtga" \(--global-tag\): .* has no such tag; it has newcdbtag/)
  untouched(t, 'typo')

  setCdbState(cdb, { default: 'current', runs: {}, globalTags: { newcdbtag: { status: 'locked' }, sphenix_empty: { status: 'unlocked' } } })
  const empty = await check(['--recheck', '--global-tag', 'sphenix_empty'])
  t.equal(empty.code, 0, empty.stderr)
  t.equal(empty.stderr, 'check: warning: global tag "sphenix_empty" has no payload of any type for any of the 5 runs asked, so they are all missing\n')
  t.equal(read(paths.process), `runnumber,tag,missing,outdated\n${RUN_LIST.map(([run, tag]) => `${run},${tag},${SEVEN_PAYLOAD_TYPES.join(' ')},\n`).join('')}`)
  t.match(empty.stdout, /5 to process \(CEMC_BadTowerMap 5 missing;/)
})

t.test('a CDB URL with a user name or password is refused, from the flag, the environment or the configuration; the secret is nowhere', async (t) => {
  const { check, untouched, root, output, server } = await setup(t)
  const secret = 'pa55word-s3cret'
  const withSecret = `http://reader:${secret}@127.0.0.1:${server.port}/api/cdb_rest/`
  const conf = join(root, 'with-password.json')
  writeFileSync(conf, JSON.stringify({ base_url: `reader:${secret}@127.0.0.1:${server.port}`, api_res: '/api/cdb_rest/' }))
  const cases: [string, string[], Record<string, string>, number][] = [
    ['--cdb-url', ['--cdb-url', withSecret], {}, 2],
    ['--cdb-url without scheme', ['--cdb-url', withSecret.slice('http://'.length)], {}, 2],
    ['CALOPROD_CDB_URL', [], { CALOPROD_CDB_URL: withSecret }, 2],
    ['NOPAYLOADCLIENT_CONF', [], { NOPAYLOADCLIENT_CONF: conf }, 1],
    ['filter-datasets, --cdb-url', ['--cdb', 'filter-datasets', '--bin-filter-datasets', '/bin/true', '--cdb-url', withSecret], {}, 2],
  ]
  for (const [name, args, env, code] of cases) {
    const line = failedLine(t, name, await check(['--recheck', ...args], env), code)
    t.notMatch(line, secret, `${name}: not on stderr`)
    t.match(line, code === 2 ? /holds a user name or password, which caloprod refuses .*; give a token in CALOPROD_CDB_TOKEN$/ : /key "base_url" holds a user name or password/, name)
    untouched(t, name)
  }
  for (const file of readdirSync(join(output, 'log'))) t.notMatch(readFileSync(join(output, 'log', file), 'utf8'), secret, `log ${file}`)
})

t.test('a CDB URL whose password holds an unencoded @, /, ?, # or space, or a token in its query: the secret is nowhere', async (t) => {
  const { check, untouched, output, server } = await setup(t)
  const host = `127.0.0.1:${server.port}/api/cdb_rest/`
  const urls: [string, string][] = [
    ['an @', `http://u:pa@SEKRIT1@${host}`],
    ['a /', `http://u:ab/SEKRIT2@${host}`],
    ['a ?', `http://u:ab?SEKRIT3@${host}`],
    ['a #', `http://u:ab#SEKRIT4@${host}`],
    ['a space', `http://u:ab SEKRIT5@${host}`],
    ['no scheme and a /', `u:ab/SEKRIT6@${host}`],
    ['a token in the query', `http://${host}?token=SEKRIT7`],
    ['a password in the query, with an @', `http://${host}?x=1&password=ab@SEKRIT8`],
  ]
  for (const [what, url] of urls) {
    for (const [source, args, env] of [['--cdb-url', ['--cdb-url', url], {}], ['CALOPROD_CDB_URL', [], { CALOPROD_CDB_URL: url }]] as const) {
      const name = `${what}, ${source}`
      const line = failedLine(t, name, await check(['--recheck', ...args], env), 2)
      t.match(line, new RegExp(`^caloprod check: ${source}: `), `${name}: names ${source}`)
      t.notMatch(line, /SEKRIT/, `${name}: not on stderr: ${line}`)
      untouched(t, name)
    }
  }
  for (const file of readdirSync(join(output, 'log'))) t.notMatch(readFileSync(join(output, 'log', file), 'utf8'), /SEKRIT/, `log ${file}`)
})
