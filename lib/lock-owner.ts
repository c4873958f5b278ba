// Who holds a lock: the process a stage runs for (the task runner of its pipeline, or itself), read from /proc,
// and whether a recorded process still runs.
import { readFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { processAlive } from './files/atomic.js'

/** Who a lock is taken for. */
export interface LockOwner {
  /** The task runner's pid when a pipeline runs the stage, else the stage's own. */
  pid: number
  /** The process's start time (from /proc/<pid>/stat), so a reused pid is not taken for it; undefined off Linux. */
  start?: string
  /** Its command line, for messages. */
  command: string
  /** A pipeline's lock outlives each of its stages; a stage run by hand releases it when done. */
  pipeline: boolean
}

/** The parent pid and start time of a process, from `<proc>/<pid>/stat`; undefined when unreadable. */
export function processInfo(pid: number, proc = '/proc'): { ppid: number; start: string } | undefined {
  try {
    const stat = readFileSync(join(proc, String(pid), 'stat'), 'utf8')
    // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { ppid: Number(fields[1]), start: fields[19] }
  } catch {
    return undefined
  }
}

function commandLine(pid: number, proc: string): string[] | undefined {
  try {
    return readFileSync(join(proc, String(pid), 'cmdline'), 'utf8').split('\0').filter((arg, i, all) => arg !== '' || i < all.length - 1)
  } catch {
    return undefined
  }
}

/** Whether a command line is a task runner: go-task (`task`), or `tasks/task.ts`, which starts it (npm run task). */
export function isPipelineCommand(argv: readonly string[]): boolean {
  const names = argv.slice(0, 2).map((arg) => basename(arg))
  const runsGoTask = names.some((name) => name === 'task' || name === 'go-task')
  return runsGoTask || argv.some((arg) => /(^|\/)tasks\/task\.ts$/.test(arg))
}

/**
 * The owner of the lock for this stage: the nearest ancestor process that is a task runner, so every stage of
 * one pipeline run shares the lock; the stage itself when run by hand (or where /proc cannot be read).
 */
export function lockOwner(self: { pid: number; ppid: number } = process, proc = '/proc'): LockOwner {
  let pid = self.ppid
  for (let depth = 0; depth < 64 && pid > 1; depth++) {
    const argv = commandLine(pid, proc)
    const info = processInfo(pid, proc)
    if (!argv || !info) break
    if (isPipelineCommand(argv)) return { pid, start: info.start, command: argv.join(' ').slice(0, 200), pipeline: true }
    pid = info.ppid
  }
  return { pid: self.pid, start: processInfo(self.pid, proc)?.start, command: `stage (pid ${self.pid})`, pipeline: false }
}

/** Whether a process of this host is still the one that was recorded (alive, and not a reused pid). */
export function stillRunning(pid: number | null, start: string | null): boolean {
  if (pid === null || !processAlive(pid)) return false
  return start === null || processInfo(pid)?.start === start
}
