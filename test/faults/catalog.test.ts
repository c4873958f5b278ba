// The FileCatalog misbehaving: each fault gives one clear line and a non-zero exit, or (when it passes) a
// retry that succeeds; either way no partial query.csv is ever visible and an old one is never lost.
import { readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { readQueryCsv } from '../../lib/files/query-csv.js'
import { closedPort, startPgProxy, type ConnectionPlan } from '../fakes/pg-proxy.js'
import { makeCatalog } from '../helpers/catalog.js'
import { freshDatabase, usingServer } from '../helpers/database.js'
import { runStageHere } from '../helpers/run-script.js'

const OLD = 'runnumber,tag,segment,events,full_file_path,time\n'

/** A fresh catalog with one qualifying run, and the host, port and database to reach it. */
async function catalog(t: Test) {
  const db = await freshDatabase(t)
  await makeCatalog(db.sql, [
    { run: 66500, tag: 'v1', segment: 0, events: 400000 },
    { run: 66500, tag: 'v1', segment: 1, events: 400000 },
  ])
  const url = new URL(db.url)
  return { ...db, host: url.hostname, port: Number(url.port), database: url.pathname.slice(1) }
}

/** Runs query against a port, with an old query.csv in place, returning the result and what the directory holds. */
async function queryVia(t: Test, port: number, database: string, retries: number, env: NodeJS.ProcessEnv = {}) {
  const output = t.testdir({ 'query.csv': OLD })
  const result = await runStageHere('query', ['--output', output, '--db-tries', String(retries)], {
    PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: 'postgres', PGDATABASE: database, PGSSLMODE: 'disable', ...env,
  })
  const files = readdirSync(output).filter((f) => f !== 'log')
  const log = readdirSync(join(output, 'log')).map((f) => join(output, 'log', f))
  return { result, output, files, log: log.length ? await readFile(log[0], 'utf8') : '' }
}

const oneLine = (t: Test, stderr: string) => t.equal(stderr.trim().split('\n').length, 1, `one line: ${stderr}`)

t.test('server unreachable: retried, then one line, exit 1, the old query.csv kept', async (t) => {
  const { result, output, files, log } = await queryVia(t, await closedPort(), 'FileCatalog', 2)
  t.equal(result.code, 1)
  oneLine(t, result.stderr)
  t.match(result.stderr, /cannot reach the FileCatalog at postgres@127\.0\.0\.1:\d+\/FileCatalog.*ECONNREFUSED/)
  t.match(log, /try 1: .*ECONNREFUSED.*trying again in/)
  t.same(files, ['query.csv'], 'no temporary file left')
  t.equal(await readFile(join(output, 'query.csv'), 'utf8'), OLD)
})

t.test('server restarting (connection refused, then up): the retry succeeds', async (t) => {
  const db = await catalog(t)
  const port = await closedPort()
  const output = t.testdir()
  const run = runStageHere('query', ['--output', output, '--db-tries', '4'], {
    PGHOST: '127.0.0.1', PGPORT: String(port), PGUSER: 'postgres', PGDATABASE: db.database, PGSSLMODE: 'disable',
  })
  // The server comes up only after the first try was refused (the log says so before the pause).
  const logDir = join(output, 'log')
  while (!(readdirSync(output).includes('log') && (await readFile(join(logDir, readdirSync(logDir)[0]), 'utf8')).includes('try 1'))) {
    await new Promise((r) => setTimeout(r, 20))
  }
  const proxy = await startPgProxy(db, () => 'forward', port)
  t.teardown(() => proxy.close())
  const result = await run
  t.equal(result.code, 0, result.stderr)
  t.equal(result.stderr, '', 'a retry that succeeds says nothing on stderr')
  t.equal(proxy.seen.length, 1)
  t.equal((await readQueryCsv(join(output, 'query.csv'))).length, 2)
})

const transient: [string, ConnectionPlan][] = [
  ['a server in recovery or starting up (57P03)', { code: '57P03', message: 'the database system is starting up' }],
  ['too many connections (53300)', { code: '53300', message: 'sorry, too many clients already' }],
  ['a connection cut during startup', 'cut'],
]
for (const [name, fault] of transient) {
  t.test(`${name}: retried with backoff, then succeeds`, async (t) => {
    const db = await catalog(t)
    const proxy = await startPgProxy(db, (n) => (n < 2 ? fault : 'forward'))
    t.teardown(() => proxy.close())
    const { result, output } = await queryVia(t, proxy.port, db.database, 4)
    t.equal(result.code, 0, result.stderr)
    t.equal(proxy.seen.length, 3, 'two failed connections, one good')
    t.equal((await readQueryCsv(join(output, 'query.csv'))).length, 2)
  })
}

t.test('a server that stays in recovery: bounded tries, then one line with what to do', async (t) => {
  const db = await catalog(t)
  const proxy = await startPgProxy(db, () => ({ code: '57P03', message: 'the database system is in recovery mode' }))
  t.teardown(() => proxy.close())
  const { result, files } = await queryVia(t, proxy.port, db.database, 3)
  t.equal(result.code, 1)
  oneLine(t, result.stderr)
  t.match(result.stderr, /in recovery mode \(57P03\); the server is starting up or in recovery; try again later/)
  t.equal(proxy.seen.length, 3)
  t.same(files, ['query.csv'])
})

t.test('a wrong password fails at once, and the password appears nowhere', async (t) => {
  const db = await catalog(t)
  const proxy = await startPgProxy(db, () => ({ code: '28P01', message: 'password authentication failed for user "postgres"' }))
  t.teardown(() => proxy.close())
  const { result, log } = await queryVia(t, proxy.port, db.database, 4, { PGPASSWORD: 'Tr0ub4dor&3' })
  t.equal(result.code, 1)
  oneLine(t, result.stderr)
  t.equal(proxy.seen.length, 1, 'not retried')
  t.match(result.stderr, /password was refused; check PGPASSWORD, ~\/\.pgpass or --db-url/)
  t.notMatch(result.stderr + result.stdout + log, /Tr0ub4dor/)
})

t.test('a connection dropped mid-query (pg_terminate_backend) is retried; without tries left the old file stays',
  { skip: usingServer ? false : 'PGlite has one backend and no pg_terminate_backend' },
  async (t) => {
    const db = await catalog(t)
    // A slow catalog, so the query is surely running when the second connection kills it.
    await db.sql.unsafe('alter table files rename to files_real')
    await db.sql.unsafe('create view files as select f.* from files_real f, (select pg_sleep(1.5)) s')
    const killOnce = async () => {
      for (let i = 0; i < 100; i++) {
        const killed = await db.sql`
          select pg_terminate_backend(pid) from pg_stat_activity
          where application_name = 'caloprod' and datname = ${db.database} and state = 'active'`
        if (killed.length) return
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    for (const [retries, code] of [[1, 1], [3, 0]] as const) {
      const run = queryVia(t, db.port, db.database, retries)
      await killOnce()
      const { result, output, files, log } = await run
      t.equal(result.code, code, `--db-tries ${retries}: ${result.stderr}`)
      t.same(files, ['query.csv'], 'no temporary file left')
      if (code === 1) {
        oneLine(t, result.stderr)
        t.match(result.stderr, /lost the connection to the FileCatalog|terminat.*57P01/)
        t.equal(await readFile(join(output, 'query.csv'), 'utf8'), OLD)
      } else {
        t.match(log, /try 1: lost the connection to the FileCatalog/)
        t.equal((await readQueryCsv(join(output, 'query.csv'))).length, 2)
      }
    }
  },
)
