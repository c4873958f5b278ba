#!/usr/bin/env -S npx tsx
// Resubmit one run by hand, recorded in the ledger:  npx tsx examples/resubmit.ts OUTPUT RUN [--do-condor-submit]
// The submit stage's own path, for the one run of condor/jobs.list: without --do-condor-submit, what it would do
// and why; with it, under the output directory's lock, a frozen copy under submissions/ and the ledger row before
// condor_submit. A run queued, running or held (or done) is left alone; one given up after --max-attempts is
// submitted again, and its ledger rows say `by hand`. Its lines hold outside text (condor_submit's words, a hold
// reason): printed as the stages print them (visibleLine).
import { caloprod, CaloprodError, RUN_TYPES, visibleLine } from 'caloprod'

const doCondorSubmit = process.argv.includes('--do-condor-submit')
const [output, run, ...rest] = process.argv.slice(2).filter((arg) => arg !== '--do-condor-submit')
if (!output || !/^\d+$/.test(run ?? '') || rest.length > 0) {
  process.stderr.write('usage: resubmit.ts OUTPUT RUN [--do-condor-submit]\n')
  process.exit(2)
}
// The run type only says which process list gives the run's reason; verbose: that plan line goes to stderr.
const runType = Object.keys(RUN_TYPES).find((name) => RUN_TYPES[name].first <= Number(run) && Number(run) <= RUN_TYPES[name].last)
try {
  const c = caloprod({ output, runType, name: 'resubmit', settings: { verbose: true } })
  for (const line of (await c.submit({ runs: [Number(run)], doCondorSubmit })).lines) process.stdout.write(`${visibleLine(line)}\n`)
} catch (err) {
  if (!(err instanceof CaloprodError)) throw err
  process.stderr.write(`resubmit: ${visibleLine(err.message)}\n`)
  process.exit(err.exitCode)
}
