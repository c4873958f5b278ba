#!/usr/bin/env -S npx tsx
// Resubmit one run by hand, recorded in the ledger:  npx tsx examples/resubmit.ts OUTPUT RUN [--do-condor-submit]
// The submit stage's own path, for the one run of condor/jobs.list: without --do-condor-submit, what it would do
// and why; with it, under the output directory's lock, a frozen copy under submissions/ and the ledger row before
// condor_submit. A run queued, running or held (or done) is left alone; one given up after --max-attempts is
// submitted again, and its ledger rows say `by hand`.
import { resolve } from 'node:path'
import { acquireLock, CaloprodError, defaultOptions, lockOwner, logFileFor, openLog, RUN_TYPES, runSubmit } from 'caloprod'

const args = process.argv.slice(2)
const doCondorSubmit = args.includes('--do-condor-submit')
const [output, run, ...rest] = args.filter((arg) => arg !== '--do-condor-submit')
if (!output || !/^\d+$/.test(run ?? '') || rest.length > 0) {
  process.stderr.write('usage: resubmit.ts OUTPUT RUN [--do-condor-submit]\n')
  process.exit(2)
}
const runnumber = Number(run)
// The run type only says which process list gives the run's reason in the plan line.
const runType = Object.keys(RUN_TYPES).find((name) => RUN_TYPES[name].first <= runnumber && runnumber <= RUN_TYPES[name].last) ?? 'run3auau'
const options = { ...defaultOptions(process.env, process.cwd()), output: resolve(output), runType, doCondorSubmit, runs: [runnumber] }
// Verbose: the plan line (why the run is or is not submitted) goes to stderr; a dry run writes no log file.
const log = openLog({
  stage: 'resubmit', file: doCondorSubmit ? logFileFor(options.output) : undefined, verbose: true, quiet: false,
  stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text),
})
try {
  const release = doCondorSubmit ? await acquireLock(options.output, 'resubmit', lockOwner(), { log }) : undefined
  try {
    for (const line of (await runSubmit(options, { env: process.env, log })).lines) log.summary(line)
  } finally {
    await release?.()
  }
} catch (err) {
  if (!(err instanceof CaloprodError)) throw err
  process.stderr.write(`resubmit: ${err.message}\n`)
  process.exit(err.exitCode)
}
