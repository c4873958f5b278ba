import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { readQueryCsv } from '../lib/files/query-csv.js'
import { makeCatalog, type Segment } from './helpers/catalog.js'
import { freshDatabase, usingServer } from './helpers/database.js'
import { runStageHere } from './helpers/run-script.js'

const HEADER = 'runnumber,tag,segment,events,full_file_path,time\n'

/** Two segments whose DST twins together hold `total` events. */
const runWith = (run: number, tag: string, total: number, extra: Partial<Segment> = {}): Segment[] => [
  { run, tag, segment: 0, events: total - 1000, ...extra },
  { run, tag, segment: 1, events: 1000, ...extra },
]

async function query(t: Test, segments: Segment[], args: string[] = []) {
  const { url, sql } = await freshDatabase(t)
  await makeCatalog(sql, segments)
  const output = t.testdir()
  const result = await runStageHere('query', ['--db-url', url, '--output', output, ...args])
  return { url, sql, output, result, csv: join(output, 'query.csv') }
}

t.test('a run with exactly the threshold is excluded, one event more is included', async (t) => {
  const { result, csv } = await query(t, [...runWith(66500, 'v1', 500000), ...runWith(66501, 'v1', 500001)])
  t.equal(result.code, 0, result.stderr)
  const rows = await readQueryCsv(csv)
  t.same([...new Set(rows.map((r) => r.runnumber))], [66501])
  t.match(result.stdout, /query: 2 files of 1 run\b/)
})

t.test('runs outside the run type range are not selected', async (t) => {
  const { result, csv } = await query(t, [...runWith(53000, 'v1', 900000), ...runWith(66457, 'v1', 900000)])
  t.equal(result.code, 0, result.stderr)
  t.same((await readQueryCsv(csv)).map((r) => r.runnumber), [66457, 66457])
  const run2pp = await query(t, [...runWith(53000, 'v1', 900000), ...runWith(53881, 'v1', 900000)], ['--run-type', 'run2pp'])
  t.same((await readQueryCsv(run2pp.csv)).map((r) => r.runnumber), [53000, 53000])
})

t.test('events count only DST segments that have a HIST_CALOQA twin; a twinless histogram is not counted', async (t) => {
  const { result, csv } = await query(t, [
    { run: 66600, tag: 'v1', segment: 0, events: 400000 },
    { run: 66600, tag: 'v1', segment: 1, events: 200000, hist: false }, // DST without histogram: not counted
    { run: 66600, tag: 'v1', segment: 2 }, // histogram without DST twin
    { run: 66601, tag: 'v1', segment: 0, events: 300000 },
    { run: 66601, tag: 'v1', segment: 1, events: 300000 },
  ])
  t.equal(result.code, 0, result.stderr)
  const rows = await readQueryCsv(csv)
  t.same(rows.map((r) => [r.runnumber, r.segment, r.events]), [[66601, 0, 300000], [66601, 1, 300000]])
})

t.test('a twinless histogram of a qualifying run is not listed (as the seed\'s join on segment); nor is a file without a files row', async (t) => {
  const { csv } = await query(t, [
    ...runWith(66700, 'v1', 600000),
    { run: 66700, tag: 'v1', segment: 2 },
    { run: 66700, tag: 'v1', segment: 3, events: 5, filed: false },
  ])
  const rows = await readQueryCsv(csv)
  t.same(rows.map((r) => [r.segment, r.events]), [[0, 599000], [1, 1000]])
  // Under today's rules no twin is needed: the same catalog lists it, with events 0 (it counts toward nothing).
  const current = await query(t, [...runWith(66700, 'v1', 600000), { run: 66700, tag: 'v1', segment: 2 }], ['--rules', 'current'])
  t.equal(current.result.code, 0, current.result.stderr)
  t.same((await readQueryCsv(current.csv)).map((r) => [r.segment, r.events]), [[0, 599000], [1, 1000], [2, 0]])
})

t.test('paths with spaces, commas and quotes survive the CSV; times are written as stored', async (t) => {
  const path = '/sphenix/lustre01/odd dir/a,b "quoted" name.root'
  const { csv } = await query(t, [
    { run: 66800, tag: 'v1', segment: 0, events: 600000, path, time: '2025-07-01 12:34:56.000123' },
  ])
  const rows = await readQueryCsv(csv)
  t.equal(rows[0].full_file_path, path)
  t.equal(rows[0].time, '2025-07-01 12:34:56.000123')
})

t.test('rows are sorted by run, tag and segment', async (t) => {
  const segments: Segment[] = []
  for (const run of [66903, 66901, 66902]) for (const tag of ['b', 'a']) for (const segment of [11, 2, 0]) {
    segments.push({ run, tag, segment, events: 200000 })
  }
  const { csv } = await query(t, segments)
  const rows = await readQueryCsv(csv)
  const keys = rows.map((r) => `${r.runnumber}/${r.tag}/${String(r.segment).padStart(2, '0')}`)
  t.same(keys, [...keys].sort())
  t.equal(rows.length, 18)
})

t.test('an empty result is a valid CSV with only the header', async (t) => {
  const { result, csv } = await query(t, runWith(66500, 'v1', 100))
  t.equal(result.code, 0, result.stderr)
  t.equal(await readFile(csv, 'utf8'), HEADER)
})

t.test('hostile catalog rows (tag with a slash, relative path, newline in path) are skipped with a warning', async (t) => {
  const { result, csv } = await query(t, [
    ...runWith(66500, 'v1', 600000),
    { run: 66501, tag: '../evil', segment: 0, events: 600000 },
    { run: 66502, tag: 'v1', segment: 0, events: 600000, path: 'relative/file.root' },
    { run: 66503, tag: 'v1', segment: 0, events: 600000, path: '/a\nb.root' },
  ])
  t.equal(result.code, 0, result.stderr)
  t.same([...new Set((await readQueryCsv(csv)).map((r) => r.runnumber))], [66500])
  t.match(result.stderr, /skipped catalog row of run 66501: tag "..\/evil"/)
  t.match(result.stdout, /3 unusable rows skipped/)
})

t.test('a re-run on an unchanged catalog leaves query.csv untouched', async (t) => {
  const { url, output, csv } = await query(t, runWith(66500, 'v1', 600000))
  const before = await stat(csv)
  // A rewrite after 20 ms would show in the mtime: a wait for something not to happen (a busy machine waits longer).
  await new Promise((r) => setTimeout(r, 20))
  const again = await runStageHere('query', ['--db-url', url, '--output', output])
  t.equal(again.code, 0)
  t.match(again.stdout, /unchanged/)
  t.equal((await stat(csv)).mtimeMs, before.mtimeMs)
})

t.test('an unreachable catalog: one line naming host and database, no password, exit 1, outputs kept', async (t) => {
  const output = t.testdir({ 'query.csv': 'precious\n' })
  const result = await runStageHere('query', ['--output', output, '--db-tries', '1'], {
    PGHOST: '127.0.0.1', PGPORT: '1', PGUSER: 'calo', PGPASSWORD: 's3cret-pw', PGDATABASE: 'FileCatalog',
  })
  t.equal(result.code, 1)
  t.equal(result.stderr.trim().split('\n').length, 1, result.stderr)
  t.match(result.stderr, /cannot reach the FileCatalog at calo@127\.0\.0\.1:1\/FileCatalog/)
  t.notMatch(result.stderr + (await readFile(join(output, 'log', (await import('node:fs')).readdirSync(join(output, 'log'))[0]), 'utf8')), /s3cret-pw/)
  t.equal(await readFile(join(output, 'query.csv'), 'utf8'), 'precious\n')
})

t.test('a --db-url password never reaches the log or stderr', async (t) => {
  const output = t.testdir()
  const result = await runStageHere('query', ['--output', output, '--db-tries', '1', '--db-url', 'postgres://calo:hunter2@127.0.0.1:1/FileCatalog'])
  t.equal(result.code, 1)
  const { readdirSync } = await import('node:fs')
  const log = await readFile(join(output, 'log', readdirSync(join(output, 'log'))[0]), 'utf8')
  t.notMatch(result.stderr + log, /hunter2/)
  t.match(log, /--db-url postgres:\/\/\*\*\*@127\.0\.0\.1:1\/FileCatalog/)
})

t.test('a database without the catalog tables: clear error, no query.csv', async (t) => {
  const { url } = await freshDatabase(t)
  const output = t.testdir()
  const result = await runStageHere('query', ['--db-url', url, '--output', output])
  t.equal(result.code, 1)
  t.match(result.stderr, /relation "(public\.)?\w+" does not exist.*is this a FileCatalog database/)
  t.notOk((await import('node:fs')).existsSync(join(output, 'query.csv')))
})

t.test('a statement timeout fails the stage and leaves query.csv as it was', { skip: usingServer ? false : 'PGlite does not enforce statement_timeout' }, async (t) => {
  const { url, sql } = await freshDatabase(t)
  await makeCatalog(sql, runWith(66500, 'v1', 600000))
  // A view that sleeps stands in for a catalog too slow to answer.
  await sql.unsafe('alter table files rename to files_real')
  await sql.unsafe('create view files as select f.* from files_real f, (select pg_sleep(2)) s')
  const output = t.testdir({ 'query.csv': HEADER })
  const result = await runStageHere('query', ['--db-url', url, '--output', output, '--statement-timeout', '0.2s'])
  t.equal(result.code, 1)
  t.match(result.stderr, /statement timeout.*raise --statement-timeout/)
  t.equal(await readFile(join(output, 'query.csv'), 'utf8'), HEADER)
})

t.test('bad flags exit 2 with the flag named', async (t) => {
  const output = t.testdir()
  for (const [args, pattern] of [
    [['--run-type', '../x'], /--run-type: unknown run type "..\/x"/],
    [['--min-events', 'lots'], /--min-events: cannot parse "lots"/],
    [['--min-events', '-5'], /--min-events/],
    [['--bogus'], /unknown flag --bogus/],
  ] as const) {
    const result = await runStageHere('query', ['--output', output, ...args])
    t.equal(result.code, 2, args.join(' '))
    t.match(result.stderr, pattern)
  }
  await writeFile(join(output, 'afile'), '')
  const onFile = await runStageHere('query', ['--output', join(output, 'afile')])
  t.equal(onFile.code, 2)
  t.match(onFile.stderr, /is a file, not a directory/)
})

t.test('--help prints the usage and exits 0', async (t) => {
  const result = await runStageHere('query', ['--help'])
  t.equal(result.code, 0)
  t.match(result.stdout, /Usage: npx tsx tasks\/query.ts/)
  t.match(result.stdout, /--min-events N/)
})
