// The one place stage scripts touch the process: argv, env, cwd, stdout, stderr and the exit code.
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { realpathSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { resolveOptions, type Options } from '../lib/config/options.js'
import { runStage, signalExitCode, type Stage, type StageBody, type StageSpec } from '../lib/stage.js'
import { LOCK_WATCH } from '../lib/lock.js'
import { killAllGroups } from '../lib/spawn-group.js'

/** The signals a stage stops on cleanly (a person's Ctrl-C, cron's time limit, a terminal that hangs up). */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/**
 * Declares a stage script and, when node was started with that script (directly or through tasks/start.cjs), runs
 * it as a command, after the script's module has loaded: synchronous, so that the script has no top-level await
 * (tasks/start.cjs requires it). Imported instead (by a test), it only hands back the stage, to be run in-process
 * with lib/stage.ts's runStage. `threads`: the thread pool the stage's options need (see relaunchForThreads).
 */
export function declareStage(
  moduleUrl: string,
  spec: StageSpec,
  body: StageBody,
  threads?: (options: Options) => number,
): Stage {
  const declared = { spec, body }
  if (isEntryPoint(moduleUrl)) void runAsCommand(declared, threads)
  return declared
}

/** main, or the same script again with a larger thread pool; main catches every error of the stage itself. */
async function runAsCommand(declared: Stage, threads?: (options: Options) => number): Promise<void> {
  const exitCode = threads && (await relaunchForThreads(declared.spec, threads))
  if (exitCode === undefined) await main(declared)
  else process.exitCode = exitCode
}

/**
 * The arguments that start `script` with node as this process was started: through tasks/start.cjs when that was
 * the entry (CommonJS's `require.main`, undefined when the entry is an ES module, as under `node --import tsx`),
 * else directly; node's own flags either way.
 */
function nodeArgsFor(script: string): string[] {
  const launcher = createRequire(import.meta.url).main?.filename
  return [...process.execArgv, ...(launcher ? [launcher] : []), script]
}

/**
 * libuv reads UV_THREADPOOL_SIZE once, when its thread pool first runs, and an ES module's loading already runs it
 * (Node 20 reads the modules with asynchronous calls): setting the variable from a stage's code is too late. A
 * stage that needs more threads than this process has (4 unless the variable was set when it started: the
 * Taskfile sets it for lists) runs itself again as a child with the variable set, and exits with the child's code;
 * SIGINT, SIGTERM and SIGHUP are passed on. Undefined: the pool is large enough (or the flags do not parse, which
 * the stage itself then reports).
 */
async function relaunchForThreads(spec: StageSpec, threads: (options: Options) => number): Promise<number | undefined> {
  let wanted: number
  try {
    wanted = threads(resolveOptions(process.argv.slice(2), process.env, process.cwd(), spec.flags))
  } catch {
    return undefined
  }
  const set = process.env.UV_THREADPOOL_SIZE
  // libuv's reading: atoi, 0 as 1, at most 1024 threads.
  const pool = set === undefined ? 4 : Math.min(Math.max(Number.parseInt(set, 10) || 1, 1), 1024)
  if (pool >= wanted) return undefined
  const child = spawn(process.execPath, nodeArgsFor(process.argv[1]!).concat(process.argv.slice(2)), {
    stdio: 'inherit',
    env: { ...process.env, UV_THREADPOOL_SIZE: String(wanted) },
  })
  const pass = (signal: NodeJS.Signals) => child.kill(signal)
  for (const signal of STOP_SIGNALS) process.on(signal, pass)
  try {
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null]
    return code ?? (signal ? signalExitCode(signal) : 128)
  } catch (err) {
    process.stderr.write(`caloprod ${spec.name}: cannot start itself again with a larger thread pool: ${(err as Error).message}\n`)
    return 1
  } finally {
    for (const signal of STOP_SIGNALS) process.off(signal, pass)
  }
}

/** Whether `moduleUrl` is the file node was started with (argv[1] is absolute; either may be a symlink). */
function isEntryPoint(moduleUrl: string): boolean {
  const started = process.argv[1]
  if (!started) return false
  try {
    return realpathSync(started) === realpathSync(fileURLToPath(moduleUrl))
  } catch {
    return false
  }
}

/**
 * Starts tasks/watch-lock.ts, detached and silent, as the watcher of the lock a pipeline left between stages (in its
 * environment, not its command line, where `ps` would show the lock's record).
 */
function watchLock(output: string, lock: string): void {
  const env = { ...process.env, [LOCK_WATCH]: JSON.stringify({ output, lock }) }
  const script = fileURLToPath(new URL('./watch-lock.ts', import.meta.url))
  spawn(process.execPath, nodeArgsFor(script), { env, detached: true, stdio: 'ignore' }).unref()
}

/**
 * Runs a stage as a command: sets the exit code for cron (0 done, 1 failed, 2 usage, 3 locked; 130, 143 and 129
 * when SIGINT, SIGTERM or SIGHUP stopped it, after it released the lock and removed its temporary files). An error no code
 * caught fails the stage through runStage, which releases the lock and removes the temporary files; the process
 * then exits whatever is still pending.
 */
async function main({ spec, body }: Stage): Promise<void> {
  let cleanup: ((signal: string) => Promise<void>) | undefined
  let stopping = false
  // SIGHUP too: a terminal that hangs up (an ssh session lost during a run by hand) sends it to the foreground group,
  // and `npm run task` passes it on; node's default ended the stage at once, leaving condor_submit or filter-datasets
  // running in their own groups, their working folder and the lock.
  for (const signal of STOP_SIGNALS) {
    const code = signalExitCode(signal)
    process.on(signal, () => {
      // A second signal, of either kind, ends the process at once, as a person pressing Ctrl-C twice expects; the
      // programs it started end with it.
      if (stopping) {
        killAllGroups()
        process.exit(code)
      }
      stopping = true
      process.stderr.write(`caloprod ${spec.name}: stopped by ${signal}\n`)
      void (cleanup?.(signal) ?? Promise.resolve()).catch(() => {}).finally(() => process.exit(code))
    })
  }
  let stageEnded = false
  let crashed = false
  const internalError = new Promise<never>((_, reject) => {
    process.on('uncaughtException', (err) => {
      if (stageEnded) {
        process.stderr.write(`caloprod ${spec.name}: internal error after the stage ended: ${err.stack ?? err}\n`)
        process.exit(1)
      }
      crashed = true
      reject(err)
    })
  })
  internalError.catch(() => {})
  const code = await runStage(
    spec,
    {
      argv: process.argv.slice(2),
      env: process.env,
      cwd: process.cwd(),
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
      stderrIsTerminal: process.stderr.isTTY === true,
      onInterrupt: (then) => {
        cleanup = then
      },
      internalError,
      pipelineLockKept: watchLock,
    },
    body,
  )
  stageEnded = true
  if (crashed) process.exit(code)
  process.exitCode = code
}
