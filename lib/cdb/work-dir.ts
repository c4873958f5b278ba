// The check's working folder under TMPDIR (filter-datasets' input and output per shard): named after its process, so
// that one left by a check killed with SIGKILL, which removes nothing, is found and removed by the next check, with
// the filter-datasets calls it left running there.
import { lstat, mkdtemp, readdir, readlink, realpath, rm } from 'node:fs/promises'
import { basename, join, sep } from 'node:path'
import { processInfo, stillRunning } from '../lock.js'

const PREFIX = 'caloprod-check-'
/** `caloprod-check-<pid>-<start>-XXXXXX` (mkdtemp's six characters); `<start>` left out where /proc cannot say. */
const WORK_DIR_NAME = /^caloprod-check-(\d+)(?:-(\d+))?-[A-Za-z0-9]{6}$/
/** `caloprod-check-XXXXXX`: the folder of a check of a release before 590725a, which did not name its process. */
const UNNAMED_WORK_DIR = /^caloprod-check-[A-Za-z0-9]{6}$/
/**
 * How long an unnamed folder is left unchanged before it counts as a killed check's: its process cannot be asked, but
 * a check makes a folder in it for each call of filter-datasets (`shard-N-try-M`), and no night's check runs for a
 * week, so a week untouched is none that runs.
 */
export const UNNAMED_AGE_MS = 7 * 24 * 3600 * 1000

/** Makes this process's working folder under `root`: `caloprod-check-<pid>-<start>-XXXXXX`. */
export function makeWorkDir(root: string): Promise<string> {
  const start = processInfo(process.pid)?.start
  return mkdtemp(join(root, `${PREFIX}${process.pid}-${start ? `${start}-` : ''}`))
}

/**
 * Removes the working folders under `root` of checks whose process has ended (killed with SIGKILL: every other end
 * removes its own); never a live process's, nor a name of another kind. An older release's `caloprod-check-XXXXXX`
 * names no process, so it is removed only once unchanged for UNNAMED_AGE_MS (by `now`).
 * The programs such a check left running in its folder (filter-datasets, started there: lib/cdb/filter-datasets.ts,
 * and what they started) are killed first: nothing would read their answers, and they would go on asking the CDB
 * until their own --timeout. Only a check holding the lock calls it; pids are of this host, as TMPDIR is.
 * Returns how many folders it removed and processes it killed.
 */
export async function sweepWorkDirs(root: string, proc = '/proc', now = Date.now()): Promise<{ folders: number; processes: number }> {
  const names = await readdir(root).catch(() => [] as string[])
  const dead: string[] = []
  for (const name of names) {
    const match = WORK_DIR_NAME.exec(name)
    // Ended: no such pid, or the pid of a process started since (lock.ts's test of a lock's holder).
    if (match && Number(match[1]) !== process.pid && !stillRunning(Number(match[1]), match[2] ?? null)) dead.push(join(root, name))
    else if (UNNAMED_WORK_DIR.test(name) && await untouchedSince(join(root, name), now - UNNAMED_AGE_MS)) dead.push(join(root, name))
  }
  if (dead.length === 0) return { folders: 0, processes: 0 }
  // /proc gives a process's folder with every link resolved: TMPDIR may be a link.
  const realRoot = await realpath(root).catch(() => root)
  const processes = killWorkingIn(dead.map((dir) => join(realRoot, basename(dir))), await processesByCwd(proc))
  let folders = 0
  // Another user's (a shared /tmp) cannot be removed: left as it is.
  for (const dir of dead) await rm(dir, { recursive: true, force: true }).then(() => folders++, () => {})
  return { folders, processes }
}

/** A folder (not a link) whose content has not changed since `time`; false where it cannot be seen. */
async function untouchedSince(path: string, time: number): Promise<boolean> {
  const info = await lstat(path).catch(() => undefined)
  return info !== undefined && info.isDirectory() && info.mtimeMs < time
}

/** A process as /proc shows it: its working folder, session and controlling terminal (0: none). */
type ProcessSeen = { cwd: string; session: number; tty: number }

/** Each process this user may see (`/proc/<pid>/cwd`, and `stat` by processInfo); others' are unreadable, and skipped. */
async function processesByCwd(proc: string): Promise<Map<number, ProcessSeen>> {
  const pids = (await readdir(proc).catch(() => [] as string[])).filter((name) => /^\d+$/.test(name)).map(Number)
  const seen = await Promise.all(pids.map(async (pid): Promise<ProcessSeen | undefined> => {
    const cwd = await readlink(join(proc, String(pid), 'cwd')).catch(() => undefined)
    const info = cwd === undefined ? undefined : processInfo(pid, proc)
    return info && { cwd: cwd!, session: info.session, tty: info.tty }
  }))
  return new Map(pids.flatMap((pid, i) => (seen[i] ? [[pid, seen[i]] as const] : [])))
}

/**
 * SIGKILL to each process a check left working in one of `dirs`: working there (or below), with no terminal, in a
 * session whose leader works there too. filter-datasets starts a session of its own there (spawn-group.ts: detached);
 * a person's shell or what it runs, looking into the folder, is in a session of a terminal, and is left alone.
 * How many were signalled.
 */
function killWorkingIn(dirs: readonly string[], seen: ReadonlyMap<number, ProcessSeen>): number {
  const inside = (cwd: string | undefined) => cwd !== undefined && dirs.some((dir) => cwd === dir || cwd.startsWith(dir + sep))
  let killed = 0
  for (const [pid, { cwd, session, tty }] of seen) {
    if (pid === process.pid || tty !== 0 || !inside(cwd) || !inside(seen.get(session)?.cwd)) continue
    try {
      process.kill(pid, 'SIGKILL')
      killed++
    } catch {} // gone meanwhile, or not ours
  }
  return killed
}
