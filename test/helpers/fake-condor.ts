// The fake HTCondor (test/fakes/) as tests use it: its environment, its queue, and moving jobs along.
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { ROOT } from './run-script.js'

export const FAKES = join(ROOT, 'test', 'fakes')
export const FAKE_GENSTATUS = join(FAKES, 'CaloCDB-GenStatus')
export const FAKE_SPHENIX_SETUP = join(FAKES, 'sphenix_setup.sh')

/** A job as the fake condor_submit records it. */
export interface FakeJob {
  ClusterId: number
  ProcId: number
  /** `<schedd>#<cluster>.<proc>#<submit time>`: the schedd that queued it. */
  GlobalJobId?: string
  JobStatus: number
  ExitCode?: number
  HoldReason?: string
  Iwd: string
  Cmd: string
  Args: string[]
  Arguments: string
  Out?: string
  Err?: string
  UserLog?: string
  /** MB, as the schedd holds request_memory. */
  RequestMemory?: number
  HoldReasonCode?: number
  CaloprodRunTag: string
  CaloprodOutput: string
}

export interface FakeState {
  /** The next cluster of DEFAULT_SCHEDD; `nextClusters` the other schedds'. */
  nextCluster: number
  nextClusters?: Record<string, number>
  jobs: FakeJob[]
  /** More schedds of the pool than those with jobs (condor_q -name accepts them). */
  schedds?: string[]
  /** `schedd`: the one condor_q or condor_history asked. */
  /** `parent`: the command line of the process that started the program. */
  calls: { program: string; argv: string[]; cwd?: string; mode?: string; schedd?: string; parent?: string }[]
  hanging?: number[]
}

/** The schedd of a fake state whose jobs do not name one, and this host's unless FAKE_CONDOR_SCHEDD says another. */
export const DEFAULT_SCHEDD = 'sphnxsub01.fake.bnl.gov'

/** The environment that puts the fakes first on PATH with their queue in `stateFile`. */
export function fakeCondorEnv(stateFile: string, extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: `${FAKES}:${process.env.PATH}`, FAKE_CONDOR_STATE: stateFile, CALOPROD_SPHENIX_SETUP: FAKE_SPHENIX_SETUP, ...extra }
}

export function readFakeState(stateFile: string): FakeState {
  if (!existsSync(stateFile)) return { nextCluster: 1, jobs: [], calls: [] }
  return JSON.parse(readFileSync(stateFile, 'utf8')) as FakeState
}

/** How many times condor_submit was called. */
export function submitCalls(stateFile: string): number {
  return readFakeState(stateFile).calls.filter((c) => c.program === 'condor_submit').length
}

/** Kills the fake condor commands a test left hanging (FAKE_CONDOR_*_MODE=hang); for teardown, so it never throws. */
export function stopHanging(stateFile: string): void {
  for (const pid of readFakeState(stateFile).hanging ?? []) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // Already gone.
    }
  }
}

/** Runs `fake-condor ARGS...` (set, run, forget, list, stop-hanging) on the queue in `stateFile`. */
export async function fakeCondor(stateFile: string, ...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(join(FAKES, 'fake-condor'), args, { env: { ...process.env, ...fakeCondorEnv(stateFile) } })
  return stdout
}

/** The parts of the fake HTCondor's library (plain JS, shared by the fakes) that tests call directly. */
export interface FakeCondorLib {
  expandMacros(value: string, vars: Record<string, string | number>): string
  parseNewArguments(value: string): string[]
  parseConstraint(text: string): (job: Record<string, unknown>) => boolean
  parseLiteral(value: string): string | number | boolean
}

export const fakeCondorLib = (await import(pathToFileURL(join(FAKES, 'condor-lib.mjs')).href)) as FakeCondorLib
