/** The one error class callers must catch; `exitCode` (DESIGN.md): 1 a stage failed, 2 usage, 3 locked. */
export class CaloprodError extends Error {
  readonly exitCode: 1 | 2 | 3
  constructor(message: string, exitCode: 1 | 2 | 3 = 1, options?: { cause?: unknown }) {
    super(message, options)
    this.name = new.target.name
    this.exitCode = exitCode
  }
}

/** A flag or argument the user got wrong: exit 2. */
export class UsageError extends CaloprodError {
  constructor(message: string) {
    super(message, 2)
  }
}

/** Bad content in a file a person may have edited: names the file and line. */
export class InputError extends CaloprodError {
  constructor(file: string, line: number | undefined, message: string) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${message}`, 1)
  }
}

/** Another caloprod run holds the output directory's lock: exit 3. */
export class LockedError extends CaloprodError {
  constructor(message: string) {
    super(message, 3)
  }
}

/**
 * What a file system error says about its file, and what a person does about it; keyed `CODE` or, where a code means
 * different things by call, `CODE syscall` (first).
 */
const FILE_TROUBLE: Record<string, [string, string]> = {
  EISDIR: ['is a directory where caloprod reads or writes a file', 'move that directory away and run again'],
  ENOTDIR: ['is, or lies under, a file where a directory belongs', 'move that file away and run again'],
  // mkdir (recursive or not) of a path that is a file; EEXIST elsewhere (an exclusive create) is no trouble of this kind.
  'EEXIST mkdir': ['is a file where a directory belongs', 'move that file away and run again'],
  EACCES: ['permission denied', 'check the owner and mode of the file and its directory (ls -ld), or run as the user who owns them'],
  EPERM: ['operation not permitted', 'check the owner, mode and attributes of the file and its directory (ls -ld, lsattr)'],
  EROFS: ['the file system is read-only', 'give an --output on a writable file system (status and report --stdout write nothing)'],
}

/** A FILE_TROUBLE error as one line: the file (`path`, else the error's own), what is wrong, what to do. */
export function fileError(err: unknown, path?: string): CaloprodError | undefined {
  const { code, syscall, path: own } = (err ?? {}) as NodeJS.ErrnoException
  const trouble = code ? (FILE_TROUBLE[`${code} ${syscall}`] ?? FILE_TROUBLE[code]) : undefined
  // mkdir's own path is the directory in the way, never a temporary name: it beats the file being written.
  const file = (syscall === 'mkdir' ? own : undefined) ?? path ?? own
  if (!trouble || !file) return undefined
  return new CaloprodError(`${file}: ${trouble[0]} (${code}${syscall ? ` on ${syscall}` : ''}); ${trouble[1]}`, 1, { cause: err })
}

/** The one line printed for an error: our own messages as they are, a file's trouble naming it, anything else with its kind. */
export function describeError(err: unknown): string {
  if (err instanceof CaloprodError) return err.message
  const file = fileError(err)
  if (file) return file.message
  if (err instanceof Error) return `${err.name}: ${err.message}`
  return String(err)
}
