// The guard of the filter-datasets backend (lib/cdb/outage-guard.ts guardedAsk) asks nopayloaddb about every run
// filter-datasets kept, as --cdb rest does: --jobs requests at a time, all of them within --timeout, and the first
// failure stops the others, so the process ends as soon as it has said it failed. (It asked 4 at a time whatever
// --jobs said, with no deadline, and a failure left the other requests running: hours on a slow server.)
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { payloadIovs, startFakeNopayloaddb, type FakeNopayloaddbFaults, type FakeRoute } from '../fakes/nopayloaddb.mjs'
import { FAKE_FILTER_DATASETS, fakeCdb, fakeCdbEnv, runListCsv } from '../helpers/fake-cdb.js'
import { meeting } from '../helpers/meeting.js'
import { runStageHere, startScript } from '../helpers/run-script.js'

/** `count` new runs without maps (filter-datasets keeps them all, the server agrees), and a server with `faults`. */
async function manyMissing(t: Test, count: number, options: { faults?: FakeNopayloaddbFaults; routes?: Record<string, FakeRoute> } = {}) {
  const root = t.testdir()
  const output = join(root, 'out')
  mkdirSync(output)
  const runList = join(output, 'run3auau.csv')
  writeFileSync(runList, runListCsv(Array.from({ length: count }, (_, i): [number, string] => [66500 + i, 'v8'])))
  const cdb = fakeCdb(root, { default: 'missing', runs: {} })
  const server = await startFakeNopayloaddb({ state: cdb.state, runList, ...options })
  t.teardown(() => server.close())
  const conf = server.writeConfig(join(root, 'nopayloadclient.json'))
  const args = (more: string[]) => ['--output', output, '--bin-filter-datasets', FAKE_FILTER_DATASETS, ...more]
  const env = { ...fakeCdbEnv(cdb), OFFLINE_MAIN: '', NOPAYLOADCLIENT_CONF: conf }
  const runs = () => server.requests.filter((r) => r.path === 'payloadiovs/').length
  return {
    output, server, runs,
    check: (more: string[]) => runStageHere('check', args(more), env),
    start: (more: string[]) => startScript('check', args(more), env),
  }
}

t.test('--jobs: the kept runs are asked that many at a time', async (t) => {
  let inFlight = 0
  let most = 0
  // A slow server: each answer waits until 8 requests were once in flight together (10 s at most), so the requests
  // sent at once meet there however far apart a busy machine delivers them; then a second more, a ninth's chance.
  const eight = meeting(8)
  const slow: FakeRoute = async (ctx) => {
    most = Math.max(most, ++inFlight)
    eight.arrived(inFlight)
    await eight.met
    await new Promise((resolve) => setTimeout(resolve, 1000))
    inFlight--
    return payloadIovs(ctx)
  }
  const { check, runs } = await manyMissing(t, 24, { routes: { 'GET payloadiovs/': slow } })
  const result = await check(['--jobs', '8'])
  t.equal(result.code, 0, result.stderr)
  t.match(result.stdout, /24 to process/)
  t.equal(runs(), 24, 'every kept run asked once')
  t.equal(most, 8, '8 requests in flight at most, as --jobs 8 says')
})

t.test('--timeout: the questions after filter-datasets are answered within it, or the check is refused', async (t) => {
  // 40 runs, 2 at a time, 1.5 s each: 30 s, far past --timeout 5s.
  const { check, output } = await manyMissing(t, 40, { faults: { latencyMs: 1500, route: 'GET payloadiovs/' } })
  const started = Date.now()
  const result = await check(['--jobs', '2', '--timeout', '5s'])
  const took = Date.now() - started
  t.equal(result.code, 1, result.stderr)
  const lines = result.stderr.trim().split('\n')
  t.equal(lines.length, 1, `one line: ${result.stderr}`)
  t.match(lines[0], /^caloprod check: CDB check refused, nothing was written: nopayloaddb http:\/\/127\.0\.0\.1:\d+\/api\/cdb_rest\/, runs 665\d\d, 665\d\d, /)
  t.match(lines[0], /and \d+ more: no answer within --timeout 5s \(2 requests at a time\); the answer of filter-datasets cannot be checked; .*raise --timeout or --jobs/)
  t.ok(took < 12000, `ended at the deadline, not when all were answered (${took} ms)`)
  t.same(result.stdout, '', 'no summary')
  t.notOk(existsSync(join(output, 'run3auau-process.csv')), 'nothing written')
})

t.test('one run that fails stops the others: the process ends without asking the rest', async (t) => {
  // 30 kept runs, 2 at a time, a second each; run 66505's answer is a 403 (not tried again).
  const { start, runs } = await manyMissing(t, 30, { faults: { latencyMs: 1000, route: 'GET payloadiovs/', status: 403, failRun: 66505 } })
  const { child, done } = start(['--jobs', '2'])
  let saidAt = 0
  child.stderr!.once('data', () => (saidAt = Date.now()))
  const result = await done
  const exitedAt = Date.now()
  t.equal(result.code, 1, result.stderr)
  t.match(result.stderr, /^caloprod check: CDB check refused, nothing was written: nopayloaddb .*, run 66505: answered 403 Forbidden/)
  t.equal(result.stderr.trim().split('\n').length, 1, 'one line')
  t.ok(runs() < 30, `the process ended before asking every run (${runs()} of 30 asked)`)
  t.ok(exitedAt - saidAt < 5000, `exited ${exitedAt - saidAt} ms after saying it failed`)
})
