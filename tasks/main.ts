// The one place stage scripts touch the process: argv, env, cwd, stdout, stderr and the exit code.
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { runStage, type Stage, type StageContext, type StageSpec } from '../lib/stage.js'

/**
 * Declares a stage script and, when node was started with that script (or its bundle), runs it as a command.
 * Imported instead (by a test), it only hands back the stage, to be run in-process with lib/stage.ts's runStage.
 */
export async function declareStage(moduleUrl: string, spec: StageSpec, body: (ctx: StageContext) => Promise<string>): Promise<Stage> {
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

/**
 * Runs a stage as a command: sets the exit code for cron (0 done, 1 failed, 2 usage, 3 locked). An error no code
 * caught fails the stage through runStage, which releases the lock and removes the temporary files; the process
 * then exits whatever is still pending.
 */
async function main({ spec, body }: Stage): Promise<void> {
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
      internalError,
    },
    body,
  )
  stageEnded = true
  if (crashed) process.exit(code)
  process.exitCode = code
}
