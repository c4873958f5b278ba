// An output directory whose runs were submitted and whose jobs ran (the fake scheduler ran the fake genStatus),
// with a fake nopayloaddb over a fake CDB state and a payload store: what the upload stage starts from.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { Test } from 'tap'
import { saveState, type FakeCdbState } from '../fakes/cdb-lib.mjs'
import { startFakeNopayloaddb, type FakeNopayloaddb } from '../fakes/nopayloaddb.mjs'
import { prepareSubmit, someRuns, type Prepared, type RunSpec } from './condor-output.js'
import { fakeCondor } from './fake-condor.js'
import { PAYLOAD_TYPES } from '../../lib/rules/calibrations.js'
import { ROOT, runScript, runStageHere, type ScriptResult } from './run-script.js'


export interface UploadSetup extends Prepared {
  cdbState: string
  store: string
  server: FakeNopayloaddb
  /** The environment of every stage: fake condor, fake CDB (both backends), NOPAYLOADCLIENT_CONF. */
  env: Record<string, string>
  /** Runs the upload stage in this process. */
  upload(args: string[], extra?: Record<string, string>): Promise<ScriptResult>
  /** Runs it as a child process (tsx), as a person does: for the kills (killUploadAt). */
  uploadProcess(args: string[], extra?: Record<string, string>): Promise<ScriptResult>
}

/** A fake piov as cdb-write-lib.mjs keeps it (`list` null when detached). */
export interface FakePiov {
  id: number
  type: string
  globalTag: string
  list: string | null
  url: string
  checksum: string
  minor_iov: number
  minor_iov_end: number
  inserted?: string
}

/** The environment that makes the upload stage SIGKILL itself at `step` ("after POST piov": test/helpers/upload-kill.mjs). */
export function killUploadAt(step: string): Record<string, string> {
  return { NODE_OPTIONS: `--import=${join(ROOT, 'test', 'helpers', 'upload-kill.mjs')}`, UPLOAD_KILL_AT: step }
}

/**
 * The environment that holds the upload stage at the `nth` request of `step` ("before PUT piov_attach"): it writes
 * its pid to `paused` and waits there, alive and holding the lock, until the file `go` exists (upload-kill.mjs).
 */
export function pauseUploadAt(step: string, nth: number, paused: string, go: string): Record<string, string> {
  return {
    NODE_OPTIONS: `--import=${join(ROOT, 'test', 'helpers', 'upload-kill.mjs')}`,
    UPLOAD_PAUSE_AT: `${step} ${nth}`, UPLOAD_PAUSED: paused, UPLOAD_GO: go,
  }
}

/** `count` runs from 68001 (or these runs), submitted, their jobs run to exit 0; `state` is the CDB before the upload. */
export async function prepareUpload(t: Test, count: number | RunSpec[], state: FakeCdbState = { default: 'missing', runs: {} }, genStatusEnv: Record<string, string> = {}): Promise<UploadSetup> {
  const p = await prepareSubmit(t, typeof count === 'number' ? someRuns(count) : count)
  const root = join(p.output, '..')
  const cdbState = join(root, 'cdb.json')
  const store = join(root, 'store')
  saveState(cdbState, state)
  const server = await startFakeNopayloaddb({ state: cdbState })
  t.teardown(() => server.close())
  const conf = server.writeConfig(join(root, 'npc.json'), { write_dir: store })
  const env = { ...p.env, FAKE_CDB_STATE: cdbState, NOPAYLOADCLIENT_CONF: conf, ...genStatusEnv }
  const submitted = await runStageHere('submit', ['--output', p.output, '--do-condor-submit'], env)
  t.equal(submitted.code, 0, submitted.stderr)
  await fakeCondor(p.state, 'run', 'all')
  return {
    ...p, cdbState, store, server, env,
    upload: (args, extra = {}) => runStageHere('upload', ['--output', p.output, ...args], { ...env, ...extra }),
    uploadProcess: (args, extra = {}) => runScript('upload', ['--output', p.output, ...args], { ...env, ...extra }),
  }
}

export function piovs(setup: UploadSetup): FakePiov[] {
  return ((JSON.parse(readFileSync(setup.cdbState, 'utf8')) as { piovs?: FakePiov[] }).piovs ?? [])
}

/** How many attached payload IOVs each (type, run) has in the tag: exactly one each after an upload. */
export function attachedCounts(setup: UploadSetup, globalTag = 'newcdbtag'): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const p of piovs(setup)) if (p.list && p.globalTag === globalTag) counts[`${p.minor_iov} ${p.type}`] = (counts[`${p.minor_iov} ${p.type}`] ?? 0) + 1
  return counts
}

/** Every file under the store, relative. */
export function storeFiles(store: string): string[] {
  const out: string[] = []
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) walk(path)
      else out.push(relative(store, path))
    }
  }
  try {
    walk(store)
  } catch {
    return []
  }
  return out.sort()
}

export function patchState(setup: UploadSetup, change: (state: FakeCdbState & Record<string, unknown>) => void): void {
  const state = JSON.parse(readFileSync(setup.cdbState, 'utf8'))
  change(state)
  writeFileSync(setup.cdbState, JSON.stringify(state))
}

/** The flags that make the upload stage act. */
export const ACT = ['--do-cdb-upload', '--global-tag', 'newcdbtag']

/**
 * SIGKILLs the upload at each of `steps` (killUploadAt), leaves a dead writer's temporary file in the store, re-runs
 * it, and checks what every kill must leave: each of the 14 payloads attached once and no payload IOV made in vain,
 * the store whole with no temporary file, and a further run inserting nothing. Returns uploads.csv.
 */
export async function killThenRerun(t: Test, s: UploadSetup, steps: readonly string[]): Promise<string> {
  mkdirSync(s.store)
  for (const step of steps) {
    const killed = await s.uploadProcess(ACT, killUploadAt(step))
    t.equal(killed.signal, 'SIGKILL', `killed ${step}`)
  }
  // A copy killed before its rename: a hidden temporary file of a dead process in the store, beside a payload (the
  // store's root holds the upload lock the killed upload left, lib/upload/store-lock.ts).
  const dir = join(s.store, storeFiles(s.store).find((file) => file.includes('/'))!, '..')
  writeFileSync(join(dir, '.x_EMCalHotMap.root.999999.0badc0de.tmp'), 'root half')
  const rerun = await s.upload(ACT)
  t.equal(rerun.code, 0, rerun.stderr)
  const counts = attachedCounts(s)
  t.equal(Object.keys(counts).length, 14)
  t.same(Object.values(counts).filter((n) => n !== 1), [], 'no payload attached twice')
  t.same(piovs(s).filter((p) => !p.list), [], 'no payload IOV left detached: each made once')
  t.same(storeFiles(s.store).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left in the store')
  t.equal(storeFiles(s.store).length, 14)
  const ledger = readFileSync(join(s.output, 'uploads.csv'), 'utf8')
  t.match((await s.upload(ACT)).stdout, /0 payloads inserted .* 14 skipped/)
  return ledger
}

/** A line of uploads.csv: payload `i` (one of seven types, by `i`) uploaded for `run` and `tag`, as the ledger writes it. */
export const uploadedLine = (run: number, i: number, tag = 'v1') =>
  `2026-01-01T00:00:00.000Z,${run},${tag},${PAYLOAD_TYPES[i % 7]},newcdbtag,uploaded,${'ab'.repeat(16)},${100_000 + i},/sphenix/cdb/${run}/${i}.root,\n`

/** `count` such lines, seven a run from run 70000 on, which no test's process list names: other campaigns' payloads. */
export const otherRunsUploads = (count: number) => Array.from({ length: count }, (_, i) => uploadedLine(70_000 + Math.floor(i / 7), i)).join('')
