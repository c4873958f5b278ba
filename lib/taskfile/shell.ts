// Runs one command line through /bin/sh -c. go-task interprets commands with mvdan.cc/sh (a bash-like
// interpreter in-process); a POSIX shell runs the simple command lines a Taskfile holds the same way.
import { spawn } from 'node:child_process'
import { constants } from 'node:os'

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
export function runShell(command: string, options: ShellOptions): Promise<ShellResult> {
  return new Promise((resolvePromise, reject) => {
    const stdio = options.stdio === 'inherit' ? 'inherit' : (['ignore', options.stdio === 'quiet' ? 'ignore' : 'pipe', options.stdio === 'quiet' ? 'ignore' : 'pipe'] as const)
    // Its own process group (except when sharing our terminal, where the terminal signals the whole
    // foreground group and a background group could not read it), so cancelling reaches the commands
    // the shell started too, not only the shell.
    const detached = options.stdio !== 'inherit'
    const child = spawn(options.shell ?? '/bin/sh', ['-c', command], { cwd: options.cwd, env: options.env, stdio: stdio as never, detached })
    const out: Buffer[] = []
    child.stdout?.on('data', (chunk: Buffer) => {
      if (options.stdio === 'capture') out.push(chunk)
      else options.stdout?.write(chunk)
    })
    child.stderr?.on('data', (chunk: Buffer) => options.stderr?.write(chunk))
    // Stop the command when the run is cancelled; its non-zero status then fails the task.
    const onAbort = () => {
      try {
        if (detached && child.pid !== undefined) process.kill(-child.pid, 'SIGTERM')
        else child.kill('SIGTERM')
      } catch {
        child.kill('SIGTERM')
      }
    }
    if (options.signal?.aborted) onAbort()
    else options.signal?.addEventListener('abort', onAbort, { once: true })
    child.on('error', (err) => {
      options.signal?.removeEventListener('abort', onAbort)
      reject(err)
    })
    child.on('close', (code, signal) => {
      options.signal?.removeEventListener('abort', onAbort)
      const status = code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)
      resolvePromise({ code: status, stdout: Buffer.concat(out).toString('utf8') })
    })
  })
}

/**
 * The environment commands see: ours, plus the Taskfile's `env` for names we do not already have.
 * go-task v3 lets an environment variable that is already set win over the Taskfile's `env:` (unless its
 * ENV_PRECEDENCE experiment is on), and only strings, numbers and booleans are exported.
 */
export function commandEnv(processEnv: Readonly<Record<string, string | undefined>>, extra: Iterable<readonly [string, string]>): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(processEnv)) if (v !== undefined) env[k] = v
  for (const [k, v] of extra) if (!(k in env)) env[k] = v
  return env
}
