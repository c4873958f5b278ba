// One way caloprod starts a program it may have to stop: in a process group of its own, so that a timeout or an
// abort reaches everything the program started, not only the program. Used by the CDB check (filter-datasets)
// and the scheduler's programs.
import { spawn } from 'node:child_process'

/**
 * `stdio` `pipe`: output to `onStdout`/`onStderr`, stdin closed; `timeoutMs`: SIGTERM after it; `graceMs`: SIGKILL
 * that long after SIGTERM (else SIGTERM alone); `reapOnExit`: on exit, SIGKILL what the program left in its group
 * (it may hold the pipes open), draining them at most `graceMs`.
 */
interface GroupOptions {
  cwd: string
  env: Readonly<Record<string, string | undefined>>
  stdio: 'pipe' | 'ignore'
  onStdout?: (chunk: Buffer) => void
  onStderr?: (chunk: Buffer) => void
  signal?: AbortSignal
  timeoutMs?: number
  graceMs?: number
  reapOnExit?: boolean
}

export type GroupResult = { code: number | null; signal: NodeJS.Signals | null; timedOut: boolean; aborted: boolean }

/** Signals a whole process group; nothing when it is gone. */
function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return
  try {
    process.kill(-pid, signal)
  } catch {} // already gone
}

/** Runs `bin args`; resolves when it ended, whatever its exit; rejects only when it cannot be started. */
export function runInGroup(bin: string, args: readonly string[], options: GroupOptions): Promise<GroupResult> {
  return new Promise((resolve, reject) => {
    const { cwd, env, stdio } = options
    const child = spawn(bin, args, { cwd, env: env as NodeJS.ProcessEnv, detached: true, stdio: ['ignore', stdio, stdio] })
    if (options.onStdout) child.stdout?.on('data', options.onStdout)
    if (options.onStderr) child.stderr?.on('data', options.onStderr)
    let timedOut = false
    let aborted = false
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined
    let hardKill: NodeJS.Timeout | undefined
    let drain: NodeJS.Timeout | undefined
    const stop = () => {
      signalGroup(child.pid, 'SIGTERM')
      if (options.graceMs !== undefined) hardKill ??= setTimeout(() => signalGroup(child.pid, 'SIGKILL'), options.graceMs)
    }
    // setTimeout takes at most 2^31-1 ms (24.8 days); a longer timeout would fire at once.
    const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true
      stop()
    }, Math.min(options.timeoutMs, 2 ** 31 - 1))
    const onAbort = () => {
      aborted = true
      stop()
    }
    options.signal?.addEventListener('abort', onAbort, { once: true })
    let done = false
    const finish = () => {
      if (done || !exited) return
      done = true
      clearTimeout(timer)
      clearTimeout(hardKill)
      clearTimeout(drain)
      options.signal?.removeEventListener('abort', onAbort)
      child.stdout?.destroy()
      child.stderr?.destroy()
      resolve({ ...exited, timedOut, aborted })
    }
    child.on('error', (err) => {
      clearTimeout(timer)
      options.signal?.removeEventListener('abort', onAbort)
      reject(err)
    })
    child.on('exit', (code, signal) => {
      exited = { code, signal }
      if (!options.reapOnExit) return
      signalGroup(child.pid, 'SIGKILL')
      drain = setTimeout(finish, options.graceMs ?? 0)
    })
    child.on('close', (code, signal) => {
      exited ??= { code, signal }
      finish()
    })
    if (options.signal?.aborted) onAbort()
  })
}
