// Secrets: the FileCatalog password, given as PGPASSWORD and inside --db-url or CALOPROD_DB_URL, never appears in
// what caloprod writes or prints: a whole night through the Taskfile (and plan and status), and the query failing
// every way it can (no such database, nobody listening, the password refused after the client sent it, a URL
// that does not parse). Every byte of every file under the test's directories and every stdout and stderr is read.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { createCatalogFiles } from '../demo/files-on-disk.js'
import { loadCatalog } from '../demo/load.js'
import { closedPort } from '../fakes/pg-proxy.js'
import { freshDatabase, usingServer } from '../helpers/database.js'
import { FAKE_FILTER_DATASETS, fakeCdb, fakeCdbEnv } from '../helpers/fake-cdb.js'
import { FAKE_GENSTATUS, fakeCondorEnv } from '../helpers/fake-condor.js'
import { startPasswordProxy } from '../helpers/password-proxy.js'
import { runStageHere, runTaskHere, type ScriptResult } from '../helpers/run-script.js'

/** Every regular file under `dir`, hidden ones, logs and locks included, with its bytes as text. */
function everyFile(dir: string): [string, string][] {
  const found: [string, string][] = []
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name)
    if (entry.isFile() || (entry.isSymbolicLink() && statSync(path, { throwIfNoEntry: false })?.isFile())) found.push([path, readFileSync(path, 'latin1')])
  }
  return found
}

t.test('the password never reaches a log, an error, an output or the terminal', async (t) => {
  // A short directory: the Taskfile's labels carry the output path into checksum file names (255 bytes at most).
  const root = mkdtempSync(join(tmpdir(), 'caloprod-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  // Distinctive, and with characters a URL must encode; the second one holds an '@' a person forgot to encode.
  const secret = `Pw${randomBytes(6).toString('hex')}`
  const password = `${secret}&;x`
  const atSecret = `At${randomBytes(6).toString('hex')}`
  const forms = [secret, atSecret, encodeURIComponent(password)]
  const withPassword = (url: string, pw = password) => {
    const u = new URL(url)
    u.password = encodeURIComponent(pw)
    return u.href
  }

  const db = await freshDatabase(t)
  const { files } = await loadCatalog(db.sql, { root: join(root, 'files'), runs: { run2pp: 1, run2auau: 1, run3auau: 6 } })
  await createCatalogFiles(files)
  const base = new URL(db.url)
  const url = withPassword(db.url)
  const out = join(root, 'out')
  const env = {
    ...fakeCdbEnv(fakeCdb(root)),
    ...fakeCondorEnv(join(root, 'condor.json')),
    PGPASSWORD: password,
    CALOPROD_DB_URL: url,
    CALOPROD_BIN_FILTER_DATASETS: FAKE_FILTER_DATASETS,
    CALOPROD_BIN_GENSTATUS: FAKE_GENSTATUS,
    TASK_TEMP_DIR: join(root, '.task'),
    // Stack traces on stderr for anything unexpected, the most a person debugging would see.
    CALOPROD_DEBUG: '1',
  }
  const results: [string, ScriptResult][] = []
  const run = async (what: string, name: string, args: string[], extra: Record<string, string | undefined> = {}) => {
    // In this process: the runner (its stages are children, from their bundles, as the Taskfile runs them) or a stage.
    const result = name === 'task' ? await runTaskHere(args, { ...env, ...extra }) : await runStageHere(name, args, { ...env, ...extra })
    results.push([what, result])
    return result
  }

  // A whole night, loud: every stage's log on stderr too, then plan and status.
  const vars = ['RUN_TYPE=run3auau', `OUTPUT=${out}`, `CONDOR_LOG_DIR=${join(root, 'condor-log')}`, 'STAGE_FLAGS=--verbose']
  const night = await run('task submit', 'task', ['--verbose', '-x', 'submit', ...vars])
  t.equal(night.code, 0, night.stderr)
  t.match(night.stdout, /submit: \d+ runs submitted/)
  t.equal((await run('task plan', 'task', ['--verbose', 'plan', ...vars, '--', '--verbose'])).code, 0)
  t.equal((await run('task status', 'task', ['status', ...vars, '--', '--verbose'])).code, 0)
  // The query by hand with the URL on the command line.
  t.equal((await run('query --db-url', 'query', ['--db-url', url, '--output', out, '--verbose'])).code, 0)

  // The query failing: each with the password in PGPASSWORD and in the URL (argv or environment).
  const failing = join(root, 'failing')
  const noDatabase = new URL(url)
  noDatabase.pathname = '/no_such_catalog'
  const unreachable = new URL(url)
  unreachable.port = String(await closedPort())
  const proxy = await startPasswordProxy()
  t.teardown(() => proxy.close())
  const refused = new URL(url)
  refused.hostname = '127.0.0.1'
  refused.port = String(proxy.port)
  const cases: [string, string[], Record<string, string | undefined>][] = [
    // The embedded PGlite serves its one database under any name: "no such database" needs a real server.
    ...(usingServer
      ? ([
          ['no such database, --db-url', ['--db-url', noDatabase.href], {}],
          ['no such database, CALOPROD_DB_URL', [], { CALOPROD_DB_URL: noDatabase.href }],
        ] as [string, string[], Record<string, string | undefined>][])
      : []),
    ['nobody listening, --db-url', ['--db-url', unreachable.href, '--db-tries', '1'], {}],
    ['nobody listening, CALOPROD_DB_URL', ['--db-tries', '1'], { CALOPROD_DB_URL: unreachable.href }],
    ['password refused, --db-url', ['--db-url', refused.href], {}],
    ['password refused, PGPASSWORD only', [], { CALOPROD_DB_URL: undefined, PGHOST: '127.0.0.1', PGPORT: String(proxy.port), PGUSER: base.username || 'postgres', PGDATABASE: 'x' }],
    ['password refused, CALOPROD_DB_URL', [], { CALOPROD_DB_URL: refused.href }],
    ['a URL that does not parse', ['--db-url', `postgres://postgres:${secret}@127.0.0.1:99999/x`], {}],
    ['an @ left unencoded in the password', ['--db-url', `postgres://postgres:x@${atSecret}@127.0.0.1:${proxy.port}/x`], {}],
    ['an @ left unencoded, CALOPROD_DB_URL', [], { CALOPROD_DB_URL: `postgres://postgres:x@${atSecret}@127.0.0.1:${proxy.port}/x` }],
  ]
  for (const [what, args, extra] of cases) {
    const result = await run(`query: ${what}`, 'query', ['--output', failing, '--verbose', ...args], { PGSSLMODE: 'disable', ...extra })
    t.not(result.code, 0, `${what} fails`)
    t.equal(result.stderr.split('\n').filter((line) => line.startsWith('caloprod query:')).length, 1, `${what}: one line says why: ${result.stderr}`)
  }
  t.ok(proxy.received.includes(password), 'the refused password really was sent, so it was there to leak')

  const places: [string, string][] = [
    ...results.flatMap(([what, r]): [string, string][] => [[`${what}: stdout`, r.stdout], [`${what}: stderr`, r.stderr]]),
    ...everyFile(root),
  ]
  t.ok(places.some(([path]) => path.includes(join('out', 'log'))), 'the logs were read')
  const leaks = places.filter(([, text]) => forms.some((form) => text.includes(form))).map(([where]) => where)
  t.same(leaks, [], `the password appears in none of ${places.length} outputs, logs and streams`)
})
