#!/usr/bin/env -S npx tsx
// `npx tsx bench/lists-read.ts [rows]`: how long lists takes to find its runs' files in reduce.csv of `rows` rows
// (default 1,000,000, 300 per run) for a process list of 200 runs, reading the whole file as lists does every night.
// Best of three. Not part of the tests; it decides whether the file needs a cache between nights (it does not when
// this stays well inside the quiet night's budget of query + 5 s).
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runFilesOf } from '../lib/lists.js'
import { benchCount } from './args.js'

const rows = benchCount('lists-read', 'Usage: npx tsx bench/lists-read.ts [ROWS]   (default 1000000)', 1_000_000)
const dir = await mkdtemp(join(tmpdir(), 'caloprod-bench-lists-'))
try {
  const lines = ['runnumber,tag,segment,events,full_file_path,time\n']
  for (let i = 0; i < rows; i++) {
    const run = 66000 + Math.floor(i / 300)
    lines.push(`${run},ana${run % 3}_2025p00${run % 2},${i % 300},${10000 + (i % 77)},/sphenix/lustre01/hist/${run}/HIST_CALOQA-${i}.root,2025-07-01 12:34:56.${i % 1000}\n`)
  }
  const reduce = join(dir, 'reduce.csv')
  await writeFile(reduce, lines.join(''))
  const runs = Math.floor(rows / 300)
  // 200 runs spread over the file, each once (a process list holds a run once): fewer when the file has fewer.
  const picked = [...new Set(Array.from({ length: 200 }, (_, i) => 66000 + Math.floor((i * runs) / 200)))]
  const process = join(dir, 'run3auau-process.csv')
  await writeFile(process, `runnumber,tag\n${picked.map((run) => `${run},ana${run % 3}_2025p00${run % 2}\n`).join('')}`)
  let fastest = Infinity
  for (let i = 0; i < 3; i++) {
    const start = performance.now()
    await runFilesOf(process, reduce)
    fastest = Math.min(fastest, performance.now() - start)
  }
  console.log(`lists reads reduce.csv (${rows} rows, ${(lines.join('').length / 1e6).toFixed(0)} MB) for ${picked.length} runs: ${fastest.toFixed(0)} ms`)
} finally {
  await rm(dir, { recursive: true, force: true })
}
