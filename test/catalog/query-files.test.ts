// lib/catalog/query-files.ts and selection.ts. The query under --rules seed must return the seed's selection: the
// reference is the seed's own two statements on one connection (test/helpers/reference-selection.ts: step A's
// temporary table of twinned segments, step B's join on run, tag and segment). Stated precisely:
// - on a catalog without the traps, caloprod's rows are the seed's rows, exactly (as multisets over the seed's
//   columns tag, runnumber, full_file_path, events, time);
// - on a catalog with the traps, caloprod's rows are the seed's rows on the same catalog with the trap rows deleted
//   (HIST_CALOQASKIMMED rows, segment 9999, empty tags: TRAP_ROWS), a file the seed repeats once per DST row of its
//   segment counted as one row with their events summed (a segment with two DST rows, e.g. old- and new-style types).
// The one further difference, a segment with two QA files (whose DST events step A's join counts twice), is
// asserted on its own below. Copies of a file on two hosts are two rows in both (query cannot see the disk; lists
// chooses, see test/lists.test.ts).
import t, { type Test } from 'tap'
import type postgres from 'postgres'
import { catalogTarget } from '../../lib/catalog/connection.js'
import { parse } from 'csv-parse/sync'
import { queryFiles, type SkippedRow } from '../../lib/catalog/query-files.js'
import { snapshotConnection } from '../../lib/catalog/snapshot.js'
import { buildSelection } from '../../lib/catalog/selection.js'
import { formatCsvRecord } from '../../lib/files/csv.js'
import { RUN_TYPES, type RunType } from '../../lib/rules/run-types.js'
import { CATALOG_SCHEMA, type DatasetRow, type FileRow } from '../demo/catalog.js'
import { insertDatasets, insertFiles, loadCatalog } from '../demo/load.js'
import { SEED_RULES } from '../../lib/rules/seed.js'
import { BUILTIN_RULES } from '../../lib/rules/load.js'
import { freshDatabase } from '../helpers/database.js'
import { seedSelection, type SeedRow } from '../helpers/reference-selection.js'

type Row = [number | null, string | null, number | null, string, string, string | null]

/** The trap rows caloprod leaves out under every rule set (README "Rules"), as a predicate on `datasets`. */
const TRAP_ROWS = `coalesce(dsttype like 'HIST\\_CALOQASKIMMED%', false) or coalesce(segment = 9999, false) or coalesce(tag = '', false)`

async function ours(sql: postgres.Sql, runType: RunType, minEvents: number): Promise<Row[]> {
  return (await sql.unsafe(buildSelection(SEED_RULES, runType, minEvents).select).values()) as unknown as Row[]
}

/** Our row over the seed's columns. */
const asSeed = (r: Row) => JSON.stringify([r[1], r[0], r[4], r[3], r[5]])

/** The seed's rows with the repeats of one file (one per DST row of its segment) as one row, events summed. */
function collapse(rows: SeedRow[]): string[] {
  const files = new Map<string, { row: SeedRow; events: bigint }>()
  for (const row of rows) {
    const key = JSON.stringify([row[0], row[1], row[2], row[4]])
    const seen = files.get(key)
    const events = BigInt(row[3] ?? 0)
    if (seen) seen.events += events
    else files.set(key, { row, events })
  }
  return [...files.values()].map(({ row, events }) => JSON.stringify([row[0], row[1], row[2], String(events), row[4]]))
}

/** A copy of the catalog without its trap rows, in the schema `clean`. */
async function cleanCopy(sql: postgres.Sql): Promise<void> {
  await sql.unsafe('create schema clean')
  await sql.unsafe(`create table clean.datasets as select * from public.datasets where not (${TRAP_ROWS})`)
  await sql.unsafe('create table clean.files as select * from public.files')
}

const sortKey = (r: Row) => [r[0], r[1], r[2], r[4]] as const

/** Whether rows come in the query's order: run, tag, segment, path (bytewise, nulls last). */
function ordered(rows: Row[]): boolean {
  const cmp = (a: unknown, b: unknown) => (a === b ? 0 : a === null ? 1 : b === null ? -1 : (a as number | string) < (b as number | string) ? -1 : 1)
  for (let i = 1; i < rows.length; i++) {
    const [a, b] = [sortKey(rows[i - 1]), sortKey(rows[i])]
    const order = cmp(a[0], b[0]) || cmp(a[1], b[1]) || cmp(a[2], b[2]) || cmp(a[3], b[3])
    if (order > 0) return false
  }
  return true
}

/**
 * Compares caloprod's query with the seed's two steps for each (run type, threshold). `traps`: the catalog has
 * trap rows, so the seed runs on its clean copy and its repeats are collapsed; otherwise the rows must be equal as
 * they come. Returns how many rows were compared.
 */
async function compare(t: Test, sql: postgres.Sql, cases: [RunType, number][], traps: boolean): Promise<number> {
  if (traps) await cleanCopy(sql)
  // Fresh tables have no statistics: the planner would take step A's self-join for a nested loop over all rows.
  await sql`analyze`
  let total = 0
  for (const [runType, minEvents] of cases) {
    const mine = await ours(sql, runType, minEvents)
    const seed = await seedSelection(sql, runType, minEvents, traps ? { schema: 'clean' } : {})
    total += mine.length
    t.ok(ordered(mine), `${runType} > ${minEvents}: sorted by run, tag, segment, path`)
    const expected = traps ? collapse(seed) : seed.map((r) => JSON.stringify(r))
    t.same(mine.map(asSeed).sort(), expected.sort(), `${runType} > ${minEvents}: the seed's ${expected.length} rows${traps ? ' (trap rows left out)' : ''}`)
  }
  return total
}

t.test("on generated catalogs without traps, the query returns exactly the seed's rows", async (t) => {
  for (const seed of [20260101, 7]) {
    const { sql } = await freshDatabase(t)
    await loadCatalog(sql, { seed, runs: { run2pp: 4, run2auau: 4, run3auau: 12, run3pp: 3, run3oo: 3 }, segments: [20, 60], noise: 4, traps: false })
    const total = await compare(t, sql, [
      ['run3auau', 500000], ['run3auau', 300000], ['run3auau', 0], ['run2pp', 300000], ['run2auau', 200000], ['run3pp', 100000], ['run3oo', 0],
    ], false)
    t.ok(total > 1000, `seed ${seed}: compared ${total} rows`)
  }
})

t.test("on generated catalogs with the traps, the query returns the seed's rows less the trap rows", async (t) => {
  const { sql } = await freshDatabase(t)
  await loadCatalog(sql, { seed: 11, runs: { run2pp: 3, run2auau: 3, run3auau: 16 }, segments: [20, 60], noise: 2 })
  const [{ skimmed, aggregated }] = await sql`
    select count(*) filter (where dsttype like 'HIST\_CALOQASKIMMED%')::int as skimmed, count(*) filter (where segment = 9999)::int as aggregated from datasets`
  t.ok(skimmed > 0 && aggregated > 0, `the catalog has ${skimmed} skimmed and ${aggregated} segment-9999 rows`)
  const seedAsIs = await seedSelection(sql, 'run3auau', 300000)
  const mine = await ours(sql, 'run3auau', 300000)
  t.not(seedAsIs.length, mine.length, 'on the catalog as it is, the seed lists the trap rows (the comparison below can fail)')
  const total = await compare(t, sql, [['run3auau', 500000], ['run3auau', 300000], ['run2pp', 100000]], true)
  t.ok(total > 500, `compared ${total} rows`)
})

t.test("the fingerprint's trap counts are the traps statement's, under every rule set", async (t) => {
  const { sql } = await freshDatabase(t)
  await loadCatalog(sql, { seed: 11, runs: { run2pp: 3, run2auau: 3, run3auau: 16 }, segments: [20, 60], noise: 2 })
  // Some tags emptied, so every count has something to count.
  await sql`update datasets set tag = case when segment % 7 = 0 then null else '' end where segment % 5 = 0 and dsttype like 'HIST\_CALOQA%'`
  for (const [name, rules] of Object.entries(BUILTIN_RULES)) {
    for (const [runType, minEvents] of [['run3auau', 300000], ['run2pp', undefined]] as [RunType, number | undefined][]) {
      const statements = buildSelection(rules, runType, minEvents)
      const [traps] = await sql.unsafe(statements.traps)
      const [fingerprint] = await sql.unsafe(statements.fingerprint)
      const counts = (row: Record<string, unknown>) => [row.excluded, row.aggregated, row.untagged].map(Number)
      t.same(counts(fingerprint), counts(traps), `${name}, ${runType}`)
      if (runType === 'run3auau') t.ok(counts(traps).every((n) => n > 0), `${name}: ${counts(traps).join(', ')}`)
    }
  }
})

t.test("on the catalog's odd corners and traps, the query returns the seed's rows less the trap rows", async (t) => {
  const { sql } = await freshDatabase(t)
  for (const statement of CATALOG_SCHEMA) await sql.unsafe(statement)
  const datasets: DatasetRow[] = []
  const files: FileRow[] = []
  const pad = (n: number | null, w: number) => String(n ?? 'x').padStart(w, '0')
  let n = 0
  const add = (
    dsttype: string | null, run: number | null, tag: string | null, segment: number | null, events: number | null,
    filed: { hosts?: string[]; time?: string | null } | false = {},
  ) => {
    const filename = `${dsttype}_run3auau_${tag}-${pad(run, 8)}-${pad(segment, 5)}-${n++}.root`
    datasets.push({
      filename, runnumber: run!, segment: segment!, size: 1, dataset: 'run3auau', dsttype: dsttype!, events: events!,
      firstevent: 0, lastevent: 0, tag: tag!, status: 1,
    })
    if (filed) {
      for (const host of filed.hosts ?? ['lustre']) {
        files.push({
          lfn: filename, full_host_name: host, full_file_path: `/sphenix/${host}/${filename}`,
          time: filed.time === undefined ? `2025-07-01 00:00:${pad(n % 60, 2)}.5` : filed.time!, size: 1, md5: 'x',
        })
      }
    }
  }
  // A plain run over the threshold, with a twinless histogram (neither counted nor listed) and a DST without histogram.
  add('HIST_CALOQA', 66500, 'v1', 0, 0); add('DST_CALOFITTING', 66500, 'v1', 0, 400000)
  add('HIST_CALOQA', 66500, 'v1', 1, 0); add('DST_CALOFITTING', 66500, 'v1', 1, 200000)
  add('HIST_CALOQA', 66500, 'v1', 2, 0)
  add('DST_CALOFITTING', 66500, 'v1', 3, 900000)
  // Two DST rows for one segment (old- and new-style types) and a SKIMMED histogram beside the plain one (a trap:
  // the seed lists it and its join counts the segment's 550000 events twice, which would lift 66501 over 599999).
  add('HIST_CALOQA', 66501, 'v1', 0, 0); add('DST_CALOFITTING', 66501, 'v1', 0, 300000); add('DST_CALOFITTING_run2pp', 66501, 'v1', 0, 250000)
  add('HIST_CALOQASKIMMED', 66501, 'v1', 0, 0)
  // Copies on two hosts; a histogram without a files row; a file without a time.
  add('HIST_CALOQA', 66502, 'v2', 0, 0, { hosts: ['lustre', 'gpfs'] }); add('DST_CALOFITTING', 66502, 'v2', 0, 600000)
  add('HIST_CALOQA', 66502, 'v2', 1, 0, false); add('DST_CALOFITTING', 66502, 'v2', 1, 7)
  add('HIST_CALOQA', 66502, 'v2', 2, 0, { time: null }); add('DST_CALOFITTING', 66502, 'v2', 2, 1)
  // Segment 9999 (an aggregated file with a DST twin: the seed lists and counts it) beside a run just under the threshold.
  add('HIST_CALOQA', 66511, 'v1', 0, 0); add('DST_CALOFITTING', 66511, 'v1', 0, 400000)
  add('HIST_CALOQA', 66511, 'v1', 9999, 0); add('DST_CALOFITTING', 66511, 'v1', 9999, 400000)
  // Nulls: a null segment on both types (they never match), null events, a null tag; an empty tag (a trap).
  add('HIST_CALOQA', 66503, 'v1', null, 0); add('DST_CALOFITTING', 66503, 'v1', null, 900000)
  add('HIST_CALOQA', 66503, 'v1', 0, 0); add('DST_CALOFITTING', 66503, 'v1', 0, 300000)
  add('HIST_CALOQA', 66504, 'v1', 0, 0); add('DST_CALOFITTING', 66504, 'v1', 0, null)
  add('HIST_CALOQA', 66504, 'v1', 1, 0); add('DST_CALOFITTING', 66504, 'v1', 1, 600000)
  add('HIST_CALOQA', 66505, 'v1', 0, 0); add('DST_CALOFITTING', 66505, 'v1', 0, null)
  add('HIST_CALOQA', 66506, null, 0, 0); add('DST_CALOFITTING', 66506, null, 0, 900000)
  add('HIST_CALOQA', 66512, '', 0, 0); add('DST_CALOFITTING', 66512, '', 0, 900000)
  // A run whose events sit exactly at the threshold, and one whose only DST segments lack histograms.
  add('HIST_CALOQA', 66507, 'v1', 0, 0); add('DST_CALOFITTING', 66507, 'v1', 0, 500000)
  add('HIST_CALOQA', 66508, 'v1', 0, 0); add('DST_CALOFITTING', 66508, 'v1', 1, 900000)
  // Tags that sort differently bytewise and by locale, on one run.
  add('HIST_CALOQA', 66509, 'b', 0, 0); add('DST_CALOFITTING', 66509, 'b', 0, 600000)
  add('HIST_CALOQA', 66509, 'B', 0, 0); add('DST_CALOFITTING', 66509, 'B', 0, 600000)
  add('HIST_CALOQA', 66509, 'a_1', 0, 0); add('DST_CALOFITTING', 66509, 'a_1', 0, 600000)
  // The edges of every run type's range: one run on each side of both ends.
  for (const { first, last } of Object.values(RUN_TYPES)) {
    for (const run of [first - 1, first, last, last + 1]) {
      add('HIST_CALOQA', run, 'v1', 0, 0); add('DST_CALOFITTING', run, 'v1', 0, 600000)
    }
  }
  await insertDatasets(sql, datasets)
  await insertFiles(sql, files)
  const cases: [RunType, number][] = [['run3auau', 500000], ['run3auau', 0], ['run3auau', 599999], ...Object.keys(RUN_TYPES).map((r): [RunType, number] => [r, 500000])]
  const total = await compare(t, sql, cases, true)
  t.ok(total > 20, `compared ${total} rows`)
  // What the seed does on the catalog as it is: the traps, each of which caloprod leaves out.
  const asIs = await seedSelection(sql, 'run3auau', 599999)
  t.ok(asIs.some((r) => r[2].includes('SKIMMED')), 'the seed lists the skimmed file (double-counting its segment)')
  t.ok(asIs.some((r) => r[2].includes('-09999-')), 'the seed lists the segment-9999 file')
  t.notOk((await ours(sql, 'run3auau', 599999)).some((r) => r[0] === 66501 || r[0] === 66511), 'caloprod counts 66501 and 66511 once: under 599999')
  t.notOk(asIs.some((r) => r[2].includes('66500-00002')), 'the twinless histogram is not in the seed\'s answer')
  const bounds = (await ours(sql, 'run3oo', 500000)).map((r) => r[0])
  t.same([...new Set(bounds)], [RUN_TYPES.run3oo.first, RUN_TYPES.run3oo.last], 'run3oo: both ends in, the runs beside them out')
})

t.test('a segment with two QA files: the seed counts its DST events once per file, caloprod once', async (t) => {
  const { sql } = await freshDatabase(t)
  for (const statement of CATALOG_SCHEMA) await sql.unsafe(statement)
  const row = (filename: string, dsttype: string, dataset: string, events: number): DatasetRow => ({
    filename, runnumber: 66510, segment: 0, size: 1, dataset, dsttype, events, firstevent: 0, lastevent: 0, tag: 'v1', status: 1,
  })
  await insertDatasets(sql, [
    row('HIST_CALOQA_a-00066510-00000.root', 'HIST_CALOQA', 'run3auau', 0),
    row('HIST_CALOQA_run3auau_a-00066510-00000.root', 'HIST_CALOQA_run3auau', 'run3auau', 0),
    row('DST_CALOFITTING_a-00066510-00000.root', 'DST_CALOFITTING', 'run3auau', 300000),
  ])
  await insertFiles(sql, ['HIST_CALOQA_a-00066510-00000.root', 'HIST_CALOQA_run3auau_a-00066510-00000.root'].map((lfn) => ({
    lfn, full_host_name: 'lustre', full_file_path: `/sphenix/lustre01/${lfn}`, time: '2025-07-01 00:00:00', size: 1, md5: 'x',
  })))
  t.equal((await seedSelection(sql, 'run3auau', 500000)).length, 4, 'the seed: 600000 events, each file twice')
  t.same(await ours(sql, 'run3auau', 500000), [], 'caloprod: 300000 events, not over 500000')
  t.equal((await ours(sql, 'run3auau', 200000)).length, 2, 'caloprod over 200000: each file once')
})

t.test('the rows written are those COPY writes passed through the CSV reader, byte for byte; unusable rows skipped with why', async (t) => {
  const { url, sql } = await freshDatabase(t)
  for (const statement of CATALOG_SCHEMA) await sql.unsafe(statement)
  const rows: [number, string, number, string, string | null][] = [
    [66500, 'v1', 0, '/sphenix/lustre01/a.root', '2025-07-01 12:34:56.000123'],
    [66500, 'v1', 1, '/sphenix/odd dir/a,b "quoted" name.root', '2025-07-01 12:34:57'],
    [66500, 'v2', 2, '/sphenix/café/日本語.root', '2025-07-01 12:34:58'],
    [66501, 'v1', 0, '/sphenix/lustre01/b.root', '2025-07-01 12:34:59'],
    [66502, '../evil', 0, '/sphenix/c.root', '2025-07-01 00:00:00'],
    [66502, 'v1', 1, 'relative/c.root', '2025-07-01 00:00:00'],
    [66502, 'v1', 2, '/a\nb.root', '2025-07-01 00:00:00'],
    [66502, 'v1', 3, '/a\r.root', '2025-07-01 00:00:00'],
    [66502, 'v1', 4, '/sphenix/d.root', null],
  ]
  const datasets: DatasetRow[] = []
  const files: FileRow[] = []
  for (const [run, tag, segment, path, time] of rows) {
    const base = { runnumber: run, segment, size: 1, dataset: 'run3auau', firstevent: 0, lastevent: 0, tag, status: 1 }
    datasets.push({ ...base, filename: `H-${run}-${segment}-${tag}`, dsttype: 'HIST_CALOQA', events: 0 })
    datasets.push({ ...base, filename: `D-${run}-${segment}-${tag}`, dsttype: 'DST_CALOFITTING', events: 1000 })
    files.push({ lfn: `H-${run}-${segment}-${tag}`, full_host_name: 'lustre', full_file_path: path, time: time ?? '2025-07-01', size: 1, md5: 'x' })
  }
  await insertDatasets(sql, datasets)
  await insertFiles(sql, files)
  await sql`update files set time = null where lfn = 'H-66502-4-v1'`
  const options = { runType: 'run3auau' as const, minEvents: undefined, rules: SEED_RULES }
  // What the stage wrote before: the server's CSV (COPY), read record by record and written again where quoted.
  const copied = await sql.unsafe(`copy (${buildSelection(SEED_RULES, 'run3auau', undefined).select}) to stdout with (format csv)`).readable()
  const chunks: Buffer[] = []
  for await (const chunk of copied) chunks.push(chunk as Buffer)
  const usable = ([, tag, , , path, time]: string[]) => !tag.includes('..') && path.startsWith('/') && !/[\r\n]/.test(path) && time !== ''
  const expected = (parse(Buffer.concat(chunks)) as string[][]).filter(usable).map((f) => formatCsvRecord(f)).join('')

  const catalog = snapshotConnection(catalogTarget(url, {}))
  t.teardown(() => catalog.close())
  const out: Buffer[] = []
  const skipped: SkippedRow[] = []
  const select = buildSelection(options.rules, options.runType, options.minEvents).select
  const result = await queryFiles(catalog.sql, select, (csv, bad) => {
    out.push(Buffer.from(csv))
    skipped.push(...bad)
  }, { cancel: () => catalog.cancel() })
  t.equal(Buffer.concat(out).toString('utf8'), expected)
  t.match(expected, /"\/sphenix\/odd dir\/a,b ""quoted"" name.root"/, 'a path with a comma and quotes is quoted as csv-stringify quotes it')
  t.same([result.files, result.runs, result.skipped], [4, 2, 5])
  t.match(skipped.map((s) => [s.row.runnumber, s.row.segment, s.problem]), [
    [66502, 0, /tag "..\/evil"/], [66502, 1, /not absolute/], [66502, 2, /line break/], [66502, 3, /line break/], [66502, 4, /files.time is empty/],
  ])
})

t.test('a failure while writing cancels the query at once and leaves the connection usable; the error is the writer\'s', async (t) => {
  const { url, sql } = await freshDatabase(t)
  await loadCatalog(sql, { runs: { run2pp: 0, run2auau: 0, run3auau: 20 }, segments: [80, 90], noise: 0 })
  const connection = snapshotConnection(catalogTarget(url, {}))
  t.teardown(() => connection.close())
  const catalog = connection.sql
  // The process id its cancel names (the stage's connections learn it when their snapshot begins).
  await connection.backendPid()
  const started = Date.now()
  let chunks = 0
  let cancels = 0
  const select = buildSelection(SEED_RULES, 'run3auau', 0).select
  const attempt = queryFiles(catalog, select, () => {
    if (++chunks === 1) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
  }, { cancel: () => (cancels++, connection.cancel()) })
  await t.rejects(attempt, { code: 'ENOSPC' })
  t.equal(cancels, 1, 'the server was asked to stop once')
  t.ok(Date.now() - started < 10000, 'it did not wait for the rest of the answer')
  // 10 s, a safety net a busy machine does not reach; unref'd, so it holds nothing up once answered.
  const next = Promise.race([catalog`select 1 as x`, new Promise((resolve) => setTimeout(() => resolve('stuck'), 10000).unref())])
  t.same(await next, [{ x: 1 }], 'the connection answers the next statement')
})
