// The check's working folder under TMPDIR (filter-datasets' input and output per shard): named after its process, so
// that one left by a check killed with SIGKILL, which removes nothing, is found and removed by the next check.
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { processInfo, stillRunning } from '../lock.js'

const PREFIX = 'caloprod-check-'
/** `caloprod-check-<pid>-<start>-XXXXXX` (mkdtemp's six characters); `<start>` left out where /proc cannot say. */
const WORK_DIR_NAME = /^caloprod-check-(\d+)(?:-(\d+))?-[A-Za-z0-9]{6}$/

/** Makes this process's working folder under `root`: `caloprod-check-<pid>-<start>-XXXXXX`. */
export function makeWorkDir(root: string): Promise<string> {
  const start = processInfo(process.pid)?.start
  return mkdtemp(join(root, `${PREFIX}${process.pid}-${start ? `${start}-` : ''}`))
}

/**
 * Removes the working folders under `root` of checks whose process has ended (killed with SIGKILL: every other end
 * removes its own); never a live process's, nor a name of another kind (older checks' `caloprod-check-XXXXXX`).
 * Only a check holding the lock calls it; pids are of this host, as TMPDIR is. Returns how many it removed.
 */
export async function sweepWorkDirs(root: string): Promise<number> {
  const names = await readdir(root).catch(() => [] as string[])
  let removed = 0
  for (const name of names) {
    const match = WORK_DIR_NAME.exec(name)
    // Ended: no such pid, or the pid of a process started since (lock.ts's test of a lock's holder).
    if (!match || Number(match[1]) === process.pid || stillRunning(Number(match[1]), match[2] ?? null)) continue
    // Another user's (a shared /tmp) cannot be removed: left as it is.
    await rm(join(root, name), { recursive: true, force: true }).then(() => removed++, () => {})
  }
  return removed
}
