// Runs one command line through /bin/sh -c. go-task interprets commands with mvdan.cc/sh (a bash-like
// interpreter in-process); a POSIX shell runs the simple command lines a Taskfile holds the same way.
import { constants } from 'node:os'
import { runInGroup } from '../spawn-group.js'

/** Where output goes: anything with a `write` (process.stdout, a test's collector). */
export interface Writer {
  write(chunk: string | Uint8Array): unknown
}

export interface ShellOptions {
  cwd: string
  env: Readonly<Record<string, string>>
  /**
   * `inherit`: the command shares our stdin/stdout/stderr (the CLI: a command still sees a terminal).
   * `pipe`: its output is copied to `stdout`/`stderr`. `capture`: stdout is returned (dynamic variables),
   * stderr copied. `quiet`: output discarded (status and precondition checks, as go-task does).
   */
  stdio: 'inherit' | 'pipe' | 'capture' | 'quiet'
  stdout?: Writer
  stderr?: Writer
  signal?: AbortSignal
  /** The shell binary; /bin/sh unless a test says otherwise. */
  shell?: string
}

export interface ShellResult {
  /** The exit status; 128+N when killed by signal N, as a shell reports it. */
  code: number
  stdout: string
}

/** Runs `command`; resolves with its exit status (never rejects for a non-zero status). */
export async function runShell(command: string, options: ShellOptions): Promise<ShellResult> {
  const out: Buffer[] = []
  const stdio = { inherit: 'inherit', pipe: 'pipe', capture: 'pipe', quiet: 'ignore' } as const
  // Its own process group (except when sharing our terminal), so cancelling reaches the commands the shell
  // started too, not only the shell; its non-zero status then fails the task.
  const run = await runInGroup(options.shell ?? '/bin/sh', ['-c', command], {
    cwd: options.cwd,
    env: options.env,
    stdio: stdio[options.stdio],
    onStdout: (chunk) => {
      if (options.stdio === 'capture') out.push(chunk)
      else options.stdout?.write(chunk)
    },
    onStderr: (chunk) => options.stderr?.write(chunk),
    signal: options.signal,
  })
  const status = run.code ?? 128 + (run.signal ? (constants.signals[run.signal] ?? 0) : 0)
  return { code: status, stdout: Buffer.concat(out).toString('utf8') }
}

/**
 * The environment commands see: ours, plus the Taskfile's `env` for names we do not already have.
 * go-task v3 lets an environment variable that is already set win over the Taskfile's `env:` (unless its
 * ENV_PRECEDENCE experiment is on), and only strings, numbers and booleans are exported.
 */
export function commandEnv(
  processEnv: Readonly<Record<string, string | undefined>>,
  extra: Iterable<readonly [string, string]>,
): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(processEnv)) if (v !== undefined) env[k] = v
  for (const [k, v] of extra) if (!(k in env)) env[k] = v
  return env
}
