// The FileCatalog misbehaving: each fault gives one clear line and a non-zero exit, or (when it passes) a
// retry that succeeds; either way no partial query.csv is ever visible and an old one is never lost.
import { existsSync, readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type postgres from 'postgres'
import { catalogTarget } from '../../lib/catalog/connection.js'
import { layout } from '../../lib/files/layout.js'
import { readQueryCsv } from '../../lib/files/query-csv.js'
import { runQuery } from '../../lib/query.js'
import { BUILTIN_RULES } from '../../lib/rules/load.js'
import { closedPort, startPgProxy, type ConnectionPlan } from '../fakes/pg-proxy.js'
import { makeCatalog } from '../helpers/catalog.js'
import { freshDatabase, usingServer } from '../helpers/database.js'
import { runStageHere } from '../helpers/run-script.js'

/** The run type's mark (lib/files/run-type-mark.ts), which a stage of the pipeline makes before it starts. */
const RUN_TYPE_MARK = layout.runTypeMark('')

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
  // query.fingerprint: a successful query's stamp for the next quiet night (lib/catalog/fingerprint.ts); the run type's
  // mark, made before the query starts (lib/files/run-type-mark.ts).
  const files = readdirSync(output).filter((f) => f !== 'log' && f !== 'query.fingerprint' && f !== RUN_TYPE_MARK)
  const log = readdirSync(join(output, 'log')).map((f) => join(output, 'log', f))
  return { result, output, files, log: log.length ? await readFile(log[0], 'utf8') : '' }
}

/** A Log for runQuery that keeps its info and warning lines. */
function keptLog() {
  const messages: string[] = []
  return { messages, log: { info: (m: string) => void messages.push(m), warn: (m: string) => void messages.push(m), summary() {} } }
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
  t.equal(proxy.seen.length, 2, "the try's two connections: the fingerprint's and the selection's (PGlite's second is closed unused)")
  t.equal((await readQueryCsv(join(output, 'query.csv'))).length, 2)
})

const transient: [string, ConnectionPlan][] = [
  ['a server in recovery or starting up (57P03)', { code: '57P03', message: 'the database system is starting up' }],
  ['too many connections (53300)', { code: '53300', message: 'sorry, too many clients already' }],
  ['a connection cut during startup', 'cut'],
  ['a deadlock (40P01)', { code: '40P01', message: 'deadlock detected' }],
  ["a lock not granted within the role's lock_timeout (55P03)", { code: '55P03', message: 'canceling statement due to lock timeout' }],
  ['every backend ended after another crashed (57P02)', { code: '57P02', message: 'terminating connection because of crash of another server process' }],
]
for (const [name, fault] of transient) {
  t.test(`${name}: retried with backoff, then succeeds`, async (t) => {
    const db = await catalog(t)
    const proxy = await startPgProxy(db, (n) => (n < 2 ? fault : 'forward'))
    t.teardown(() => proxy.close())
    const { result, output } = await queryVia(t, proxy.port, db.database, 4)
    t.equal(result.code, 0, result.stderr)
    t.equal(proxy.seen.length, 4, "two failed connections, then a try's two")
    t.equal((await readQueryCsv(join(output, 'query.csv'))).length, 2)
  })
}

t.test("a second connection refused (a role's connection limit): the night reads on one connection, not tried again", async (t) => {
  const db = await catalog(t)
  const proxy = await startPgProxy(db, (n) => (n === 1 ? { code: '53300', message: 'too many connections for role "postgres"' } : 'forward'))
  t.teardown(() => proxy.close())
  const { result, output, log } = await queryVia(t, proxy.port, db.database, 1)
  t.equal(result.code, 0, result.stderr)
  t.equal(result.stderr, '')
  t.equal(proxy.seen.length, 2, 'one refused, one used')
  t.notMatch(log, /try 1/)
  t.match(log, /a second connection failed \(.*too many connections for role.*\): the fingerprint and the selection one after the other/)
  t.equal((await readQueryCsv(join(output, 'query.csv'))).length, 2)
})

t.test('a connection closed between the fingerprint and the query: the try fails and is tried again, never read outside its snapshot',
  { skip: usingServer ? false : 'PGlite has one backend and no pg_terminate_backend' },
  async (t) => {
    const db = await catalog(t)
    const output = t.testdir()
    const target = catalogTarget(db.url, {})
    const { messages, log } = keptLog()
    const options = { runType: 'run3auau', rules: BUILTIN_RULES.current, minEvents: undefined, statementTimeout: 60, output } as const
    await runQuery(target, options, log)
    // The catalog changed: the next night asks for the fingerprint, then the selection, on one connection.
    await db.sql`update files set time = time + interval '1 second'`
    let kills = 0
    const result = await runQuery(target, {
      ...options,
      retry: { attempts: 2, baseMs: 10 },
      onSnapshot: async () => {
        if (kills++) return
        const [backend] = await db.sql<{ pid: number }[]>`select pid from pg_stat_activity where application_name = 'caloprod' and datname = ${db.database}`
        await terminate(db, backend.pid)
      },
    }, log)
    t.equal(kills, 2, 'a second try')
    t.match(messages.join('\n'), /try 1: .*(closed between two statements|terminating connection|lost the connection)/)
    t.notOk(result.unchangedCatalog)
    t.equal(result.files, 2)
  },
)

t.test("a first night's fingerprint connection lost while the selection runs beside it: the selection is stopped, the try fails with the loss and is tried again",
  { skip: usingServer ? false : 'PGlite has one backend and no pg_terminate_backend' },
  async (t) => {
    const db = await bigCatalog(t)
    const options = { runType: 'run3auau', rules: BUILTIN_RULES.current, minEvents: undefined, statementTimeout: 60 } as const
    const quiet = { info() {}, warn() {}, summary() {} }
    const dir = t.testdir({ clean: {}, night: { 'query.csv': OLD } })
    const [clean, output] = [join(dir, 'clean'), join(dir, 'night')]
    await runQuery(catalogTarget(db.url, {}), { ...options, output: clean }, quiet)
    // The fingerprint's connection (the try's first) is killed once the server has its answer; the selection's (the
    // second) is held at its first row until the stage asks the server to cancel it: a try that waited for the
    // selection to end before it failed would wait for ever.
    const killed: number[] = []
    const proxy = await startPgProxy(db, (n): ConnectionPlan => {
      if (n === 0) return { at: (type, message) => type === 'T' && message.includes('datasets\0'), meanwhile: async (port) => void killed.push(port, await terminateStage(db, port) ? 1 : 0) }
      if (n === 1) {
        let answer = false
        return { at: (type, message) => (answer ||= startsAnswer(type, message)) && type === 'D', meanwhile: () => proxy.clientSent('pg_cancel_backend') }
      }
      return 'forward'
    })
    t.teardown(() => proxy.close())
    const { messages, log } = keptLog()
    const target = catalogTarget(`postgres://postgres@127.0.0.1:${proxy.port}/${db.database}?sslmode=disable`, {})
    const result = await runQuery(target, { ...options, output, retry: { attempts: 2, baseMs: 10 } }, log)
    t.equal(killed[1], 1, "the fingerprint's backend was there to kill")
    const tries = messages.filter((m) => /try \d/.test(m))
    t.equal(tries.length, 1, 'one try failed')
    t.match(tries[0], /try 1: .*(closed between two statements|terminating connection|lost the connection|57P01)/, 'it failed with the loss')
    t.notMatch(tries[0], /cancel/i, "not with the selection's cancellation, which the loss caused")
    t.equal(result.files, (await readQueryCsv(join(clean, 'query.csv'))).length)
    t.ok((await readFile(join(output, 'query.csv'))).equals(await readFile(join(clean, 'query.csv'))), 'the same bytes as an undisturbed night')
    t.same(readdirSync(output).filter((f) => f !== 'query.fingerprint' && f !== RUN_TYPE_MARK).sort(), ['query.csv'], 'no temporary file')
  },
)

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

// What the selection meets as well is the night's one failure, never "the catalog's fingerprint failed" first.
const selectionFailures: [string, { skip?: string }, (sql: postgres.Sql) => Promise<string | undefined>, RegExp][] = [
  ['a user without SELECT on the tables (42501)', { skip: usingServer ? undefined : 'PGlite serves every connection as one user' }, async (sql) => {
    const role = `caloprod_noselect_${process.pid}`
    await sql.unsafe(`create role ${role} login`)
    return role
  }, /permission denied for table \w+ \(42501\); this user may not read the catalog's tables; check PGUSER or --db-url/],
  ['a column missing (42703)', {}, async (sql) => {
    await sql`alter table datasets drop column events`
    return undefined
  }, /column \S*events"? does not exist \(42703\); a column is missing: is this a FileCatalog database\?/],
  ['no catalog tables (42P01)', {}, async (sql) => {
    await sql`drop table datasets, files`
    return undefined
  }, /relation "(public\.)?\w+" does not exist \(42P01\); a table is missing: is this a FileCatalog database\?/],
]
for (const [name, options, make, line] of selectionFailures) {
  t.test(`${name}: one line with what to do, exit 1, no fingerprint warning; first night and stamped night alike`, options, async (t) => {
    const db = await catalog(t)
    const night = (output: string, url: string) =>
      runStageHere('query', ['--rules', 'current', '--db-url', url, '--output', output, '--db-tries', '2'])
    // A night as postgres leaves its stamp: the next night there asks for the fingerprint first, on one connection.
    // (One t.testdir() for both outputs: a second call empties the first's folder, stamp and all.)
    const root = t.testdir({ stamped: {}, first: {} })
    const stamped = join(root, 'stamped')
    t.equal((await night(stamped, db.url)).code, 0, 'a night before the change')
    t.ok(existsSync(join(stamped, 'query.csv')), 'the night left query.csv and its stamp')
    const user = await make(db.sql)
    try {
      const url = new URL(db.url)
      if (user) url.username = user
      // A fresh output: a first night asks for the fingerprint and the selection at once (where there are two sessions).
      for (const [which, output] of [['first night', join(root, 'first')], ['stamped night', stamped]]) {
        const result = await night(output, url.href)
        t.equal(result.code, 1, `${which}: exit 1`)
        oneLine(t, result.stderr)
        t.match(result.stderr, line, which)
        t.notMatch(result.stderr, /fingerprint/, `${which}: no word of the fingerprint`)
      }
    } finally {
      if (user) await db.sql.unsafe(`drop role ${user}`)
    }
  })
}

/**
 * A catalog whose answer (60,000 rows, about 10 MB) is more than what the sockets between the server and the stage
 * usually hold when the stage stops reading (about 5 MB where tcp_rmem's maximum is 6 MB), so a backend killed
 * 2.5 MB into it is still sending; where the sockets may grow larger, the kill test tries again. Made by the server
 * itself: fast to load.
 */
async function bigCatalog(t: Test) {
  const db = await catalog(t)
  await db.sql.unsafe(`
    insert into datasets (filename, runnumber, segment, size, dataset, dsttype, events, firstevent, lastevent, tag, status)
    select format('%s_run3auau_v2-%s-%s.root', type, lpad(r::text, 8, '0'), lpad(s::text, 5, '0')), r, s, 1, 'run3auau', type, 10000, 0, 0, 'v2', 1
    from generate_series(66600, 66799) r, generate_series(0, 299) s, unnest(array['HIST_CALOQA', 'DST_CALOFITTING']) type`)
  await db.sql.unsafe(`
    insert into files (lfn, full_host_name, full_file_path, time, size, md5)
    select filename, 'lustre', '/sphenix/lustre01/sphnxpro/production/run3auau/physics/calofitting/new_nocdbtag_v2/' || filename,
           timestamp '2025-07-01' + segment * interval '1 minute', 1, 'x'
    from datasets where dsttype = 'HIST_CALOQA' and tag = 'v2'`)
  await db.sql`analyze datasets`
  await db.sql`analyze files`
  return db
}

/**
 * pg_terminate_backend on the stage's backend that the proxy holds (the one whose connection comes from
 * `clientPort`), returning its state then; waits until it is gone.
 */
async function terminateStage(db: Awaited<ReturnType<typeof catalog>>, clientPort: number): Promise<string | undefined> {
  const [backend] = await db.sql<{ pid: number; state: string }[]>`
    select pid, state from pg_stat_activity
    where application_name = 'caloprod' and datname = ${db.database} and client_port = ${clientPort}`
  if (!backend) return undefined
  await terminate(db, backend.pid)
  return backend.state
}

/** pg_terminate_backend on `pid`; waits until it is gone. */
async function terminate(db: Awaited<ReturnType<typeof catalog>>, pid: number): Promise<void> {
  await db.sql`select pg_terminate_backend(${pid})`
  while ((await db.sql`select 1 from pg_stat_activity where pid = ${pid}`).length) await new Promise((r) => setTimeout(r, 20))
}

type At = (type: string, message: Buffer, offset: number) => boolean

/** Whether a message starts the selection's answer: its RowDescription of six columns (or a CopyOutResponse of six). */
const startsAnswer = (type: string, message: Buffer) => (type === 'T' || type === 'H') && message.readInt16BE(type === 'T' ? 5 : 6) === 6

/**
 * Where in the server's answer the first try's backend is killed: a fresh predicate for the proxy's hold, whether
 * rows are flowing then, and which of the try's connections it is on: the first (the fingerprint's, which sets up
 * the session before the second is opened) or the second (the selection's, on a first night). The selection's
 * answer starts before the server runs it (sorts).
 */
const KILL_POINTS: [string, () => At, boolean, 0 | 1][] = [
  ['as it connects (its first ReadyForQuery)', () => (type) => type === 'Z', false, 0],
  ['as it sets up the session', () => (type) => type === 'T', false, 0],
  ['as the selection starts (the server sorting)', () => startsAnswer, false, 1],
  ...[['at the first row', 1], ['1 MB into the rows', 1 << 20], ['2.5 MB into the rows', 2.5 * (1 << 20)]].map(([point, bytes]): [string, () => At, boolean, 0 | 1] => [
    point as string,
    () => {
      let answerAt: number | undefined
      return (type, message, offset) => {
        if (answerAt === undefined && startsAnswer(type, message)) answerAt = offset
        return (type === 'D' || type === 'd') && answerAt !== undefined && offset - answerAt >= (bytes as number)
      }
    },
    true,
    1,
  ]),
]

t.test('the backend terminated (pg_terminate_backend) at any point of the query: tried again, with the same bytes as an undisturbed run; with no tries left, one line',
  { skip: usingServer ? false : 'PGlite has one backend and no pg_terminate_backend' },
  async (t) => {
    const db = await bigCatalog(t)
    const clean = await startPgProxy(db, () => 'forward')
    t.teardown(() => clean.close())
    const undisturbed = await queryVia(t, clean.port, db.database, 1)
    t.equal(undisturbed.result.code, 0, undisturbed.result.stderr)
    const expected = await readFile(join(undisturbed.output, 'query.csv'))
    t.ok(expected.length > 8 << 20, `an answer larger than the sockets hold (${expected.length} bytes)`)
    for (const [point, at, flowing, connection] of KILL_POINTS) {
      // The kill must land while the backend still answers. Linux grows a loopback receive buffer up to tcp_rmem's
      // maximum (32 MB on some machines), so the sockets behind the held proxy may take the rest of the answer and
      // the backend finish before pg_terminate_backend reaches it: the query then succeeds on its first connection,
      // which says nothing of a retry. Such a run is done again, up to five times; any other outcome is judged.
      const killed = async () => {
        let state: string | undefined
        const proxy = await startPgProxy(db, (n) => (n === connection ? { at: at(), meanwhile: async (port) => void (state = await terminateStage(db, port)) } : 'forward'))
        t.teardown(() => proxy.close())
        return { ...(await queryVia(t, proxy.port, db.database, 3)), proxy, state }
      }
      let run = await killed()
      for (let again = 0; again < 4 && run.result.code === 0 && !run.log.includes('try 1'); again++) run = await killed()
      const { result, output, files, log, proxy, state } = run
      t.equal(result.code, 0, `${point}: ${result.stderr}`)
      t.equal(result.stderr, '', `${point}: a retry that succeeds says nothing on stderr`)
      t.ok(state, `${point}: the backend was there to kill`)
      if (flowing) t.equal(state, 'active', `${point}: killed while still sending its rows`)
      t.match(log, /try 1: .*(lost the connection|terminating connection|57P01)/, `${point}: the first try failed`)
      t.equal(proxy.seen.length, connection + 3, `${point}: the first try's ${connection + 1} connection(s), then the second try's two`)
      t.ok((await readFile(join(output, 'query.csv'))).equals(expected), `${point}: the same bytes as an undisturbed run`)
      t.same(files, ['query.csv'], `${point}: no temporary file, no lock`)
    }
    // With no tries left: where the old code crashed (connecting, the session) and in the middle of the rows.
    for (const [point, at] of KILL_POINTS.filter(([point]) => /connects|session|1 MB/.test(point))) {
      const proxy = await startPgProxy(db, () => ({ at: at(), meanwhile: async (port) => void (await terminateStage(db, port)) }))
      t.teardown(() => proxy.close())
      const { result, output, files } = await queryVia(t, proxy.port, db.database, 1)
      t.equal(result.code, 1, `no tries left, ${point}: ${result.stderr}`)
      oneLine(t, result.stderr)
      t.match(result.stderr, /^caloprod query: (lost the connection to the FileCatalog|FileCatalog .*terminating connection.*57P01)/, point)
      t.same(files, ['query.csv'], `no tries left, ${point}: no temporary file, no lock`)
      t.equal(await readFile(join(output, 'query.csv'), 'utf8'), OLD, `no tries left, ${point}: the old query.csv kept`)
    }
  },
)
