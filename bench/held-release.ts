#!/usr/bin/env -S npx tsx
// The night after a campaign whose histograms outgrew their memory: N jobs of one cluster held for memory
// (HoldReasonCode 34, 512 MB each) on the fake HTCondor (test/fakes), released by submit's releaseHeld with 768 MB.
// Prints, per N, the wall time of the release, how many condor_qedit and condor_release processes it started
// (the fakes record each call), the ledger rows written and the jobs released with 768 MB. With --from DIR, releaseHeld is
// taken from the checkout DIR (e.g. a `git worktree` of an older commit), the fakes from this one, so the code
// before and after a change run on the same fakes. Not a test: times depend on the machine.
//
//   npx tsx bench/held-release.ts [--jobs 100,1000] [--from DIR]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { releaseHeld as ReleaseHeld } from '../lib/scheduler/memory-hold.js'
import type { RunState } from '../lib/scheduler/job-state.js'
import { DEFAULT_SCHEDD, fakeCondorEnv, readFakeState } from '../test/helpers/fake-condor.js'
import { benchArgs } from './args.js'
import { ROOT } from './measure.js'

const args = benchArgs('held-release', 'Usage: npx tsx bench/held-release.ts [--jobs 100,1000] [--from DIR]', { string: ['jobs', 'from'], default: { jobs: '100,1000' } })
const sizes = String(args.jobs).split(',').map(Number)
const from = resolve(String(args.from ?? ROOT))
const { releaseHeld } = (await import(pathToFileURL(join(from, 'lib/scheduler/memory-hold.ts')).href)) as { releaseHeld: typeof ReleaseHeld }
const TAG = 'new_newcdbtag_v009'
const quiet = { info() {}, warn() {}, summary() {} }

/** What condor_q reported of job 1.`proc`: held for memory with 512 MB. */
function heldRun(proc: number): { state: RunState; memoryMb: number; note: string } {
  const runnumber = 66457 + proc
  const job = {
    cluster: 1, proc, runTag: `${runnumber}_${TAG}`, status: 5, exitCode: undefined, holdReason: 'Job has gone over memory limit of 512 megabytes.',
    holdCode: 34, requestMemory: 512, since: 1765000000, source: 'condor_q' as const, schedd: DEFAULT_SCHEDD,
  }
  const state: RunState = {
    runnumber, tag: TAG, state: 'held', attempts: 1, job, cluster: 1, schedd: DEFAULT_SCHEDD, submitted: '2026-12-06T02:00:00Z',
    submission: '20261206T020000Z-1', detail: `held: ${job.holdReason}`,
  }
  return { state, memoryMb: 768, note: 'release 2 of 3: held for memory with 512 MB; given 768 MB' }
}

const root = mkdtempSync(join(tmpdir(), 'caloprod-bench-held-'))
try {
  process.stderr.write(`bench held-release: releaseHeld of ${from}\n`)
  console.log('| held jobs | wall s | condor_qedit | condor_release | ledger rows | released with 768 MB | not released |')
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const n of sizes) {
    const state = join(root, `condor-${n}.json`)
    const jobs = Array.from({ length: n }, (_, proc) => ({
      ClusterId: 1, ProcId: proc, JobStatus: 5, HoldReasonCode: 34, HoldReasonSubCode: 0, RequestMemory: 512,
      HoldReason: 'Job has gone over memory limit of 512 megabytes.', EnteredCurrentStatus: 1765000000, QDate: 1764990000,
      GlobalJobId: `${DEFAULT_SCHEDD}#1.${proc}#1764990000`, CaloprodRunTag: `${66457 + proc}_${TAG}`,
    }))
    writeFileSync(state, JSON.stringify({ nextCluster: 2, jobs, calls: [] }))
    const ledger = join(root, `submissions-${n}.csv`)
    const started = process.hrtime.bigint()
    const failures = await releaseHeld(Array.from({ length: n }, (_, proc) => heldRun(proc)), ledger, {
      env: { ...process.env, ...fakeCondorEnv(state) }, log: quiet, timeout: 600, time: () => new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    })
    const wall = Number(process.hrtime.bigint() - started) / 1e9
    const after = readFakeState(state)
    const count = (program: string) => after.calls.filter((c) => c.program === program).length
    const released = after.jobs.filter((j) => j.JobStatus === 1 && j.RequestMemory === 768).length
    const rows = readFileSync(ledger, 'utf8').trim().split('\n').length - 1
    console.log(`| ${n} | ${wall.toFixed(1)} | ${count('condor_qedit')} | ${count('condor_release')} | ${rows} | ${released} | ${failures.length} |`)
  }
} finally {
  rmSync(root, { recursive: true, force: true })
}
