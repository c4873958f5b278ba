// The runner's one error class. `code` is go-task's exit code for the same failure (its errors/errors.go),
// so scripts and cron see the same numbers whichever runner ran the Taskfile.

/** go-task v3 exit codes used by this runner. */
export const ExitCode = {
  ok: 0,
  /** Anything without a code of its own (go-task's CodeUnknown), e.g. `--status` finding a task not up to date. */
  unknown: 1,
  /** A flag the parser does not know or a flag without its value (pflag exits 2). */
  usage: 2,
  taskfileNotFound: 100,
  taskfileInvalid: 102,
  taskNotFound: 200,
  taskRunError: 201,
  taskInternal: 202,
  taskNameConflict: 203,
  taskCalledTooManyTimes: 204,
  taskMissingRequiredVars: 206,
  taskNotAllowedVars: 207,
} as const

export interface TaskfileErrorOptions {
  cause?: unknown
  /** The exit status of the shell command that failed, if this error comes from one (for `--exit-code`). */
  commandExitCode?: number
}

/** Every failure the runner reports: the message is what go-task prints, `code` what it exits with. */
export class TaskfileError extends Error {
  readonly code: number
  readonly commandExitCode: number | undefined

  constructor(code: number, message: string, options: TaskfileErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'TaskfileError'
    this.code = code
    this.commandExitCode = options.commandExitCode
  }
}

/**
 * Wraps an error from running task `name` the way go-task's TaskRunError does: the message names every task
 * on the way down (`task: Failed to run task "a": task: Failed to run task "b": exit status 1`), the code is
 * 201 and the failing command's own exit status is kept for `--exit-code`.
 */
export function taskRunError(name: string, err: unknown): TaskfileError {
  // A cycle is reported once, with its own code, rather than wrapped once per level of the cycle.
  if (err instanceof TaskfileError && err.code === ExitCode.taskCalledTooManyTimes) return err
  const inner = err instanceof TaskfileError ? err : undefined
  const detail = err instanceof Error ? err.message : String(err)
  return new TaskfileError(ExitCode.taskRunError, `task: Failed to run task "${name}": ${detail}`, {
    cause: err,
    commandExitCode: inner?.commandExitCode,
  })
}

/** The exit code for an error that reached the CLI: go-task's code, or the command's own with `--exit-code`. */
export function exitCodeFor(err: unknown, passThroughCommandCode: boolean): number {
  if (!(err instanceof TaskfileError)) return ExitCode.unknown
  if (passThroughCommandCode && err.code === ExitCode.taskRunError && err.commandExitCode !== undefined) return err.commandExitCode
  return err.code
}
