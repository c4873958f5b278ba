// `check --cdb rest` as cron runs it (tasks/check.ts), against the fake nopayloaddb: the setup of
// test/cdb/rest-faults.test.ts and rest-config.test.ts (a clean first night, then every map made).
import { mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Test } from 'tap'
import type { FakeCdbState } from '../fakes/cdb-lib.mjs'
import { startFakeNopayloaddb, type FakeRoute } from '../fakes/nopayloaddb.mjs'
import { fakeCdb, runListCsv, setCdbState } from './fake-cdb.js'
import { runStageHere } from './run-script.js'
import { SEVEN_PAYLOAD_TYPES } from '../../lib/rules/calibrations.js'

export const RUN_LIST: [number, string][] = [[66500, 'v8'], [66501, 'v8'], [66502, 'v8'], [66503, 'v9'], [66504, 'v9']]
const STATE: FakeCdbState = { default: 'missing', runs: { 66500: 'current', 66501: { '*': 'current', CEMC_meanTime: 'outdated' }, 66503: 'current:v9' } }
const SEVEN = SEVEN_PAYLOAD_TYPES.join(' ')
const PROCESS = `runnumber,tag,missing,outdated\n66501,v8,,CEMC_meanTime\n66502,v8,${SEVEN},\n66504,v9,${SEVEN},\n`

export const read = (path: string) => readFileSync(path, 'utf8')
const mtime = (path: string) => statSync(path).mtimeMs
const age = (path: string) => utimesSync(path, new Date('2020-01-01T00:00:00Z'), new Date('2020-01-01T00:00:00Z'))

export async function setup(t: Test, routes?: Record<string, FakeRoute>) {
  const root = t.testdir()
  const output = join(root, 'out')
  const cdb = fakeCdb(root, STATE)
  writeFileSync(join(root, 'run3auau.csv'), runListCsv(RUN_LIST))
  const server = await startFakeNopayloaddb({ state: cdb.state, runList: join(root, 'run3auau.csv'), routes })
  t.teardown(() => server.close())
  const conf = server.writeConfig(join(root, 'nopayloadclient.json'))
  const paths = { process: join(output, 'run3auau-process.csv'), settled: join(output, 'run3auau-settled.csv') }
  const check = (args: string[] = [], env: Record<string, string> = {}) =>
    runStageHere('check', [...(args.includes('--cdb') ? [] : ['--cdb', 'rest']), '--output', output, ...args], { NOPAYLOADCLIENT_CONF: conf, ...env })
  // A first night, clean; then every map is made, so a run that got through would change both files.
  mkdirSync(output)
  writeFileSync(join(output, 'run3auau.csv'), runListCsv(RUN_LIST))
  const first = await check()
  t.equal(first.code, 0, first.stderr)
  t.equal(read(paths.process), PROCESS)
  setCdbState(cdb, { default: 'current', runs: {} })
  age(paths.process)
  age(paths.settled)
  const before = { process: read(paths.process), settled: read(paths.settled), mtimes: [mtime(paths.process), mtime(paths.settled)] }
  const untouched = (t: Test, name: string) => {
    t.equal(read(paths.process), before.process, `${name}: process.csv as it was`)
    t.equal(read(paths.settled), before.settled, `${name}: cache as it was`)
    t.same([mtime(paths.process), mtime(paths.settled)], before.mtimes, `${name}: untouched`)
  }
  return { root, output, cdb, server, conf, paths, check, untouched }
}

/** The one line a failed check prints, checked for what every failure says. */
export function failedLine(t: Test, name: string, result: { code: number | null; stdout: string; stderr: string }, code = 1): string {
  t.equal(result.code, code, `${name}: exit ${code}`)
  t.equal(result.stdout, '', `${name}: no summary`)
  const lines = result.stderr.trim().split('\n')
  t.equal(lines.length, 1, `${name}: one line: ${result.stderr}`)
  return lines[0]
}

