// Runs a stage script or the task runner, in this process or as a child process. In this process (runStageHere,
// runTaskHere) is the default: the stage's own declaration through lib/stage.ts, or the runner's runTaskCli, with
// no node or loader to start. A child process where the process itself is the point: from the stage's bundle
// (startBuilt, as the Taskfile runs it) for kills, signals and exit paths, or from its source with tsx (runScript,
// as a person runs `npx tsx tasks/<stage>.ts`).
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { runStage, type Stage } from '../../lib/stage.js'
import { runTaskCli } from '../../lib/taskfile/main.js'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** tsx's loader by absolute URL, so scripts run from any working directory. */
const TSX = import.meta.resolve('tsx')

export interface ScriptResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** `env` over this process's environment; a key set to undefined is removed, as spawn does. */
function mergedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries({ ...process.env, ...env }).filter((entry): entry is [string, string] => entry[1] !== undefined))
}

/** Collects what a run writes to stdout and stderr. */
function collector() {
  const out = { stdout: '', stderr: '' }
  return {
    out,
    stdout: (text: string) => {
      out.stdout += text
    },
    stderr: (text: string) => {
      out.stderr += text
    },
  }
}

/**
 * Runs stage `name` in this process with `args`, `env` (over this process's) and `cwd`, and returns its exit code
 * and output as a child process's would be: what a stage does is the same, only node is not started again.
 */
export async function runStageHere(name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): Promise<ScriptResult> {
  const { stage } = (await import(`${ROOT}/tasks/${name}.ts`)) as { stage: Stage }
  const io = collector()
  // Anything uncaught while the stage runs is kept and thrown here, so the test fails on it (a command fails the
  // stage instead: tasks/main.ts).
  const uncaught: unknown[] = []
  const keep = (err: unknown) => uncaught.push(err)
  process.on('uncaughtException', keep)
  let code: number
  try {
    code = await runStage(stage.spec, { argv: args, env: mergedEnv(env), cwd, stdout: io.stdout, stderr: io.stderr }, stage.body)
  } finally {
    process.off('uncaughtException', keep)
  }
  if (uncaught.length) throw uncaught[0]
  return { code, signal: null, ...io.out }
}

/**
 * Runs the built-in task runner in this process with exactly `env` (`npm run task -- ARGS` without the process);
 * its commands are children. Returns its exit code and what it printed.
 */
export async function runTaskWith(args: readonly string[], cwd: string, env: Readonly<Record<string, string | undefined>>) {
  const io = collector()
  const writer = (write: (text: string) => void) => ({
    write: (chunk: string | Uint8Array) => write(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()),
  })
  const code = await runTaskCli(args, { cwd, env, stdout: writer(io.stdout), stderr: writer(io.stderr) })
  return { code, ...io.out }
}

/** runTaskWith with `env` over this process's environment, from the project root by default. */
export async function runTaskHere(args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): Promise<ScriptResult> {
  return { ...(await runTaskWith(args, cwd, mergedEnv(env))), signal: null }
}

let built: Promise<unknown> | undefined

/** Bundles the stage scripts into .build/ (tasks/build.mjs, which writes each bundle atomically), once per test file. */
export function buildBundles(): Promise<unknown> {
  built ??= promisify(execFile)(process.execPath, [join(ROOT, 'tasks', 'build.mjs')])
  return built
}

/** Starts stage `name` from its bundle (`node .build/<name>.js`, as the Taskfile does); `buildBundles` first. */
export function startBuilt(name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; done: Promise<ScriptResult> } {
  const child = spawn(process.execPath, [join(ROOT, '.build', `${name}.js`), ...args], { cwd: ROOT, env: mergedEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
  return collectOutput(child)
}

/** Runs stage `name` from its bundle, building the bundles first if this test file has not. */
export async function runBuilt(name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<ScriptResult> {
  await buildBundles()
  return startBuilt(name, args, env).done
}

/** Runs `tasks/<name>.ts` with tsx, as a person runs it, from the project root; collects its output and exit code. */
export function runScript(name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): Promise<ScriptResult> {
  return startScript(name, args, env, cwd).done
}

/** Starts `tasks/<name>.ts` with tsx; `child` is there to be killed, `done` settles when it ends. */
export function startScript(name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): { child: ChildProcess; done: Promise<ScriptResult> } {
  const child = spawn(process.execPath, ['--import', TSX, `${ROOT}/tasks/${name}.ts`, ...args], {
    cwd,
    env: mergedEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  return collectOutput(child)
}

/** Gathers a started process's stdout and stderr; `done` settles with them and how it ended. */
export function collectOutput(child: ChildProcess): { child: ChildProcess; done: Promise<ScriptResult> } {
  const done = new Promise<ScriptResult>((resolve, reject) => {
    const io = collector()
    child.stdout!.on('data', (chunk: Buffer) => io.stdout(chunk.toString()))
    child.stderr!.on('data', (chunk: Buffer) => io.stderr(chunk.toString()))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, ...io.out }))
  })
  return { child, done }
}
