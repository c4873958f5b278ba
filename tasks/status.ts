#!/usr/bin/env -S npx tsx
// status: <runtype>-process.csv + submissions.csv + condor_q/condor_history -> one line per run on stdout.
import { runStatus } from '../lib/status.js'
import { main } from './main.js'

await main(
  {
    name: 'status',
    summary:
      'Prints, for each run of <output>/<runtype>-process.csv, its state: new (not submitted), queued, running,\n' +
      'held (with the hold reason), done (finished, exit 0) or failed (with the attempts made), from the ledger\n' +
      '<output>/submissions.csv and what condor_q and condor_history say. Changes nothing but the log.',
    flags: ['run-type', 'rules', 'output', 'max-attempts', 'timeout', 'verbose', 'quiet', 'help'],
  },
  async ({ options, env }) => (await runStatus(options, env)).join('\n'),
)
