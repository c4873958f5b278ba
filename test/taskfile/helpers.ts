// Shared by the taskfile runner's tests: fixtures copied into fresh temp dirs (never written in the repo),
// the `task` command run in-process with captured output, and the real CLI run as a child process.
import { spawn, type SpawnOptions } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ROOT, runTaskWith } from '../helpers/run-script.js'

export const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url))
const TSX = import.meta.resolve('tsx')

export interface Teardown {
  teardown(fn: () => void): void
}

/** A fresh copy of fixture `name` in a temp dir, removed when the test ends. */
export function fixture(t: Teardown, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `taskfile-${name}-`))
  cpSync(join(FIXTURES, name), dir, { recursive: true })
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** An empty temp dir, removed when the test ends. */
export function emptyDir(t: Teardown): string {
  const dir = mkdtempSync(join(tmpdir(), 'taskfile-empty-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

export interface TaskResult {
  code: number
  stdout: string
  stderr: string
}

/** The environment commands get in tests: ours without anything a fixture's variables would pick up. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string | undefined> {
  const env = { ...process.env }
  for (const name of ['BAR', 'FILE', 'ROOT_ENV', 'TASK_ENV', 'RUN_TYPE', 'OUTPUT', 'TASK_TEMP_DIR', 'SLEEP', 'FAIL', 'V', 'WHO']) delete env[name]
  return { ...env, ...extra }
}

/** Runs the `task` command in-process in `cwd`, collecting its output. */
export function task(cwd: string, argv: string[], env: Record<string, string> = {}): Promise<TaskResult> {
  return runTaskWith(argv, cwd, cleanEnv(env))
}

export interface ChildResult extends TaskResult {
  signal: NodeJS.Signals | null
}

/** Starts the real CLI (`node --import tsx tasks/task.ts …`) in `cwd`. */
export function spawnCli(cwd: string, argv: string[], options: SpawnOptions = {}) {
  return spawn(process.execPath, ['--import', TSX, join(ROOT, 'tasks/task.ts'), ...argv], {
    cwd,
    env: cleanEnv() as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...options,
  })
}

/** Runs the real CLI to the end and collects its output and exit code. */
export function cli(cwd: string, argv: string[]): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(cwd, argv)
    let stdout = ''
    let stderr = ''
    child.stdout?.on('data', (d: Buffer) => (stdout += d))
    child.stderr?.on('data', (d: Buffer) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code: code ?? -1, signal, stdout, stderr }))
  })
}

/** A file's text, or undefined when it does not exist. */
export function read(dir: string, file: string): string | undefined {
  const path = join(dir, file)
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined
}

/** The lines of a file (empty when it does not exist). */
export function lines(dir: string, file: string): string[] {
  return (read(dir, file) ?? '').split('\n').filter((l) => l !== '')
}

/** Waits until `check` holds, polling; fails after `ms`. */
export async function waitFor(check: () => boolean, ms = 20_000): Promise<void> {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out waiting')
    await new Promise((r) => setTimeout(r, 25))
  }
}
