// The `task` command as a function: parses the arguments, loads the Taskfile, lists, summarizes, checks
// status or runs, and returns go-task's exit code. tasks/task.ts only wires it to the process.
import { parseArgs, usage, type CliOptions } from './cli.js'
import { ExitCode, exitCodeFor, TaskfileError } from './errors.js'
import { listTasks, printSummary } from './list.js'
import { loadTaskfile } from './load.js'
import { shellQuote } from './quote.js'
import { Runner, type Call } from './run.js'
import type { Writer } from './shell.js'

/** What the command needs from its process, passed in so the library never touches `process`. */
export interface CliIo {
  cwd: string
  env: Readonly<Record<string, string | undefined>>
  stdout: Writer
  stderr: Writer
  /** `inherit` for a real terminal; `pipe` (default) copies command output to stdout/stderr. */
  childStdio?: 'inherit' | 'pipe'
  signal?: AbortSignal
}

/** The version line of `--version`. */
export const VERSION = 'v3 subset (caloprod built-in runner)'

async function dispatch(opts: CliOptions, io: CliIo): Promise<number> {
  const taskfile = loadTaskfile({ cwd: io.cwd, dir: opts.dir, taskfile: opts.taskfile })
  const runner = new Runner({
    taskfile,
    processEnv: io.env,
    userWorkingDir: io.cwd,
    cliVars: opts.vars,
    // go-task passes CLI_ARGS shell-quoted, one word per argument.
    cliArgs: opts.cliArgs.map(shellQuote).join(' '),
    stdout: io.stdout,
    stderr: io.stderr,
    childStdio: io.childStdio,
    force: opts.force,
    dry: opts.dry,
    silent: opts.silent,
    verbose: opts.verbose,
    signal: io.signal,
  })
  const names = [...taskfile.tasks.keys()]
  if (opts.list || opts.listAll) {
    return (await listTasks(runner, names, { all: opts.listAll, namesOnly: opts.silent }, io.stdout)) ? ExitCode.ok : ExitCode.unknown
  }
  const calls: Call[] = (opts.tasks.length > 0 ? opts.tasks : ['default']).map((task) => ({ task }))
  try {
    runner.checkCalls(calls)
  } catch (err) {
    // An unknown task: go-task shows what there is before the error.
    if (err instanceof TaskfileError && err.code === ExitCode.taskNotFound) {
      await listTasks(runner, names, { all: false, namesOnly: false }, io.stdout)
    }
    throw err
  }
  if (opts.summary) {
    for (const [i, call] of calls.entries()) {
      if (i > 0) io.stdout.write('\n\n')
      printSummary(await runner.compileForDisplay(call.task), io.stdout)
    }
    return ExitCode.ok
  }
  if (opts.status) {
    const states = await runner.status(calls)
    if (opts.verbose) {
      for (const s of states) {
        if (s.upToDate) io.stderr.write(`task: Task "${s.name}" is up to date\n`)
        else io.stderr.write(`task: Task "${s.name}" is not up-to-date:\n${s.reasons.map((r) => `  - ${r}\n`).join('')}`)
      }
    }
    const stale = states.find((s) => !s.upToDate)
    if (stale) throw new TaskfileError(ExitCode.unknown, `task: Task "${stale.name}" is not up-to-date`)
    return ExitCode.ok
  }
  await runner.run(calls)
  return ExitCode.ok
}

/** Runs the `task` command with `argv` (the arguments after the program name) and returns its exit code. */
export async function runTaskCli(argv: readonly string[], io: CliIo): Promise<number> {
  let opts: CliOptions
  try {
    opts = parseArgs(argv)
  } catch (err) {
    io.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${usage()}`)
    return ExitCode.usage
  }
  if (opts.help) {
    io.stderr.write(usage())
    return ExitCode.ok
  }
  if (opts.version) {
    io.stdout.write(`Task version: ${VERSION}\n`)
    return ExitCode.ok
  }
  try {
    return await dispatch(opts, io)
  } catch (err) {
    const message = err instanceof TaskfileError ? err.message : `task: ${err instanceof Error ? err.message : String(err)}`
    io.stderr.write(message + '\n')
    return exitCodeFor(err, opts.exitCode)
  }
}
