#!/usr/bin/env -S npx tsx
// check: <runtype>.csv + the CDB -> <runtype>-process.csv, the runs whose maps are missing or outdated.
import { CaloprodError } from '../lib/errors.js'
import { describeCounts, runCheck } from '../lib/check.js'
import { layout } from '../lib/files/layout.js'
import { NO_PROGRESS, progressCounter } from '../lib/progress.js'
import { declareStage } from './main.js'
import { plural } from '../lib/plural.js'

export const stage = declareStage(
  import.meta.url,
  {
    name: 'check',
    summary:
      'Asks the CDB which runs of <output>/<runtype>.csv lack a current map (one of the rule set\'s payloads\n' +
      'missing, or built from another tag: seven under --rules seed, ten under current), and writes them to\n' +
      '<output>/<runtype>-process.csv (runnumber,tag,missing,outdated: the payload types of each, where the CDB was\n' +
      'asked which). With --cdb filter-datasets (the default) it runs --jobs CaloCDB-FilterDatasets calls at once on\n' +
      'shards of the run list (the binary must ask the same number of payloads), and asks the server it uses\n' +
      '($NOPAYLOADCLIENT_CONF\'s, else --cdb-url) itself before and after, so that an outage is not taken for\n' +
      'outdated maps; with --cdb rest it asks nopayloaddb itself, one request per run, --jobs at a time. Runs found\n' +
      'current are remembered in <output>/<runtype>-settled.csv and not asked again while their tag stays the same,\n' +
      'for --recheck-after; --recheck asks about every run. If the CDB fails (a call crashes, times out or answers\n' +
      'nonsense, --cdb-tries times, or cannot be trusted), nothing is written.',
    flags: [
      'run-type', 'rules', 'output', 'cdb', 'cdb-url', 'global-tag', 'jobs', 'recheck', 'recheck-after', 'timeout', 'cdb-tries',
      'bin-filter-datasets', 'verbose', 'quiet', 'help',
    ],
    lock: true,
  },
  async ({ options, log, env, progress }) => {
    // A Ctrl-C or a cron kill stops the filter-datasets calls (they run in process groups of their own) or the requests.
    const controller = new AbortController()
    const onSignal = (signal: NodeJS.Signals) => controller.abort(new CaloprodError(`interrupted by ${signal}; nothing was written`))
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    try {
      let counter: ((done: number) => void) | undefined
      const onAnswered = progress === NO_PROGRESS ? undefined : (answered: number, total: number) => {
        counter ??= progressCounter(progress, 'check', 'runs answered', total)
        counter(answered)
      }
      const result = await runCheck(options, log, { env, signal: controller.signal, onAnswered })
      const path = layout.processCsv(options.output, options.runType)
      const unit = result.cdb === 'rest' ? 'request' : 'filter-datasets call'
      const asked = result.asked ? `${result.asked} asked in ${plural(result.calls, unit)}` : 'none asked'
      const why = describeCounts(result.counts)
      return `check: ${plural(result.runs, 'run')}, ${result.cached} settled, ${asked}; ${result.toProcess} to process` +
        `${why ? ` (${why})` : ''}; ${path} ${result.changed.process ? 'updated' : 'unchanged'}`
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  },
)
