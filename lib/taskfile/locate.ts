// Which Taskfile a run uses, found as go-task finds it.
import { existsSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { ExitCode, TaskfileError } from './errors.js'

/** The names go-task looks for, in its order. */
export const DEFAULT_TASKFILES = [
  'Taskfile.yml', 'taskfile.yml', 'Taskfile.yaml', 'taskfile.yaml',
  'Taskfile.dist.yml', 'taskfile.dist.yml', 'Taskfile.dist.yaml', 'taskfile.dist.yaml',
]

export interface LocateOptions {
  /** The directory the runner was started in. */
  cwd: string
  /** `--dir`: look only in this directory (relative to cwd). */
  dir?: string
  /** `--taskfile`: this file, or this directory's Taskfile (relative to `dir`, else cwd). */
  taskfile?: string
}

function findIn(dir: string): string | undefined {
  for (const name of DEFAULT_TASKFILES) {
    const path = join(dir, name)
    if (existsSync(path) && !statSync(path).isDirectory()) return path
  }
  return undefined
}

function ownerOf(dir: string): number | undefined {
  try {
    return statSync(dir).uid
  } catch {
    return undefined
  }
}

/**
 * The Taskfile to run, as go-task finds it: `--taskfile`, else `--dir`'s Taskfile, else the first default
 * name in the working directory or, failing that, its parents (stopping where the owner changes).
 */
export function locateTaskfile(options: LocateOptions): string {
  const base = options.dir === undefined ? options.cwd : resolve(options.cwd, options.dir)
  if (options.taskfile !== undefined) {
    const path = resolve(base, options.taskfile)
    const found = existsSync(path) ? (statSync(path).isDirectory() ? findIn(path) : path) : undefined
    if (found) return found
    throw new TaskfileError(ExitCode.taskfileNotFound, `task: No Taskfile found at "${path}"`)
  }
  if (options.dir !== undefined) {
    const found = findIn(base)
    if (found) return found
    throw new TaskfileError(ExitCode.taskfileNotFound, `task: No Taskfile found at "${base}"`)
  }
  let dir = base
  const owner = ownerOf(dir)
  for (;;) {
    const found = findIn(dir)
    if (found) return found
    const parent = dirname(dir)
    if (parent === dir || ownerOf(parent) !== owner) break
    dir = parent
  }
  throw new TaskfileError(ExitCode.taskfileNotFound, `task: No Taskfile found at "${base}" (or any of the parent directories).`)
}
