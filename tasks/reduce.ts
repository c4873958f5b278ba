#!/usr/bin/env -S npx tsx
// reduce: query.csv -> <runtype>.csv (one tag per run) and reduce.csv (that tag's files).
import { layout } from '../lib/files/layout.js'
import { runReduce } from '../lib/reduce.js'
import { declareStage } from './main.js'
import { plural } from '../lib/plural.js'

export const stage = declareStage(
  import.meta.url,
  {
    name: 'reduce',
    summary:
      'Keeps one production tag per run: under --rules seed the tag whose earliest file is the most recent (ties:\n' +
      'the tag that sorts last); under --rules current the query already chose it (the newest QA file). Reads\n' +
      '<output>/query.csv, writes <output>/<runtype>.csv (runnumber,tag) and\n' +
      '<output>/reduce.csv (the kept rows of query.csv).',
    flags: ['run-type', 'rules', 'output', 'verbose', 'quiet', 'help'],
    lock: true,
  },
  async ({ options }) => {
    const result = await runReduce(options)
    const changed = result.changed.runList || result.changed.reduce ? 'updated' : 'unchanged'
    return `reduce: ${plural(result.runs, 'run')}, ${plural(result.files, 'file')} kept; ${layout.runListCsv(options.output, options.runType)} ${changed}`
  },
)
