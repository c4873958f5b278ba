// The example scripts of README.md's "Scripting caloprod", run as a person runs them, so they never rot.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { formatCsv } from '../lib/files/csv.js'
import { QUERY_TABLE } from '../lib/files/query-csv.js'
import { startFakeNopayloaddb } from './fakes/nopayloaddb.mjs'
import { fakeCdb, runListCsv } from './helpers/fake-cdb.js'

const run = promisify(execFile)
const ROOT = new URL('..', import.meta.url).pathname

t.test('examples/run-files.ts: the files of one run, and whether each is on disk', async (t) => {
  const root = t.testdir()
  const output = join(root, 'out')
  mkdirSync(output)
  const file = (segment: number) => join(root, `seg${segment}.root`)
  writeFileSync(file(0), 'root file')
  writeFileSync(file(1), '')
  const row = (runnumber: number, segment: number) => ({ runnumber, tag: 'v1', segment, events: 10, full_file_path: file(segment), time: '2025-01-01 00:00:00' })
  writeFileSync(join(output, 'reduce.csv'), formatCsv(QUERY_TABLE, [row(66500, 0), row(66500, 1), row(66500, 2), row(66501, 0)]))
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'examples', 'run-files.ts'), output, '66500'], { cwd: ROOT })
  t.equal(stdout, `v1 0 ${file(0)} 9 bytes\nv1 1 ${file(1)} empty\nv1 2 ${file(2)} absent\n`)
})

t.test('examples/lacking-payload.ts: which runs of run3pp lack a current CEMC_meanTime, asked of nopayloaddb', async (t) => {
  const root = t.testdir()
  const output = join(root, 'out')
  mkdirSync(output)
  const runList = join(output, 'run3pp.csv')
  writeFileSync(runList, runListCsv([[79150, 'v11'], [79151, 'v11'], [79152, 'v11'], [79153, 'v11']]))
  const cdb = fakeCdb(root, {
    default: 'missing',
    runs: { 79150: 'current', 79151: { '*': 'current', CEMC_meanTime: 'outdated' }, 79153: { '*': 'missing', CEMC_meanTime: 'current' } },
  })
  const server = await startFakeNopayloaddb({ state: cdb.state, runList })
  t.teardown(() => server.close())
  const conf = server.writeConfig(join(root, 'nopayloadclient.json'))
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'examples', 'lacking-payload.ts'), output, 'run3pp', 'CEMC_meanTime'], {
    cwd: ROOT, env: { ...process.env, NOPAYLOADCLIENT_CONF: conf },
  })
  t.equal(stdout, '79151 v11 CEMC_meanTime outdated\n79152 v11 CEMC_meanTime missing\n2 of 4 runs of run3pp lack a current CEMC_meanTime in newcdbtag\n')
  t.equal(server.requests.filter((r) => r.path === 'payloadiovs/').length, 4, 'one request per run')
})
