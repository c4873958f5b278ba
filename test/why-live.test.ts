// `why --live`: the catalog asked now tells a run the query left out as absent or below the threshold by how much;
// nopayloaddb asked now tells each payload type's state of the kept tag (the fake nopayloaddb, a fresh catalog).
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { formatCsv } from '../lib/files/csv.js'
import { layout } from '../lib/files/layout.js'
import { QUERY_TABLE } from '../lib/files/query-csv.js'
import { payloadTypesField, writeSettled } from '../lib/files/settled.js'
import { runReduce } from '../lib/reduce.js'
import { SEED_RULES } from '../lib/rules/seed.js'
import { startFakeNopayloaddb } from './fakes/nopayloaddb.mjs'
import { makeCatalog } from './helpers/catalog.js'
import { writeStageInputs } from './helpers/condor-output.js'
import { freshDatabase } from './helpers/database.js'
import { fakeCdb, runListCsv } from './helpers/fake-cdb.js'
import { runScript, runStageHere } from './helpers/run-script.js'

const TAG = 'new_newcdbtag_v008'

t.test('why --live: below the threshold by how much, absent, and each payload type now', async (t) => {
  const db = await freshDatabase(t)
  // 66700: two segments of 100000 events (below 500000); 66701: four of 200000, selected.
  await makeCatalog(db.sql, [
    ...[0, 1].map((segment) => ({ run: 66700, tag: TAG, segment, events: 100000 })),
    ...[0, 1, 2, 3].map((segment) => ({ run: 66701, tag: TAG, segment, events: 200000 })),
  ])
  const root = t.testdir()
  const output = join(root, 'out')
  const rows = [0, 1, 2, 3].map((segment) => ({
    runnumber: 66701, tag: TAG, segment, events: 200000, full_file_path: `/l/${segment}.root`, time: '2025-07-01 00:00:00',
  }))
  writeStageInputs(output, [{ run: 66701, tag: TAG, files: rows.map((r) => r.full_file_path) }])
  writeFileSync(join(output, 'query.csv'), formatCsv(QUERY_TABLE, rows))
  await runReduce({ output, runType: 'run3auau', rules: SEED_RULES })
  const cdb = fakeCdb(root, { default: 'missing', runs: { 66701: { '*': 'current', CEMC_meanTime: 'outdated', HCALIN_meanTime: 'missing' } } })
  writeFileSync(join(root, 'runs.csv'), runListCsv([[66701, TAG]]))
  const server = await startFakeNopayloaddb({ state: cdb.state, runList: join(root, 'runs.csv') })
  t.teardown(() => server.close())
  const conf = server.writeConfig(join(root, 'nopayloadclient.json'))

  const offline = await runStageHere('why', ['--output', output, '--run', '66700'])
  t.match(offline.stdout, /catalog: not selected by the query .*--live asks the catalog/, 'without --live: not told which')
  const args = ['--output', output, '--run', '66700', '--run', '66701,70123', '--live', '--db-url', db.url]
  const result = await runStageHere('why', [...args, '--json'], { NOPAYLOADCLIENT_CONF: conf })
  t.equal(result.code, 0, result.stderr)
  const [below, selected, absent] = JSON.parse(result.stdout)
  t.match(below, { run: 66700, inCatalog: true, tags: [{ tag: TAG, events: 200000, files: 2 }], belowBy: 300001, selected: false,
    next: /^nothing until it has 300001 more events in the catalog/ }, 'below the threshold, by how much')
  t.match(selected, { run: 66701, belowBy: null, cdb: { CEMC_meanTime: 'outdated', HCALIN_meanTime: 'missing', CEMC_BadTowerMap: 'current' },
    cdbNote: /^nopayloaddb http:\/\/127\.0\.0\.1:\d+\/api\/cdb_rest\/ asked now \(global tag newcdbtag\)/ }, 'each payload type now')
  t.match(absent, { run: 70123, inCatalog: false, tags: [], next: /^nothing until the catalog has histogram files of it/ }, 'absent')
  t.equal(server.requests.filter((r: { path: string }) => r.path.includes('payloadiovs')).length, 1, 'the CDB asked only about the kept run')

  const text = await runStageHere('why', args, { NOPAYLOADCLIENT_CONF: conf })
  t.match(text.stdout, /run 66700 .*\n  catalog now: new_newcdbtag_v008 2 files 200000 events \(threshold more than 500000 events\); below the threshold: 300001 events short/)
  t.match(text.stdout, /run 70123 .*\n  catalog: no histogram file of it under rule set seed \(the catalog .* asked now/)
  t.match(text.stdout, /CDB: .*CEMC_meanTime outdated.*HCALIN_meanTime missing/)
  // Started as the Taskfile starts it (tasks/start.cjs, tsx's CommonJS hooks), the same story: before, the import of
  // lib/why/live.ts that only --live makes found no live.js ('Cannot find module', exit 1), so `task why -- --live` failed.
  const started = await runScript('why', args, { NOPAYLOADCLIENT_CONF: conf })
  t.equal(started.code, 0, started.stderr)
  t.equal(started.stdout, text.stdout, 'task why -- --live tells what the in-process why tells')

  // No nopayloaddb named: the CDB line is the stages' record, and says the CDB was not asked now (before, only a run
  // absent from the catalog said so, and the JSON's `live`).
  const notAsked = await runStageHere('why', ['--output', output, '--run', '66701', '--live', '--db-url', db.url, '--json'])
  t.equal(notAsked.code, 0, notAsked.stderr)
  t.match(JSON.parse(notAsked.stdout), [{ run: 66701, cdbNote: /; the CDB not asked now: name nopayloaddb with --cdb-url or NOPAYLOADCLIENT_CONF$/ }])
  const notAskedText = await runStageHere('why', ['--output', output, '--run', '66701', '--live', '--db-url', db.url])
  t.match(notAskedText.stdout, /\n  CDB: .*; the CDB not asked now: name nopayloaddb with --cdb-url or NOPAYLOADCLIENT_CONF\n/)
})

t.test('why --live: a run settled current still says the next night leaves it alone', async (t) => {
  // Before: the live note came first in cdbNote, so `next` missed the settled entry and said the check asks again.
  const db = await freshDatabase(t)
  await makeCatalog(db.sql, [0, 1, 2, 3].map((segment) => ({ run: 66701, tag: TAG, segment, events: 200000 })))
  const root = t.testdir()
  const output = join(root, 'out')
  mkdirSync(output)
  const rows = [0, 1, 2, 3].map((segment) => ({
    runnumber: 66701, tag: TAG, segment, events: 200000, full_file_path: `/l/${segment}.root`, time: '2025-07-01 00:00:00',
  }))
  writeFileSync(join(output, 'query.csv'), formatCsv(QUERY_TABLE, rows))
  await runReduce({ output, runType: 'run3auau', rules: SEED_RULES })
  await writeSettled(layout.settledCsv(output, 'run3auau'), [
    { runnumber: 66701, tag: TAG, checked_at: new Date().toISOString(), payload_types: payloadTypesField(SEED_RULES.payloadTypes) },
  ])
  const cdb = fakeCdb(root, { default: 'current', runs: {} })
  writeFileSync(join(root, 'runs.csv'), runListCsv([[66701, TAG]]))
  const server = await startFakeNopayloaddb({ state: cdb.state, runList: join(root, 'runs.csv') })
  t.teardown(() => server.close())
  const conf = server.writeConfig(join(root, 'nopayloadclient.json'))

  const settled = /^nothing: its payloads are current in the CDB/
  const offline = await runStageHere('why', ['--output', output, '--run', '66701', '--json'])
  t.match(JSON.parse(offline.stdout), [{ run: 66701, toProcess: false, next: settled }], 'without --live')
  const live = await runStageHere('why', ['--output', output, '--run', '66701', '--live', '--db-url', db.url, '--json'], { NOPAYLOADCLIENT_CONF: conf })
  t.equal(live.code, 0, live.stderr)
  t.match(JSON.parse(live.stdout), [{ run: 66701, toProcess: false, cdbNote: /asked now .*; settled: all current/, next: settled }], 'with --live')
  t.match(JSON.parse(live.stdout), [{ settledAt: /^\d{4}-\d\d-\d\dT/ }], 'the settled entry\'s time')

  // Without the entry: not settled, and the next check asks (next reads the flag, not the note's words).
  await writeSettled(layout.settledCsv(output, 'run3auau'), [])
  const unsettled = await runStageHere('why', ['--output', output, '--run', '66701', '--live', '--db-url', db.url, '--json'], { NOPAYLOADCLIENT_CONF: conf })
  t.equal(unsettled.code, 0, unsettled.stderr)
  t.match(JSON.parse(unsettled.stdout), [{ run: 66701, settledAt: null, next: /^the next check asks the CDB/ }])
})
