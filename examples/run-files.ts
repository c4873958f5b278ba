#!/usr/bin/env -S npx tsx
// The files of one run and whether each is on disk:  npx tsx examples/run-files.ts OUTPUT RUN
// Reads reduce.csv (the files of the tag chosen for each run) through caloprod's own reader.
import { stat } from 'node:fs/promises'
import { layout, readQueryRows } from 'caloprod'

const [output, run] = process.argv.slice(2)
if (!output || !/^\d+$/.test(run ?? '')) {
  process.stderr.write('usage: run-files.ts OUTPUT RUN\n')
  process.exit(2)
}
let files = 0
for await (const row of readQueryRows(layout.reduceCsv(output))) {
  if (row.runnumber !== Number(run)) continue
  files++
  const size = await stat(row.full_file_path).then((s) => s.size, () => undefined)
  const state = size === undefined ? 'absent' : size === 0 ? 'empty' : `${size} bytes`
  process.stdout.write(`${row.tag} ${row.segment} ${row.full_file_path} ${state}\n`)
}
if (files === 0) process.stdout.write(`run ${run}: no files in ${layout.reduceCsv(output)}\n`)
