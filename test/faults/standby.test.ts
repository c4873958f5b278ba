// The FileCatalog is read from a replica: the query must work on a read-only hot standby in recovery.
import { join } from 'node:path'
import postgres from 'postgres'
import t from 'tap'
import { readQueryCsv } from '../../lib/files/query-csv.js'
import { makeCatalog } from '../helpers/catalog.js'
import { runStageHere } from '../helpers/run-script.js'
import { standbyUnavailable, startStandbyPair } from '../helpers/standby.js'

t.test('query reads a hot standby in recovery, with the same result as the primary', { skip: standbyUnavailable() ?? false, timeout: 120000 }, async (t) => {
  const pair = await startStandbyPair()
  t.teardown(() => pair.stop())
  const primary = postgres({ host: '127.0.0.1', port: pair.primaryPort, username: 'postgres', database: 'postgres', onnotice: () => {} })
  t.teardown(() => primary.end({ timeout: 5 }))
  await makeCatalog(primary, [
    { run: 66500, tag: 'v1', segment: 0, events: 300000 },
    { run: 66500, tag: 'v1', segment: 1, events: 300000 },
  ])
  // Wait until the standby has replayed the catalog.
  const standby = postgres({ host: '127.0.0.1', port: pair.standbyPort, username: 'postgres', database: 'postgres', onnotice: () => {} })
  t.teardown(() => standby.end({ timeout: 5 }))
  for (let i = 0; i < 100; i++) {
    const [{ ready }] = await standby`select to_regclass('public.files') is not null as ready`
    if (ready) break
    await new Promise((r) => setTimeout(r, 100))
  }
  const [{ recovery }] = await standby`select pg_is_in_recovery() as recovery`
  t.equal(recovery, true, 'the standby is in recovery')
  const outputs = []
  for (const port of [pair.primaryPort, pair.standbyPort]) {
    const output = t.testdir()
    const result = await runStageHere('query', ['--db-url', `postgres://postgres@127.0.0.1:${port}/postgres`, '--output', output])
    t.equal(result.code, 0, result.stderr)
    outputs.push(await readQueryCsv(join(output, 'query.csv')))
  }
  t.equal(outputs[1].length, 2)
  t.same(outputs[1], outputs[0])
})
