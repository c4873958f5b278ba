import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import t, { type Test } from 'tap'
import { formatCsv } from '../lib/files/csv.js'
import { QUERY_TABLE, type QueryRow } from '../lib/files/query-csv.js'
import { findMissing, planLists } from '../lib/lists.js'
import { runStageHere } from './helpers/run-script.js'

/** A catalogued file: on disk with content, empty, or not there. */
interface FileSpec {
  run: number
  tag: string
  segment: number
  events: number
  name?: string
  disk?: 'ok' | 'empty' | 'absent'
}

function setup(t: Test, files: FileSpec[], processRuns: [number, string][]) {
  const root = t.testdir()
  const output = join(root, 'out')
  const store = join(root, 'lustre dir') // paths with spaces
  mkdirSync(output)
  const rows: QueryRow[] = files.map((f) => {
    const path = join(store, f.name ?? `HIST_CALOQA_run3auau_${f.tag}-${String(f.run).padStart(8, '0')}-${String(f.segment).padStart(5, '0')}.root`)
    if (f.disk !== 'absent') {
      mkdirSync(dirname(path), { recursive: true })
      writeFileSync(path, f.disk === 'empty' ? '' : 'root file')
    }
    return { runnumber: f.run, tag: f.tag, segment: f.segment, events: f.events, full_file_path: path, time: '2025-07-01 12:00:00' }
  })
  writeFileSync(join(output, 'reduce.csv'), formatCsv(QUERY_TABLE, rows))
  writeFileSync(join(output, 'run3auau-process.csv'), `runnumber,tag\n${processRuns.map(([r, tag]) => `${r},${tag}\n`).join('')}`)
  return { root, output, store, path: (name: string) => join(store, name) }
}

const lists = (output: string, args: string[] = []) => runStageHere('lists', ['--output', output, ...args])
const read = (path: string) => readFileSync(path, 'utf8')
const hist = (run: number, tag: string, segment: number) => `HIST_CALOQA_run3auau_${tag}-${String(run).padStart(8, '0')}-${String(segment).padStart(5, '0')}.root`

t.test('missing and empty files go to missing.csv; lists hold the rest, sorted; the threshold is re-applied', async (t) => {
  const files: FileSpec[] = [
    // 66500: 3 segments of 300k; one missing, one empty: 300k left, dropped.
    { run: 66500, tag: 'v8', segment: 0, events: 300000 },
    { run: 66500, tag: 'v8', segment: 1, events: 300000, disk: 'absent' },
    { run: 66500, tag: 'v8', segment: 2, events: 300000, disk: 'empty' },
    // 66501: 600k, one segment of 100k missing: exactly 500000 left, dropped (more than the threshold is needed).
    { run: 66501, tag: 'v8', segment: 0, events: 250000 },
    { run: 66501, tag: 'v8', segment: 1, events: 250000 },
    { run: 66501, tag: 'v8', segment: 2, events: 100000, disk: 'absent' },
    // 66502: 500001 left after a missing file: kept.
    { run: 66502, tag: 'v9', segment: 2, events: 250001 },
    { run: 66502, tag: 'v9', segment: 0, events: 250000 },
    { run: 66502, tag: 'v9', segment: 1, events: 100000, disk: 'absent' },
    // 66503: not to process: its files are not looked at.
    { run: 66503, tag: 'v8', segment: 0, events: 900000, disk: 'absent' },
  ]
  const { output, path } = setup(t, files, [[66500, 'v8'], [66501, 'v8'], [66502, 'v9']])
  const result = await lists(output)
  t.equal(result.code, 0, result.stderr)
  t.equal(read(join(output, 'run3auau-missing.csv')), [
    'full_file_path',
    path(hist(66500, 'v8', 1)),
    path(hist(66500, 'v8', 2)),
    path(hist(66501, 'v8', 2)),
    path(hist(66502, 'v9', 1)),
  ].join('\n') + '\n')
  t.same(readdirSync(join(output, 'datasets')), ['66502_v9.list'])
  t.equal(read(join(output, 'datasets', '66502_v9.list')), `${path(hist(66502, 'v9', 0))}\n${path(hist(66502, 'v9', 2))}\n`)
  t.match(result.stdout, /^lists: 1 list \(1 written\), 2 runs dropped at --min-events 500000 after missing files \(see log\); 4 files missing; .*run3auau-missing.csv updated\n$/)
  const log = read(join(output, 'log', readdirSync(join(output, 'log'))[0]))
  t.match(log, /run 66500 \(tag v8\): no list: its 1 file on disk holds 300000 events, not more than --min-events 500000 \(2 of its files are missing\)/)
  t.match(log, /run 66501 \(tag v8\): no list: its 2 files on disk hold 500000 events/)
  t.match(log, /4 of 9 catalogued paths are missing files: 3 absent, 1 empty\n/)

  const lower = await lists(output, ['--min-events', '299999'])
  t.equal(lower.code, 0, lower.stderr)
  t.same(readdirSync(join(output, 'datasets')).sort(), ['66500_v8.list', '66501_v8.list', '66502_v9.list'])
})

t.test('a segment with copies on two hosts counts once, and a copy still on disk keeps it', async (t) => {
  const { output, path } = setup(t, [
    { run: 66600, tag: 'v1', segment: 0, events: 400000, name: 'gpfs/a.root' },
    { run: 66600, tag: 'v1', segment: 0, events: 400000, name: 'lustre/a.root', disk: 'absent' },
    { run: 66600, tag: 'v1', segment: 1, events: 200000, name: 'lustre/b.root' },
    { run: 66601, tag: 'v1', segment: 0, events: 300000, name: 'lustre/c.root' },
    { run: 66601, tag: 'v1', segment: 0, events: 300000, name: 'gpfs/c.root' },
  ], [[66600, 'v1'], [66601, 'v1']])
  const result = await lists(output)
  t.equal(result.code, 0, result.stderr)
  t.equal(read(join(output, 'datasets', '66600_v1.list')), `${path('gpfs/a.root')}\n${path('lustre/b.root')}\n`)
  t.same(readdirSync(join(output, 'datasets')), ['66600_v1.list'], '66601 has 300000 events, not 600000')
})

t.test('lists no longer wanted are removed, other files in datasets/ are left alone; unchanged lists keep their mtime', async (t) => {
  const { output } = setup(t, [
    { run: 66700, tag: 'v2', segment: 0, events: 900000 },
    { run: 66701, tag: 'v2', segment: 0, events: 900000 },
  ], [[66700, 'v2'], [66701, 'v2']])
  const datasets = join(output, 'datasets')
  mkdirSync(datasets)
  const keep = ['notes.txt', '066700_v2.list', '.66701_v1.list', '66700_v2.list.bak', '66702_a b.list']
  for (const name of [...keep, '66700_v1.list', '66699_v2.list']) writeFileSync(join(datasets, name), 'x\n')
  const first = await lists(output)
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, /2 lists \(2 written, 2 stale removed\)/)
  t.same(readdirSync(datasets).sort(), [...keep, '66700_v2.list', '66701_v2.list'].sort())

  const old = new Date('2020-01-01T00:00:00Z')
  const files = ['66700_v2.list', '66701_v2.list'].map((n) => join(datasets, n)).concat(join(output, 'run3auau-missing.csv'))
  for (const file of files) utimesSync(file, old, old)
  const again = await lists(output)
  t.match(again.stdout, /2 lists \(0 written\); 0 files missing; .* unchanged\n$/)
  for (const file of files) t.equal(statSync(file).mtimeMs, old.getTime(), `${file} untouched`)

  // Run 66701 was calibrated meanwhile: it leaves the process list, and its list goes.
  writeFileSync(join(output, 'run3auau-process.csv'), 'runnumber,tag\n66700,v2\n')
  const third = await lists(output)
  t.match(third.stdout, /1 list \(0 written, 1 stale removed\)/)
  t.notOk(readdirSync(datasets).includes('66701_v2.list'))
  t.equal(statSync(join(datasets, '66700_v2.list')).mtimeMs, old.getTime())

  writeFileSync(join(output, 'run3auau-process.csv'), 'runnumber,tag\n')
  const none = await lists(output)
  t.match(none.stdout, /^lists: 0 lists \(0 written, 1 stale removed\); 0 files missing/)
  t.same(readdirSync(datasets).sort(), [...keep].sort())
})

t.test('inputs out of step or malformed: exit 1 naming the file and line, nothing written', async (t) => {
  const { output } = setup(t, [
    { run: 66800, tag: 'v1', segment: 0, events: 900000 },
    { run: 66801, tag: 'v1', segment: 0, events: 900000 },
  ], [[66800, 'v1']])
  const processCsv = join(output, 'run3auau-process.csv')
  const cases: [string, RegExp][] = [
    ['runnumber,tag\n66800,v1\n66800,v1\n', /run3auau-process.csv:3: run 66800 appears twice; each run must have one row\n$/],
    ['runnumber,tag\n66800,v1\nabc,v1\n', /run3auau-process.csv:3: runnumber "abc" is not a whole number\n$/],
    ['runnumber,tag\n66800,v1\n66801,v0\n', /run3auau-process.csv:3: run 66801 has tag v0 here but v1 in .*reduce.csv:3; the inputs are out of step: re-run the reduce and check stages\n$/],
    ['runnumber,tag\n66802,v1\n', /run3auau-process.csv:2: run 66802 \(tag v1\) has no files in .*reduce.csv; the inputs are out of step/],
    ['runnumber\n66800\n', /run3auau-process.csv:1: header is "runnumber", expected at least the columns runnumber,tag/],
  ]
  for (const [content, message] of cases) {
    writeFileSync(processCsv, content)
    const result = await lists(output)
    t.equal(result.code, 1, content)
    t.match(result.stderr, message)
    t.notOk(readdirSync(output).includes('datasets') || readdirSync(output).includes('run3auau-missing.csv'), 'nothing written')
  }
})

t.test('findMissing: many files with bounded concurrency; a file it cannot judge is an error, not a missing file', async (t) => {
  const root = t.testdir()
  const paths: string[] = []
  for (let i = 0; i < 300; i++) {
    const path = join(root, `f${i}.root`)
    if (i % 7) writeFileSync(path, i % 11 ? 'data' : '')
    paths.push(path)
  }
  mkdirSync(join(root, 'dir.root'))
  paths.push(join(root, 'dir.root'), join(root, 'f1.root', 'under-a-file.root'))
  const missing = await findMissing(paths, 8)
  t.equal(missing.get(join(root, 'f0.root')), 'absent')
  t.equal(missing.get(join(root, 'f11.root')), 'empty')
  t.equal(missing.get(join(root, 'dir.root')), 'not a file')
  t.equal(missing.get(join(root, 'f1.root', 'under-a-file.root')), 'absent')
  t.notOk(missing.has(join(root, 'f1.root')))
  t.equal(missing.size, paths.filter((_, i) => i < 300 && (i % 7 === 0 || i % 11 === 0)).length + 2)
  symlinkSync('loop', join(root, 'loop'))
  await t.rejects(findMissing([join(root, 'loop')]), /cannot check .*loop: ELOOP; the file system may be unavailable: re-run the lists stage/)
})

t.test('planLists as data: sorted, each path once', async (t) => {
  const plan = planLists(
    [{ runnumber: 2, tag: 'b', files: [{ segment: 0, events: 10, path: '/z' }, { segment: 1, events: 10, path: '/a' }, { segment: 1, events: 10, path: '/a' }] },
      { runnumber: 1, tag: 'a', files: [{ segment: 0, events: 10, path: '/m' }] }],
    new Map([['/m', 'absent' as const]]),
    5,
  )
  t.same(plan.lists, [{ runnumber: 2, tag: 'b', paths: ['/a', '/z'] }])
  t.same(plan.dropped, [{ runnumber: 1, tag: 'a', events: 0, files: 0, missing: 1 }])
  t.same(plan.missing, ['/m'])
})

t.test('a process list with a column a person added (note) is read as condor, submit and status read it', async (t) => {
  const { output, path } = setup(t, [{ run: 66502, tag: 'v9', segment: 0, events: 900000 }], [])
  writeFileSync(join(output, 'run3auau-process.csv'), 'runnumber,tag,note\n66502,v9,"rerun, asked by Joe"\n')
  const result = await lists(output)
  t.equal(result.code, 0, result.stderr)
  t.equal(read(join(output, 'datasets', '66502_v9.list')), `${path(hist(66502, 'v9', 0))}\n`)
})

t.test('the files of the runs to process are cached while both inputs are unchanged; the disk is asked every time', async (t) => {
  const files: FileSpec[] = [
    { run: 66900, tag: 'v1', segment: 0, events: 300000 },
    { run: 66900, tag: 'v1', segment: 1, events: 300000, disk: 'absent' },
  ]
  const { output, path } = setup(t, files, [[66900, 'v1']])
  const list = join(output, 'datasets', '66900_v1.list')
  const logOf = () => readFileSync(join(output, 'log', `${new Date().toISOString().slice(0, 10)}.log`), 'utf8')
  t.equal((await lists(output)).code, 0)
  t.notOk(readdirSync(join(output, 'datasets')).length, 'too few events on disk: no list')
  t.notMatch(logOf(), /come from/, 'the first night reads reduce.csv')

  writeFileSync(path(hist(66900, 'v1', 1)), 'root file') // the transfer finished
  t.equal((await lists(output)).code, 0)
  t.equal(read(list), `${path(hist(66900, 'v1', 0))}\n${path(hist(66900, 'v1', 1))}\n`, 'the file that arrived is listed')
  t.match(logOf(), /the files of the 1 run to process come from .*\.lists-files\.json: .* are unchanged/)

  // reduce.csv rewritten (a new night's reduce): read again, whatever the cache says.
  const reduce = join(output, 'reduce.csv')
  writeFileSync(reduce, read(reduce).replace(',1,300000,', ',1,200000,'))
  t.equal((await lists(output)).code, 0)
  t.notOk(readdirSync(join(output, 'datasets')).includes('66900_v1.list'), '500000 events are not more than the threshold: the list is gone')

  writeFileSync(join(output, '.lists-files.json'), '{"version": 1, "inputs": [')
  t.equal((await lists(output)).code, 0, 'a cache that does not parse is not used')
})

t.test('a file on two hosts is listed once: the copy on disk, the first by path when both are; none: both missing', async (t) => {
  const h = (segment: number) => hist(66500, 'v1', segment)
  const { output, path } = setup(t, [
    { run: 66500, tag: 'v1', segment: 0, events: 200000, name: `lustre/${h(0)}` },
    { run: 66500, tag: 'v1', segment: 0, events: 200000, name: `gpfs/${h(0)}`, disk: 'absent' },
    { run: 66500, tag: 'v1', segment: 1, events: 200000, name: `gpfs/${h(1)}` },
    { run: 66500, tag: 'v1', segment: 1, events: 200000, name: `lustre/${h(1)}`, disk: 'absent' },
    { run: 66500, tag: 'v1', segment: 2, events: 200000, name: `gpfs/${h(2)}` },
    { run: 66500, tag: 'v1', segment: 2, events: 200000, name: `lustre/${h(2)}` },
    { run: 66500, tag: 'v1', segment: 3, events: 200000, name: `gpfs/${h(3)}`, disk: 'absent' },
    { run: 66500, tag: 'v1', segment: 3, events: 200000, name: `lustre/${h(3)}`, disk: 'absent' },
    { run: 66500, tag: 'v1', segment: 4, events: 200000, disk: 'empty' },
    // Under today's rules (no threshold) a run with one file on disk gets its list; under the seed's it does not.
    { run: 66501, tag: 'v1', segment: 0, events: 10 },
  ], [[66500, 'v1'], [66501, 'v1']])
  const result = await lists(output, ['--verbose'])
  t.equal(result.code, 0, result.stderr)
  t.equal(read(join(output, 'datasets', '66500_v1.list')), [`gpfs/${h(1)}`, `gpfs/${h(2)}`, `lustre/${h(0)}`].map((n) => `${path(n)}\n`).join(''))
  t.equal(read(join(output, 'run3auau-missing.csv')), `full_file_path\n${[h(4), `gpfs/${h(3)}`, `lustre/${h(3)}`].map((n) => `${path(n)}\n`).join('')}`,
    'the copies of a file with none on disk, and the empty file, are missing; a copy not chosen is not')
  t.match(result.stderr, /4 files are catalogued on several hosts: one copy of each listed/)
  t.match(result.stderr, /^lists: 3 of 10 catalogued paths are missing files: 2 absent, 1 empty; 2 more missing paths are copies of files on disk on another host$/m,
    '--verbose counts the missing files as the summary does')
  t.match(result.stdout, /; 3 files missing; /)
  t.notOk(readdirSync(join(output, 'datasets')).includes('66501_v1.list'), 'seed: 10 events are not more than 500000')
  const current = await lists(output, ['--rules', 'current'])
  t.equal(current.code, 0, current.stderr)
  t.equal(read(join(output, 'datasets', '66501_v1.list')), `${path(hist(66501, 'v1', 0))}\n`, 'current: no threshold')
})

t.test('a FIFO where a list belongs is replaced by the list, not read (reading it would wait for ever)', async (t) => {
  const { output, path } = setup(t, [{ run: 66700, tag: 'v2', segment: 0, events: 900000 }], [[66700, 'v2']])
  mkdirSync(join(output, 'datasets'))
  const list = join(output, 'datasets', '66700_v2.list')
  execFileSync('mkfifo', [list])
  const result = await lists(output)
  t.equal(result.code, 0, result.stderr)
  t.match(result.stdout, /1 list \(1 written\)/)
  t.ok(statSync(list).isFile(), 'a regular file now')
  t.equal(read(list), `${path(hist(66700, 'v2', 0))}\n`)
})
