#!/usr/bin/env -S npx tsx
// The files of one run and whether each is on disk:  npx tsx examples/run-files.ts OUTPUT RUN
// Reads reduce.csv (the files of the tag chosen for each run) through caloprod's own reader; a catalog's path is
// printed as the stages print outside text (visibleLine: a control character as \u001b, never obeyed by the terminal).
import { stat } from 'node:fs/promises'
import { caloprod, CaloprodError, visibleLine } from 'caloprod'

const [output, run] = process.argv.slice(2)
if (!output || !/^\d+$/.test(run ?? '')) {
  process.stderr.write('usage: run-files.ts OUTPUT RUN\n')
  process.exit(2)
}
let files = 0
try {
  for await (const row of caloprod({ output }).read.reduce()) {
    if (row.runnumber !== Number(run)) continue
    files++
    const size = await stat(row.full_file_path).then((s) => s.size, () => undefined)
    process.stdout.write(`${row.tag} ${row.segment} ${visibleLine(row.full_file_path)} ${size === undefined ? 'absent' : size === 0 ? 'empty' : `${size} bytes`}\n`)
  }
} catch (err) {
  // No reduce.csv yet, or one edited by hand: one line naming the file, as the stages say it.
  if (!(err instanceof CaloprodError)) throw err
  process.stderr.write(`run-files: ${visibleLine(err.message)}\n`)
  process.exit(err.exitCode)
}
if (files === 0) process.stdout.write(`run ${run}: no files in the reduce.csv of ${output}\n`)
