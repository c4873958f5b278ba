#!/usr/bin/env -S npx tsx
// check: <runtype>.csv + the CDB -> <runtype>-process.csv, the runs whose maps are missing or outdated.
import { CaloprodError } from '../lib/errors.js'
import { describeCounts, runCheck } from '../lib/check.js'
import { layout } from '../lib/files/layout.js'
import { main } from './main.js'

await main(
  {
    name: 'check',
    summary:
      'Asks the CDB, through CaloCDB-FilterDatasets, which runs of <output>/<runtype>.csv lack a current map\n' +
      '(one of the rule set\'s payloads missing, or built from another tag: seven under --rules seed, ten under\n' +
      'current; the binary must ask the same number), and writes them to\n' +
      '<output>/<runtype>-process.csv (runnumber,tag). Runs --jobs filter-datasets calls at once on shards of the\n' +
      'run list. Runs found current are remembered in <output>/<runtype>-settled.csv and not asked again while\n' +
      'their tag stays the same, for --recheck-after; --recheck asks about every run. If the CDB fails (a call\n' +
      'crashes, times out or answers nonsense, --cdb-retries times), nothing is written.',
    flags: ['run-type', 'rules', 'output', 'jobs', 'recheck', 'recheck-after', 'timeout', 'cdb-retries', 'bin-filter-datasets', 'verbose', 'quiet', 'help'],
    lock: true,
  },
  async ({ options, log, env }) => {
    // A Ctrl-C or a cron kill stops the filter-datasets calls too (they run in process groups of their own).
    const controller = new AbortController()
    const onSignal = (signal: NodeJS.Signals) => controller.abort(new CaloprodError(`interrupted by ${signal}; nothing was written`))
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    try {
      const result = await runCheck(options, log, { env, signal: controller.signal })
      const path = layout.processCsv(options.output, options.runType)
      const asked = result.asked
        ? `${result.asked} asked in ${result.calls} filter-datasets call${result.calls === 1 ? '' : 's'}`
        : 'none asked'
      const why = describeCounts(result.counts)
      return `check: ${result.runs} runs, ${result.cached} settled, ${asked}; ${result.toProcess} to process` +
        `${why ? ` (${why})` : ''}; ${path} ${result.changed.process ? 'updated' : 'unchanged'}`
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  },
)
