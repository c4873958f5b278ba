// The one place stage scripts touch the process: argv, env, cwd, stdout, stderr and the exit code.
import { spawn } from 'node:child_process'
import { realpathSync } from 'node:fs'
import { removeWhenEnded } from '../lib/lock.js'
import { fileURLToPath } from 'node:url'
import { isPostgresNullSocketWrite } from '../lib/catalog/known-bugs.js'
import { runStage, type Stage, type StageBody, type StageSpec } from '../lib/stage.js'

/**
 * Declares a stage script and, when node was started with that script (or its bundle), runs it as a command.
 * Imported instead (by a test), it only hands back the stage, to be run in-process with lib/stage.ts's runStage.
 */
export async function declareStage(moduleUrl: string, spec: StageSpec, body: StageBody): Promise<Stage> {
  const declared = { spec, body }
  if (isEntryPoint(moduleUrl)) await main(declared)
  return declared
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

/** The variable that makes a stage's command the watcher that removes its pipeline's lock once the pipeline ended. */
const LOCK_WATCH = 'CALOPROD_LOCK_WATCH'

/** Starts this same command again, detached and silent, as the watcher of the lock a pipeline left between stages. */
function watchLock(output: string, lock: string): void {
  const env = { ...process.env, [LOCK_WATCH]: JSON.stringify({ output, lock }) }
  spawn(process.execPath, [...process.execArgv, process.argv[1]!], { env, detached: true, stdio: 'ignore' }).unref()
}

/** Runs a stage as a command: sets the exit code for cron (0 done, 1 failed, 2 usage, 3 locked). */
async function main({ spec, body }: Stage): Promise<void> {
  const watch = process.env[LOCK_WATCH]
  if (watch) {
    const { output, lock } = JSON.parse(watch) as { output: string; lock: string }
    await removeWhenEnded(output, lock)
    return
  }
  process.on('uncaughtException', (err) => {
    if (isPostgresNullSocketWrite(err)) return
    process.stderr.write(`caloprod: internal error: ${err.stack ?? err}\n`)
    process.exit(1)
  })
  process.exitCode = await runStage(
    spec,
    {
      argv: process.argv.slice(2),
      env: process.env,
      cwd: process.cwd(),
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
      stderrIsTerminal: process.stderr.isTTY === true,
      pipelineLockKept: watchLock,
    },
    body,
  )
}
