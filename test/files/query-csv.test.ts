// lib/files/query-csv.ts: query.csv and reduce.csv, read on the fast path; a file exactly as caloprod writes it
// is copied line by line, one a person rewrote is parsed and written again, with the same outputs.
import { readFile, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import { formatCsv, openCsvWriter } from '../../lib/files/csv.js'
import { copyQueryLines, QUERY_TABLE, readQueryRows, scanQueryCsv, type QueryRow } from '../../lib/files/query-csv.js'
import { runReduce } from '../../lib/reduce.js'
import { SEED_RULES } from '../../lib/rules/seed.js'

const row = (runnumber: number, tag: string, segment: number, path = `/d/${runnumber}/${tag}/${segment}.root`): QueryRow => ({
  runnumber, tag, segment, events: 1000 + segment, full_file_path: path, time: `2025-01-0${1 + (segment % 9)} 00:00:00`,
})

t.test('a file exactly as caloprod writes it is verbatim, and its kept lines are copied unchanged', async (t) => {
  const dir = t.testdir()
  const rows = [row(66500, 'a', 0), row(66500, 'a', 1), row(66500, 'b', 0), row(66501, 'a', 0), row(66502, 'b', 3), row(66502, 'b', 4)]
  const path = join(dir, 'query.csv')
  await writeFile(path, formatCsv(QUERY_TABLE, rows))
  const seen: QueryRow[] = []
  const scan = await scanQueryCsv(path, (batch) => seen.push(...batch))
  t.same(seen, rows)
  t.same([scan.rows, scan.verbatim], [6, true])
  const out = join(dir, 'kept.csv')
  const writer = await openCsvWriter(out, QUERY_TABLE)
  const copied = await copyQueryLines(scan, 2, ([run, tag]) => tag === 'b' || run === '66501', writer)
  t.ok(await writer.commit())
  t.equal(copied, 4)
  t.equal(await readFile(out, 'utf8'), formatCsv(QUERY_TABLE, rows.filter((r) => r.tag === 'b' || r.runnumber === 66501)))

  // Touched between the passes: the copy refuses.
  await utimes(path, new Date(), new Date(Date.now() + 5000))
  const again = await openCsvWriter(join(dir, 'again.csv'), QUERY_TABLE)
  await t.rejects(copyQueryLines(scan, 2, () => true, again), /query\.csv: changed while it was being read/)
  await again.abort()
})

t.test('a file a person wrote differently is not verbatim: quotes where none are needed, leading zeros', async (t) => {
  const dir = t.testdir()
  const header = QUERY_TABLE.columns.join(',')
  for (const line of ['"66500",a,0,1000,/d/x.root,2025-01-01 00:00:00', '066500,a,0,1000,/d/x.root,2025-01-01 00:00:00', '66500,a,00,1000,/d/x.root,2025-01-01 00:00:00']) {
    const path = join(dir, 'q.csv')
    await writeFile(path, `${header}\n${line}\n`)
    t.equal((await scanQueryCsv(path, () => {})).verbatim, false, line)
  }
  const path = join(dir, 'q.csv')
  await writeFile(path, `${header}\n66500,a,0,1000,"/d/a,b.root",2025-01-01 00:00:00\n`)
  t.equal((await scanQueryCsv(path, () => {})).verbatim, false, 'a quoted path')
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
    const result = await runReduce({ output, runType: 'run3auau', rules: SEED_RULES })
    t.equal(result.files, 2)
    outputs.push(await Promise.all(['reduce.csv', 'run3auau.csv'].map((f) => readFile(join(output, f), 'utf8'))))
  }
  t.same(outputs[1], outputs[0])
  t.equal(outputs[0][0], formatCsv(QUERY_TABLE, [rows[2], rows[3]]))
  t.equal(outputs[0][1], 'runnumber,tag\n66500,new\n66501,old\n')
})

t.test('a file of many reads is copied exactly though each read reuses one buffer', async (t) => {
  const dir = t.testdir()
  // 20,000 rows (about 1.4 MB): six reads of the copy pass, dozens of the row pass; runs kept and left out in turn.
  const rows = Array.from({ length: 20000 }, (_, i) => row(60000 + Math.floor(i / 7), i % 3 ? 'a' : 'b', i % 7, `/d/${'x'.repeat(i % 40)}/${i}.root`))
  const path = join(dir, 'query.csv')
  await writeFile(path, formatCsv(QUERY_TABLE, rows))
  const seen: QueryRow[] = []
  const scan = await scanQueryCsv(path, (batch) => seen.push(...batch))
  t.equal(JSON.stringify(seen), JSON.stringify(rows))
  const keep = (r: { runnumber: number; tag: string }) => (r.runnumber % 3 === 0) !== (r.tag === 'b')
  const writer = await openCsvWriter(join(dir, 'kept.csv'), QUERY_TABLE)
  const copied = await copyQueryLines(scan, 2, ([run, tag]) => keep({ runnumber: Number(run), tag }), writer)
  await writer.commit()
  const expected = rows.filter(keep)
  t.equal(copied, expected.length)
  t.equal(await readFile(join(dir, 'kept.csv'), 'utf8'), formatCsv(QUERY_TABLE, expected))
})

t.test('a quoted record longer than a read is read whole; one that never closes is named by its line', async (t) => {
  const dir = t.testdir()
  const long = `/d/${'a,b'.repeat(200000)}.root` // 600 KB, quoted for its commas
  const rows = [row(66500, 'a', 0), row(66500, 'a', 1, long), row(66500, 'a', 2)]
  const path = join(dir, 'query.csv')
  await writeFile(path, formatCsv(QUERY_TABLE, rows))
  const seen: QueryRow[] = []
  t.equal((await scanQueryCsv(path, (batch) => seen.push(...batch))).verbatim, false)
  t.same(seen, rows)
  await writeFile(path, formatCsv(QUERY_TABLE, rows).replace(`"${long}"`, `"${long}`))
  await t.rejects(scanQueryCsv(path, () => {}), /query\.csv:3: is not valid CSV/)
})

t.test("readQueryRows(path, only): those runs' rows, quoted or not; other lines passed over unread", async (t) => {
  const dir = t.testdir()
  const quoted = (run: number, segment: number) => row(run, 'a', segment, `/d/${run},${segment}.root`) // a comma: quoted
  const rows = [row(66500, 'a', 0), quoted(66500, 1), row(66501, 'a', 0), quoted(66501, 1), row(66502, 'a', 0), row(665020, 'a', 0)]
  const path = join(dir, 'query.csv')
  // Run 66501's unquoted line broken: a read of other runs never decodes it.
  await writeFile(path, formatCsv(QUERY_TABLE, rows).replace('66501,a,0,1000,', '66501,a,0,10x0,'))
  const read = async (only?: ReadonlySet<number>) => {
    const seen: QueryRow[] = []
    for await (const r of readQueryRows(path, only)) seen.push(r)
    return seen
  }
  t.same(await read(new Set([66500, 66502])), [rows[0], rows[1], rows[4]], 'a run number that only starts like one is not it')
  await t.rejects(read(new Set([66501])), /query\.csv:4: events "10x0"/, "an asked run's rows are checked")
  await t.rejects(read(), /query\.csv:4: events "10x0"/, 'as every row is without `only`')
})

t.test('records are refused in the order read: a bad row before a carriage return, which is named at its record', async (t) => {
  const dir = t.testdir()
  const path = join(dir, 'query.csv')
  const header = QUERY_TABLE.columns.join(',')
  const good = '66500,v1,0,1,/d/a.root,2025-01-01 00:00:00'
  const cases: [string, RegExp][] = [
    [`${header}\n${good}\n66500,v1,0,10x0,/d/b.root,2025-01-01 00:00:00\n${good}\r\n`, /query\.csv:3: events "10x0"/],
    [`${header}\n${good}\r\n66500,v1,0,10x0,/d/b.root,2025-01-01 00:00:00\n`, /query\.csv:2: has Windows \(CRLF\) line ends/],
    // Unlike a ledger's (lib/files/append-only.ts), at the line its record starts on, not its own.
    [`${header}\n${good}\n66500,v1,0,1,"/d/two\nli\rnes",2025-01-01 00:00:00\n`, /query\.csv:3: has Windows \(CRLF\) line ends/],
    // A quoted record whose line ends in CRLF: the line ends named, not a closing quote followed by a carriage return.
    [`${header}\n${good}\n66500,v1,0,1,"/d/a,b.root","2025-01-01 00:00:00"\r\n`, /query\.csv:3: has Windows \(CRLF\) line ends/],
  ]
  for (const [content, pattern] of cases) {
    await writeFile(path, content)
    await t.rejects(scanQueryCsv(path, () => {}), pattern, JSON.stringify(content))
  }
})

t.test('a record that does not fit a buffer of 32 MB (MAX_RECORD 16 MB carried) is refused at its line, as a quote that never closes', async (t) => {
  const path = join(t.testdir(), 'query.csv')
  const long = `/d/${'a,b'.repeat(12_000_000)}.root` // 36 MB, quoted for its commas
  await writeFile(path, formatCsv(QUERY_TABLE, [row(66500, 'a', 0), row(66500, 'a', 1, long), row(66500, 'a', 2)]))
  await t.rejects(scanQueryCsv(path, () => {}), /query\.csv:3: is not valid CSV: a quoted field that starts here does not close/)
})
