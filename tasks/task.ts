// `npm run task -- [flags] [task...] [VAR=value...] [-- CLI_ARGS]`: caloprod's runner for the subset of
// go-task v3 its Taskfile uses (lib/taskfile/), for machines without the go-task binary. The only place
// that reads the process and exits.
import { runTaskCli } from '../lib/taskfile/main.js'

const controller = new AbortController()
// Like go-task: the first SIGINT/SIGTERM stops the running commands and fails the run; a second one exits at once.
let interrupted = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(signal === 'SIGINT' ? 130 : 143)
    interrupted = true
    process.stderr.write(`task: signal received: ${signal}\n`)
    controller.abort()
  })
}

const code = await runTaskCli(process.argv.slice(2), {
  cwd: process.cwd(),
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  childStdio: 'inherit',
  signal: controller.signal,
})
process.exitCode = code
