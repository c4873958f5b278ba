// A starter for the lock stress test: a process of its own (its pid is its identity) that, on each message
// { output, at }, waits until the shared start time `at`, tries to take the lock as a stage run by hand,
// and answers { code } (0 held, else the error's exit code); on { release: true } it lets the lock go.
import { acquireLock, processInfo, type ReleaseLock } from '../../lib/lock.js'

let release: ReleaseLock | undefined
const owner = { pid: process.pid, start: processInfo(process.pid)?.start, command: `stage (pid ${process.pid})`, pipeline: false }

process.on('message', async (message: { output?: string; at?: number; release?: boolean }) => {
  if (message.release) {
    await release?.()
    release = undefined
    process.send!({ released: true })
    return
  }
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, message.at! - Date.now())))
  try {
    release = await acquireLock(message.output!, 'submit', owner)
    process.send!({ code: 0 })
  } catch (err) {
    process.send!({ code: (err as { exitCode?: number }).exitCode ?? 1, message: (err as Error).message })
  }
})
process.send!({ ready: true })
