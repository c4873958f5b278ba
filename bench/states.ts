#!/usr/bin/env -S npx tsx
// The state of every run, as submit's plan and status compute it, on a run type of N runs: the ledger holds one
// submission per run and the fake HTCondor (test/fakes) one job per run, a mix of finished, failed, running and
// idle. Prints the median wall time of each over --repeat tries, and of the state step alone (the ledger and the
// jobs in memory; `runStates` where lib/scheduler/job-state.ts has it, else `runState` per run as the stages did
// before). Not part of the tests.
//
//   npx tsx bench/states.ts [--runs 3000,12000] [--repeat 3]
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SEED_RULES } from '../lib/rules/seed.js'
import * as jobState from '../lib/scheduler/job-state.js'
import { readLedger } from '../lib/files/ledger.js'
import { schedulerJobs } from '../lib/scheduler/scheduler.js'
import { runStatus } from '../lib/status.js'
import { planSubmission } from '../lib/submit.js'
import { writeCondorDir, writeStageInputs, TAG } from '../test/helpers/condor-output.js'
import { fakeCondorEnv } from '../test/helpers/fake-condor.js'
import { benchArgs } from './args.js'

const argv = benchArgs('states', 'Usage: npx tsx bench/states.ts [--runs 3000,12000] [--repeat 3]', { string: ['runs', 'repeat'] })
const sizes = String(argv.runs ?? '3000,12000').split(',').map(Number)
const repeat = Number(argv.repeat ?? 3)
const FIRST_RUN = 60000
const quiet = { info() {}, warn() {}, summary() {} }

/** An output directory after condor, with `runs` submitted once each and their jobs in the fake queue. */
async function setUp(runs: number): Promise<{ output: string; env: NodeJS.ProcessEnv; root: string }> {
  const root = await mkdtemp(join(tmpdir(), 'caloprod-bench-states-'))
  const output = join(root, 'out')
  const specs = Array.from({ length: runs }, (_, i) => ({ run: FIRST_RUN + i, tag: TAG, files: [`/d/${FIRST_RUN + i}.root`] }))
  writeStageInputs(output, specs)
  const state = join(root, 'condor-state.json')
  const prepared = { output, state, logs: join(root, 'logs'), env: fakeCondorEnv(state) }
  mkdirSync(prepared.logs)
  await writeCondorDir(prepared)
  const rows = ['time,runnumber,tag,attempt,state,cluster,proc,submission,detail']
  const jobs = specs.map((spec, i) => {
    rows.push(`2025-01-01T02:00:00Z,${spec.run},${TAG},1,submitted,1,${i},20250101T020000Z-1,x`)
    // A quarter each: done, failed, running, idle.
    const status = [4, 4, 2, 1][i % 4]
    return {
      ClusterId: 1, ProcId: i, JobStatus: status, ExitCode: status === 4 ? i % 4 : undefined, EnteredCurrentStatus: 1735696800,
      CaloprodRunTag: `${spec.run}_${TAG}`, CaloprodOutput: output,
    }
  })
  writeFileSync(join(output, 'submissions.csv'), `${rows.join('\n')}\n`)
  writeFileSync(state, JSON.stringify({ nextCluster: 2, jobs, calls: [] }))
  return { output, env: { ...process.env, ...prepared.env }, root }
}

async function median(what: () => Promise<unknown>): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < repeat; i++) {
    const started = performance.now()
    await what()
    times.push(performance.now() - started)
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]
}

for (const runs of sizes) {
  const { output, env, root } = await setUp(runs)
  try {
    const common = { output, runType: 'run3auau', maxAttempts: 3, timeout: 600, rules: SEED_RULES }
    const plan = await median(() =>
      planSubmission({ ...common, doCondorSubmit: false, maxJobs: 20000 }, { env, log: quiet }))
    const status = await median(() => runStatus(common, env))
    const rows = (await readLedger(join(output, 'submissions.csv'))).rows
    const jobs = await schedulerJobs(output, { env, timeout: 600 })
    const wanted = rows.map((row) => ({ runnumber: row.runnumber, tag: row.tag }))
    const grouped = (jobState as { runStates?: (r: typeof wanted, l: typeof rows, j: typeof jobs) => unknown[] }).runStates
    const states = await median(async () =>
      grouped ? grouped(wanted, rows, jobs) : wanted.map((run) => jobState.runState(run.runnumber, run.tag, rows, jobs)))
    const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`
    process.stdout.write(
      `${runs} runs: submit's plan ${seconds(plan)}, status ${seconds(status)}, ` +
        `the states alone ${seconds(states)} (${grouped ? 'runStates' : 'runState per run'}; median of ${repeat})\n`,
    )
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
}
