// An output directory as the check and lists stages leave it, for the condor, submit, status and report tests.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import type { Test } from 'tap'
import { runCondor } from '../../lib/condor.js'
import { FAKE_GENSTATUS, fakeCondorEnv, stopHanging } from './fake-condor.js'
import { runStageHere } from './run-script.js'

export interface RunSpec {
  run: number
  tag: string
  /** The list's lines; a run without files has no list (the lists stage dropped it). */
  files?: string[]
}

export const TAG = 'new_newcdbtag_v008'

/** Writes `<runtype>-process.csv` (runnumber,tag), `datasets/<run>_<tag>.list` for each run with files, and the run type's mark. */
export function writeStageInputs(output: string, runs: readonly RunSpec[], runType = 'run3auau'): void {
  mkdirSync(join(output, 'datasets'), { recursive: true })
  // The directory of earlier nights of `runType` (lib/files/run-type-mark.ts), as its first stage left it.
  writeFileSync(join(output, '.caloprod.run-type'), `${runType}\n`)
  writeFileSync(join(output, `${runType}-process.csv`), `runnumber,tag\n${runs.map((r) => `${r.run},${r.tag}\n`).join('')}`)
  for (const r of runs) {
    if (r.files) writeFileSync(join(output, 'datasets', `${r.run}_${r.tag}.list`), r.files.map((f) => `${f}\n`).join(''))
  }
}

/** `count` runs from 68001 with one file each. */
export function someRuns(count: number, first = 68001): RunSpec[] {
  return Array.from({ length: count }, (_, i) => ({ run: first + i, tag: TAG, files: [`/sphenix/lustre/HIST_CALOQA_${first + i}-00000.root`] }))
}

/** Every file and folder under `dir` with its bytes, mode and mtime: equal before and after means nothing changed. */
export function fingerprint(dir: string): Record<string, string> {
  const result: Record<string, string> = {}
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name)
      const info = statSync(path)
      const key = relative(dir, path)
      if (info.isDirectory()) {
        result[`${key}/`] = `dir ${info.mode} ${info.mtimeMs}`
        walk(path)
      } else result[key] = `${info.mode} ${info.mtimeMs} ${readFileSync(path, 'base64')}`
    }
  }
  result['./'] = `dir ${statSync(dir).mtimeMs}`
  walk(dir)
  return result
}

/** An output directory after check, lists and condor, with an empty fake queue beside it. */
export interface Prepared {
  output: string
  /** The fake queue's state file. */
  state: string
  /** The condor log directory. */
  logs: string
  env: Record<string, string>
}

const quietLog = { info() {}, warn() {}, summary() {} }

/** Writes the condor stage's output in-process (the condor stage's own tests run it as a command). */
export async function writeCondorDir(p: Prepared, memory = 0.5): Promise<void> {
  await runCondor({ output: p.output, runType: 'run3auau', binGenStatus: FAKE_GENSTATUS, condorScript: undefined, condorLogDir: p.logs, memory }, quietLog)
}

/** An output directory ready for submit: `runs` in the process list and datasets/, condor/ written. */
export async function prepareSubmit(t: Test, runs: RunSpec[], name = 'out'): Promise<Prepared> {
  const root = t.testdir()
  const prepared = { output: join(root, name), state: join(root, 'condor-state.json'), logs: join(root, 'condor logs'), env: {} }
  prepared.env = fakeCondorEnv(prepared.state)
  writeStageInputs(prepared.output, runs)
  await writeCondorDir(prepared)
  t.teardown(() => stopHanging(prepared.state))
  return prepared
}

/** A test's output directory as the stages leave it, the fake queue beside it. */
export interface Staged {
  root: string
  /** `<root>/out`. */
  output: string
  /** The fake queue's state file, `<root>/condor.json`. */
  queue: string
  env: Record<string, string>
  /** The condor stage's flags for this output directory (its logs in `<root>/logs`). */
  condor: string[]
}

/**
 * A test directory with `runs` as check and lists leave them; with `runList`, reduce's `run3auau.csv` of the same
 * runs; with `condor`, the condor stage then run against the fake queue, its exit code checked.
 */
export async function stagedOutput(t: Test, runs: RunSpec[], options: { runList?: boolean; condor?: boolean } = {}): Promise<Staged> {
  const root = t.testdir()
  const output = join(root, 'out')
  const queue = join(root, 'condor.json')
  const staged = { root, output, queue, env: fakeCondorEnv(queue), condor: ['--output', output, '--bin-genStatus', FAKE_GENSTATUS, '--condor-log-dir', join(root, 'logs')] }
  writeStageInputs(output, runs)
  if (options.runList) writeFileSync(join(output, 'run3auau.csv'), `runnumber,tag\n${runs.map((r) => `${r.run},${r.tag}\n`).join('')}`)
  if (options.condor) t.equal((await runStageHere('condor', staged.condor, staged.env)).code, 0)
  return staged
}
