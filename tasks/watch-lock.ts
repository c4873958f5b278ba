// The watcher of a pipeline's lock (tasks/main.ts starts it, detached, when a stage keeps the lock for the next):
// removes the lock once the pipeline has ended (lib/lock.ts removeWhenEnded). A script of its own, so it loads
// the lock's code only, not its stage's (the report's plots cost 0.7 s of CPU to load).
import { LOCK_WATCH, removeWhenEnded } from '../lib/lock.js'

// No top-level await: tasks/start.cjs requires this script when the stage that started it came that way.
const watch = process.env[LOCK_WATCH]
if (watch) {
  const { output, lock } = JSON.parse(watch) as { output: string; lock: string }
  void removeWhenEnded(output, lock)
}
