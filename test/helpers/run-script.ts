// Runs a stage script or go-task. A stage runs in this process by default (runStageHere: the stage's own
// declaration through lib/stage.ts, with no node or loader to start); as a child process where the process itself
// is the point (kills, signals, exit paths), from its source through tasks/start.cjs as the Taskfile starts it
// (runScript, startScript). go-task (runTask, startTask) is the `task` on PATH, which `npm test` (test/run.ts) puts there.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { runStage, type Stage } from '../../lib/stage.js'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** The file the Taskfile starts every stage script through (tsx's CommonJS hooks). */
export const STAGE_START = join(ROOT, 'tasks', 'start.cjs')

/** The node options the Taskfile's task `name` sets (its env's NODE_OPTIONS: the report's young generation), as flags. */
function taskfileNodeOptions(name: string): string[] {
  const taskfile = parse(readFileSync(join(ROOT, 'Taskfile.yml'), 'utf8')) as { tasks: Record<string, { env?: Record<string, string> }> }
  return (taskfile.tasks[name]?.env?.NODE_OPTIONS ?? '').split(' ').filter(Boolean)
}

/** node's arguments that start `tasks/<name>.ts` as the Taskfile does (with its node options), from any working directory. */
export const stageArgs = (name: string, ...args: readonly string[]) =>
  [...taskfileNodeOptions(name), STAGE_START, join(ROOT, 'tasks', `${name}.ts`), ...args]

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
 * Starts go-task (`task ARGS`) with `env` over this process's environment, from the project root by default; with
 * `group`, in a process group of its own, so a test can signal or kill it with everything it started.
 */
export function startTask(args: readonly string[], env: NodeJS.ProcessEnv = {}, options: { cwd?: string; group?: boolean } = {}): { child: ChildProcess; done: Promise<ScriptResult> } {
  const child = spawn('task', args, { cwd: options.cwd ?? ROOT, env: mergedEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: options.group ?? false })
  return collectOutput(child)
}

/** Runs go-task with `args` (startTask) and returns its exit code and what it printed. */
export function runTask(args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): Promise<ScriptResult> {
  return startTask(args, env, { cwd }).done
}

/** Runs `tasks/<name>.ts` from source, as the Taskfile and a person run it, from the project root; collects its output and exit code. */
export function runScript(name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): Promise<ScriptResult> {
  return startScript(name, args, env, cwd).done
}

/** Starts `tasks/<name>.ts` as the Taskfile does; `child` is there to be killed, `done` settles when it ends. */
export function startScript(name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): { child: ChildProcess; done: Promise<ScriptResult> } {
  const child = spawn(process.execPath, stageArgs(name, ...args), {
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
