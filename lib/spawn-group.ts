// One way caloprod starts a program it may have to stop: in a process group of its own, so that a timeout or an
// abort reaches everything the program started, not only the program. Used by the CDB check (filter-datasets)
// and the scheduler's programs. A stage's groups are also stopped, and waited for, however the stage ends (a signal,
// an internal error) before it releases its lock: a condor_submit left running would queue its jobs after the next
// night had found none and submitted them again.
import { spawn } from 'node:child_process'
import { scopedSets } from './scoped-sets.js'

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

/** A program started by runInGroup and not ended yet: its group, and when its leader exits. */
type Running = { pid: number; exited: Promise<void> }

/** How long a group has after SIGTERM before SIGKILL, when a stage stops it. */
const STOP_GRACE_MS = 5000

/** The groups started under `withOwnGroups` (a stage's body): lib/scoped-sets.ts. */
const stageGroups = scopedSets<Running>((groups) => stopGroups(groups))

/** Runs `work`; then, however it ended, stops the process groups it started that still run, and waits for them. */
export const withOwnGroups = <T>(work: () => Promise<T>): Promise<T> => stageGroups.within(work)

/** Stops every group started under any `withOwnGroups` still running (a signal stops the process). */
export const stopAllGroups = (): Promise<void> => stageGroups.releaseAll()

/** SIGKILL to every such group at once, without waiting (a second signal ends the process now). */
export function killAllGroups(): void {
  for (const groups of stageGroups.open()) for (const { pid } of groups) signalGroup(pid, 'SIGKILL')
}

/** SIGTERM to each group, SIGKILL after STOP_GRACE_MS; resolves once every leader has exited. */
async function stopGroups(groups: ReadonlySet<Running>): Promise<void> {
  if (groups.size === 0) return
  for (const { pid } of groups) signalGroup(pid, 'SIGTERM')
  const kill = setTimeout(() => {
    for (const { pid } of groups) signalGroup(pid, 'SIGKILL')
  }, STOP_GRACE_MS)
  await Promise.all([...groups].map((group) => group.exited))
  clearTimeout(kill)
}

/** Signals a whole process group; nothing when it is gone. */
function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return
  try {
    process.kill(-pid, signal)
  } catch {} // already gone
}

/**
 * Runs `bin args`; resolves when it ended, whatever its exit; rejects only when it cannot be started (ECANCELED: its
 * stage is ending).
 */
export function runInGroup(bin: string, args: readonly string[], options: GroupOptions): Promise<GroupResult> {
  return new Promise((resolve, reject) => {
    const scope = stageGroups.current()
    if (scope?.closed) return reject(Object.assign(new Error(`${bin} not started: the stage is ending`), { code: 'ECANCELED' }))
    const groups = scope?.items
    const { cwd, env, stdio } = options
    const child = spawn(bin, args, { cwd, env: env as NodeJS.ProcessEnv, detached: true, stdio: ['ignore', stdio, stdio] })
    if (child.pid !== undefined && groups) {
      const running: Running = {
        pid: child.pid,
        exited: new Promise((ended) => child.once('exit', () => ended()).once('error', () => ended())),
      }
      groups.add(running)
      void running.exited.then(() => groups.delete(running))
    }
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
