import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { SEVEN_PAYLOAD_TYPES } from '../lib/rules/calibrations.js'
import { SEED_RULES } from '../lib/rules/seed.js'
import t, { type Test } from 'tap'
import { nextSettled, planCheck, runCheck, type CheckOptions } from '../lib/check.js'
import type { SettledRow } from '../lib/files/settled.js'
import type { Log } from '../lib/log.js'
import type { FakeCdbState } from './fakes/cdb-lib.mjs'
import { calls, FAKE_FILTER_DATASETS, fakeCdb, fakeCdbEnv, lookups, runListCsv, setCdbState, type FakeCdb } from './helpers/fake-cdb.js'
import { runStageHere } from './helpers/run-script.js'

const silent: Log = { info: () => {}, warn: () => {}, summary: () => {} }
const DAY = 86400
const SEVEN = SEVEN_PAYLOAD_TYPES.join(' ')

// ---- planning and the cache, as data

t.test('the plan asks about new runs, changed tags, old entries, and everything with --recheck', async (t) => {
  const now = new Date('2025-11-29T03:00:00.000Z')
  const settled = new Map<number, SettledRow>([
    [1, { runnumber: 1, tag: 'v1', checked_at: '2025-11-28T03:00:00.000Z', payload_types: SEVEN }],
    [2, { runnumber: 2, tag: 'v1', checked_at: '2025-11-28T03:00:00.000Z', payload_types: SEVEN }],
    [3, { runnumber: 3, tag: 'v1', checked_at: '2025-11-01T03:00:00.000Z', payload_types: SEVEN }],
  ])
  const runs = [{ runnumber: 1, tag: 'v1' }, { runnumber: 2, tag: 'v2' }, { runnumber: 3, tag: 'v1' }, { runnumber: 4, tag: 'v1' }]
  const plan = planCheck(runs, settled, now, 7 * DAY, false, SEVEN_PAYLOAD_TYPES)
  t.same(plan.map((q) => q.runnumber), [2, 3, 4])
  t.match(plan[0].why, /tag changed \(settled for v1 at 2025-11-28T03:00:00.000Z\)/)
  t.match(plan[1].why, /settled at 2025-11-01T03:00:00.000Z, longer ago than --recheck-after/)
  t.match(plan[2].why, /not settled/)
  t.same(planCheck(runs, settled, now, 7 * DAY, true, SEVEN_PAYLOAD_TYPES).map((q) => q.runnumber), [1, 2, 3, 4])
  t.same(planCheck(runs, settled, now, 60 * DAY, false, SEVEN_PAYLOAD_TYPES).map((q) => q.runnumber), [2, 4])
})

t.test('an entry stamped by a clock that was ahead (a host booted years fast, corrected since) is asked again, not trusted until then', async (t) => {
  const now = new Date('2026-11-29T03:00:00.000Z')
  const settled = new Map<number, SettledRow>([
    [1, { runnumber: 1, tag: 'v1', checked_at: '2036-11-29T03:00:00.000Z', payload_types: SEVEN }], // ten years ahead
    [2, { runnumber: 2, tag: 'v1', checked_at: '2026-11-29T04:00:00.000Z', payload_types: SEVEN }], // an hour ahead
    [3, { runnumber: 3, tag: 'v1', checked_at: '2026-11-29T03:04:00.000Z', payload_types: SEVEN }], // another node, minutes ahead
  ])
  const runs = [1, 2, 3].map((runnumber) => ({ runnumber, tag: 'v1' }))
  const plan = planCheck(runs, settled, now, 7 * DAY, false, SEVEN_PAYLOAD_TYPES)
  t.same(plan.map((q) => q.runnumber), [1, 2], 'within the 5 minutes hosts are kept to, it still answers')
  t.match(plan[0].why, /^settled at 2036-11-29T03:00:00.000Z, later than now \(2026-11-29T03:00:00.000Z\): a clock was wrong$/)
})

t.test('the next cache: current runs settled now, kept runs dropped, the rest as they were', async (t) => {
  const now = new Date('2025-11-29T03:00:00.000Z')
  const old: SettledRow[] = [
    { runnumber: 9, tag: 'v1', checked_at: '2025-11-01T00:00:00.000Z', payload_types: SEVEN }, // not in the run list any more: kept
    { runnumber: 2, tag: 'v1', checked_at: '2025-11-01T00:00:00.000Z', payload_types: SEVEN }, // asked, now outdated: dropped
    { runnumber: 3, tag: 'v1', checked_at: '2025-11-01T00:00:00.000Z', payload_types: SEVEN }, // asked, still current: renewed
  ]
  const asked = [{ runnumber: 2, tag: 'v2' }, { runnumber: 3, tag: 'v1' }, { runnumber: 4, tag: 'v1' }]
  t.same(nextSettled(old, asked, new Set([2]), now, SEVEN_PAYLOAD_TYPES), [
    { runnumber: 3, tag: 'v1', checked_at: '2025-11-29T03:00:00.000Z', payload_types: SEVEN },
    { runnumber: 4, tag: 'v1', checked_at: '2025-11-29T03:00:00.000Z', payload_types: SEVEN },
    { runnumber: 9, tag: 'v1', checked_at: '2025-11-01T00:00:00.000Z', payload_types: SEVEN },
  ])
})

// ---- the stage, in-process with an injected clock

const RUN_LIST: [number, string][] = [[66500, 'v8'], [66501, 'v8'], [66502, 'v8'], [66503, 'v9'], [66504, 'v9']]
/** 66500 and 66503 current, 66501 outdated in one type, 66502 and 66504 missing everything. */
const STATE: FakeCdbState = { default: 'missing', runs: { 66500: 'current', 66501: { '*': 'current', CEMC_meanTime: 'outdated' }, 66503: 'current:v9' } }
// Without a server to ask (no NOPAYLOADCLIENT_CONF), filter-datasets gives no reasons per run: the columns are empty.
const PROCESS = 'runnumber,tag,missing,outdated\n66501,v8,,\n66502,v8,,\n66504,v9,,\n'

function setup(t: Test, state = STATE) {
  const root = t.testdir()
  const output = join(root, 'out put') // a space: paths go to the tool as arguments, never through a shell
  mkdirSync(output)
  writeFileSync(join(output, 'run3auau.csv'), runListCsv(RUN_LIST))
  const cdb = fakeCdb(root, state)
  const options: CheckOptions = {
    output, runType: 'run3auau', jobs: 4, recheck: false, recheckAfter: 7 * DAY, timeout: 60, cdbTries: 3, binFilterDatasets: FAKE_FILTER_DATASETS,
    cdb: 'filter-datasets', cdbUrl: undefined, globalTag: 'newcdbtag', rules: SEED_RULES,
  }
  const paths = { process: join(output, 'run3auau-process.csv'), settled: join(output, 'run3auau-settled.csv'), runList: join(output, 'run3auau.csv') }
  return { root, output, cdb, options, paths, env: { ...process.env, ...fakeCdbEnv(cdb) } }
}

const read = (path: string) => readFileSync(path, 'utf8')
/** Sets a file's mtime far in the past, so "untouched" is visible. */
const age = (path: string) => utimesSync(path, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'))
const mtime = (path: string) => statSync(path).mtimeMs

t.test('first run asks every run; the re-run asks nothing and touches nothing; after --recheck-after it asks again', async (t) => {
  const { options, paths, cdb, env } = setup(t)
  const at = (iso: string) => ({ env, now: () => new Date(iso), retryBaseMs: 1 })
  const first = await runCheck(options, silent, at('2025-11-20T03:00:00.000Z'))
  t.equal(read(paths.process), PROCESS)
  t.equal(read(paths.settled), `runnumber,tag,checked_at,payload_types\n66500,v8,2025-11-20T03:00:00.000Z,${SEVEN}\n66503,v9,2025-11-20T03:00:00.000Z,${SEVEN}\n`)
  t.same([first.runs, first.asked, first.toProcess, first.calls], [5, 5, 3, 4])
  t.same(first.counts.CEMC_meanTime, { missing: 2, outdated: 1 })
  t.equal(lookups(cdb).length, 35)

  age(paths.process)
  age(paths.settled)
  const before = { process: mtime(paths.process), settled: mtime(paths.settled), calls: calls(cdb).length, lookups: lookups(cdb).length }
  // A day later: the three runs that need processing are asked again (a job may have made their maps), the two current ones not.
  const second = await runCheck(options, silent, at('2025-11-21T03:00:00.000Z'))
  t.same([second.asked, second.cached, second.toProcess], [3, 2, 3])
  t.equal(lookups(cdb).length - before.lookups, 21)
  t.same(lookups(cdb).slice(before.lookups).map((l) => l.split(',')[0]).filter((r, i, a) => a.indexOf(r) === i).sort(), ['66501', '66502', '66504'])
  t.equal(mtime(paths.process), before.process, 'process.csv untouched')

  // Their maps are made: all current now. Asked once more, then settled.
  setCdbState(cdb, { default: 'current', runs: {} })
  const third = await runCheck(options, silent, at('2025-11-22T03:00:00.000Z'))
  t.same([third.asked, third.toProcess], [3, 0])
  t.equal(read(paths.process), 'runnumber,tag,missing,outdated\n')
  age(paths.process)
  age(paths.settled)
  const quiet = { calls: calls(cdb).length, lookups: lookups(cdb).length, process: mtime(paths.process), settled: mtime(paths.settled) }
  const fourth = await runCheck(options, silent, at('2025-11-23T03:00:00.000Z'))
  t.same([fourth.asked, fourth.calls, fourth.cached], [0, 0, 5])
  t.equal(calls(cdb).length, quiet.calls, 'filter-datasets not started at all')
  t.equal(lookups(cdb).length, quiet.lookups, '0 lookups')
  t.equal(mtime(paths.process), quiet.process, 'process.csv untouched')
  t.equal(mtime(paths.settled), quiet.settled, 'cache untouched')

  // 66500 and 66503 were settled on the 20th: older than 7 days on the 27th 03:00:00.001; the others settled on the 22nd.
  const fifth = await runCheck(options, silent, at('2025-11-27T03:00:00.001Z'))
  t.equal(fifth.asked, 2)
  t.same(lookups(cdb).slice(quiet.lookups).map((l) => l.split(',')[0]).filter((r, i, a) => a.indexOf(r) === i).sort(), ['66500', '66503'])
  t.equal(mtime(paths.process), quiet.process, 'same answer: process.csv untouched')
  t.match(read(paths.settled), /66500,v8,2025-11-27T03:00:00.001Z,CEMC_BadTowerMap[^\n]*\n66501,v8,2025-11-22T03:00:00.000Z,CEMC_BadTowerMap[^\n]*\n/)
})

t.test('a run whose tag changed is asked again; with --recheck every run is', async (t) => {
  const { options, paths, cdb, env } = setup(t, { default: 'current', runs: {} })
  const deps = { env, retryBaseMs: 1 }
  await runCheck(options, silent, deps)
  t.equal(read(paths.process), 'runnumber,tag,missing,outdated\n')
  // Run 66502 was reprocessed under v9: the CDB's payloads are built from v8, so it is outdated now.
  writeFileSync(paths.runList, runListCsv(RUN_LIST.map(([run, tag]) => [run, run === 66502 ? 'v9' : tag])))
  setCdbState(cdb, { default: 'current', runs: { 66502: 'current:v8' } })
  const seen = lookups(cdb).length
  const result = await runCheck(options, silent, deps)
  t.equal(result.asked, 1)
  t.same(lookups(cdb).slice(seen).map((l) => l.split(',')[0]), Array(7).fill('66502'))
  t.equal(read(paths.process), 'runnumber,tag,missing,outdated\n66502,v9,,\n')
  t.same(result.counts.HCALIN_meanTime, { missing: 0, outdated: 1 })

  const all = await runCheck({ ...options, recheck: true }, silent, deps)
  t.equal(all.asked, 5)
  t.equal(lookups(cdb).length, seen + 7 + 35)
})

// ---- the stage as a user runs it

/** Runs tasks/check.ts on `output` with the fake CDB. */
function check(output: string, cdb: FakeCdb, args: string[] = [], extra: Record<string, string> = {}) {
  return runStageHere('check', ['--output', output, '--bin-filter-datasets', FAKE_FILTER_DATASETS, ...args], { ...fakeCdbEnv(cdb, extra), OFFLINE_MAIN: '' })
}

t.test('the stage writes process.csv and says why per type; an unchanged re-run asks nothing', async (t) => {
  const { output, cdb, paths } = setup(t)
  const result = await check(output, cdb)
  t.equal(result.code, 0, result.stderr)
  t.equal(result.stderr, '')
  t.equal(read(paths.process), PROCESS)
  t.match(result.stdout, /^check: 5 runs, 0 settled, 5 asked in 4 filter-datasets calls; 3 to process \(CEMC_BadTowerMap 2 missing; CEMC_meanTime 2 missing, 1 outdated; .*\); .*run3auau-process.csv updated\n$/)
  const log = read(join(output, 'log', readdirSync(join(output, 'log'))[0]))
  t.match(log, /run 66501 \(tag v8\): a map is missing or outdated; asked because not settled/)
  t.match(log, /payloads missing or outdated, by type \(runs\): CEMC_BadTowerMap 2 missing; CEMC_meanTime 2 missing, 1 outdated/)
  const summary = JSON.parse(read(join(output, 'run3auau-check.json')))
  t.same([summary.runs, summary.to_process], [5, 3], 'check.json: the runs and those to process')
  t.same(summary.payload_types.CEMC_meanTime, { missing: 2, outdated: 1 }, 'check.json: the counts per payload type')
  t.same(summary.payload_types.CEMC_BadTowerMap, { missing: 2, outdated: 0 })

  // Everything gets made: the next night asks about the three once more; the night after asks nothing.
  setCdbState(cdb, { default: 'current', runs: {} })
  t.equal((await check(output, cdb)).code, 0)
  age(paths.process)
  age(paths.settled)
  const before = { calls: calls(cdb).length, process: mtime(paths.process), settled: mtime(paths.settled) }
  const rerun = await check(output, cdb)
  t.equal(rerun.code, 0, rerun.stderr)
  t.match(rerun.stdout, /^check: 5 runs, 5 settled, none asked; 0 to process; .* unchanged\n$/)
  t.equal(calls(cdb).length, before.calls, 'no filter-datasets call')
  t.equal(mtime(paths.process), before.process)
  t.equal(mtime(paths.settled), before.settled)
  t.same(Object.values(JSON.parse(read(join(output, 'run3auau-check.json'))).payload_types).filter((c) => JSON.stringify(c) !== '{"missing":0,"outdated":0}'), [], 'nothing missing any more')

  const recheck = await check(output, cdb, ['--recheck'])
  t.match(recheck.stdout, /5 asked/)
})

t.test('--recheck-after on the command line', async (t) => {
  const { output, cdb, paths } = setup(t, { default: 'current', runs: {} })
  const twoDaysAgo = new Date(Date.now() - 2 * DAY * 1000).toISOString()
  writeFileSync(paths.settled, `runnumber,tag,checked_at\n${RUN_LIST.map(([run, tag]) => `${run},${tag},${twoDaysAgo}\n`).join('')}`)
  const fresh = await check(output, cdb, ['--recheck-after', '3d'])
  t.match(fresh.stdout, /5 settled, none asked/)
  const stale = await check(output, cdb, ['--recheck-after', '1d'])
  t.match(stale.stdout, /0 settled, 5 asked/)
  t.notMatch(read(paths.settled), twoDaysAgo)
})

t.test('a failing CDB writes nothing and names the runs; each failure mode', async (t) => {
  const { output, cdb, paths } = setup(t)
  t.equal((await check(output, cdb)).code, 0)
  age(paths.process)
  age(paths.settled)
  const before = { process: read(paths.process), settled: read(paths.settled), mtimes: [mtime(paths.process), mtime(paths.settled)] }
  // Everything became current, but the CDB fails on the shard of run 66502 (one run per shard here).
  setCdbState(cdb, { default: 'current', runs: {} })
  const modes: [string, string[], RegExp][] = [
    ['exit1', [], /filter-datasets exited with code 1; its last words: "CDBUtils: cannot reach the CDB server/],
    // Its last words are the C++ runtime's, as the real program's are, not the fake's own runtime's backtrace.
    ['crash-midway', [], /filter-datasets crashed \(killed by SIGABRT\); its last words: "terminate called after throwing an instance of 'std::runtime_error'"/],
    ['hang', ['--timeout', '3'], /filter-datasets did not finish within 3 s \(--timeout\) and was killed/],
    ['garbage', [], /filter-datasets stopped early: its stdout goes through 0 of its 1 run, up to run 66502/],
    ['no-output', [], /its stdout says "ERROR: Could not open file .*runs-process.csv for writing."/],
  ]
  for (const [mode, args, message] of modes) {
    const result = await check(output, cdb, ['--cdb-tries', '1', ...args], { FAKE_CDB_FAIL: mode, FAKE_CDB_FAIL_RUN: '66502' })
    t.equal(result.code, 1, mode)
    t.equal(result.stdout, '', mode)
    const lines = result.stderr.trim().split('\n')
    t.equal(lines.length, 1, `${mode}: one line: ${result.stderr}`)
    t.match(lines[0], /^caloprod check: CDB check failed for run 66502: /, mode)
    t.match(lines[0], message, mode)
    t.match(lines[0], /nothing was written; check that the CDB is reachable and re-run the check stage$/, mode)
    t.equal(read(paths.process), before.process, `${mode}: process.csv as it was`)
    t.equal(read(paths.settled), before.settled, `${mode}: cache as it was`)
    t.match(read(join(output, 'run3auau-check.json')), /"to_process": 3/, `${mode}: check.json as it was`)
    t.same([mtime(paths.process), mtime(paths.settled)], before.mtimes, `${mode}: untouched`)
  }
})

t.test('a transient failure is retried and the stage succeeds', async (t) => {
  const { output, cdb, paths } = setup(t)
  const result = await check(output, cdb, ['--jobs', '1'], { FAKE_CDB_FAIL: 'crash-midway', FAKE_CDB_FAIL_TIMES: '1' })
  t.equal(result.code, 0, result.stderr)
  t.equal(calls(cdb).length, 2)
  t.equal(read(paths.process), PROCESS)
})

t.test('sharded equals sequential on the same CDB', async (t) => {
  const { output, cdb, paths } = setup(t)
  const runs: [number, string][] = Array.from({ length: 60 }, (_, i) => [67000 + i, i % 4 ? 'v8' : 'v9'])
  writeFileSync(paths.runList, runListCsv(runs))
  setCdbState(cdb, { default: 'missing', runs: Object.fromEntries(runs.filter((_, i) => i % 3).map(([run]) => [run, run % 2 ? 'current' : { '*': 'current:v8' }])) })
  t.equal((await check(output, cdb, ['--jobs', '1', '--recheck'])).code, 0)
  const sequential = read(paths.process)
  const result = await check(output, cdb, ['--jobs', '7', '--recheck'])
  t.match(result.stdout, /60 asked in 7 filter-datasets calls/)
  t.equal(read(paths.process), sequential)
  t.ok(sequential.split('\n').length > 20)
})

t.test('no filter-datasets binary: a usage error that says how to give one', async (t) => {
  const { output, cdb } = setup(t)
  const none = await runStageHere('check', ['--output', output], { ...fakeCdbEnv(cdb), OFFLINE_MAIN: '' })
  t.equal(none.code, 2)
  t.equal(none.stderr, 'caloprod check: no CaloCDB-FilterDatasets binary: OFFLINE_MAIN is not set; set OFFLINE_MAIN (source the sPHENIX setup) or pass --bin-filter-datasets PATH\n')
  const offline = join(output, '..', 'offline')
  const wrong = await runStageHere('check', ['--output', output], { ...fakeCdbEnv(cdb), OFFLINE_MAIN: offline })
  t.equal(wrong.code, 2)
  t.match(wrong.stderr, /filter-datasets binary .*offline\/bin\/CaloCDB-FilterDatasets does not exist; set OFFLINE_MAIN/)
  mkdirSync(join(offline, 'bin'), { recursive: true })
  symlinkSync(FAKE_FILTER_DATASETS, join(offline, 'bin', 'CaloCDB-FilterDatasets'))
  const found = await runStageHere('check', ['--output', output], { ...fakeCdbEnv(cdb), OFFLINE_MAIN: offline })
  t.equal(found.code, 0, found.stderr)
})

t.test('bad input files: exit 1 naming file and line, nothing asked', async (t) => {
  const { output, cdb, paths } = setup(t)
  writeFileSync(paths.runList, 'runnumber,tag\n66500,v1\n66501,v1\n66500,v2\n')
  const duplicate = await check(output, cdb)
  t.equal(duplicate.code, 1)
  t.match(duplicate.stderr, /run3auau.csv:4: run 66500 appears twice; each run must have one row\n$/)
  writeFileSync(paths.runList, 'runnumber,tag\n66500,v1\n665x1,v1\n')
  const notNumber = await check(output, cdb)
  t.equal(notNumber.code, 1)
  t.match(notNumber.stderr, /run3auau.csv:3: runnumber "665x1" is not a whole number\n$/)
  writeFileSync(paths.runList, runListCsv(RUN_LIST))
  writeFileSync(paths.settled, 'runnumber,tag,checked_at\n66500,v8,yesterday\n')
  const cache = await check(output, cdb)
  t.equal(cache.code, 1)
  t.match(cache.stderr, /run3auau-settled.csv:2: checked_at "yesterday" is not a UTC time/)
  t.same(calls(cdb), [], 'nothing asked')
  mkdirSync(join(output, 'nowhere')) // an output directory whose query and reduce have not run
  const missing = await check(join(output, 'nowhere'), cdb)
  t.equal(missing.code, 1)
  t.match(missing.stderr, /nowhere\/run3auau.csv: does not exist; run the stage that writes it first\n$/)
})

// ---- the rule set's payload types: seven (seed) or ten (current), and a filter-datasets that asks another number

t.test('--rules current asks ten payloads per run of a release since 2025-10; a run settled for seven is asked again', async (t) => {
  const { output, cdb, paths } = setup(t, { default: 'current', runs: { 66501: { '*': 'current', HCALIN_ZSCrossCalib: 'missing' } } })
  const seven = await check(output, cdb)
  t.equal(seven.code, 0, seven.stderr)
  t.equal(read(paths.process), 'runnumber,tag,missing,outdated\n', 'under seed every run is current: the ZS types are not asked')
  t.equal(lookups(cdb).length, 35)
  const summary = () => JSON.parse(read(join(output, 'run3auau-check.json'))).payload_types
  t.equal(Object.keys(summary()).length, 7, "check.json: the seed's seven types")
  const ten = await check(output, cdb, ['--rules', 'current', '--verbose'], { FAKE_CDB_TYPES: '10' })
  t.equal(ten.code, 0, ten.stderr)
  t.match(ten.stdout, /0 settled, 5 asked/, 'settled for seven payloads, asked again for ten')
  t.match(ten.stderr, /settled for 7 payload types, the rules need 10/)
  t.equal(lookups(cdb).length - 35, 50, 'ten lookups a run')
  t.equal(read(paths.process), 'runnumber,tag,missing,outdated\n66501,v8,,\n', 'the missing ZS payload puts 66501 in the process list')
  t.match(ten.stdout, /HCALIN_ZSCrossCalib 1 missing/)
  t.equal(Object.keys(summary()).length, 10, 'check.json: the ten of the current rules')
  t.same(summary().HCALIN_ZSCrossCalib, { missing: 1, outdated: 0 })
  t.match(read(paths.settled), /^66500,v8,[^,]+,CEMC_BadTowerMap .* HCALOUT_ZSCrossCalib$/m, 'settled now for the ten')
  const again = await check(output, cdb, [], {})
  t.match(again.stdout, /4 settled, 1 asked/, 'settled for ten answers for the seed\'s seven')
})

t.test('a filter-datasets that asks another number of payloads than the rules need: exit 2, one line, nothing written', async (t) => {
  for (const [rules, types, says] of [['current', '7', /a release before 2025-10 \(seven payload types\), but the rule set needs 10/], ['seed', '10', /a release since 2025-10 \(ten payload types\), but the rule set needs 7/]] as const) {
    const { output, cdb, paths } = setup(t, { default: 'current', runs: {} })
    const result = await check(output, cdb, ['--rules', rules, '--cdb-tries', '3'], { FAKE_CDB_TYPES: types })
    t.equal(result.code, 2, `${rules} with a ${types}-type binary: exit 2`)
    t.match(result.stderr, says)
    t.equal(result.stderr.trim().split('\n').length, 1, 'one line')
    t.notOk(existsSync(paths.process) || existsSync(paths.settled), 'nothing written')
    t.ok(calls(cdb).length >= 1 && calls(cdb).length <= 4, `not retried: at most one call per shard (${calls(cdb).length})`)
  }
})
