import { appendFileSync, mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { writeError } from './files/disk-full.js'
import { visible, visibleLine } from './visible.js'

/**
 * Where a stage's words go: the day's log file always; stderr: `warn` (`info` with --verbose); stdout: `summary`. Each
 * shown as `visible` shows it: outside text in a message (a path, a hold reason, the CDB's words) moves no cursor.
 */
export interface Log {
  info(message: string): void
  warn(message: string): void
  summary(message: string): void
}

/** `file`: none for a dry run, which must change nothing on disk. */
export type LogOptions = { stage: string; file: string | undefined; verbose: boolean; quiet: boolean; now?: () => Date }
  & { stdout: (text: string) => void; stderr: (text: string) => void }

/** The log file of the day for an output directory: every invocation appends to it, so cron keeps a history. */
export function logFileFor(output: string, now: Date = new Date()): string {
  return join(output, 'log', `${now.toISOString().slice(0, 10)}.log`)
}

/** Creates the log's directory, naming it when that fails (a recursive mkdir says ENOENT on a read-only mount). */
function makeLogDir(file: string): void {
  try {
    mkdirSync(dirname(file), { recursive: true })
  } catch {
    try {
      mkdirSync(dirname(file))
    } catch (err) {
      throw writeError(err, dirname(file))
    }
  }
}

/** Opens a stage's log. Lines in the file carry the time, the stage and the process id. */
export function openLog(options: LogOptions): Log {
  const now = options.now ?? (() => new Date())
  if (options.file) makeLogDir(options.file)
  const write = (level: string, message: string) => {
    if (!options.file) return
    // Appended synchronously: a stage killed a moment later still leaves what it said.
    try {
      // Each line of a message carries the time and stage, so `grep RUN log/*` finds every line about a run.
      const head = `${now().toISOString()} ${options.stage}[${process.pid}] ${level}: `
      appendFileSync(options.file, message.split('\n').map((line) => `${head}${line}\n`).join(''))
    } catch (err) {
      throw writeError(err, options.file)
    }
  }
  return {
    info(message) {
      const text = visible(message)
      write('info', text)
      if (options.verbose) options.stderr(`${options.stage}: ${text}\n`)
    },
    warn(message) {
      // One line, as a warning is read (`<stage>: warning: …`): a CDB's words with a line break of their own stay in it.
      const text = visibleLine(message)
      write('warn', text)
      options.stderr(`${options.stage}: warning: ${text}\n`)
    },
    summary(message) {
      const text = visible(message)
      write('done', text)
      if (!options.quiet) options.stdout(`${text}\n`)
    },
  }
}
