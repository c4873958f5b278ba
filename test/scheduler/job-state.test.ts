import t from 'tap'
import { hasUnsettled, reconcile, runState } from '../../lib/scheduler/job-state.js'
import type { SchedulerJob } from '../../lib/scheduler/scheduler.js'
import type { LedgerRow } from '../../lib/files/ledger.js'

const TAG = 'new_newcdbtag_v008'
const row = (over: Partial<LedgerRow>): LedgerRow => ({
  time: '2025-01-01T02:00:00Z', runnumber: 68006, tag: TAG, attempt: 1, state: 'submitted', cluster: undefined, proc: undefined,
  submission: 's-1', detail: '', ...over,
})
const job = (over: Partial<SchedulerJob>): SchedulerJob => ({
  cluster: 1, proc: 0, runTag: `68006_${TAG}`, status: 1, exitCode: undefined, holdReason: undefined, since: 1735696800, source: 'condor_q', ...over,
})

t.test('the latest cluster decides; each cluster is an attempt', async (t) => {
  const rows = [row({ cluster: 1, proc: 0 }), row({ submission: 's-2', attempt: 2, cluster: 4, proc: 3 })]
  t.match(runState(68006, TAG, rows, [job({ status: 4, exitCode: 1, source: 'condor_history' }), job({ cluster: 4, proc: 3, status: 2 })]), { state: 'running', attempts: 2, cluster: 4 })
  t.match(runState(68006, TAG, rows, [job({ status: 4, exitCode: 0 }), job({ cluster: 4, proc: 3, status: 4, exitCode: 0 })]), { state: 'done', detail: /job 4\.3 finished at 2025-01-01 02:00 UTC/ })
  t.match(runState(68006, TAG, rows, [job({ status: 4, exitCode: 1 })]), { state: 'failed', attempts: 2, detail: 'attempt 2: cluster 4 is in neither condor_q nor condor_history' })
  t.match(runState(68006, TAG, rows, [job({ cluster: 4, proc: 3, status: 4, exitCode: undefined })]), { state: 'failed', detail: /ended abnormally \(signal\)/ })
  t.match(runState(68006, TAG, [], [job({ status: 5, holdReason: 'disk full' })]), { state: 'held', attempts: 1, detail: /^job 1\.0 since .*: disk full$/ }, 'a job the ledger does not know still counts')
  t.match(runState(68006, TAG, [row({ state: 'failed', detail: 'condor_submit failed (exit 1): no schedd' })], []), { state: 'new', attempts: 0, detail: /last try s-1 failed: condor_submit failed/ })
  t.match(runState(68007, TAG, rows, [job({})]), { state: 'new', attempts: 0, detail: 'not submitted yet' }, 'other runs do not count')
})

t.test('reconcile settles interrupted submissions by the clusters no row names', async (t) => {
  const rows = [
    row({ cluster: 1, proc: 0 }), // an earlier, known submission of 68006
    row({ submission: 's-2', state: 'submitting' }),
    row({ submission: 's-2', runnumber: 68007, state: 'submitting' }),
    row({ submission: 's-3', runnumber: 68008, state: 'unknown', cluster: 9 }),
  ]
  t.equal(hasUnsettled(rows), true)
  const jobs = [job({}), job({ cluster: 5, proc: 0 }), job({ cluster: 9, proc: 2, runTag: `68008_${TAG}` })]
  const settled = reconcile(rows, jobs, '2025-01-02T00:00:00Z')
  t.same(settled.map((r) => [r.runnumber, r.state, r.cluster, r.proc, r.submission, r.time]), [
    [68006, 'submitted', 5, 0, 's-2', '2025-01-02T00:00:00Z'],
    [68007, 'lost', undefined, undefined, 's-2', '2025-01-02T00:00:00Z'],
    [68008, 'submitted', 9, 2, 's-3', '2025-01-02T00:00:00Z'],
  ])
  t.equal(hasUnsettled([...rows, ...settled]), false)
  t.same(reconcile([...rows, ...settled], jobs, 'x'), [], 'settled once')
})
