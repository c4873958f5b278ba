#!/usr/bin/env -S npx tsx
// lists: <runtype>-process.csv + reduce.csv -> datasets/<run>_<tag>.list and <runtype>-missing.csv.
import { layout } from '../lib/files/layout.js'
import { runLists } from '../lib/lists.js'
import { NO_PROGRESS, progressCounter } from '../lib/progress.js'
import { declareStage } from './main.js'
import { plural } from '../lib/plural.js'

export const stage = declareStage(
  import.meta.url,
  {
    name: 'lists',
    summary:
      'For each run of <output>/<runtype>-process.csv, writes <output>/datasets/<run>_<tag>.list: the absolute paths\n' +
      'of its histogram files in reduce.csv that exist on disk and are not empty, sorted (one copy of a file on\n' +
      'several hosts: the first on disk by path). Missing files go to <output>/<runtype>-missing.csv; a run whose\n' +
      'remaining files hold --min-events events or fewer (without a threshold: a run with no file left) gets no list.\n' +
      'Lists of runs no longer to process are removed, so datasets/ matches the process list.',
    flags: ['run-type', 'rules', 'min-events', 'output', 'stat-concurrency', 'verbose', 'quiet', 'help'],
    lock: true,
  },
  async ({ options, log, progress }) => {
    let counter: ((done: number) => void) | undefined
    const onChecked = progress === NO_PROGRESS ? undefined : (checked: number, total: number) => {
      counter ??= progressCounter(progress, 'lists', 'files checked', total)
      counter(checked)
    }
    const result = await runLists(options, log, { concurrency: options.statConcurrency, onChecked })
    const notes = [
      `${result.written} written`,
      result.removed && `${result.removed} stale removed`,
    ].filter(Boolean).join(', ')
    const threshold = options.minEvents === undefined ? 'with no file on disk' : `at --min-events ${options.minEvents} after missing files`
    const dropped = result.dropped ? `, ${plural(result.dropped, 'run')} dropped ${threshold} (see log)` : ''
    return `lists: ${plural(result.lists, 'list')} (${notes})${dropped}; ${plural(result.missing, 'file')} missing; ` +
      `${layout.missingCsv(options.output, options.runType)} ${result.changed.missing ? 'updated' : 'unchanged'}`
  },
  // Each stat holds one of libuv's threads while it waits for the file system.
  (options) => options.statConcurrency,
)
