// Runs a stage script as a user runs it (`npx tsx tasks/<stage>.ts ...`), through Node's tsx loader.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** tsx's loader by absolute URL, so scripts run from any working directory. */
const TSX = import.meta.resolve('tsx')

export interface ScriptResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Runs `tasks/<name>.ts` with `args` from the project root and collects its output and exit code. */
export function runScript(name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): Promise<ScriptResult> {
  return startScript(name, args, env, cwd).done
}

/** Starts `tasks/<name>.ts`; `child` is there to be killed, `done` settles when it ends. */
export function startScript(name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, cwd = ROOT): { child: ChildProcess; done: Promise<ScriptResult> } {
  const child = spawn(process.execPath, ['--import', TSX, `${ROOT}/tasks/${name}.ts`, ...args], {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  return collectOutput(child)
}

/** Gathers a started process's stdout and stderr; `done` settles with them and how it ended. */
export function collectOutput(child: ChildProcess): { child: ChildProcess; done: Promise<ScriptResult> } {
  const done = new Promise<ScriptResult>((resolve, reject) => {
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (d) => (stdout += d))
    child.stderr!.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
  return { child, done }
}
