// log/last-night.json as the stages write it (recordStageEnd) and the page and status read it: what failed after the
// last good night is told by the order the ends were recorded in, not by their times, which are each writer's clock.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { badNight, failedSinceGood, readLastNight, recordStageEnd } from '../../lib/report/last-night.js'
import { someRuns, stagedOutput } from '../helpers/condor-output.js'
import { runStageHere } from '../helpers/run-script.js'

const output = (t: Test) => t.testdir({ log: {} })

t.test('a failure recorded after a good submit by a clock stepped back (or another host behind) is still a bad night', async (t) => {
  const out = output(t)
  await recordStageEnd(out, 'check', { at: '2026-12-01T07:15:10.000Z', code: 0, line: 'check: fine' }, false)
  await recordStageEnd(out, 'submit', { at: '2026-12-01T07:15:40.000Z', code: 0, line: 'submit: 3 runs' }, true)
  // The report after it, its clock stepped back 30 s by NTP in between; then an upload by hand on a node 2 minutes behind.
  await recordStageEnd(out, 'report', { at: '2026-12-01T07:15:10.500Z', code: 1, line: 'report: cannot write' }, false)
  await recordStageEnd(out, 'upload', { at: '2026-12-01T07:14:00.000Z', code: 1, line: 'upload: CDB refused' }, false)
  const record = await readLastNight(out)
  t.same(failedSinceGood(record).map(([stage]) => stage), ['upload', 'report'], 'both, the latest recorded first')
  t.match(badNight('run3auau', record), {
    stage: 'upload', since: 'run3auau has had no good night since 2026-12-01 07:15 UTC (the last submit that succeeded). Also failed since: report (2026-12-01 07:15 UTC).',
  })
  // The next good submit, its clock still behind the failures' times: they are before it.
  await recordStageEnd(out, 'submit', { at: '2026-12-01T07:13:00.000Z', code: 0, line: 'submit: nothing to submit' }, true)
  t.same(failedSinceGood(await readLastNight(out)), [])
})

t.test('a record rewritten after it was found broken knows of no good night, and says no more than that', async (t) => {
  const out = output(t)
  const path = join(out, 'log', 'last-night.json')
  await recordStageEnd(out, 'submit', { at: '2026-12-01T07:15:40.000Z', code: 0, line: 'submit: 3 runs' }, true)
  writeFileSync(path, '{"stages": {')
  await t.rejects(readLastNight(out), { message: /is not caloprod's record of the last night .*the next stage to end writes it afresh$/ })
  await recordStageEnd(out, 'check', { at: '2026-12-02T07:15:10.000Z', code: 1, line: 'check: CDB down' }, false)
  // Not "yet": good nights may have been recorded in the file that broke.
  t.match(badNight('run3auau', await readLastNight(out)), {
    stage: 'check', since: 'run3auau has had no good night on record in this output directory (failing since 2026-12-02 07:15 UTC).',
  })
})

t.test('a record written before ends were counted is read by the times, and counted from the next end on', async (t) => {
  const out = output(t)
  const path = join(out, 'log', 'last-night.json')
  writeFileSync(path, JSON.stringify({
    stages: {
      submit: { at: '2026-12-01T07:15:40.000Z', code: 0, line: 'submit: 3 runs' },
      check: { at: '2026-12-01T07:15:10.000Z', code: 1, line: 'check: an older failure' },
    },
    lastGood: '2026-12-01T07:15:40.000Z', badSince: null,
  }))
  t.same(failedSinceGood(await readLastNight(out)), [], 'the failure is older than the good night by the times')
  await recordStageEnd(out, 'lists', { at: '2026-12-02T07:15:20.000Z', code: 1, line: 'lists: no disk' }, false)
  t.same(failedSinceGood(await readLastNight(out)).map(([stage]) => stage), ['lists'])
  writeFileSync(path, JSON.stringify({ stages: {}, lastGood: null, badSince: null, seq: 'two' }))
  await t.rejects(readLastNight(out), /is not caloprod's record of the last night \("seq" is not a whole number\)/)
})

t.test('a record an older caloprod wrote back (its stages keep their seq, the count is gone) counts on from the highest', async (t) => {
  const out = output(t)
  const path = join(out, 'log', 'last-night.json')
  // As an older caloprod rewrites the record after a stage of its own: it keeps the stages whole and drops the
  // fields it does not know (`seq`, `lastGoodSeq`); the check failed before the good submit.
  writeFileSync(path, JSON.stringify({
    stages: {
      check: { at: '2026-12-01T07:15:10.000Z', code: 1, line: 'check: CDB unreachable', seq: 5 },
      submit: { at: '2026-12-01T07:15:40.000Z', code: 0, line: 'submit: 3 runs', seq: 6 },
      report: { at: '2026-12-01T07:16:00.000Z', code: 0, line: 'report: 3 runs' },
    },
    lastGood: '2026-12-01T07:15:40.000Z', badSince: null,
  }))
  // The next night's good submit, by a clock behind the check's: recorded after it, so the check's failure is past.
  await recordStageEnd(out, 'submit', { at: '2026-12-01T07:14:00.000Z', code: 0, line: 'submit: nothing to submit' }, true)
  const record = await readLastNight(out)
  t.same(failedSinceGood(record), [], 'the check failed before this good night')
  t.equal(record.seq, 7, 'counted on from the highest seq a stage holds')
})

t.test("a dry run (submit's plan) records nothing, failed or not: the night's record stays the night's", async (t) => {
  const { output: out, env } = await stagedOutput(t, someRuns(2), { condor: true })
  t.equal((await runStageHere('submit', ['--output', out, '--do-condor-submit'], env)).code, 0)
  const path = join(out, 'log', 'last-night.json')
  const night = readFileSync(path, 'utf8')
  const plan = await runStageHere('submit', ['--output', out], { ...env, FAKE_CONDOR_Q_MODE: 'fail' })
  t.equal(plan.code, 1)
  t.match(plan.stderr, /^caloprod submit: cannot ask the scheduler/)
  t.equal(readFileSync(path, 'utf8'), night, 'a failed plan by hand is no bad night on the page')
  t.equal((await runStageHere('submit', ['--output', out], env)).code, 0)
  t.equal(readFileSync(path, 'utf8'), night, 'nor a plan that succeeded a good one')
})

t.test('a good night an older caloprod recorded (its submit without a seq, the good seq it found kept) is after the failures before it', async (t) => {
  const out = output(t)
  const path = join(out, 'log', 'last-night.json')
  // As d767aa6 (2026-12-06; any version from dc2366d to before 51ff009) left it after a rollback, lines shortened: this caloprod's upload failed (seq 12, after
  // its good submit, seq 6); d767aa6 then ran a good night. It rewrote the ends of its own stages without a seq,
  // moved lastGood and kept the fields it does not know: `seq` and `lastGoodSeq`, the good night before.
  writeFileSync(path, JSON.stringify({
    stages: {
      query: { at: '2026-12-07T08:34:38.476Z', code: 0, line: 'query: 2026 files of 18 runs' },
      reduce: { at: '2026-12-07T08:32:10.773Z', code: 0, line: 'reduce: 18 runs, 1291 files kept', seq: 2 },
      submit: { at: '2026-12-07T08:34:53.732Z', code: 0, line: 'submit: nothing to submit; 5 in flight' },
      report: { at: '2026-12-07T08:34:58.747Z', code: 0, line: 'report: 18 runs' },
      upload: { at: '2026-12-07T08:34:32.555Z', code: 1, line: 'nopayloaddb ...: connection refused', seq: 12 },
    },
    lastGood: '2026-12-07T08:34:53.732Z', badSince: null, seq: 12, lastGoodSeq: 6,
  }, null, 2))
  t.same(failedSinceGood(await readLastNight(out)), [], 'the upload failed before the good night d767aa6 recorded')
  t.equal(badNight('run3auau', await readLastNight(out)), undefined)
  // This caloprod's next failure is after that good night; the upload's is still before it.
  await recordStageEnd(out, 'submit', { at: '2026-12-08T02:20:00.000Z', code: 1, line: 'submit: condor_submit failed' }, true)
  t.same(failedSinceGood(await readLastNight(out)).map(([stage]) => stage), ['submit'])
  // The next good submit counts again.
  await recordStageEnd(out, 'submit', { at: '2026-12-09T02:20:00.000Z', code: 0, line: 'submit: 1 run' }, true)
  const record = await readLastNight(out)
  t.same(failedSinceGood(record), [])
  t.equal(record.lastGoodSeq, record.stages.submit!.seq)
})
