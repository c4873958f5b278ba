// lib/condor/job-ids.ts: the constraint that names jobs for condor_qedit, and chunks that fit one argument.
import t from 'tap'
import { CHUNK_CONSTRAINT_BYTES, CHUNK_JOBS, chunkJobs, jobsConstraint, type JobId } from '../../lib/condor/job-ids.js'
import { fakeCondorLib } from '../helpers/fake-condor.js'

const ids = (...text: string[]): JobId[] => text.map((id) => ({ cluster: Number(id.split('.')[0]), proc: Number(id.split('.')[1]) }))

t.test('jobsConstraint: per cluster, sorted, each job once, as condor_qedit makes it of job ids', async (t) => {
  t.equal(jobsConstraint(ids('7.3')), 'ClusterId == 7 && ProcId == 3')
  t.equal(jobsConstraint(ids('7.3', '7.0', '7.3')), 'ClusterId == 7 && (ProcId == 0 || ProcId == 3)')
  t.equal(jobsConstraint(ids('9.1', '7.3', '7.0')), '(ClusterId == 7 && (ProcId == 0 || ProcId == 3)) || (ClusterId == 9 && ProcId == 1)')
})

t.test('jobsConstraint matches the jobs it names and no other (the fake schedd\'s reading of it)', async (t) => {
  const named = ids('7.0', '7.3', '9.1', '12.0')
  const matches = fakeCondorLib.parseConstraint(jobsConstraint(named))
  const all = [7, 9, 12, 70].flatMap((cluster) => [0, 1, 3, 30].map((proc) => ({ cluster, proc })))
  t.same(all.filter((j) => matches({ ClusterId: j.cluster, ProcId: j.proc })), [...named].sort((a, b) => a.cluster - b.cluster || a.proc - b.proc))
})

t.test('chunkJobs: in order, at most CHUNK_JOBS a chunk, and every constraint within CHUNK_CONSTRAINT_BYTES', async (t) => {
  const many = Array.from({ length: 1234 }, (_, i) => ({ cluster: 4, proc: i }))
  const chunks = chunkJobs(many)
  t.same(chunks.map((c) => c.length), [CHUNK_JOBS, CHUNK_JOBS, 234])
  t.same(chunks.flat(), many, 'every job once, in order')
  t.same(chunkJobs(many.slice(0, 5), 2).map((c) => c.length), [2, 2, 1])
  t.same(chunkJobs([]), [])
  // The worst case: every job its own cluster, with ids as long as HTCondor's (int) allow.
  const worst = Array.from({ length: 3000 }, (_, i) => ({ cluster: 2_000_000_000 + i, proc: 2_000_000_000 + i }))
  const sizes = chunkJobs(worst).map((chunk) => Buffer.byteLength(jobsConstraint(chunk)))
  t.ok(sizes.every((size) => size <= CHUNK_CONSTRAINT_BYTES), `largest ${Math.max(...sizes)} bytes`)
  t.ok(CHUNK_CONSTRAINT_BYTES * 4 <= 128 * 1024, 'a quarter of MAX_ARG_STRLEN at most')
  const small = chunkJobs(worst, CHUNK_JOBS, 4096)
  t.ok(small.length > 3000 / CHUNK_JOBS, `a smaller byte limit cuts first: ${small.length} chunks`)
  t.ok(small.every((chunk) => Buffer.byteLength(jobsConstraint(chunk)) <= 4096))
})
