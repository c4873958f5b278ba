#!/usr/bin/env -S npx tsx
// report: what every stage wrote + condor_q/condor_history -> <output>/report.html, the run type at a glance.
import { CaloprodError, UsageError } from '../lib/errors.js'
import { runReport } from '../lib/report.js'
import { declareStage } from './main.js'
import { plural } from '../lib/plural.js'

export const stage = declareStage(
  import.meta.url,
  {
    name: 'report',
    summary:
      'Writes <output>/report.html: one self-contained page (nothing fetched) with every run of the run type and its\n' +
      'state (current in the CDB, needs maps, queued, running, held, done but not in the CDB, failed, given up; not\n' +
      'yet checked, no word from the scheduler, unknown and uploaded when they apply), the runs that need a person,\n' +
      'plots, a table of every run, and the story of each run to process (why\'s, at report.html#run-N; with more\n' +
      'than 1,000 of them, the page\'s one script draws each when it is opened). Reads what the other stages wrote\n' +
      'and asks condor_q and condor_history as status does; a scheduler that does not answer is said on the page\n' +
      '(the ledger\'s view), and the stage still succeeds. Takes no lock and changes nothing but the page, its cache\n' +
      '<output>/.report-runs.json and <output>/log/ (the day\'s log, last-night.json, run-states.csv).\n' +
      'With --stdout or --output-file it writes nothing in the output directory (a read-only look). --max-attempts,\n' +
      '--max-memory and --memory-scale are submit\'s, so the page says what the next night does with a held job (the\n' +
      'submit task passes what follows -- to the report it defers).',
    flags: [
      'run-type', 'rules', 'output', 'stdout', 'output-file', 'max-attempts', 'max-memory', 'memory-scale', 'timeout', 'verbose', 'quiet',
      'help',
    ],
    readOnly: (options) => options.stdout || options.outputFile !== undefined,
  },
  async ({ options, env, stdout }) => {
    if (options.stdout && options.outputFile) throw new UsageError('--stdout and --output-file: give one, not both')
    const result = await runReport(options, env, new Date(), options.stdout ? stdout : options.outputFile)
    // The page is written whatever could not be read (its banner names it); the stage still fails on it, as any would.
    const [problem, ...more] = result.problems
    if (problem) throw new CaloprodError(`${problem}${more.length ? ` (and ${more.length} more)` : ''}; the page was written without it`)
    if (options.stdout) return undefined
    const counts = result.counts.map(([label, n]) => `${n} ${label}`).join(', ')
    const silent = result.schedulerAnswered ? '' : '; the scheduler did not answer (the page shows the ledger\'s view)'
    return `report: ${plural(result.runs, 'run')}${counts ? `: ${counts}` : ''}; ${result.attention} need${result.attention === 1 ? 's' : ''} a person${silent}; ${result.path}`
  },
)
