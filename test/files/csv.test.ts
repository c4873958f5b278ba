// lib/files/csv.ts, the reader and writer of the files a person edits (through csv-parse and csv-stringify), and
// lib/files/query-csv.ts, the fast path of query.csv, reduce.csv and the catalog's answer: both agree with them.
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse } from 'csv-parse/sync'
import { stringify } from 'csv-stringify/sync'
import t from 'tap'
import { field, formatCsv, formatCsvRecord, openCsvWriter, readTable, type Table } from '../../lib/files/csv.js'
import { QUERY_TABLE, readQueryCsv } from '../../lib/files/query-csv.js'

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

t.test('a file a person edits reads as csv-parse reads it, with quoted fields that span lines', async (t) => {
  const dir = t.testdir()
  // (A field with a lone carriage return is refused as a CRLF file: see below.)
  const values = TRICKY.filter((x) => !x.includes('\r'))
  const rows = values.map((x, i) => [x, `${i}`, values[(i * 7) % values.length]])
  const path = join(dir, 'x.csv')
  const text = stringify([TEXT.columns, ...rows], { record_delimiter: 'unix', eof: true })
  await writeFile(path, text)
  t.same(await readTable(path, TEXT), (parse(text, { relax_column_count: true, record_delimiter: '\n' }) as string[][]).slice(1))
  await writeFile(path, `${text}1,2\n`)
  const lines = text.split('\n').length
  await t.rejects(readTable(path, TEXT), new RegExp(`x\\.csv:${lines}: has 2 fields, expected 3 \\(a,b,c\\)`), 'lines counted across quoted line breaks')
})

t.test('the fast path reads a query.csv as csv-parse does, with quoted paths across its chunks', async (t) => {
  const dir = t.testdir()
  const paths = TRICKY.filter((x) => !/[\r\n]/.test(x)).map((x) => `/d/${x}`)
  const rows = Array.from({ length: 40000 }, (_, i) => ({
    runnumber: 66000 + Math.floor(i / 50), tag: 'v1', segment: i % 50, events: i, full_file_path: paths[i % paths.length], time: '2025-01-01 00:00:00',
  }))
  const path = join(dir, 'query.csv')
  const text = formatCsv(QUERY_TABLE, rows)
  t.ok(text.length > 1 << 19, 'the file spans several chunks')
  await writeFile(path, text)
  t.same(await readQueryCsv(path), rows)
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
    await t.rejects(readTable(path, TEXT), pattern, JSON.stringify(content))
  }
  // The same errors from the fast path, in a query.csv.
  const header = QUERY_TABLE.columns.join(',')
  const good = '66500,v1,0,1,/d/a.root,2025-01-01 00:00:00'
  const fast: [string, RegExp][] = [
    [`${header}\n${good}\n66500,v1,0,1,/d/x"y,2025-01-01 00:00:00\n`, /query\.csv:3: is not valid CSV: field 5 has a quote but does not start with one/],
    [`${header}\n${good}\n66500,v1,0,1,"/d/x"y,2025-01-01 00:00:00\n`, /query\.csv:3: is not valid CSV: a closing quote in field 5 is followed by "y"/],
    [`${header}\n${good}\n66500,v1,0,1,"/d/never closed\n${good}\n`, /query\.csv:3: is not valid CSV: a quoted field that starts here does not close/],
    [`${header}\n${good}\n66500,v1,0,1,"/d/a,b",2025-01-01 00:00:00\n66500,v1\n`, /query\.csv:4: has 2 fields, expected 6/],
    [`${header}\n66500,v1,0,1,"/d/two\nlines",2025-01-01 00:00:00\n`, /query\.csv:2: path "\/d\/two\\nlines" holds a line break/],
  ]
  for (const [content, pattern] of fast) {
    const path = join(dir, 'query.csv')
    await writeFile(path, content)
    await t.rejects(readQueryCsv(path), pattern, JSON.stringify(content))
  }
})

t.test('a header may add columns only where the contract allows it, and they are passed on by name', async (t) => {
  const dir = t.testdir()
  const path = join(dir, 'x.csv')
  await writeFile(path, 'a,b,c,note\n1,2,3,x\n')
  await t.rejects(readTable(path, TEXT), /x\.csv:1: header is "a,b,c,note", expected "a,b,c"/)
  const NOTED: Table<string> = { ...TEXT, extraColumns: true, toFields: () => [], fromFields: (f, extra = []) => `${f.join('')}:${extra.map((e) => `${e.column}=${e.value}`)}` }
  t.same(await readTable(path, NOTED), ['123:note=x'])
  await writeFile(path, 'note,c,a,b\nx,3,1,2\n')
  t.same(await readTable(path, NOTED), ['123:note=x'], 'in any order')
  await writeFile(path, 'a,b,note\n1,2,x\n')
  await t.rejects(readTable(path, NOTED), /header is "a,b,note", expected at least the columns a,b,c/)
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
  // A rewrite after 20 ms would show in the mtime: a wait for something not to happen (a busy machine waits longer).
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
