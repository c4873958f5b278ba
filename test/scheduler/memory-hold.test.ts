// lib/scheduler/memory-hold.ts's releaseHeld in-process against the fake condor_qedit and condor_release
// (test/fakes/condor-edit-lib.mjs): jobs held for memory released a few scheduler calls at a time, grouped by
// schedd and memory and cut into chunks, with each job's outcome its own, as condor_q saw them a moment before.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { readLedger } from '../../lib/files/ledger.js'
import type { Log } from '../../lib/log.js'
import type { RunState } from '../../lib/scheduler/job-state.js'
import { releaseHeld } from '../../lib/scheduler/memory-hold.js'
import { JOB_STATUS } from '../../lib/scheduler/scheduler.js'
import { TAG } from '../helpers/condor-output.js'
import { DEFAULT_SCHEDD, FAKES, fakeCondorEnv, readFakeState, type FakeJob } from '../helpers/fake-condor.js'

const OTHER = 'sphnxsub02.fake.bnl.gov'
const run = (cluster: number, proc: number) => 68000 + cluster * 100 + proc

/** A job held for memory with 512 MB, as the fake queue holds it. */
const queued = (cluster: number, proc: number, schedd = DEFAULT_SCHEDD) => ({
  ClusterId: cluster, ProcId: proc, JobStatus: JOB_STATUS.held, HoldReasonCode: 34, RequestMemory: 512, EnteredCurrentStatus: 1751400000,
  GlobalJobId: `${schedd}#${cluster}.${proc}#1751400000`, CaloprodRunTag: `${run(cluster, proc)}_${TAG}`,
})

/** The run of that job as condor_q reported it, to be released with `memoryMb`. */
const held = (cluster: number, proc: number, memoryMb = 768, schedd = DEFAULT_SCHEDD) => {
  const state: RunState = {
    runnumber: run(cluster, proc), tag: TAG, state: 'held', attempts: 1, cluster, schedd, submitted: '2026-12-06T02:00:00Z',
    submission: 'sub-1', detail: 'over memory',
    job: {
      cluster, proc, runTag: `${run(cluster, proc)}_${TAG}`, status: JOB_STATUS.held, exitCode: undefined, holdReason: 'over',
      holdCode: 34, requestMemory: 512, since: 1751400000, source: 'condor_q', schedd,
    },
  }
  return { state, memoryMb, note: `release 2 of 3: given ${memoryMb} MB` }
}

function setUp(t: Test, jobs: Record<string, unknown>[]) {
  const dir = t.testdir()
  const state = join(dir, 'condor-state.json')
  writeFileSync(state, JSON.stringify({ nextCluster: 100, jobs, calls: [] }))
  const lines: string[] = []
  const log: Log = { info: (m) => void lines.push(m), warn: (m) => void lines.push(`warning: ${m}`), summary: () => {} }
  // A minute a call: a loaded machine can take seconds to start node.
  const ctx = { env: { ...process.env, ...fakeCondorEnv(state) }, log, timeout: 60, time: () => '2026-12-07T03:00:00Z' }
  const calls = (program: string) => readFakeState(state).calls.filter((c) => c.program === program).map((c) => c.argv)
  const job = (id: string, schedd = DEFAULT_SCHEDD) =>
    readFakeState(state).jobs.find((j) => `${j.ClusterId}.${j.ProcId}` === id && j.GlobalJobId!.startsWith(`${schedd}#`)) as FakeJob
  return { dir, ledger: join(dir, 'submissions.csv'), ctx, lines, calls, job }
}

t.test('held jobs of a schedd given the same memory: one condor_qedit and one condor_release, not two per job', async (t) => {
  const ids = [0, 1, 2, 3, 4, 5]
  const s = setUp(t, ids.map((p) => queued(1, p)))
  const failures = await releaseHeld(ids.map((p) => held(1, p)), s.ledger, s.ctx)
  t.same(failures, [])
  t.same(s.calls('condor_qedit'), [[
    '-name', DEFAULT_SCHEDD, '-constraint', 'ClusterId == 1 && (ProcId == 0 || ProcId == 1 || ProcId == 2 || ProcId == 3 || ProcId == 4 || ProcId == 5)',
    'RequestMemory', '768',
  ]])
  t.same(s.calls('condor_release'), [['-name', DEFAULT_SCHEDD, '1.0', '1.1', '1.2', '1.3', '1.4', '1.5']])
  t.same(ids.map((p) => [s.job(`1.${p}`).JobStatus, s.job(`1.${p}`).RequestMemory]), ids.map(() => [JOB_STATUS.idle, 768]))
  t.same(s.lines, ids.map((p) => `run ${run(1, p)} ${TAG}: job 1.${p} released with 768 MB`), 'a line per run, as before')
  const rows = (await readLedger(s.ledger)).rows
  t.same(rows.map((r) => [r.runnumber, r.state, r.attempt, r.cluster, r.proc, r.schedd, r.memoryMb, r.submission, r.detail]),
    ids.map((p) => [run(1, p), 'released', 2, 1, p, DEFAULT_SCHEDD, 768, 'sub-1', 'release 2 of 3: given 768 MB: condor_qedit RequestMemory 768, condor_release']),
    'a released row per job, as before')
})

t.test('a job that left the queue after condor_q saw it is reported; the others of its call are released', async (t) => {
  const s = setUp(t, [queued(1, 0), queued(1, 1), { ...queued(1, 2), JobStatus: JOB_STATUS.completed, ExitCode: 0 }, queued(1, 3)])
  const failures = await releaseHeld([0, 1, 2, 3].map((p) => held(1, p)), s.ledger, s.ctx)
  t.same(failures, [`run ${run(1, 2)} ${TAG}: condor_release 1.2 failed: Job 1.2 not found`])
  t.equal(s.calls('condor_qedit').length, 1, 'the edit matched the three still queued')
  t.same([0, 1, 3].map((p) => [s.job(`1.${p}`).JobStatus, s.job(`1.${p}`).RequestMemory]), [[1, 768], [1, 768], [1, 768]])
  t.match(s.lines, [/job 1\.0 released/, /job 1\.1 released/, `warning: run ${run(1, 2)} ${TAG}: could not release job 1.2 with 768 MB: condor_release 1.2 failed: Job 1.2 not found`, /job 1\.3 released/])
  t.equal((await readLedger(s.ledger)).rows.length, 4, 'its row stays: the attempt counts')
})

t.test('chunks: a chunk whose edit fails is not released, and the others are', async (t) => {
  // 2.0 and 2.1 left the queue (rotated out of the history too), so the edit of their chunk matches nothing.
  const s = setUp(t, [queued(2, 2), queued(2, 3), queued(2, 4)])
  const failures = await releaseHeld([0, 1, 2, 3, 4].map((p) => held(2, p)), s.ledger, { ...s.ctx, chunkJobs: 2 })
  t.same(s.calls('condor_qedit').map((argv) => argv[3]), [
    'ClusterId == 2 && (ProcId == 0 || ProcId == 1)', 'ClusterId == 2 && (ProcId == 2 || ProcId == 3)', 'ClusterId == 2 && ProcId == 4',
  ])
  t.same(s.calls('condor_release'), [['-name', DEFAULT_SCHEDD, '2.2', '2.3'], ['-name', DEFAULT_SCHEDD, '2.4']], 'not the chunk the edit failed for')
  t.equal(failures.length, 2)
  t.match(failures[0], /^run 68200 \S+: condor_qedit 2\.0 … 2\.1 \(2 jobs\) failed \(exit 1\): Failed to set attribute "RequestMemory" by constraint/)
  t.match(failures[1], /^run 68201 \S+: condor_qedit 2\.0 … 2\.1 \(2 jobs\) failed/)
  t.same([2, 3, 4].map((p) => s.job(`2.${p}`).JobStatus), [1, 1, 1])
})

t.test('grouped by schedd and memory: one edit each, with -name of the schedd that queued the jobs', async (t) => {
  const s = setUp(t, [queued(1, 0), queued(1, 1), queued(1, 2), queued(1, 0, OTHER), queued(1, 1, OTHER)])
  const failures = await releaseHeld([
    held(1, 0, 768), held(1, 0, 768, OTHER), held(1, 1, 1024), held(1, 2, 768), held(1, 1, 768, OTHER),
  ], s.ledger, s.ctx)
  t.same(failures, [])
  t.same(s.calls('condor_qedit').map((argv) => [argv[1], argv[3], argv[5]]), [
    [DEFAULT_SCHEDD, 'ClusterId == 1 && (ProcId == 0 || ProcId == 2)', '768'],
    [OTHER, 'ClusterId == 1 && (ProcId == 0 || ProcId == 1)', '768'],
    [DEFAULT_SCHEDD, 'ClusterId == 1 && ProcId == 1', '1024'],
  ])
  t.same(s.calls('condor_release').map((argv) => argv.join(' ')), [
    `-name ${DEFAULT_SCHEDD} 1.0 1.2`, `-name ${OTHER} 1.0 1.1`, `-name ${DEFAULT_SCHEDD} 1.1`,
  ])
  t.same([s.job('1.0').RequestMemory, s.job('1.1').RequestMemory, s.job('1.2').RequestMemory, s.job('1.0', OTHER).RequestMemory], [768, 1024, 768, 768])
})

t.test('a schedd that stops answering after the edit: each job reported with what condor_release said', async (t) => {
  const s = setUp(t, [queued(1, 0), queued(1, 1)])
  const bin = join(s.dir, 'bin')
  mkdirSync(bin)
  writeFileSync(join(bin, 'condor_release'), `#!/bin/sh\nFAKE_CONDOR_EDIT_MODE=fail exec ${join(FAKES, 'condor_release')} "$@"\n`, { mode: 0o755 })
  const failures = await releaseHeld([held(1, 0), held(1, 1)], s.ledger, { ...s.ctx, env: { ...s.ctx.env, PATH: `${bin}:${s.ctx.env.PATH}` } })
  const why = 'condor_release 1.0 … 1.1 (2 jobs) failed (exit 1): DCSchedd::actOnJobs:6001:Failed to connect to schedd'
  t.same(failures, [`run ${run(1, 0)} ${TAG}: ${why}`, `run ${run(1, 1)} ${TAG}: ${why}`])
  t.same([s.job('1.0').JobStatus, s.job('1.0').RequestMemory], [JOB_STATUS.held, 768], 'edited, still held: the next night releases it')
})

t.test('a group\'s ledger rows are written, in one append, before its first scheduler call', async (t) => {
  const s = setUp(t, [queued(1, 0), queued(1, 1), queued(1, 2)])
  const bin = join(s.dir, 'bin')
  mkdirSync(bin)
  const seen = join(s.dir, 'rows-seen')
  // condor_qedit notes how many lines the ledger has when it starts (a header and the rows), then runs as the fake.
  writeFileSync(join(bin, 'condor_qedit'), `#!/bin/sh\nwc -l < ${s.ledger} >> ${seen}\nexec ${join(FAKES, 'condor_qedit')} "$@"\n`, { mode: 0o755 })
  const failures = await releaseHeld([held(1, 0), held(1, 1), held(1, 2)], s.ledger, { ...s.ctx, env: { ...s.ctx.env, PATH: `${bin}:${s.ctx.env.PATH}` } })
  t.same(failures, [])
  t.same(readFileSync(seen, 'utf8').split('\n').filter(Boolean).map(Number), [4], 'the header and the three rows, before the one edit')
})
