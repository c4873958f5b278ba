// `npm run task -- ARGS`: runs go-task (tasks/go-task.ts finds or installs it) with ARGS, in a process group of
// its own, and ends as it ends: its exit code, or its signal. A SIGINT, SIGTERM or SIGHUP that reaches this
// process goes to go-task's whole group, so the stage it runs gets it too (go-task only reports a signal and
// waits for its commands); the same signal repeated within half a second (a terminal's Ctrl-C, which npm
// forwards too) is passed on once.
import { spawn } from 'node:child_process'
import { findGoTask } from './go-task.js'

let binary: string
try {
  binary = findGoTask()
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`)
  process.exit(127)
}
const child = spawn(binary, process.argv.slice(2), { stdio: 'inherit', detached: true })
const last = new Map<NodeJS.Signals, number>()
const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const
const forward = (signal: NodeJS.Signals) => {
  // The monotonic clock: a wall clock stepped back would swallow every repeat until it caught up.
  const now = performance.now()
  if (now - (last.get(signal) ?? -Infinity) < 500) return
  last.set(signal, now)
  try {
    process.kill(-child.pid!, signal)
  } catch {
    // Already gone.
  }
}
for (const signal of signals) process.on(signal, forward)
child.on('error', (err) => {
  process.stderr.write(`caloprod: cannot start ${binary}: ${err.message}\n`)
  process.exitCode = 127
})
child.on('close', (code, signal) => {
  for (const s of signals) process.off(s, forward)
  if (signal) process.kill(process.pid, signal)
  else process.exitCode = code ?? 1
})
