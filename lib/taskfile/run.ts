// The executor (go-task's RunTask): for each call, compile the task, check `requires`, run its deps in
// parallel, then (unless forced) its preconditions and up-to-date check, then its commands in order.
// Differences from go-task, on purpose: the checksum is removed before the commands run and written only
// after all of them succeeded (go-task writes it first, issue #1178), so a failed or killed run is never
// taken as up to date; and a `run: once`/`when_changed` task shared by several callers fails all of them
// when it fails (go-task's --propagate-shared-errors) instead of letting the others carry on.
import { existsSync, mkdirSync } from 'node:fs'
import { fingerprintDir, fingerprintSources, removeChecksum, writeChecksum } from './checksum.js'
import { compileTask, type CompiledTask } from './compile.js'
import { checkAllowedValues, checkRequires } from './requires.js'
import { ExitCode, TaskfileError, taskRunError } from './errors.js'
import { commandEnv, runShell, type Writer } from './shell.js'
import type { TaskDef, Taskfile, VarList } from './types.js'
import { checkUpToDate, type UpToDate } from './uptodate.js'
import type { Value } from './value.js'
import type { VarContext } from './vars.js'

/** go-task's MaximumTaskCall: more calls of one task than this is taken as a cycle. */
export const MAXIMUM_TASK_CALLS = 1000

export interface RunnerOptions {
  taskfile: Taskfile
  /** The environment the runner was started with (commands get it plus the Taskfile's `env:`). */
  processEnv: Readonly<Record<string, string | undefined>>
  /** The directory the runner was started from (USER_WORKING_DIR). */
  userWorkingDir: string
  /** `VAR=value` command-line arguments, in order. */
  cliVars?: ReadonlyArray<readonly [string, string]>
  /** Everything after `--`, each argument shell-quoted and joined with spaces (CLI_ARGS). */
  cliArgs?: string
  stdout: Writer
  stderr: Writer
  /** `inherit` lets commands use our terminal (the CLI); `pipe` (default) copies their output to stdout/stderr. */
  childStdio?: 'inherit' | 'pipe'
  force?: boolean
  dry?: boolean
  silent?: boolean
  verbose?: boolean
  signal?: AbortSignal
}

/** A request to run a task: its name (or alias), optionally with vars and silenced. */
export interface Call {
  task: string
  vars?: VarList
  silent?: boolean
}

interface ActiveCall extends Call {
  /** Called from another task (a dep or a `- task:` command) rather than from the command line. */
  indirect: boolean
  /** The run-once keys of the calls above this one, to spot a task waiting on itself. */
  chain: readonly string[]
}

/** A task's up-to-date state as `--status` reports it. */
export interface TaskStatus {
  name: string
  upToDate: boolean
  reasons: string[]
}

function stableKey(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v instanceof Map ? [...v] : v))
}

/** Runs tasks of one loaded Taskfile; one instance per invocation (it remembers `run: once` tasks). */
export class Runner {
  /** Where checksums live, as go-task puts them (see fingerprintDir). */
  readonly tempDir: string
  private readonly ctx: VarContext
  private readonly executions = new Map<string, Promise<void>>()
  private readonly callCounts = new Map<string, number>()

  constructor(private readonly options: RunnerOptions) {
    const { taskfile } = options
    this.tempDir = fingerprintDir(taskfile.dir, options.processEnv.TASK_TEMP_DIR || undefined, options.processEnv.HOME)
    const specials: Array<readonly [string, Value]> = [
      ['CLI_ARGS', options.cliArgs ?? ''],
      ['CLI_FORCE', options.force ?? false],
      ['CLI_SILENT', options.silent ?? false],
      ['CLI_VERBOSE', options.verbose ?? false],
    ]
    this.ctx = {
      taskfile,
      processEnv: options.processEnv,
      cliVars: options.cliVars ?? [],
      cliSpecials: specials,
      userWorkingDir: options.userWorkingDir,
      stderr: options.stderr,
      verbose: options.verbose ?? false,
      signal: options.signal,
      shCache: new Map(),
    }
  }

  /** The task a name or alias refers to (exit 200 if none, 203 if an alias is ambiguous). */
  findTask(name: string): TaskDef {
    const direct = this.options.taskfile.tasks.get(name)
    if (direct) return direct
    const aliased = [...this.options.taskfile.tasks.values()].filter((t) => t.aliases.includes(name))
    if (aliased.length > 1) {
      const names = aliased.map((t) => t.name).join(', ')
      throw new TaskfileError(ExitCode.taskNameConflict, `task: Found multiple tasks (${names}) that match "${name}"`)
    }
    if (aliased.length === 0) throw new TaskfileError(ExitCode.taskNotFound, `task: Task "${name}" does not exist`)
    return aliased[0]
  }

  /** Checks calls from the command line: each task exists and is not internal (exit 200 / 202). */
  checkCalls(calls: readonly Call[]): void {
    for (const call of calls) {
      if (this.findTask(call.task).internal) throw new TaskfileError(ExitCode.taskInternal, `task: Task "${call.task}" is internal`)
    }
  }

  /** Compiles a task for display (--list, --summary): `sh:` vars are not run. */
  compileForDisplay(name: string): Promise<CompiledTask> {
    return compileTask(this.ctx, this.findTask(name), { name, vars: [] }, false)
  }

  /** Runs the calls one after the other, as `task a b` does. */
  async run(calls: readonly Call[]): Promise<void> {
    this.checkCalls(calls)
    for (const call of calls) await this.runCall({ ...call, indirect: false, chain: [] })
  }

  /** Whether each called task is up to date, and why not (nothing runs but status commands and `sh:` vars). */
  async status(calls: readonly Call[]): Promise<TaskStatus[]> {
    this.checkCalls(calls)
    const out: TaskStatus[] = []
    for (const call of calls) {
      const task = await compileTask(this.ctx, this.findTask(call.task), { name: call.task, vars: call.vars ?? [] }, true)
      const state = await this.upToDate(task)
      out.push({ name: task.name, upToDate: state.upToDate, reasons: state.reasons })
    }
    return out
  }

  private upToDate(task: CompiledTask): Promise<UpToDate> {
    const { processEnv, stderr, verbose, signal } = this.options
    return checkUpToDate(task, { tempDir: this.tempDir, processEnv, stderr, verbose: verbose ?? false, signal })
  }

  private log(message: string): void {
    this.options.stderr.write(message + '\n')
  }

  private async runCall(call: ActiveCall): Promise<void> {
    const def = this.findTask(call.task)
    const callVars = { name: call.task, vars: call.vars ?? [] }
    // Missing required vars are reported before any `sh:` var runs, as go-task does.
    if (def.requires.length > 0) checkRequires(await compileTask(this.ctx, def, callVars, false))
    const task = await compileTask(this.ctx, def, callVars, true)
    checkAllowedValues(task)

    const count = (this.callCounts.get(def.name) ?? 0) + 1
    this.callCounts.set(def.name, count)
    if (count >= MAXIMUM_TASK_CALLS) throw this.tooManyCalls(def.name)

    const key =
      def.run === 'once'
        ? `once:${def.name}`
        : def.run === 'when_changed'
          ? `changed:${def.name}:${stableKey([task.vars, task.cmds, task.deps, task.env, task.dir])}`
          : undefined
    const execute = () => this.execute(task, call, key === undefined ? call.chain : [...call.chain, key])
    let run: Promise<void>
    if (key === undefined) run = execute()
    else {
      const running = this.executions.get(key)
      if (running) {
        // Waiting on a task that is waiting on us would hang; go-task would hang too.
        if (call.chain.includes(key)) throw this.tooManyCalls(def.name)
        if (this.options.verbose) this.log(`task: skipping execution of task: ${key}`)
        run = running
      } else {
        run = execute()
        this.executions.set(key, run)
      }
    }
    try {
      await run
    } catch (err) {
      throw taskRunError(task.name, err)
    }
  }

  private tooManyCalls(name: string): TaskfileError {
    return new TaskfileError(
      ExitCode.taskCalledTooManyTimes,
      `task: Maximum task call exceeded (${MAXIMUM_TASK_CALLS}) for task "${name}": probably an cyclic dep or infinite loop`,
    )
  }

  private async runDeps(task: CompiledTask, chain: readonly string[]): Promise<void> {
    // All deps run to the end even when one fails (go-task's default since --failfast); the first failure is reported.
    let first: { err: unknown } | undefined
    await Promise.all(
      task.deps.map((dep) =>
        this.runCall({ task: dep.task, vars: dep.vars, silent: dep.silent, indirect: true, chain }).catch((err: unknown) => {
          first ??= { err }
        }),
      ),
    )
    if (first) throw first.err
  }

  private async execute(task: CompiledTask, call: ActiveCall, chain: readonly string[]): Promise<void> {
    const { options } = this
    const quiet = (cmdSilent = false) => !options.verbose && (call.silent || cmdSilent || task.def.silent || options.silent)
    if (options.verbose) this.log(`task: "${call.task}" started`)
    await this.runDeps(task, chain)

    let fingerprint = undefined as UpToDate['fingerprint']
    if (!options.force) {
      this.checkAborted()
      await this.checkPreconditions(task)
      const state = await this.upToDate(task)
      if (state.upToDate) {
        if (!quiet()) this.log(`task: Task "${task.name}" is up to date`)
        return
      }
      if (options.verbose) this.log(`task: Task "${task.name}" is not up to date: ${state.reasons.join('; ')}`)
      fingerprint = state.fingerprint
    }

    // A forced run records nothing, as in go-task (its checksum is written only by the up-to-date check); the old
    // checksum is still removed first, so a forced run that fails or is killed never leaves the task up to date.
    const recordsChecksum = task.sources.length > 0 && task.def.method === 'checksum' && !options.dry && !options.force
    if (options.force && task.sources.length > 0 && !options.dry) removeChecksum(this.tempDir, task.name)
    if (recordsChecksum) {
      fingerprint ??= fingerprintSources(task.dir, task.sources)
      removeChecksum(this.tempDir, task.name)
    }
    if (!options.dry && !existsSync(task.dir)) mkdirSync(task.dir, { recursive: true })

    for (const cmd of task.cmds) {
      this.checkAborted()
      if (cmd.kind === 'task') {
        await this.runCall({ task: cmd.task, vars: cmd.vars, silent: cmd.silent, indirect: true, chain })
        continue
      }
      if (!quiet(cmd.silent)) this.log(`task: [${task.name}] ${cmd.cmd}`)
      if (options.dry) continue
      const { code } = await runShell(cmd.cmd, {
        cwd: task.dir,
        env: commandEnv(options.processEnv, task.env),
        stdio: options.childStdio ?? 'pipe',
        stdout: options.stdout,
        stderr: options.stderr,
        signal: options.signal,
      })
      if (code !== 0) throw new TaskfileError(ExitCode.unknown, `exit status ${code}`, { commandExitCode: code })
    }
    if (recordsChecksum && fingerprint) await writeChecksum(this.tempDir, task.name, fingerprint)
    if (options.verbose) this.log(`task: "${call.task}" finished`)
  }

  private checkAborted(): void {
    if (this.options.signal?.aborted) throw new TaskfileError(ExitCode.unknown, 'context canceled')
  }

  private async checkPreconditions(task: CompiledTask): Promise<void> {
    const env = commandEnv(this.options.processEnv, task.env)
    for (const p of task.preconditions) {
      let code: number
      try {
        code = (await runShell(p.sh, { cwd: task.dir, env, stdio: 'quiet', signal: this.options.signal })).code
      } catch {
        code = 127
      }
      if (code !== 0) {
        this.log(`task: ${p.msg}`)
        throw new TaskfileError(ExitCode.unknown, 'task: precondition not met')
      }
    }
  }
}
