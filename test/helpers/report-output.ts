// Output directories as the nightly pipeline leaves them, for the report's tests: the stages' own code (reduce,
// check, lists, condor, submit, in-process: their scripts have tests of their own) on a hand-made query.csv with
// files on disk, the fake CDB and the fake HTCondor.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Test } from 'tap'
import { runCheck } from '../../lib/check.js'
import { runCondor } from '../../lib/condor.js'
import { FLAGS, resolveOptions, type FlagName } from '../../lib/config/options.js'
import { formatCsv } from '../../lib/files/csv.js'
import { QUERY_TABLE, type QueryRow } from '../../lib/files/query-csv.js'
import { runLists } from '../../lib/lists.js'
import type { Log } from '../../lib/log.js'
import { runReduce } from '../../lib/reduce.js'
import { runSubmit } from '../../lib/submit.js'
import { TAG } from './condor-output.js'
import { FAKE_FILTER_DATASETS, fakeCdb, fakeCdbEnv, setCdbState } from './fake-cdb.js'
import { FAKE_GENSTATUS, fakeCondor, fakeCondorEnv } from './fake-condor.js'
import { ROOT } from './run-script.js'

export const FIRST_RUN = 66500
export const RUNS = 12
export const HOLD_REASON = 'Job has gone over memory limit of 512 megabytes (MemoryUsage > RequestMemory)'

/** The CDB of the first night: 66500–66502 current, 66504 outdated, the rest missing. */
const CDB = { default: 'missing', runs: { 66500: 'current', 66501: 'current', 66502: 'current', 66504: 'outdated' } }

export interface PipelineOutput {
  root: string
  output: string
  condorState: string
  env: Record<string, string>
}

const silent: Log = { info() {}, warn() {}, summary() {} }

/** Every stage's options, as the stage scripts resolve them from these flags. */
function options(out: PipelineOutput, extra: string[]) {
  const argv = ['--output', out.output, '--bin-filter-datasets', FAKE_FILTER_DATASETS, '--bin-genStatus', FAKE_GENSTATUS,
    '--condor-log-dir', join(out.root, 'condor-log'), '--do-condor-submit', ...extra]
  return resolveOptions(argv, {}, ROOT, Object.keys(FLAGS) as FlagName[])
}

/** check, lists, condor and submit, as a night runs them after reduce. */
export async function night(t: Test, out: PipelineOutput, extra: string[] = []): Promise<void> {
  const o = options(out, extra)
  const env = { ...process.env, ...out.env }
  await runCheck(o, silent, { env, retryBaseMs: 10 })
  await runLists(o, silent)
  await runCondor(o, silent)
  const submitted = await runSubmit(o, { env, log: silent })
  t.comment(submitted.lines.at(-1))
}

/**
 * After one night: 12 runs of four 200k-event segments; 66503 misses one file (still enough events), 66505 three
 * (too few: no list). Everything not current was submitted and is queued.
 */
export async function afterOneNight(t: Test): Promise<PipelineOutput> {
  const root = t.testdir()
  const output = join(root, 'out')
  const store = join(root, 'lustre')
  mkdirSync(output)
  mkdirSync(store)
  const rows: QueryRow[] = []
  for (let run = FIRST_RUN; run < FIRST_RUN + RUNS; run++) {
    for (let segment = 0; segment < 4; segment++) {
      const path = join(store, `HIST_CALOQA_run3auau_${TAG}-000${run}-0000${segment}.root`)
      const missing = (run === 66503 && segment === 0) || (run === 66505 && segment > 0)
      if (!missing) writeFileSync(path, 'root file')
      rows.push({ runnumber: run, tag: TAG, segment, events: 200000, full_file_path: path, time: '2026-07-01 12:00:00' })
    }
  }
  writeFileSync(join(output, 'query.csv'), formatCsv(QUERY_TABLE, rows))
  const cdb = fakeCdb(root, CDB)
  const condorState = join(root, 'condor.json')
  const env = { ...fakeCdbEnv(cdb), ...fakeCondorEnv(condorState) }
  const out = { root, output, condorState, env }
  await runReduce(options(out, []))
  await night(t, out)
  setCdbState(cdb, CDB)
  return out
}

/** The fake queue's job id of each `<run>_<tag>`, the latest cluster's. */
async function jobIds(out: PipelineOutput): Promise<Map<string, string>> {
  const ids = new Map<string, string>()
  for (const line of (await fakeCondor(out.condorState, 'list')).split('\n').filter(Boolean)) {
    const [id, , runTag] = line.split(' ')
    ids.set(runTag!, id!)
  }
  return ids
}

/** Moves every ledger row of `submission` `days` into the past, as if that night had been earlier. */
function backdate(out: PipelineOutput, days: number): void {
  const path = join(out.output, 'submissions.csv')
  const shift = (iso: string) => new Date(Date.parse(iso) - days * 86400_000).toISOString()
  const [header, ...lines] = readFileSync(path, 'utf8').trimEnd().split('\n')
  writeFileSync(path, `${[header, ...lines.map((line) => line.replace(/^[^,]+/, shift))].join('\n')}\n`)
}

/** Sets a fake job's EnteredCurrentStatus `days` ago. */
function jobAge(out: PipelineOutput, id: string, days: number): void {
  const state = JSON.parse(readFileSync(out.condorState, 'utf8')) as { jobs: { ClusterId: number; ProcId: number; EnteredCurrentStatus: number }[] }
  const job = state.jobs.find((j) => `${j.ClusterId}.${j.ProcId}` === id)!
  job.EnteredCurrentStatus = Math.floor(Date.now() / 1000) - days * 86400
  writeFileSync(out.condorState, JSON.stringify(state))
}

/**
 * After three nights (with --max-attempts 2): 66503 held (HOLD_REASON), 66504 done and now current, 66506 failed
 * twice (given up), 66507 done two days ago and not in the CDB, 66508 running, 66505 without a list, the rest queued.
 */
export async function afterSeveralNights(t: Test): Promise<PipelineOutput> {
  const out = await afterOneNight(t)
  const key = (run: number) => `${run}_${TAG}`
  let ids = await jobIds(out)
  await fakeCondor(out.condorState, 'set', ids.get(key(66503))!, 'held', `reason=${HOLD_REASON}`)
  await fakeCondor(out.condorState, 'set', ids.get(key(66504))!, 'completed', 'exit=0')
  await fakeCondor(out.condorState, 'set', ids.get(key(66506))!, 'completed', 'exit=2')
  await fakeCondor(out.condorState, 'set', ids.get(key(66507))!, 'completed', 'exit=0')
  await fakeCondor(out.condorState, 'set', ids.get(key(66508))!, 'running')
  jobAge(out, ids.get(key(66507))!, 2)
  const cdb = { state: join(out.root, 'cdb-state.json') }
  const state = JSON.parse(readFileSync(cdb.state, 'utf8'))
  state.runs[66504] = 'current'
  writeFileSync(cdb.state, JSON.stringify(state))
  backdate(out, 2)
  await night(t, out, ['--max-attempts', '2'])
  ids = await jobIds(out)
  await fakeCondor(out.condorState, 'set', ids.get(key(66506))!, 'completed', 'exit=1')
  backdate(out, 1)
  await night(t, out, ['--max-attempts', '2'])
  return out
}
