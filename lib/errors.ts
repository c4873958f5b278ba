/**
 * The one error class callers must catch. `exitCode` follows DESIGN.md's contract for cron:
 * 1 a stage failed, 2 usage error, 3 another run holds the lock.
 */
export class CaloprodError extends Error {
  readonly exitCode: 1 | 2 | 3
  constructor(message: string, exitCode: 1 | 2 | 3 = 1, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'CaloprodError'
    this.exitCode = exitCode
  }
}

/** A flag or argument the user got wrong: exit 2. */
export class UsageError extends CaloprodError {
  constructor(message: string) {
    super(message, 2)
    this.name = 'UsageError'
  }
}

/** Bad content in a file a person may have edited: names the file and line. */
export class InputError extends CaloprodError {
  constructor(file: string, line: number | undefined, message: string) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${message}`, 1)
    this.name = 'InputError'
  }
}

/** Another caloprod run holds the output directory's lock: exit 3. */
export class LockedError extends CaloprodError {
  constructor(message: string) {
    super(message, 3)
    this.name = 'LockedError'
  }
}

/** The one line printed for an error: our own messages as they are, anything else with its kind. */
export function describeError(err: unknown): string {
  if (err instanceof CaloprodError) return err.message
  if (err instanceof Error) return `${err.name}: ${err.message}`
  return String(err)
}

/** The exit code for an error that reached a stage script's top level. */
export function exitCodeOf(err: unknown): number {
  return err instanceof CaloprodError ? err.exitCode : 1
}
