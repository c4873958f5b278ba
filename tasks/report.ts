#!/usr/bin/env -S npx tsx
// report: what every stage wrote + condor_q/condor_history -> <output>/report.html, the run type at a glance.
import { runReport } from '../lib/report.js'
import { declareStage } from './main.js'

export const stage = await declareStage(
  import.meta.url,
  {
    name: 'report',
    summary:
      'Writes <output>/report.html: one self-contained page (no script, nothing fetched) with every run of the run\n' +
      'type and its state (current in the CDB, needs maps, queued, running, held, done but not in the CDB, failed,\n' +
      'given up), the runs that need a person, plots and a table of every run. Reads what the other stages wrote\n' +
      'and asks condor_q and condor_history as status does; a scheduler that does not answer is said on the page\n' +
      '(the ledger\'s view), and the stage still succeeds. Takes no lock and changes nothing but the page and the log.',
    flags: ['run-type', 'rules', 'output', 'max-attempts', 'timeout', 'verbose', 'quiet', 'help'],
  },
  async ({ options, env }) => {
    const result = await runReport(options, env)
    const counts = result.counts.map(([label, n]) => `${n} ${label}`).join(', ')
    const silent = result.schedulerAnswered ? '' : '; the scheduler did not answer (the page shows the ledger\'s view)'
    return `report: ${result.runs} runs${counts ? `: ${counts}` : ''}; ${result.attention} need a person${silent}; ${result.path}`
  },
)
