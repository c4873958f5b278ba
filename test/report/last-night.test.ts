// log/last-night.json as the stages write it (recordStageEnd) and the page and status read it: what failed after the
// last good night is told by the order the ends were recorded in, not by their times, which are each writer's clock.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { badNight, failedSinceGood, readLastNight, recordStageEnd } from '../../lib/report/last-night.js'

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
