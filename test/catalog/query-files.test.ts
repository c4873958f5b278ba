// lib/catalog/query-files.ts. The selection query was rewritten for speed (one scan of datasets instead of two
// and a semi-join): it must return exactly the rows of the seed's query as caloprod first ran it, on generated
// catalogs and on the catalog's odd corners (nulls, SKIMMED types, copies on two hosts, several DST rows per
// segment). Its answer comes as COPY's CSV, which SelectionFilter checks and passes through.
import t, { type Test } from 'tap'
import type postgres from 'postgres'
import { catalogTarget, connectCatalog } from '../../lib/catalog/connection.js'
import { queryFiles, selectionSql, SelectionFilter, type SkippedRow } from '../../lib/catalog/query-files.js'
import { formatCsvRecord } from '../../lib/files/csv-lines.js'
import type { RunType } from '../../lib/config/run-types.js'
import { CATALOG_SCHEMA, type DatasetRow, type FileRow } from '../../lib/demo/catalog.js'
import { insertDatasets, insertFiles, loadCatalog } from '../../lib/demo/load.js'
import { freshDatabase } from '../helpers/database.js'
import { referenceSelectionSql } from '../helpers/reference-selection.js'

type Row = [number | null, string | null, number | null, string, string, string | null]

/** The seed's selection as caloprod 0.1 ran it (test/helpers/reference-selection.ts). */
async function seedQuery(sql: postgres.Sql, runType: RunType, minEvents: number): Promise<Row[]> {
  return (await sql.unsafe(referenceSelectionSql(runType, minEvents)).values()) as unknown as Row[]
}

async function newQuery(sql: postgres.Sql, runType: RunType, minEvents: number): Promise<Row[]> {
  return (await sql.unsafe(selectionSql(runType, minEvents)).values()) as unknown as Row[]
}

const key = (r: Row) => JSON.stringify(r)
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

async function compare(t: Test, sql: postgres.Sql, cases: [RunType, number][]) {
  let total = 0
  for (const [runType, minEvents] of cases) {
    const [seed, ours] = [await seedQuery(sql, runType, minEvents), await newQuery(sql, runType, minEvents)]
    total += seed.length
    t.ok(ordered(ours), `${runType} > ${minEvents}: sorted by run, tag, segment, path`)
    // Rows equal in every sort key may come in either order; as sets with counts they must be the same.
    t.same(ours.map(key).sort(), seed.map(key).sort(), `${runType} > ${minEvents}: the same ${seed.length} rows`)
  }
  return total
}

t.test('on generated catalogs, the new query returns the seed query\'s rows', async (t) => {
  for (const seed of [20260101, 7]) {
    const { sql } = await freshDatabase(t)
    await loadCatalog(sql, { seed, runs: { run2pp: 4, run2auau: 4, run3auau: 12 }, segments: [20, 60], noise: 4 })
    const total = await compare(t, sql, [
      ['run3auau', 500000], ['run3auau', 300000], ['run3auau', 0], ['run2pp', 300000], ['run2auau', 200000],
    ])
    t.ok(total > 1000, `seed ${seed}: compared ${total} rows`)
  }
})

t.test("on the catalog's odd corners, the new query returns the seed query's rows", async (t) => {
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
  // A plain run over the threshold, with a twinless histogram and a DST without histogram.
  add('HIST_CALOQA', 66500, 'v1', 0, 0); add('DST_CALOFITTING', 66500, 'v1', 0, 400000)
  add('HIST_CALOQA', 66500, 'v1', 1, 0); add('DST_CALOFITTING', 66500, 'v1', 1, 200000)
  add('HIST_CALOQA', 66500, 'v1', 2, 0)
  add('DST_CALOFITTING', 66500, 'v1', 3, 900000)
  // Two DST rows for one segment (old- and new-style types) and a SKIMMED histogram beside the plain one.
  add('HIST_CALOQA', 66501, 'v1', 0, 0); add('DST_CALOFITTING', 66501, 'v1', 0, 300000); add('DST_CALOFITTING_run2pp', 66501, 'v1', 0, 250000)
  add('HIST_CALOQASKIMMED', 66501, 'v1', 0, 0)
  // Copies on two hosts; a histogram without a files row; a file without a time.
  add('HIST_CALOQA', 66502, 'v2', 0, 0, { hosts: ['lustre', 'gpfs'] }); add('DST_CALOFITTING', 66502, 'v2', 0, 600000)
  add('HIST_CALOQA', 66502, 'v2', 1, 0, false); add('DST_CALOFITTING', 66502, 'v2', 1, 7)
  add('HIST_CALOQA', 66502, 'v2', 2, 0, { time: null }); add('DST_CALOFITTING', 66502, 'v2', 2, 1)
  // Nulls: a null segment on both types (they never match), null events, a null tag.
  add('HIST_CALOQA', 66503, 'v1', null, 0); add('DST_CALOFITTING', 66503, 'v1', null, 900000)
  add('HIST_CALOQA', 66503, 'v1', 0, 0); add('DST_CALOFITTING', 66503, 'v1', 0, 300000)
  add('HIST_CALOQA', 66504, 'v1', 0, 0); add('DST_CALOFITTING', 66504, 'v1', 0, null)
  add('HIST_CALOQA', 66504, 'v1', 1, 0); add('DST_CALOFITTING', 66504, 'v1', 1, 600000)
  add('HIST_CALOQA', 66505, 'v1', 0, 0); add('DST_CALOFITTING', 66505, 'v1', 0, null)
  add('HIST_CALOQA', 66506, null, 0, 0); add('DST_CALOFITTING', 66506, null, 0, 900000)
  // A run whose events sit exactly at the threshold, and one whose only DST segments lack histograms.
  add('HIST_CALOQA', 66507, 'v1', 0, 0); add('DST_CALOFITTING', 66507, 'v1', 0, 500000)
  add('HIST_CALOQA', 66508, 'v1', 0, 0); add('DST_CALOFITTING', 66508, 'v1', 1, 900000)
  // Tags that sort differently bytewise and by locale, on one run; a run at each end of run2pp's range.
  add('HIST_CALOQA', 66509, 'b', 0, 0); add('DST_CALOFITTING', 66509, 'b', 0, 600000)
  add('HIST_CALOQA', 66509, 'B', 0, 0); add('DST_CALOFITTING', 66509, 'B', 0, 600000)
  add('HIST_CALOQA', 66509, 'a_1', 0, 0); add('DST_CALOFITTING', 66509, 'a_1', 0, 600000)
  add('HIST_CALOQA', 47286, 'v1', 0, 0); add('DST_CALOFITTING', 47286, 'v1', 0, 600000)
  add('HIST_CALOQA', 53881, 'v1', 0, 0); add('DST_CALOFITTING', 53881, 'v1', 0, 600000)
  // A segment with two histograms of the same type in two datasets.
  add('HIST_CALOQA', 66510, 'v1', 0, 0); add('HIST_CALOQA', 66510, 'v1', 0, 0); add('DST_CALOFITTING', 66510, 'v1', 0, 600000)
  await insertDatasets(sql, datasets)
  await insertFiles(sql, files)
  const total = await compare(t, sql, [['run3auau', 500000], ['run3auau', 0], ['run3auau', 599999], ['run2pp', 500000]])
  t.ok(total > 20, `compared ${total} rows`)
})

t.test('SelectionFilter passes usable rows through byte for byte, however the answer is cut into chunks', async (t) => {
  const good: string[][] = [
    ['66500', 'v1', '0', '1000', '/sphenix/lustre01/a.root', '2025-07-01 12:34:56.000123'],
    ['66500', 'v1', '1', '0', '/sphenix/odd dir/a,b "quoted" name.root', '2025-07-01 12:34:57'],
    ['66500', 'v2', '', '7', '/sphenix/café/日本語.root', '2025-07-01 12:34:58'],
    ['66501', 'v1', '0', '5', '/sphenix/lustre01/b.root', '2025-07-01 12:34:59'],
  ]
  const bad: [string[], RegExp][] = [
    [['66502', '../evil', '0', '1', '/sphenix/c.root', '2025-07-01 00:00:00'], /tag "..\/evil"/],
    [['66502', 'v1', '1', '1', 'relative/c.root', '2025-07-01 00:00:00'], /not absolute/],
    [['66502', 'v1', '2', '1', '/a\nb.root', '2025-07-01 00:00:00'], /line break/],
    [['66502', 'v1', '3', '1', '/a\r.root', '2025-07-01 00:00:00'], /line break/],
    [['66502', 'v1', '4', '1', '/sphenix/d.root', ''], /files.time is empty/],
  ]
  // COPY's CSV: a field is quoted when it holds a comma, a quote or a line break.
  const copyLine = (fields: string[]) => fields.map((f) => (/[",\n\r]/.test(f) ? `"${f.replace(/"/g, '""')}"` : f)).join(',') + '\n'
  const answer = Buffer.from([good[0], bad[0][0], good[1], bad[1][0], bad[2][0], good[2], bad[3][0], bad[4][0], good[3]].map(copyLine).join(''))
  const expected = good.map((f) => formatCsvRecord(f)).join('')
  for (const size of [1, 2, 3, 7, 16, 64, answer.length]) {
    const filter = new SelectionFilter()
    const skipped: SkippedRow[] = []
    const out: Buffer[] = []
    for (let i = 0; i < answer.length; i += size) out.push(...filter.push(answer.subarray(i, i + size), skipped))
    filter.end()
    t.equal(Buffer.concat(out).toString('utf8'), expected, `chunks of ${size} bytes: the usable rows, unchanged`)
    t.same([filter.files, filter.runs, filter.skipped], [4, 2, 5], `chunks of ${size} bytes: counts`)
    bad.forEach(([fields, problem], i) => {
      t.match(skipped[i]?.problem, problem, `chunks of ${size} bytes: ${problem}`)
      t.equal(skipped[i]?.row.runnumber, Number(fields[0]))
    })
  }
  t.throws(() => {
    const filter = new SelectionFilter()
    filter.push(Buffer.from('66500,v1,0,1,/a.root,2025-07-01 00:00:00\n66500,v1'), [])
    filter.end()
  }, /ended in the middle of a row/)
})

t.test('a failure while writing cancels the query at once and leaves the connection usable; the error is the writer\'s', async (t) => {
  const { url, sql } = await freshDatabase(t)
  await loadCatalog(sql, { runs: { run2pp: 0, run2auau: 0, run3auau: 20 }, segments: [80, 90], noise: 0 })
  const catalog = connectCatalog(catalogTarget(url, {}))
  t.teardown(() => catalog.end({ timeout: 1 }))
  const started = Date.now()
  let chunks = 0
  const attempt = queryFiles(catalog, { runType: 'run3auau', minEvents: 0, statementTimeout: 60 }, async () => {
    if (++chunks === 1) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
  })
  await t.rejects(attempt, { code: 'ENOSPC' })
  t.ok(Date.now() - started < 10000, 'it did not wait for the rest of the answer')
  const next = Promise.race([catalog`select 1 as x`, new Promise((resolve) => setTimeout(() => resolve('stuck'), 5000))])
  t.same(await next, [{ x: 1 }], 'the connection answers the next statement')
})
