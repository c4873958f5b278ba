// lib/files/csv.ts: the CSV reader and writer every stage uses, written for speed on files of a million rows;
// csv-parse and csv-stringify are the reference they must agree with.
import { readFile, stat, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse } from 'csv-parse/sync'
import { stringify } from 'csv-stringify/sync'
import t from 'tap'
import {
  copyCsvLines, field, formatCsv, formatCsvRecord, openCsvWriter, readCsvBatches, readCsvRows, scanCsv, type Table,
} from '../../lib/files/csv.js'
import { QUERY_TABLE, type QueryRow } from '../../lib/files/query-csv.js'
import { runReduce } from '../../lib/reduce.js'

/** Three free-text columns: any content a CSV can hold. */
const TEXT: Table<string[]> = {
  columns: ['a', 'b', 'c'],
  toFields: (r) => r,
  fromFields: (f) => [...f],
}

const TRICKY = ['', 'plain', 'a,b', 'say "hi"', '"', '""', 'two\nlines', 'cr\rhere', ' lead', 'trail ', 'café', '日本語', ',', 'x'.repeat(300)]

t.test('records are formatted exactly as csv-stringify formats them', async (t) => {
  for (const a of TRICKY) for (const b of [0, 12345, -2, 1.5, 'z']) {
    t.equal(formatCsvRecord([a, b, a]), stringify([[a, b, a]], { record_delimiter: 'unix', eof: true }), JSON.stringify([a, b]))
  }
  const rows = TRICKY.map((x, i) => [x, String(i), TRICKY[(i + 3) % TRICKY.length]])
  t.equal(formatCsv(TEXT, rows), stringify([TEXT.columns, ...rows], { record_delimiter: 'unix', eof: true }))
})

t.test('reading gives csv-parse\'s records, with quoted fields that span lines and chunks', async (t) => {
  const dir = t.testdir()
  const rows: string[][] = []
  // Enough rows that records cross the reader's chunk boundaries at many offsets.
  // (A field with a lone carriage return is refused as a CRLF file: see below.)
  const values = TRICKY.filter((x) => !x.includes('\r'))
  for (let i = 0; i < 40000; i++) rows.push([values[i % values.length], `${i}`, values[(i * 7) % values.length]])
  const path = join(dir, 'x.csv')
  const text = stringify([TEXT.columns, ...rows], { record_delimiter: 'unix', eof: true })
  await writeFile(path, text)
  const expected = (parse(text, { relax_column_count: true, record_delimiter: '\n' }) as string[][]).slice(1)
  t.ok(text.length > 1 << 19, 'the file spans several chunks')
  t.same(await readCsvRows(path, TEXT), expected)
  let batches = 0
  for await (const _ of readCsvBatches(path, TEXT)) batches++
  t.ok(batches > 1, `${batches} batches`)
})

t.test('malformed quoting names the line; an error after a record of several lines counts them', async (t) => {
  const dir = t.testdir()
  const cases: [string, RegExp][] = [
    ['a,b,c\n1,2,3\n1,x"y,3\n', /x\.csv:3: is not valid CSV: field 2 has a quote but does not start with one/],
    ['a,b,c\n"multi\nline",2,3\n1,"2"x,3\n', /x\.csv:4: is not valid CSV: a closing quote in field 2 is followed by "x"/],
    ['a,b,c\n1,2,3\n1,"never closed,3\n4,5,6\n', /x\.csv:3: is not valid CSV: a quoted field that starts here does not close/],
    ['a,b,c\n"two\nlines",2,3\n1,2\n', /x\.csv:4: has 2 fields, expected 3/],
    ['a,b,c\r\n1,2,3\r\n', /x\.csv:1: has Windows \(CRLF\) line ends/],
  ]
  for (const [content, pattern] of cases) {
    const path = join(dir, 'x.csv')
    await writeFile(path, content)
    await t.rejects(readCsvRows(path, TEXT), pattern, JSON.stringify(content))
  }
})

const row = (runnumber: number, tag: string, segment: number, path = `/d/${runnumber}/${tag}/${segment}.root`): QueryRow => ({
  runnumber, tag, segment, events: 1000 + segment, full_file_path: path, time: `2025-01-0${1 + (segment % 9)} 00:00:00`,
})

t.test('a file exactly as caloprod writes it is verbatim, and its kept lines are copied unchanged', async (t) => {
  const dir = t.testdir()
  const rows = [row(66500, 'a', 0), row(66500, 'a', 1), row(66500, 'b', 0), row(66501, 'a', 0), row(66502, 'b', 3), row(66502, 'b', 4)]
  const path = join(dir, 'query.csv')
  await writeFile(path, formatCsv(QUERY_TABLE, rows))
  const seen: QueryRow[] = []
  const scan = await scanCsv(path, QUERY_TABLE, (batch) => seen.push(...batch))
  t.same(seen, rows)
  t.same([scan.rows, scan.verbatim], [6, true])
  const out = join(dir, 'kept.csv')
  const writer = await openCsvWriter(out, QUERY_TABLE)
  const copied = await copyCsvLines(scan, 2, ([run, tag]) => tag === 'b' || run === '66501', writer)
  t.ok(await writer.commit())
  t.equal(copied, 4)
  t.equal(await readFile(out, 'utf8'), formatCsv(QUERY_TABLE, rows.filter((r) => r.tag === 'b' || r.runnumber === 66501)))

  // Touched between the passes: the copy refuses.
  await utimes(path, new Date(), new Date(Date.now() + 5000))
  const again = await openCsvWriter(join(dir, 'again.csv'), QUERY_TABLE)
  await t.rejects(copyCsvLines(scan, 2, () => true, again), /query\.csv: changed while it was being read/)
  await again.abort()
})

t.test('a file a person wrote differently is not verbatim: quotes where none are needed, leading zeros', async (t) => {
  const dir = t.testdir()
  const header = QUERY_TABLE.columns.join(',')
  for (const line of ['"66500",a,0,1000,/d/x.root,2025-01-01 00:00:00', '066500,a,0,1000,/d/x.root,2025-01-01 00:00:00', '66500,a,00,1000,/d/x.root,2025-01-01 00:00:00']) {
    const path = join(dir, 'q.csv')
    await writeFile(path, `${header}\n${line}\n`)
    t.equal((await scanCsv(path, QUERY_TABLE, () => {})).verbatim, false, line)
  }
  const path = join(dir, 'q.csv')
  await writeFile(path, `${header}\n66500,a,0,1000,"/d/a,b.root",2025-01-01 00:00:00\n`)
  t.equal((await scanCsv(path, QUERY_TABLE, () => {})).verbatim, false, 'a quoted path')
})

t.test('reduce gives the same outputs from a query.csv a person rewrote as from the one query wrote', async (t) => {
  const rows = [row(66500, 'old', 0), row(66500, 'old', 1), row(66500, 'new', 0, '/d/a,"b".root'), row(66501, 'old', 2)]
  rows[2].time = '2025-06-01 00:00:00'
  const canonical = formatCsv(QUERY_TABLE, rows)
  const rewritten = canonical.replace(/^66500,/gm, '066500,').replace(/,old,/g, ',"old",')
  t.not(rewritten, canonical)
  const outputs: string[][] = []
  for (const content of [canonical, rewritten]) {
    const output = t.testdir({ 'query.csv': content })
    const result = await runReduce({ output, runType: 'run3auau' })
    t.equal(result.files, 2)
    outputs.push(await Promise.all(['reduce.csv', 'run3auau.csv'].map((f) => readFile(join(output, f), 'utf8'))))
  }
  t.same(outputs[1], outputs[0])
  t.equal(outputs[0][0], formatCsv(QUERY_TABLE, [rows[2], rows[3]]))
  t.equal(outputs[0][1], 'runnumber,tag\n66500,new\n66501,old\n')
})

t.test('the writer leaves the file alone when nothing changed, and drops its temporary file on abort', async (t) => {
  const dir = t.testdir()
  const path = join(dir, 'w.csv')
  const write = async (rows: string[][], extra: Buffer[] = []) => {
    const writer = await openCsvWriter(path, TEXT)
    await writer.write(rows)
    await writer.writeFormatted(extra)
    return writer.commit()
  }
  t.equal(await write([['1', 'a,b', 'c']], [Buffer.from('x,y,z\n')]), true)
  t.equal(await readFile(path, 'utf8'), 'a,b,c\n1,"a,b",c\nx,y,z\n')
  const before = (await stat(path)).mtimeMs
  await new Promise((r) => setTimeout(r, 20))
  t.equal(await write([['1', 'a,b', 'c'], ['x', 'y', 'z']]), false)
  t.equal((await stat(path)).mtimeMs, before)
  const aborted = await openCsvWriter(path, TEXT)
  await aborted.write([['2', '2', '2']])
  await aborted.abort()
  t.equal(await readFile(path, 'utf8'), 'a,b,c\n1,"a,b",c\nx,y,z\n')
  t.same((await import('node:fs')).readdirSync(dir), ['w.csv'])
  t.equal(field.count('0', 'n'), 0)
})
