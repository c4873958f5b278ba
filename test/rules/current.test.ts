// The `current` rules (runProd.py since March 2026) through the query and reduce stages, beside the seed's on the
// same catalog: the winning tag per run (newest non-skimmed HIST_CALOQA file of the run, segment 9999 included,
// NULL or empty tags never), the fitting-QA files, no twin and no threshold by default, --min-events counted as
// in the seed.
import { join } from 'node:path'
import t, { type Test } from 'tap'
import type postgres from 'postgres'
import { readQueryCsv } from '../../lib/files/query-csv.js'
import { readRunList } from '../../lib/files/run-list.js'
import { CATALOG_SCHEMA, type DatasetRow, type FileRow } from '../demo/catalog.js'
import { insertDatasets, insertFiles } from '../demo/load.js'
import { freshDatabase } from '../helpers/database.js'
import { runStageHere } from '../helpers/run-script.js'

interface File {
  type?: string
  run: number
  tag: string | null
  segment: number
  time: string
  /** Events of a DST_CALOFITTING twin of the same segment; undefined: none. */
  twin?: number
}

async function load(sql: postgres.Sql, list: readonly File[]): Promise<void> {
  for (const statement of CATALOG_SCHEMA) await sql.unsafe(statement)
  const datasets: DatasetRow[] = []
  const files: FileRow[] = []
  let n = 0
  for (const f of list) {
    const type = f.type ?? 'HIST_CALOQA'
    const base = { runnumber: f.run, segment: f.segment, size: 1, dataset: 'run3auau', firstevent: 0, lastevent: 0, tag: f.tag!, status: 1 }
    const filename = `${type}_run3auau_${f.tag}-${String(f.run).padStart(8, '0')}-${String(f.segment).padStart(5, '0')}-${n++}.root`
    datasets.push({ ...base, filename, dsttype: type, events: 0 })
    files.push({ lfn: filename, full_host_name: 'lustre', full_file_path: `/sphenix/lustre01/${filename}`, time: f.time, size: 1, md5: 'x' })
    if (f.twin !== undefined) {
      datasets.push({ ...base, filename: `DST_CALOFITTING-${filename}`, dsttype: 'DST_CALOFITTING', events: f.twin })
    }
  }
  await insertDatasets(sql, datasets)
  await insertFiles(sql, files)
  await sql`analyze`
}

const day = (d: string, time = '00:00:00') => `2025-${d} ${time}`
const CATALOG: File[] = [
  // v1 of 66600 was reprocessed late: its files there are the newest, but v1's earliest file (in 66601) is older
  // than v2's: the seed keeps v2 in both runs, today's rules v1 in 66600.
  { run: 66600, tag: 'v1', segment: 0, time: day('12-01'), twin: 600000 },
  { run: 66600, tag: 'v2', segment: 0, time: day('09-01'), twin: 600000 },
  { run: 66601, tag: 'v1', segment: 0, time: day('07-01'), twin: 600000 },
  { run: 66601, tag: 'v2', segment: 0, time: day('09-02'), twin: 600000 },
  // a's newest file is its aggregated segment 9999: it counts for the choice, and is never listed.
  { run: 66602, tag: 'a', segment: 0, time: day('08-01'), twin: 600000 },
  { run: 66602, tag: 'a', segment: 9999, time: day('08-05') },
  { run: 66602, tag: 'b', segment: 0, time: day('08-02'), twin: 600000 },
  // A skimmed file is no QA file: d wins though c has the newest (skimmed) file.
  { run: 66603, tag: 'c', segment: 0, time: day('08-01'), twin: 600000 },
  { type: 'HIST_CALOQASKIMMED', run: 66603, tag: 'c', segment: 1, time: day('08-09'), twin: 600000 },
  { run: 66603, tag: 'd', segment: 0, time: day('08-02'), twin: 600000 },
  // NULL and empty tags never win.
  { run: 66604, tag: 'e', segment: 0, time: day('08-01'), twin: 600000 },
  { run: 66604, tag: '', segment: 0, time: day('08-09'), twin: 600000 },
  { run: 66604, tag: null, segment: 0, time: day('08-10'), twin: 600000 },
  // A tie goes to the tag that sorts last.
  { run: 66605, tag: 'f', segment: 0, time: day('08-01'), twin: 600000 },
  { run: 66605, tag: 'g', segment: 0, time: day('08-01'), twin: 600000 },
  // Fitting-QA files (one without a QA twin), a QA file without a DST twin; 100000 events counted, the DST twin of
  // the fitting-QA-only segment not counted (no QA file there).
  { run: 66606, tag: 'h', segment: 0, time: day('08-01'), twin: 100000 },
  { type: 'HIST_CALOFITTINGQA', run: 66606, tag: 'h', segment: 0, time: day('08-01') },
  { type: 'HIST_CALOFITTINGQA', run: 66606, tag: 'h', segment: 1, time: day('08-01'), twin: 500000 },
  { run: 66606, tag: 'h', segment: 2, time: day('08-01') },
  { run: 66607, tag: 'i', segment: 0, time: day('08-01'), twin: 300000 },
]

async function stages(t: Test, url: string, args: string[]) {
  const output = t.testdir()
  const query = await runStageHere('query', ['--db-url', url, '--output', output, ...args])
  t.equal(query.code, 0, query.stderr)
  // reduce takes the query's rule set and run type (another run type's directory is refused: lib/files/run-type-mark.ts).
  const kept = (a: string, i: number) => ['--rules', '--run-type'].includes(a) || ['--rules', '--run-type'].includes(args[i - 1]!)
  const reduce = await runStageHere('reduce', ['--output', output, ...args.filter(kept)])
  t.equal(reduce.code, 0, reduce.stderr)
  const runType = args.includes('--run-type') ? args[args.indexOf('--run-type') + 1]! : 'run3auau'
  const runs = await readRunList(join(output, `${runType}.csv`))
  return { query, rows: await readQueryCsv(join(output, 'query.csv')), runs: Object.fromEntries(runs.map((r) => [r.runnumber, r.tag])) }
}

t.test('current: the winning tag per run, fitting-QA files, no twin, no threshold', async (t) => {
  const { url, sql } = await freshDatabase(t)
  await load(sql, CATALOG)
  const current = await stages(t, url, ['--rules', 'current', '--verbose'])
  t.same(current.runs, { 66600: 'v1', 66601: 'v2', 66602: 'a', 66603: 'd', 66604: 'e', 66605: 'g', 66606: 'h', 66607: 'i' })
  t.notOk(current.rows.some((r) => r.segment === 9999), 'segment 9999 is never listed')
  t.notOk(current.rows.some((r) => r.full_file_path.includes('SKIMMED')), 'skimmed files are never listed')
  const h = current.rows.filter((r) => r.runnumber === 66606).map((r) => [r.segment, r.events, r.full_file_path.split('/').pop()!.split('_run3auau')[0]])
  t.same(h, [[0, 100000, 'HIST_CALOFITTINGQA'], [0, 100000, 'HIST_CALOQA'], [1, 0, 'HIST_CALOFITTINGQA'], [2, 0, 'HIST_CALOQA']],
    'QA and fitting-QA files, twin or not; events only where a QA file has a DST twin')
  t.match(current.query.stderr, /left out 1 histogram rows of an excluded type/)
  t.match(current.query.stderr, /left out 1 histogram rows of segment 9999/)
  t.match(current.query.stderr, /left out 2 histogram rows with a NULL or empty tag/)

  // The seed on the same catalog: its tag rule keeps v2 in 66600; its threshold drops 66606 and 66607.
  const seed = await stages(t, url, [])
  t.equal(seed.runs[66600], 'v2', 'the seed keeps v2 in 66600: the two tag rules disagree')
  t.notOk(66606 in seed.runs || 66607 in seed.runs, 'the seed\'s threshold drops the runs under 500000')
  t.notOk(seed.rows.some((r) => r.full_file_path.includes('FITTINGQA')), 'the seed lists no fitting-QA file')

  // --min-events under current: counted as in the seed (DST twins of QA segments), strictly greater.
  const threshold = await stages(t, url, ['--rules', 'current', '--min-events', '300000'])
  t.notOk(66606 in threshold.runs, '66606: 100000 counted (not the fitting-QA-only segment\'s 500000)')
  t.notOk(66607 in threshold.runs, '66607: exactly 300000 is not more')
  t.equal(threshold.runs[66600], 'v1', 'the threshold applies to the winning tag')
})

t.test('run types: every stage takes the shared ranges, run3pp and run3oo included', async (t) => {
  const { url, sql } = await freshDatabase(t)
  const edges = [[79145, 'x'], [79146, 'x'], [81668, 'x'], [81669, 'x'], [82374, 'x'], [82703, 'x'], [82704, 'x'], [78954, 'x'], [78955, 'x']] as const
  await load(sql, edges.map(([run, tag]) => ({ run, tag, segment: 0, time: day('08-01'), twin: 600000 })))
  for (const [runType, expected] of [['run3pp', [79146, 81668]], ['run3oo', [82374, 82703]], ['run3auau', [78954]]] as const) {
    for (const rules of ['seed', 'current']) {
      const out = await stages(t, url, ['--rules', rules, '--run-type', runType])
      t.same([...new Set(out.rows.map((r) => r.runnumber))], expected, `${rules} ${runType}: both ends in, the runs beside them out`)
    }
  }
})
