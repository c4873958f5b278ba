// A FileCatalog URL whose password holds what a URL must encode (an unencoded /, ?, #, space or @, a bad %-escape)
// or a password in its query: the query stage never shows it, in the log ("start: ..." with --verbose on stderr too),
// in the line that refuses it or in last-night.json; a bad URL is one line naming --db-url or CALOPROD_DB_URL, exit 2.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { closedPort } from '../fakes/pg-proxy.js'
import { runStageHere } from '../helpers/run-script.js'

t.test('the password of a URL a person typed is in no log, stderr line or record, however it is written', async (t) => {
  const root = t.testdir()
  const host = `127.0.0.1:${await closedPort()}`
  const urls: [string, string][] = [
    ['a /', `postgres://postgres:ab/SEKRIT1@${host}/revacat`],
    ['a ?', `postgres://postgres:ab?SEKRIT2@${host}/revacat`],
    ['a #', `postgres://postgres:ab#SEKRIT3@${host}/revacat`],
    ['a space', `postgres://postgres:ab SEKRIT4@${host}/revacat`],
    ['an @', `postgres://postgres:ab@SEKRIT5@${host}/revacat`],
    ['a password in the query', `postgres://postgres@${host}/revacat?password=SEKRIT6`],
    ['a bad %-escape', `postgres://postgres:SEKRIT7%zz@${host}/revacat`],
    // A password that starts with digits (or nothing) and then a / ? or # parses, as a port and a path, query or
    // fragment: host "postgres", port 2024, database "SEKRIT8@127.0.0.1:.../revacat".
    ['digits then a /', `postgres://postgres:2024/SEKRIT8@${host}/revacat`],
    ['nothing then a /', `postgres://postgres:/SEKRIT9@${host}/revacat`],
    ['digits then a ?', `postgres://postgres:2024?SEKRIT10@${host}/revacat`],
    ['digits then a #', `postgres://postgres:2024#SEKRIT11@${host}/revacat`],
  ]
  let n = 0
  for (const [what, url] of urls) {
    const forms: [string, string[], Record<string, string>][] = [
      ['--db-url', ['--db-url', url], {}],
      ['--db-url=', [`--db-url=${url}`], {}],
      ['CALOPROD_DB_URL', [], { CALOPROD_DB_URL: url }],
    ]
    for (const [source, args, env] of forms) {
      const name = `${what}, ${source}`
      // There already, as a night's: a stage refused before it starts still records its end there.
      const output = join(root, String(n++))
      mkdirSync(output)
      const result = await runStageHere('query', ['--output', output, '--verbose', '--db-tries', '1', ...args], { PGSSLMODE: 'disable', ...env })
      t.not(result.code, 0, `${name}: fails (nobody listens)`)
      const lines = result.stderr.split('\n').filter((line) => line.startsWith('caloprod query:'))
      t.equal(lines.length, 1, `${name}: one line says why: ${result.stderr}`)
      const files = readdirSync(output, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile())
      t.ok(files.some((entry) => entry.name === 'last-night.json'), `${name}: the night's record was read`)
      if (/query|an @/.test(what)) t.match(result.stderr, /query: start: /, `${name}: the command line was logged`)
      const written = files.map((entry) => readFileSync(join(entry.parentPath, entry.name), 'utf8')).join('\n')
      t.notMatch(result.stderr + result.stdout + written, /SEKRIT/, `${name}: the secret is nowhere: ${result.stderr}`)
    }
  }
})

t.test('a URL that does not parse or holds a bad %-escape is refused naming where it came from, exit 2', async (t) => {
  const root = t.testdir()
  const cases: [string, string[], Record<string, string>, RegExp][] = [
    ['a bad %-escape, CALOPROD_DB_URL', [], { CALOPROD_DB_URL: 'postgres://postgres:ab%zz@127.0.0.1:5432/revacat' }, /^caloprod query: CALOPROD_DB_URL: the URL's password holds a % that is not followed by two hex digits/],
    ['a bad %-escape, --db-url', ['--db-url', 'postgres://postgres:ab%zz@127.0.0.1:5432/revacat'], {}, /^caloprod query: --db-url: the URL's password holds a %/],
    ['a bad %-escape in the database', ['--db-url', 'postgres://postgres@127.0.0.1:5432/reva%cat'], {}, /^caloprod query: --db-url: the URL's database holds a %/],
    ['no URL, CALOPROD_DB_URL', [], { CALOPROD_DB_URL: 'not a url' }, /^caloprod query: CALOPROD_DB_URL: "not a url" is not a URL; expected postgres:\/\/user@host:5432\/FileCatalog/],
    ['an unencoded / after digits, CALOPROD_DB_URL', [], { CALOPROD_DB_URL: 'postgres://calo:2024/SEKRIT@127.0.0.1:5432/revacat' }, /^caloprod query: CALOPROD_DB_URL: "postgres:\/\/\*\*\*@127\.0\.0\.1:5432\/revacat" holds an @ after its host, as from an unencoded \/, \? or # in the password: percent-encode it/],
    ['an unencoded / after digits, --db-url', ['--db-url', 'postgres://calo:/SEKRIT@127.0.0.1:5432/revacat'], {}, /^caloprod query: --db-url: .* holds an @ after its host/],
    ['not postgres, CALOPROD_DB_URL', [], { CALOPROD_DB_URL: 'mysql://h/db' }, /^caloprod query: CALOPROD_DB_URL: must start with postgres:\/\/, not mysql:\/\//],
  ]
  for (const [name, args, env, line] of cases) {
    const result = await runStageHere('query', ['--output', join(root, 'out'), ...args], env)
    t.equal(result.code, 2, `${name}: exit 2`)
    t.match(result.stderr, line, name)
    t.equal(result.stderr.trim().split('\n').length, 1, `${name}: one line: ${result.stderr}`)
    t.notMatch(result.stderr, /SEKRIT/, `${name}: the password is not in it`)
  }
})
