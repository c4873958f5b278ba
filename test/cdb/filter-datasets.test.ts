import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { PAYLOAD_TYPES, SEVEN_PAYLOAD_TYPES } from '../../lib/rules/calibrations.js'
import {
  checkFilterDatasets,
  FilterDatasetsError,
  parseProcessCsv,
  parseStdout,
  runFilterDatasets,
  type FilterDatasetsCall,
} from '../../lib/cdb/filter-datasets.js'
import { UsageError } from '../../lib/errors.js'
import type { RunTag } from '../../lib/files/run-list.js'
import { missingUrl, payloadUrl } from '../fakes/cdb-lib.mjs'
import type { FakeCdbState } from '../fakes/cdb-lib.mjs'
import { FAKE_FILTER_DATASETS, fakeCdb, fakeCdbEnv, lookups, type FakeCdb } from '../helpers/fake-cdb.js'

const TAG = 'new_newcdbtag_v008'

let dirs = 0
/** Runs the fake once on `runs` against `state`, in a fresh directory of `t`'s. */
async function ask(t: Test, runs: RunTag[], state: FakeCdbState, extra: Record<string, string> = {}, timeoutMs = 20000) {
  const root = t.testdir()
  const cdb = fakeCdb(root, state)
  const dir = join(root, `call-${dirs++}`)
  mkdirSync(dir)
  const payloadTypes = extra.FAKE_CDB_TYPES === '10' ? PAYLOAD_TYPES : SEVEN_PAYLOAD_TYPES
  const call: FilterDatasetsCall = { bin: FAKE_FILTER_DATASETS, payloadTypes, runs, dir, timeoutMs, env: { ...process.env, ...fakeCdbEnv(cdb, extra) } }
  return { cdb, call, result: runFilterDatasets(call) }
}

// The fake's own checks (this one and the next): which payload keeps a run is decided by the fake
// (test/fakes/cdb-filter-datasets.mjs), as the real tool decides it; caloprod only reads the answer. They make
// sure the fake behaves as DESIGN.md describes the real tool, so the tests of caloprod built on it mean something.
t.test('the fake\'s own check: each payload type of a ten-type release: missing and outdated keep the run, current does not', async (t) => {
  for (const type of PAYLOAD_TYPES) {
    for (const [spec, kept] of [['missing', true], ['outdated', true], ['current', false]] as const) {
      const { result } = await ask(t, [{ runnumber: 66500, tag: TAG }], { default: 'current', runs: { 66500: { [type]: spec } } }, { FAKE_CDB_TYPES: '10' })
      const answer = await result
      t.same(answer.keep, kept ? [66500] : [], `${type} ${spec}`)
      for (const other of PAYLOAD_TYPES) {
        const expected = other === type && spec !== 'current' ? { missing: spec === 'missing' ? 1 : 0, outdated: spec === 'outdated' ? 1 : 0 } : { missing: 0, outdated: 0 }
        t.same(answer.counts[other], expected, `${type} ${spec}: counter of ${other}`)
      }
    }
  }
})

t.test('the fake\'s own check: CEMC_BadTowerMap is current only as EMCalHotMap_<tag>_<run>cdb.root', async (t) => {
  const run = 66501
  const cases: [string, boolean][] = [
    [payloadUrl('CEMC_BadTowerMap', TAG, run), false], // .../EMCalHotMap_<tag>_<run>cdb.root
    [`/cdb/CEMC_BadTowerMap/EMCalHotMap_${TAG}_${run}cdb.root`, false],
    [`/cdb/CEMC_BadTowerMap/CEMC_BadTowerMap_${TAG}_${run}.root`, true], // the other types' rule: outdated here
    [`/cdb/CEMC_BadTowerMap/EMCalHotMap_${TAG}_${run}.root`, true], // without "cdb"
    [`/cdb/CEMC_BadTowerMap/EMCalHotMap_other_${run}cdb.root`, true],
    [missingUrl('CEMC_BadTowerMap', run), true],
  ]
  for (const [url, kept] of cases) {
    const { result } = await ask(t, [{ runnumber: run, tag: TAG }], { default: 'current', runs: { [run]: { CEMC_BadTowerMap: url } } })
    const answer = await result
    t.same(answer.keep, kept ? [run] : [], url)
    const expected = !kept ? { missing: 0, outdated: 0 } : url.startsWith('DataBase') ? { missing: 1, outdated: 0 } : { missing: 0, outdated: 1 }
    t.same(answer.counts.CEMC_BadTowerMap, expected, `${url}: counted`)
  }
})

t.test('a payload built from another tag of the same run is outdated; seven lookups per run, in order', async (t) => {
  const runs = [{ runnumber: 66502, tag: 'v2' }, { runnumber: 66503, tag: 'v2' }]
  const { cdb, result } = await ask(t, runs, { runs: { 66502: 'current:v1', 66503: 'current:v2' } })
  const answer = await result
  t.same(answer.keep, [66502])
  t.same(answer.counts.CEMC_meanTime, { missing: 0, outdated: 1 })
  t.equal(lookups(cdb).length, 14)
  t.same(lookups(cdb).slice(0, 7), SEVEN_PAYLOAD_TYPES.map((type) => `66502,${type}`))
})

t.test('the fake\'s own check: what each release answers for an absent payload, and for a CDB it cannot get answers from', async (t) => {
  const run = { runnumber: 66530, tag: TAG }
  const state: FakeCdbState = {
    default: 'current',
    runs: { 66530: { CEMC_meanTime: 'missing', HCALIN_meanTime: 'missing' } },
    iovs: [{ type: 'HCALIN_meanTime_default', spec: '/cdb/HCALIN_meanTime/default.root', start: 0 }],
  }
  const counts = async (extra: Record<string, string>, over: FakeCdbState = state) => {
    const { cdb, result } = await ask(t, [run], over, extra)
    const answer = await result
    return { cemc: answer.counts.CEMC_meanTime, hcalin: answer.counts.HCALIN_meanTime, all: answer.counts, lookups: lookups(cdb) }
  }
  // Before 2026-03 (CDBUtils::getUrl): nopayloadclient's DataBaseException text, counted missing.
  const utils = await counts({})
  t.same([utils.cemc, utils.hcalin], [{ missing: 1, outdated: 0 }, { missing: 1, outdated: 0 }])
  t.equal(utils.lookups.length, 7, 'one lookup per type')
  // Since 2026-03 (CDBInterface::getUrl): '' then <type>_default; a default payload is some other file: outdated too.
  const iface = await counts({ FAKE_CDB_RELEASE: 'cdbinterface' })
  t.same([iface.cemc, iface.hcalin], [{ missing: 0, outdated: 1 }, { missing: 0, outdated: 1 }])
  t.same(iface.lookups.filter((l) => l.endsWith('_default')), ['66530,CEMC_meanTime_default', '66530,HCALIN_meanTime_default'])
  // A proxy's 504s: every lookup fails, and the program still exits 0.
  const gateway = await counts({ FAKE_CDB_OUTAGE: 'gateway' })
  t.same(Object.values(gateway.all).filter((c) => c.missing === 1).length, 7, 'cdbutils: every payload "missing"')
  const gatewayIface = await counts({ FAKE_CDB_OUTAGE: 'gateway', FAKE_CDB_RELEASE: 'cdbinterface' })
  t.same(Object.values(gatewayIface.all).filter((c) => c.outdated === 1).length, 7, 'cdbinterface: every payload outdated')
  // A server without newcdbtag: BaseException text (cdbutils) or '' (cdbinterface), outdated either way.
  const noTag = await counts({}, { ...state, globalTags: { other: { status: 'unlocked' } } } as FakeCdbState)
  t.same(Object.values(noTag.all).filter((c) => c.outdated === 1).length, 7, 'no global tag: every payload outdated')
})

t.test('failures of the tool are errors, never answers', async (t) => {
  const runs = [66510, 66511, 66512, 66513].map((runnumber) => ({ runnumber, tag: TAG }))
  const cases: [string, FilterDatasetsError['kind'], RegExp][] = [
    ['exit1', 'exit', /exited with code 1; its last words: "CDBUtils: cannot reach/],
    ['crash-midway', 'signal', /crashed \(killed by SIGABRT\)/],
    ['garbage', 'output', /stopped early: its stdout goes through 2 of its 4 runs, up to run 66512/],
    ['no-output', 'output', /its stdout says "ERROR: Could not open file/],
  ]
  for (const [mode, kind, message] of cases) {
    const { result } = await ask(t, runs, { default: 'missing' }, { FAKE_CDB_FAIL: mode })
    const err = await result.then(() => undefined, (e: unknown) => e)
    t.type(err, FilterDatasetsError, mode)
    t.equal((err as FilterDatasetsError).kind, kind, mode)
    t.match((err as Error).message, message, mode)
  }
})

t.test('a hanging tool is killed with everything it started when the timeout passes', async (t) => {
  const runs = [66520, 66521].map((runnumber) => ({ runnumber, tag: TAG }))
  // A busy machine may let the time-out pass before the tool has started its child: that try shows nothing of the
  // child, and the next one gives the tool twice as long.
  for (let timeoutMs = 1000; ; timeoutMs *= 2) {
    const { call, result } = await ask(t, runs, {}, { FAKE_CDB_FAIL: 'hang' }, timeoutMs)
    const err = await result.then(() => undefined, (e: unknown) => e)
    t.equal((err as FilterDatasetsError).kind, 'timeout')
    t.match((err as Error).message, new RegExp(`did not finish within ${timeoutMs / 1000} s \\(--timeout\\) and was killed`))
    const started = readdirSync(call.dir).some((name) => name.endsWith('.hanging'))
    if (!started && timeoutMs < 32000) continue
    t.ok(started, 'the tool had started its child before the time-out')
    // Its child (which held stdout open, and names the call's directory on its command line) is gone too.
    const left = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(call.dir))
    t.same(left, [], `no process left of ${call.dir}`)
    break
  }
})

t.test('an abort stops the call', async (t) => {
  const controller = new AbortController()
  const root = t.testdir()
  const cdb = fakeCdb(root)
  const call: FilterDatasetsCall = {
    bin: FAKE_FILTER_DATASETS, payloadTypes: SEVEN_PAYLOAD_TYPES, runs: [{ runnumber: 1, tag: 'a' }], dir: root, timeoutMs: 60000,
    env: { ...process.env, ...fakeCdbEnv(cdb, { FAKE_CDB_FAIL: 'hang' }) }, signal: controller.signal,
  }
  const pending = runFilterDatasets(call)
  setTimeout(() => controller.abort(), 300)
  const err = await pending.then(() => undefined, (e: unknown) => e)
  t.equal((err as FilterDatasetsError).kind, 'aborted')
})

t.test('stdout must go through every run, in order, with its tag, and say how many', async (t) => {
  const runs: RunTag[] = [{ runnumber: 1, tag: 'a' }, { runnumber: 2, tag: 'b' }]
  // As debug mode prints it (the only way caloprod runs it): a line per lookup, seven after each run's line.
  const debug = (stdout: string) => stdout.replace(/^(Run: .*\n)/gm, `$1${'Attempt to get Calibration\n'.repeat(7)}`)
  const ok = 'Run: 1, Dataset: a, Processing: 1, 50 %\nRun: 2, Dataset: b, Processing: 2, 100 %\nTotal Runs: 2\n' +
    'CDB: cdb_missing_CEMC_meanTime, Counts: 2, 100 %\nCDB: cdb_outdated_HCALIN_meanTime, Counts: 1, 50 %\nCDB: cdb_missing_ZDC_thing, Counts: 1, 50 %\n'
  const parsed = parseStdout(debug(ok), runs, SEVEN_PAYLOAD_TYPES)
  t.same(parsed.counts.CEMC_meanTime, { missing: 2, outdated: 0 })
  t.same(parsed.counts.HCALIN_meanTime, { missing: 0, outdated: 1 })
  t.same(parsed.unknown, ['missing ZDC_thing: 1'])
  t.throws(() => parseStdout(debug('Run: 1, Dataset: a, Processing: 1, 50 %\nTotal Runs: 2\n'), runs, SEVEN_PAYLOAD_TYPES), /stopped early: .* 1 of its 2 runs, up to run 2/)
  t.throws(() => parseStdout(debug('Run: 1, Dataset: x, Processing: 1, 50 %\n'), runs, SEVEN_PAYLOAD_TYPES), /where run 1 \(tag a\) as number 1 was expected/)
  t.throws(() => parseStdout(debug('Run: 2, Dataset: b, Processing: 1, 50 %\n'), runs, SEVEN_PAYLOAD_TYPES), /expected/)
  t.throws(() => parseStdout(debug(ok.replace('Total Runs: 2\n', '')), runs, SEVEN_PAYLOAD_TYPES), /no "Total Runs:" line/)
  t.throws(() => parseStdout(debug(ok.replace('Total Runs: 2', 'Total Runs: 3')), runs, SEVEN_PAYLOAD_TYPES), /Total Runs: 3" for 2 runs/)
})

t.test('the process csv must be complete and name only runs it was asked about, once', async (t) => {
  const runs: RunTag[] = [{ runnumber: 1, tag: 'a' }, { runnumber: 2, tag: 'b' }]
  t.same(parseProcessCsv('runnumber\n2\n1\n', runs), [1, 2])
  t.same(parseProcessCsv('runnumber\n', runs), [])
  t.throws(() => parseProcessCsv('', runs), /is empty/)
  t.throws(() => parseProcessCsv('runnumber\n1', runs), /is truncated/)
  t.throws(() => parseProcessCsv('run\n1\n', runs), /not the header "runnumber"/)
  t.throws(() => parseProcessCsv('runnumber\n3\n', runs), /line 2 "3" is a run it was not asked about/)
  t.throws(() => parseProcessCsv('runnumber\n1\n1\n', runs), /line 3 "1" repeats a run/)
  t.throws(() => parseProcessCsv('runnumber\n1x\n', runs), /is not a run number/)
})

t.test('counters that cannot belong to the process csv are an error', async (t) => {
  const root = t.testdir()
  const liar = join(root, 'liar')
  // Keeps a run but counts no payload: a tool that says nothing true.
  writeFileSync(liar, '#!/bin/sh\nprintf "runnumber\\n1\\n" > "$2/runs-process.csv"\necho "Run: 1, Dataset: a, Processing: 1, 100 %"\nfor i in 1 2 3 4 5 6 7; do echo "Attempt to get Calibration"; done\necho "Total Runs: 1"\n')
  chmodSync(liar, 0o755)
  const dir = join(root, 'call')
  mkdirSync(dir)
  await t.rejects(runFilterDatasets({ bin: liar, payloadTypes: SEVEN_PAYLOAD_TYPES, runs: [{ runnumber: 1, tag: 'a' }], dir, timeoutMs: 10000, env: process.env }), /counters \(0 payloads missing or outdated\) do not fit the 1 run\b/)
})

t.test('the binary must be configured and executable', async (t) => {
  const root = t.testdir({ 'not-executable': 'x' })
  await t.rejects(checkFilterDatasets(undefined), new UsageError('no CaloCDB-FilterDatasets binary: OFFLINE_MAIN is not set; set OFFLINE_MAIN (source the sPHENIX setup) or pass --bin-filter-datasets PATH'))
  await t.rejects(checkFilterDatasets(join(root, 'nope')), /does not exist; set OFFLINE_MAIN .* or pass --bin-filter-datasets PATH/)
  await t.rejects(checkFilterDatasets(join(root, 'not-executable')), /is not an executable file/)
  await t.rejects(checkFilterDatasets(root), /is not an executable file/)
  t.equal(await checkFilterDatasets(FAKE_FILTER_DATASETS), FAKE_FILTER_DATASETS)
})

// The fake's own check: its command line, as the real tool's.
t.test('the fake\'s own check: it behaves like the real tool on the command line', async (t) => {
  const root = t.testdir({ 'run3auau.csv': 'runnumber,tag\n66530,v1\n' })
  const cdb: FakeCdb = fakeCdb(root, { default: 'current' })
  const env = { ...process.env, ...fakeCdbEnv(cdb) }
  const usage = (() => {
    try {
      execFileSync(FAKE_FILTER_DATASETS, [], { env, encoding: 'utf8' })
      return undefined
    } catch (err) {
      return err as { status: number; stdout: string }
    }
  })()
  t.equal(usage?.status, 1)
  t.match(usage?.stdout, /^usage: .* <input_csv> \[output_directory\] \[debug\]/)
  const out = execFileSync(FAKE_FILTER_DATASETS, [join(root, 'run3auau.csv'), root, '1'], { env, encoding: 'utf8' })
  t.match(out, /Debug: True\n/)
  t.match(out, /Run: 66530, Dataset: v1, Processing: 1, 100 %\n/)
  t.match(out, /Get Calibration Calls: 7\n/)
  t.match(out, /Total Runs: 1\n===============================\n======================================\ndone\n$/)
})
