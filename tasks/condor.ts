#!/usr/bin/env -S npx tsx
// condor: datasets/*.list + <runtype>-process.csv -> condor/jobs.list, condor/genStatus.sub, condor/genStatus.sh.
import { layout } from '../lib/files/layout.js'
import { runCondor } from '../lib/condor.js'
import { declareStage } from './main.js'
import { plural } from '../lib/plural.js'

export const stage = declareStage(
  import.meta.url,
  {
    name: 'condor',
    summary:
      'Writes the submission directory <output>/condor/: jobs.list (the absolute path of the list of each run of\n' +
      '<runtype>-process.csv that has one in datasets/), genStatus.sub (one job per line of jobs.list, each running\n' +
      'genStatus.sh <genStatus binary> <list> <output>/output) and genStatus.sh (the job wrapper, or --condor-script).\n' +
      'Submit it with the submit stage, which never submits a run while a job of it is in flight.',
    flags: ['run-type', 'rules', 'output', 'bin-genStatus', 'condor-script', 'condor-log-dir', 'memory', 'verbose', 'quiet', 'help'],
    lock: true,
  },
  async ({ options, log }) => {
    const result = await runCondor(options, log)
    const notes = [result.stale && `${plural(result.stale, 'stale list')} ignored`, result.unlisted && `${plural(result.unlisted, 'run')} without a list`]
      .filter(Boolean)
      .join(', ')
    const changed = result.changed ? 'updated' : 'unchanged'
    return `condor: ${plural(result.jobs, 'job')}${notes ? ` (${notes})` : ''}; ${layout.condorDir(options.output)} ${changed}`
  },
)
