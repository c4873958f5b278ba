// The submit stage restricted to some runs (`runs`, what examples/resubmit.ts asks for), called in-process.
import { appendFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { UsageError } from '../../lib/errors.js'
import { readLedger } from '../../lib/files/ledger.js'
import { planSubmission, runSubmit, type SubmitOptions } from '../../lib/submit.js'
import { prepareSubmit as prepare, someRuns, TAG, type Prepared as Setup } from '../helpers/condor-output.js'
import { fakeCondor, readFakeState, submitCalls } from '../helpers/fake-condor.js'

const options = (s: Setup, more: Partial<SubmitOptions> = {}): SubmitOptions =>
  ({ output: s.output, runType: 'run3auau', doCondorSubmit: false, maxJobs: 20000, maxAttempts: 3, timeout: 60, ...more })
const context = (s: Setup) => {
  const warnings: string[] = []
  return { warnings, env: { ...process.env, ...s.env }, log: { info() {}, warn: (m: string) => void warnings.push(m), summary() {} } }
}
const ledger = async (s: Setup) => (await readLedger(join(s.output, 'submissions.csv'))).rows

t.test('planSubmission with runs: only those runs of jobs.list, and a run it does not have is a usage error', async (t) => {
  const s = await prepare(t, someRuns(3))
  const plan = await planSubmission(options(s, { runs: [68002] }), context(s))
  t.same(plan.entries.map((e) => [e.job.runnumber, e.action, e.note]), [[68002, 'submit', 'new: never submitted']])
  const every = await planSubmission(options(s), context(s))
  t.same(every.entries.map((e) => e.job.runnumber), [68001, 68002, 68003], 'without runs: every run')

  const jobsList = join(s.output, 'condor', 'jobs.list')
  await t.rejects(planSubmission(options(s, { runs: [68002, 68099] }), context(s)), new UsageError(
    `run 68099 is not in ${jobsList} (not in the process list, or it has no list); nothing was submitted`,
  ))
  await t.rejects(planSubmission(options(s, { runs: [68099] }), context(s)), { exitCode: 2, message: /^run 68099 is not in / })

  // Another run's list gone (a person cleaning datasets/) stops the stage, not a submission of this run by hand.
  rmSync(join(s.output, 'datasets', `68003_${TAG}.list`))
  await t.rejects(planSubmission(options(s), context(s)), { message: new RegExp(`^${jobsList}:3: .*68003_${TAG}\\.list does not exist`) })
  t.equal((await planSubmission(options(s, { runs: [68002] }), context(s))).entries.length, 1)
  t.equal(submitCalls(s.state), 0, 'a plan submits nothing')
})

t.test('a run given up after --max-attempts: the stage leaves it; asked for by hand it is submitted, and the ledger says so', async (t) => {
  const s = await prepare(t, someRuns(3))
  const stage = (more: Partial<SubmitOptions> = {}) => runSubmit(options(s, { doCondorSubmit: true, maxAttempts: 1, ...more }), context(s))
  t.match((await stage()).lines, [/^submit: 3 runs submitted to cluster 1 /])
  await fakeCondor(s.state, 'set', '1.1', 'completed', 'exit=1')
  t.same((await stage()).lines, ['submit: nothing to submit; 2 in flight, 1 given up'])
  // An interrupted submission of another run: by hand settles only the runs asked for, the stage the rest.
  appendFileSync(join(s.output, 'submissions.csv'), `2025-01-01T00:00:00Z,68001,${TAG},2,submitting,,,,,20250101T000000Z-9,x\n`)
  const before = (await ledger(s)).length

  const byHand = await stage({ runs: [68002] })
  t.match(byHand.lines, [/^submit: 1 run \(1 retry\) submitted to cluster 2 \(submissions\/\d{8}T\d{6}Z-2\)$/])
  const added = (await ledger(s)).slice(before)
  t.same(added.map((r) => [r.runnumber, r.attempt, r.state, r.cluster]), [[68002, 2, 'submitting', undefined], [68002, 2, 'submitted', 2]])
  t.match(added[0].detail, /^by hand: condor_submit in submissions\/\d{8}T\d{6}Z-2$/)
  t.same(readFakeState(s.state).jobs.filter((j) => j.ClusterId === 2).map((j) => j.CaloprodRunTag), [`68002_${TAG}`])

  t.same((await stage({ runs: [68002] })).lines, ['submit: nothing to submit; 1 in flight'], 'queued: never twice')
  t.equal(submitCalls(s.state), 2)
  const night = await stage()
  t.same(night.lines, ['submit: nothing to submit; 3 in flight'])
  t.match((await ledger(s)).slice(-1), [{ runnumber: 68001, state: 'lost' }], 'the stage settles the other run')
  await fakeCondor(s.state, 'set', '2.0', 'completed', 'exit=1')
  t.same((await stage()).lines, ['submit: nothing to submit; 2 in flight, 1 given up'], 'the stage itself still gives up on it')
})
