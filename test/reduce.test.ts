import { readdirSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { runStageHere } from './helpers/run-script.js'
import { chooseTags, surveyTags } from '../lib/reduce.js'
import type { QueryRow } from '../lib/files/query-csv.js'
import { layout } from '../lib/files/layout.js'

/** The run type's mark (lib/files/run-type-mark.ts), which a stage of the pipeline makes before it starts. */
const RUN_TYPE_MARK = layout.runTypeMark('')

const row = (runnumber: number, tag: string, segment: number, time: string): QueryRow => ({
  runnumber, tag, segment, events: 1000, full_file_path: `/d/${runnumber}_${tag}_${segment}.root`, time,
})

t.test('each run keeps the tag whose earliest file is the most recent', async (t) => {
  const rows = [
    row(1, 'old', 0, '2025-01-01 00:00:00'),
    row(1, 'new', 0, '2025-03-01 00:00:00'),
    row(2, 'old', 0, '2025-01-02 00:00:00'),
  ]
  t.same(chooseTags(surveyTags(rows)), [{ runnumber: 1, tag: 'new' }, { runnumber: 2, tag: 'old' }])
})

t.test('a tag is as recent as its earliest file in any run', async (t) => {
  // "b" looks newer in run 2, but its earliest file (in run 1) predates "a".
  const rows = [
    row(1, 'b', 0, '2025-01-01 00:00:00'),
    row(2, 'a', 0, '2025-02-01 00:00:00'),
    row(2, 'b', 0, '2025-06-01 00:00:00'),
  ]
  t.same(chooseTags(surveyTags(rows)), [{ runnumber: 1, tag: 'b' }, { runnumber: 2, tag: 'a' }])
})

t.test('tags with the same earliest time: the one that sorts last wins, whatever the row order', async (t) => {
  const rows = [row(1, 'x_v008', 0, '2025-01-01 00:00:00'), row(1, 'x_v009', 0, '2025-01-01 00:00:00')]
  t.same(chooseTags(surveyTags(rows)), [{ runnumber: 1, tag: 'x_v009' }])
  t.same(chooseTags(surveyTags([...rows].reverse())), [{ runnumber: 1, tag: 'x_v009' }])
})

t.test('fractional seconds order correctly', async (t) => {
  const rows = [row(1, 'a', 0, '2025-01-01 00:00:00.5'), row(1, 'b', 0, '2025-01-01 00:00:00.25')]
  t.same(chooseTags(surveyTags(rows)), [{ runnumber: 1, tag: 'a' }])
})

const queryCsv = (rows: QueryRow[]) =>
  'runnumber,tag,segment,events,full_file_path,time\n' +
  rows.map((r) => [r.runnumber, r.tag, r.segment, r.events, r.full_file_path, r.time].join(',')).join('\n') + '\n'

t.test('the stage writes <runtype>.csv and reduce.csv, and leaves them untouched on a re-run', async (t) => {
  const rows = [
    row(66500, 'old', 0, '2025-01-01 00:00:00'),
    row(66500, 'old', 1, '2025-01-01 00:01:00'),
    row(66500, 'new', 0, '2025-05-01 00:00:00'),
    row(66500, 'new', 1, '2025-05-01 00:01:00'),
    row(66501, 'old', 0, '2025-01-02 00:00:00'),
  ]
  const output = t.testdir({ 'query.csv': queryCsv(rows) })
  const result = await runStageHere('reduce', ['--output', output])
  t.equal(result.code, 0, result.stderr)
  t.match(result.stdout, /reduce: 2 runs, 3 files kept/)
  t.equal(await readFile(join(output, 'run3auau.csv'), 'utf8'), 'runnumber,tag\n66500,new\n66501,old\n')
  t.equal(await readFile(join(output, 'reduce.csv'), 'utf8'), queryCsv([rows[2], rows[3], rows[4]]))
  const before = [(await stat(join(output, 'run3auau.csv'))).mtimeMs, (await stat(join(output, 'reduce.csv'))).mtimeMs]
  // A rewrite after 20 ms would show in the mtime: a wait for something not to happen (a busy machine waits longer).
  await new Promise((r) => setTimeout(r, 20))
  t.equal((await runStageHere('reduce', ['--output', output])).code, 0)
  t.same([(await stat(join(output, 'run3auau.csv'))).mtimeMs, (await stat(join(output, 'reduce.csv'))).mtimeMs], before)
})

t.test('an empty query.csv (header only) gives empty outputs with headers', async (t) => {
  const output = t.testdir({ 'query.csv': queryCsv([]).replace(/\n\n$/, '\n') })
  const result = await runStageHere('reduce', ['--output', output, '--run-type', 'run2pp'])
  t.equal(result.code, 0, result.stderr)
  t.equal(await readFile(join(output, 'run2pp.csv'), 'utf8'), 'runnumber,tag\n')
})

t.test('a malformed query.csv names the file and line, exits 1 and writes nothing', async (t) => {
  const good = queryCsv([row(66500, 'a', 0, '2025-01-01 00:00:00')])
  const cases: [string, string, RegExp][] = [
    ['non-numeric run', good + 'x66501,a,0,1,/d/f.root,2025-01-01 00:00:00\n', /query\.csv:3: runnumber "x66501" is not a whole number/],
    ['missing column', good + '66501,a,0,1,/d/f.root\n', /query\.csv:3: has 5 fields, expected 6/],
    ['extra column', good + '66501,a,0,1,/d/f.root,2025-01-01 00:00:00,zzz\n', /query\.csv:3: has 7 fields/],
    ['truncated', good + '66501,a,0,1,/d/f', /query\.csv: last line is truncated/],
    ['CRLF', good.replace(/\n/g, '\r\n'), /query\.csv:1: has Windows \(CRLF\) line ends/],
    ['BOM', '\ufeff' + good, /query\.csv:1: starts with a byte-order mark/],
    ['empty file', '', /query\.csv:1: is empty/],
    ['no header', good.split('\n').slice(1).join('\n'), /query\.csv:1: header is "66500,a,0,1000/],
    ['bad time', good + '66501,a,0,1,/d/f.root,yesterday\n', /query\.csv:3: time "yesterday"/],
    ['tag with a slash', good + '66501,../a,0,1,/d/f.root,2025-01-01 00:00:00\n', /query\.csv:3: tag "..\/a" may hold only/],
    ['relative path', good + '66501,a,0,1,d/f.root,2025-01-01 00:00:00\n', /query\.csv:3: path "d\/f.root" is not absolute/],
  ]
  for (const [name, content, pattern] of cases) {
    const output = t.testdir({ 'query.csv': content })
    const result = await runStageHere('reduce', ['--output', output])
    t.equal(result.code, 1, name)
    t.match(result.stderr, pattern, name)
    t.equal(result.stderr.trim().split('\n').length, 1, `${name}: one line`)
    t.same(readdirSync(output).filter((f) => f !== 'log' && f !== RUN_TYPE_MARK).sort(), ['query.csv'], `${name}: nothing written`)
  }
})

t.test('a missing query.csv says which stage to run', async (t) => {
  const output = t.testdir()
  const result = await runStageHere('reduce', ['--output', output])
  t.equal(result.code, 1)
  t.match(result.stderr, /query\.csv: does not exist; run the stage that writes it first/)
})
