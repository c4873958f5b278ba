// The fake CDB (test/fakes/CaloCDB-FilterDatasets, cdb-lib.mjs) as tests use it: its state file, its environment,
// and what it was asked.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FakeCdbState } from '../fakes/cdb-lib.mjs'
import { ROOT } from './run-script.js'

export const FAKE_FILTER_DATASETS = join(ROOT, 'test', 'fakes', 'CaloCDB-FilterDatasets')

/** Where one test's fake CDB keeps its state and records its lookups and calls. */
export interface FakeCdb {
  state: string
  lookups: string
  calls: string
}

/** A fake CDB in `dir` holding `state`. */
export function fakeCdb(dir: string, state: FakeCdbState = { default: 'missing', runs: {} }): FakeCdb {
  const cdb = { state: join(dir, 'cdb-state.json'), lookups: join(dir, 'cdb-lookups.txt'), calls: join(dir, 'cdb-calls.txt') }
  setCdbState(cdb, state)
  return cdb
}

export function setCdbState(cdb: FakeCdb, state: FakeCdbState): void {
  writeFileSync(cdb.state, `${JSON.stringify(state)}\n`)
}

/** The environment that points the fake at `cdb`, plus test controls such as FAKE_CDB_FAIL. */
export function fakeCdbEnv(cdb: FakeCdb, extra: Record<string, string> = {}): Record<string, string> {
  return { FAKE_CDB_STATE: cdb.state, FAKE_CDB_LOOKUPS: cdb.lookups, FAKE_CDB_CALLS: cdb.calls, ...extra }
}

const lines = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [])

/** The lookups made so far, as "run,type". */
export const lookups = (cdb: FakeCdb): string[] => lines(cdb.lookups)
/** The filter-datasets invocations so far. */
export const calls = (cdb: FakeCdb): string[] => lines(cdb.calls)

/** A `runnumber,tag` CSV. */
export function runListCsv(runs: readonly (readonly [number, string])[]): string {
  return `runnumber,tag\n${runs.map(([run, tag]) => `${run},${tag}\n`).join('')}`
}
