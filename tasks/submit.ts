#!/usr/bin/env -S npx tsx
// submit: condor/ -> the plan (default), or with --do-condor-submit a frozen copy under submissions/, the
// ledger submissions.csv and one condor_submit.
import { runSubmit } from '../lib/submit.js'
import { declareStage } from './main.js'

export const stage = declareStage(
  import.meta.url,
  {
    name: 'submit',
    summary:
      'Without --do-condor-submit: prints the plan (each run of condor/jobs.list, what would be done with it and\n' +
      'why) and changes nothing on disk, not even the log. With it: asks condor_q and condor_history what is in\n' +
      'flight, reads the ledger <output>/submissions.csv, and submits each run not queued, running, held, done,\n' +
      'failed --max-attempts times, or unknown (its schedd silent, or its job known to no schedd for less than two\n' +
      'days), at most --max-jobs of them, as one cluster from a frozen copy <output>/submissions/<time>-<n>/. Every\n' +
      'submission is in the ledger before condor_submit runs. A job held for memory (HoldReasonCode 34) is given\n' +
      '--memory-scale times its memory (at most --max-memory) and released (condor_qedit, condor_release), each\n' +
      'release one of its --max-attempts.',
    flags: [
      'run-type', 'rules', 'output', 'do-condor-submit', 'max-jobs', 'max-attempts', 'max-memory', 'memory-scale', 'timeout', 'verbose',
      'quiet', 'help',
    ],
    readOnly: (options) => !options.doCondorSubmit,
    endsNight: true,
    lock: true,
  },
  async ({ options, log, env }) => (await runSubmit(options, { env, log })).lines,
)
