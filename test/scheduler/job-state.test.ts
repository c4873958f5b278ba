import t from 'tap'
import { hasUnsettled, reconcile, runState, runStates, scheddsToAsk, writtenSince } from '../../lib/scheduler/job-state.js'
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
  t.match(runState(68006, TAG, rows, [job({ status: 4, exitCode: 1 })]), {
    state: 'unknown', attempts: 2, cluster: 4, submitted: '2025-01-01T02:00:00Z',
    detail: "attempt 2: cluster 4 (submitted 2025-01-01 02:00 UTC) is known to neither condor_q nor condor_history of this host's schedd (the ledger names none)",
  }, 'a cluster no schedd knows is unknown, not failed')
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

const A = 'sphnxsub01.sdcc.bnl.gov'
const B = 'sphnxsub02.sdcc.bnl.gov'

t.test('clusters of two schedds: each its own attempt, the ledger orders them, a row names its schedd', async (t) => {
  // Night 1 on A (its cluster 900), night 2 on B, whose clusters start again at 5.
  const rows = [
    row({ cluster: 900, proc: 0, schedd: A }),
    row({ time: '2025-01-02T02:00:00Z', submission: 's-2', attempt: 2, cluster: 5, proc: 0, schedd: B }),
  ]
  const onA = job({ cluster: 900, status: 4, exitCode: 1, source: 'condor_history', schedd: A })
  t.match(runState(68006, TAG, rows, [onA, job({ cluster: 5, status: 4, exitCode: 0, schedd: B })]), { state: 'done', attempts: 2, cluster: 5, schedd: B },
    'the later submission decides, though its cluster number is smaller')
  t.match(runState(68006, TAG, rows, [onA, job({ cluster: 5, status: 4, exitCode: 0, schedd: A })]), { state: 'unknown', cluster: 5, schedd: B },
    "A's cluster 5 is another job")
  t.match(runState(68006, TAG, rows, [onA]), { state: 'unknown', attempts: 2, detail: /cluster 5 .* of schedd sphnxsub02\.sdcc\.bnl\.gov$/ })
  const silent = runStates([{ runnumber: 68006, tag: TAG }], rows, [onA], { unanswered: new Map([[B, 'condor_q -name B failed (exit 1): down']]) })
  t.match(silent, [{ state: 'unknown', detail: /: schedd sphnxsub02\.sdcc\.bnl\.gov did not answer: condor_q -name B failed \(exit 1\): down$/ }])
  t.same(scheddsToAsk(rows, [{ runnumber: 68006, tag: TAG }, { runnumber: 68007, tag: TAG }]), [B], 'the schedd of each run\'s latest cluster')
  t.same(scheddsToAsk([row({ cluster: 3 })], [{ runnumber: 68006, tag: TAG }]), [], 'a row of an older ledger names none')
})

t.test('an unknown run whose job folder got files after its submission is done', async (t) => {
  const unknown = runState(68006, TAG, [row({ cluster: 4, proc: 0, schedd: A })], [])
  t.equal(unknown.state, 'unknown')
  const submitted = Date.parse('2025-01-01T02:00:00Z')
  t.match(writtenSince(unknown, submitted + 3600_000), {
    state: 'done', detail: `cluster 4 is known to no schedd any more, but wrote output/68006_${TAG}/ at 2025-01-01 03:00 UTC`,
  })
  t.equal(writtenSince(unknown, submitted - 1000), unknown, 'files from before the submission are an earlier job\'s')
  t.equal(writtenSince(unknown, undefined), unknown)
})

t.test('a run whose schedd did not answer, and whose job folder got files after its submission, is done: the detail says the schedd was silent', async (t) => {
  const unanswered = new Map([[A, 'condor_q -name A failed (exit 1): down']])
  const silent = runState(68006, TAG, [row({ cluster: 4, proc: 0, schedd: A })], [], { unanswered })
  t.match(silent, { state: 'unknown', silent: true })
  const written = writtenSince(silent, Date.parse('2025-01-01T03:00:00Z'))
  t.match(written, {
    state: 'done', detail: `schedd ${A} did not answer, but cluster 4 wrote output/68006_${TAG}/ at 2025-01-01 03:00 UTC`,
  })
  t.notMatch(written.detail, /known to no schedd/, 'it was not asked: no schedd said it no longer knows the job')
})

t.test('runStates: every run at once equals each run alone', async (t) => {
  const runs = Array.from({ length: 40 }, (_, i) => ({ runnumber: 68000 + i, tag: TAG }))
  const rows = runs.flatMap(({ runnumber }, i) => (i % 5 === 4 ? [] : [row({ runnumber, submission: `s-${i % 3}`, cluster: i % 3 + 1, proc: i })]))
  // By i % 5: queued, running, done, failed, held (a job the ledger has no row of); every 7th from 3 has no job.
  const jobs = runs.flatMap(({ runnumber }, i) => (i % 7 === 3 ? [] : [job({
    cluster: i % 3 + 1, proc: i, runTag: `${runnumber}_${TAG}`, status: [1, 2, 4, 4, 5][i % 5]!, exitCode: i % 5 === 3 ? 1 : 0,
  })]))
  const together = runStates(runs, rows, jobs)
  t.same(together, runs.map(({ runnumber, tag }) => runState(runnumber, tag, rows, jobs)))
  t.same(new Set(together.map((s) => s.state)), new Set(['new', 'queued', 'running', 'held', 'done', 'failed', 'unknown']))
})

t.test('reconcile takes the job of the schedd a row names, and records the schedd of the job it finds', async (t) => {
  const rows = [
    row({ cluster: 7, proc: 0, schedd: A }),
    row({ submission: 's-2', attempt: 2, state: 'submitting' }),
  ]
  // B has a cluster 7 of this run too: not the one A's row names, so it is the interrupted submission's.
  const settled = reconcile(rows, [job({ cluster: 7, schedd: A, status: 4, exitCode: 1 }), job({ cluster: 7, schedd: B })], 'now')
  t.same(settled.map((r) => [r.state, r.cluster, r.schedd]), [['submitted', 7, B]])
})

t.test('reconcile leaves a submit running now its own rows: written since it took the lock (whole seconds)', async (t) => {
  const inFlight = { since: '2025-01-02T00:00:00.700Z', by: 'the submit stage (pid 42)' }
  const rows = [
    row({ submission: 's-1', state: 'submitting', time: '2025-01-01T23:59:59Z' }), // a stopped submit's
    row({ submission: 's-2', runnumber: 68007, state: 'submitting', time: '2025-01-02T00:00:00Z' }), // the running one's
  ]
  t.same(reconcile(rows, [], 'now', { inFlight }).map((r) => [r.runnumber, r.state]), [[68006, 'lost']])
  t.same(reconcile(rows, [], 'now').map((r) => [r.runnumber, r.state]), [[68006, 'lost'], [68007, 'lost']], 'none running: both')
  t.match(runState(68007, TAG, rows, [], { inFlight }), { state: 'queued', detail: 'submission s-2 is being submitted now, by the submit stage (pid 42)' })
  t.match(runState(68007, TAG, rows, []), { state: 'queued', detail: 'submission s-2 is submitting and not yet known to the scheduler' })
})

t.test('a cluster the ledger does not name is ordered by its QDate, not taken for the oldest', async (t) => {
  const rows = [row({ cluster: 1, proc: 0 })]
  const failed = job({ status: 4, exitCode: 1, source: 'condor_history' })
  // Submitted a day after the ledger's cluster (by hand, or by a condor_submit whose commit reply was lost).
  const later = job({ cluster: 2, status: 4, exitCode: 0, queued: Date.parse('2025-01-02T02:00:00Z') / 1000 })
  t.match(runState(68006, TAG, rows, [failed, later]), { state: 'done', attempts: 2, detail: /^job 2\.0 finished/ })
  t.match(runState(68006, TAG, rows, [failed, { ...later, queued: undefined }]), { state: 'failed', detail: /job 1\.0 exited 1/ },
    'without a QDate it is the oldest, as before')
})

t.test('reconcile leaves a row whose schedd did not answer unsettled; a row naming a schedd takes only its jobs', async (t) => {
  const rows = [
    row({ state: 'unknown', cluster: 3, proc: 0, schedd: A }), // a wrong job count on A
    row({ submission: 's-2', runnumber: 68007, state: 'submitting', schedd: B }),
  ]
  t.same(scheddsToAsk(rows, []), [A, B], 'each unsettled row\'s schedd is asked, whatever the runs asked about')
  const unanswered = new Map([[A, 'condor_q -name A failed']])
  const onA = job({ cluster: 3, schedd: A })
  t.same(reconcile(rows, [job({ cluster: 7, runTag: `68007_${TAG}`, schedd: A })], 'now', { unanswered }).map((r) => [r.runnumber, r.state]),
    [[68007, 'lost']], 'A is silent: its row is left; B answered without 68007 (its job on A is no job of this submission)')
  t.match(reconcile(rows, [onA], 'now'), [{ runnumber: 68006, state: 'submitted', cluster: 3, schedd: A }, { runnumber: 68007, state: 'lost' }])
  t.match(runState(68006, TAG, rows, [], { unanswered }), { state: 'unknown', silent: true, detail: /schedd sphnxsub01\.sdcc\.bnl\.gov did not answer/ })
})

t.test('attempts are in the order the ledger recorded them, whatever the clock of the host that submitted each', async (t) => {
  // Attempt 2 sent by hand from a node whose clock is an hour behind, half an hour after attempt 1 failed: its row
  // comes later in the ledger with an earlier time. Its job finished well: the run is done, not failed and sent again.
  const rows = [
    row({ time: '2025-01-01T02:00:00Z', cluster: 1, proc: 0, schedd: A }),
    row({ time: '2025-01-01T01:30:00Z', submission: 's-2', attempt: 2, cluster: 8, proc: 0, schedd: B }),
  ]
  const jobs = [job({ cluster: 1, schedd: A, status: 4, exitCode: 1, source: 'condor_history' }), job({ cluster: 8, schedd: B, status: 4, exitCode: 0 })]
  t.match(runState(68006, TAG, rows, jobs), { state: 'done', cluster: 8, attempts: 2, submitted: '2025-01-01T01:30:00Z' })
  // A cluster the ledger does not name still goes by its QDate: one queued after both is the latest.
  const byHand = job({ cluster: 3, schedd: A, status: 4, exitCode: 1, queued: Date.parse('2025-01-01T03:00:00Z') / 1000 })
  t.match(runState(68006, TAG, rows, [...jobs, byHand]), { state: 'failed', cluster: 3, attempts: 3 })
})

t.test('an attempt whose time the ledger order lifts to its predecessor\'s stays after it, whatever the clusters\' numbers', async (t) => {
  // Each schedd numbers its clusters itself: the retry from the node behind got cluster 8 on B, the failed attempt
  // cluster 900 on A. Lifted to attempt 1's time, the retry ties with it; the ledger, not the numbers, says which is later.
  const rows = [
    row({ time: '2025-01-01T02:00:00Z', cluster: 900, proc: 0, schedd: A }),
    row({ time: '2025-01-01T01:30:00Z', submission: 's-2', attempt: 2, cluster: 8, proc: 0, schedd: B }),
  ]
  const jobs = [job({ cluster: 900, schedd: A, status: 4, exitCode: 1, source: 'condor_history' }), job({ cluster: 8, schedd: B, status: 4, exitCode: 0 })]
  t.match(runState(68006, TAG, rows, jobs), { state: 'done', cluster: 8, attempts: 2 })
})
