#!/usr/bin/env -S npx tsx
// status: <runtype>-process.csv + submissions.csv + condor_q/condor_history -> one line per run on stdout.
import { runStatus, runStatusSince } from '../lib/status.js'
import { declareStage } from './main.js'

export const stage = declareStage(
  import.meta.url,
  {
    name: 'status',
    summary:
      'Prints, for each run of <output>/<runtype>-process.csv, its state: new (not submitted), queued, running,\n' +
      'held (with the hold reason), unknown (no schedd knows its latest job, or its schedd did not answer), done\n' +
      '(finished, exit 0), uploaded (its payloads in the CDB, per <output>/uploads.csv, awaiting the next check;\n' +
      'incomplete when some type has none) or failed (with the attempts made), from the ledger\n' +
      '<output>/submissions.csv and what condor_q and condor_history say. After a bad night, a last line names the\n' +
      'stage that failed and its line, as report.html opens with it (<output>/log/last-night.json).\n' +
      'With --json: a JSON array, one object per run (runnumber, tag, state, detail, attempts, cluster, proc,\n' +
      'hold_reason, memory_mb), one a line, and no count line; a bad night\'s line goes to stderr, as a warning.\n' +
      'Writes nothing, not even the log: it works on a read-only directory.\n' +
      'With --since DURATION: the runs whose state changed since then (new, submitted, queued, held, done, uploaded,\n' +
      'current, ...), as each night\'s report records the states in <output>/log/run-states.csv; with --json, a JSON\n' +
      'array of them (runnumber, tag, before: the state then or null, state: now), one a line, and no count line.\n' +
      'A record not reaching back that far is an error naming the oldest record (exit 1), in both forms.',
    readOnly: () => true,
    flags: ['run-type', 'rules', 'output', 'max-attempts', 'timeout', 'json', 'since', 'verbose', 'quiet', 'help'],
  },
  async ({ options, env, log }) =>
    options.since === undefined ? await runStatus(options, env, log.warn) : await runStatusSince(options, env, options.since),
)
