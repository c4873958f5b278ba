// The one place stage scripts touch the process: argv, env, cwd, stdout, stderr and the exit code.
import { isPostgresNullSocketWrite } from '../lib/catalog/known-bugs.js'
import { runStage, type StageContext, type StageSpec } from '../lib/stage.js'

process.on('uncaughtException', (err) => {
  if (isPostgresNullSocketWrite(err)) return
  process.stderr.write(`caloprod: internal error: ${err.stack ?? err}\n`)
  process.exit(1)
})

/** Runs a stage as a command: sets the exit code for cron (0 done, 1 failed, 2 usage, 3 locked). */
export async function main(spec: StageSpec, body: (ctx: StageContext) => Promise<string>): Promise<void> {
  process.exitCode = await runStage(
    spec,
    {
      argv: process.argv.slice(2),
      env: process.env,
      cwd: process.cwd(),
      stdout: (text) => process.stdout.write(text),
      stderr: (text) => process.stderr.write(text),
      stderrIsTerminal: process.stderr.isTTY === true,
    },
    body,
  )
}
