#!/usr/bin/env -S npx tsx
// `npx tsx bench/csv-parsers.ts [rows]`: the throughput of the one fast CSV path, on a query.csv of `rows` rows
// (default 1,000,000; one in 1,000 with a quoted path): the file read back as reduce reads it (scan, and csv-parse's
// stream on the same file for comparison; then, on the file without quotes, the copy of the kept lines). Prints MB/s
// of each, best of three.
// Not part of the tests; compare before and after a change to the CSV code.
import { createReadStream } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { parse } from 'csv-parse'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openCsvWriter } from '../lib/files/csv.js'
import { copyQueryLines, QUERY_TABLE, scanQueryCsv } from '../lib/files/query-csv.js'
import { benchCount } from './args.js'

const rows = benchCount('csv-parsers', 'Usage: npx tsx bench/csv-parsers.ts [ROWS]   (default 1000000)', 1_000_000)
const lines: string[] = []
for (let i = 0; i < rows; i++) {
  const run = 66000 + Math.floor(i / 300)
  const path = i % 1000 === 999 ? `"/sphenix/lustre01/hist/${run}/a,b-${i}.root"` : `/sphenix/lustre01/hist/${run}/HIST_CALOQA-${i}.root`
  lines.push(`${run},ana${run % 3}_2025p00${run % 2},${i % 300},${10000 + (i % 77)},${path},2025-07-01 12:34:56.${i % 1000}\n`)
}
const body = Buffer.from(lines.join(''))
// The copy needs a file exactly as caloprod writes it: the same rows with their quoted paths unquoted.
const plain = Buffer.from(lines.map((l) => l.replace(/"([^"]*)"/, (_, p: string) => p.replace(',', '_'))).join(''))
const mb = body.length / 1e6

async function best(name: string, once: () => Promise<void>): Promise<void> {
  let fastest = Infinity
  for (let i = 0; i < 3; i++) {
    const start = performance.now()
    await once()
    fastest = Math.min(fastest, performance.now() - start)
  }
  console.log(`${name.padEnd(28)} ${(mb / (fastest / 1000)).toFixed(0).padStart(5)} MB/s (${fastest.toFixed(0)} ms, ${mb.toFixed(0)} MB)`)
}

const dir = await mkdtemp(join(tmpdir(), 'caloprod-bench-csv-'))
try {
  const file = join(dir, 'query.csv')
  await writeFile(file, Buffer.concat([Buffer.from(`${QUERY_TABLE.columns.join(',')}\n`), body]))
  await best('query.csv scan (parse all)', async () => {
    await scanQueryCsv(file, () => {})
  })
  // The same rows through csv-parse's stream and the contract's fromFields: what the fast path is measured against.
  await best('query.csv by csv-parse', async () => {
    for await (const record of createReadStream(file).pipe(parse({ from_line: 2, relax_column_count: true }))) {
      QUERY_TABLE.fromFields(record as string[], [])
    }
  })
  await writeFile(file, Buffer.concat([Buffer.from(`${QUERY_TABLE.columns.join(',')}\n`), plain]))
  const scan = await scanQueryCsv(file, () => {})
  if (scan.verbatim) {
    await best('query.csv copy of kept lines', async () => {
      const writer = await openCsvWriter(join(dir, 'out.csv'), QUERY_TABLE)
      await copyQueryLines(scan, 2, ([run]) => Number(run) % 2 === 0, writer)
      await writer.abort()
    })
  }
} finally {
  await rm(dir, { recursive: true, force: true })
}
