// One caloprod run at a time per output directory. The lock belongs to the pipeline (the task runner), so its
// stages enter it in turn while another cron run stays out; a stage run by hand owns it alone. A JSON file created
// whole (link of a finished file); its holder is read from /proc: the pipeline's task runner, or the stage itself.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { link, readdir, readFile, unlink, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { CaloprodError, fileError, LockedError } from './errors.js'
import { processAlive, tempPathFor, writeFileIfChanged } from './files/atomic.js'
import { writeError } from './files/disk-full.js'
import { layout } from './files/layout.js'
import type { Log } from './log.js'

/**
 * Who a lock is taken for: the task runner when a pipeline runs the stage (its lock outlives each stage), else the
 * stage. `start` (from /proc/<pid>/stat) tells a reused pid apart; undefined off Linux.
 */
export type LockOwner = { pid: number; start?: string; command: string; pipeline: boolean }

/** `<proc>/<pid>/<file>`, undefined when unreadable. */
function readProc(pid: number, file: string, proc: string): string | undefined {
  try {
    return readFileSync(join(proc, String(pid), file), 'utf8')
  } catch {
    return undefined
  }
}

/**
 * The parent pid, start time, session and controlling terminal (0: none) of a process, from `<proc>/<pid>/stat`;
 * undefined when unreadable.
 */
export function processInfo(pid: number, proc = '/proc'): { ppid: number; start: string; session: number; tty: number } | undefined {
  const stat = readProc(pid, 'stat', proc)
  if (stat === undefined) return undefined
  // The command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return { ppid: Number(fields[1]), start: fields[19], session: Number(fields[3]), tty: Number(fields[4]) }
}

/** Whether a command line is a task runner: go-task (`task`), or `tasks/task.ts`, which starts it (npm run task). */
export function isPipelineCommand(argv: readonly string[]): boolean {
  const runsGoTask = argv.slice(0, 2).some((arg) => ['task', 'go-task'].includes(basename(arg)))
  return runsGoTask || argv.some((arg) => /(^|\/)tasks\/task\.ts$/.test(arg))
}

/** The lock's owner: the nearest ancestor that is a task runner, else (by hand, no /proc) the stage itself. */
export function lockOwner(self: { pid: number; ppid: number } = process, proc = '/proc'): LockOwner {
  let pid = self.ppid
  for (let depth = 0; depth < 64 && pid > 1; depth++) {
    const argv = readProc(pid, 'cmdline', proc)?.replace(/\0$/, '').split('\0')
    const info = processInfo(pid, proc)
    if (!argv || !info) break
    if (isPipelineCommand(argv)) return { pid, start: info.start, command: argv.join(' ').slice(0, 200), pipeline: true }
    pid = info.ppid
  }
  return { pid: self.pid, start: processInfo(self.pid, proc)?.start, command: `stage (pid ${self.pid})`, pipeline: false }
}

/** Whether a process of this host is still the one that was recorded (alive, and not a reused pid). */
export function stillRunning(pid: number | null, start: string | null): boolean {
  if (pid === null || !processAlive(pid)) return false
  return start === null || processInfo(pid)?.start === start
}

/** The lock file's content; the stage's fields are null between a pipeline's stages. */
type LockRecord = { host: string; pid: number; start: string | null; command: string; pipeline: boolean; since: string }
  & { stage: string | null; stagePid: number | null; stageStart: string | null; stageSince: string | null }

/** Removes a stage's own lock; marks a pipeline's as between stages and returns its text (for removeWhenEnded). */
export type ReleaseLock = () => Promise<string | undefined>

export type TakeoverStep = 'read' | 'guarded'

function describe(held: LockRecord): string {
  const since = held.stageSince ?? held.since
  if (!held.pipeline) return `the ${held.stage ?? 'unknown'} stage (pid ${held.pid}) on ${held.host} since ${since}`
  const runner = `the pipeline "${held.command}" (pid ${held.pid}) on ${held.host}`
  return held.stage
    ? `the ${held.stage} stage (pid ${held.stagePid}) of ${runner} since ${since}`
    : `${runner}, between stages since ${since}`
}

const format = (record: LockRecord) => `${JSON.stringify(record, null, 2)}\n`

/**
 * Creates the file whole, or returns false when one exists: a finished file is linked into place (a hard link is
 * atomic on NFS, Lustre and GPFS, where O_EXCL may not be, and no reader ever sees it empty).
 */
export async function createExclusive(path: string, text: string): Promise<boolean> {
  const temp = tempPathFor(path)
  try {
    await writeFile(temp, text, { flush: true })
    await link(temp, path)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    // A directory that cannot be written (read-only, another user's, full) is named, not the lock's temporary file.
    throw writeError(err, path)
  } finally {
    await unlink(temp).catch(() => {})
  }
}

/** The guard that serializes the takeovers of one stale record: named after the record, so never reused. */
function guardPathFor(path: string, record: string): string {
  return `${path}.${createHash('sha256').update(record).digest('hex').slice(0, 16)}.takeover`
}

/** Whether a guard's writer is a process of this host that has ended (a guard of another host is honoured). */
function abandoned(guard: string): boolean {
  try {
    const { host, pid, start } = JSON.parse(guard) as { host?: unknown; pid?: unknown; start?: unknown }
    return host === hostname() && typeof pid === 'number' && !stillRunning(pid, typeof start === 'string' ? start : null)
  } catch {
    return false
  }
}

/**
 * Replaces `path`'s stale record `expected` by `text` (null: removes it) unless another run got there first; throws
 * LockedError while another live run does the same takeover. Each starter first creates the record's guard (a hard
 * link: atomic on NFS, Lustre and GPFS), so they go one at a time; the holder checks `expected` and renames over it,
 * so the path is never empty. A stale record never returns, so a used guard can go; a dead writer's guard is taken
 * over the same way, one level down. `claim`: the guard's content (host, pid, start).
 */
async function replaceStale(
  path: string,
  expected: string,
  text: string | null,
  claim: string,
  pause?: (step: TakeoverStep) => Promise<void>,
  depth = 0,
): Promise<boolean> {
  const guard = guardPathFor(path, expected)
  if (!(await createExclusive(guard, claim))) {
    const other = await readFile(guard, 'utf8').catch(() => undefined)
    if (other === undefined) return false
    if (depth >= 3 || !abandoned(other)) {
      throw new LockedError(
        `${path} is being taken over by another run (${guard}); this run stops. If no caloprod run is going on, remove both files`,
      )
    }
    if (!(await replaceStale(guard, other, claim, claim, pause, depth + 1))) return false
  }
  try {
    await pause?.('guarded')
    if ((await readFile(path, 'utf8').catch(() => undefined)) !== expected) return false
    if (text === null) await unlink(path)
    else await writeFileIfChanged(path, text)
    return true
  } finally {
    await unlink(guard).catch(() => {})
  }
}

/** Removes guards that a run killed in mid-takeover left: any guard not named after the record now in `path`. */
async function sweepGuards(path: string, current: string): Promise<void> {
  const own = basename(guardPathFor(path, current))
  const prefix = `${basename(path)}.`
  for (const name of await readdir(dirname(path)).catch(() => [] as string[])) {
    if (name.startsWith(prefix) && /^[0-9a-f]{16}\.takeover/.test(name.slice(prefix.length)) && !name.startsWith(own)) {
      await unlink(join(dirname(path), name)).catch(() => {})
    }
  }
}

async function readRecord(path: string): Promise<{ text: string; record: LockRecord } | undefined> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    // A directory (EISDIR) or an unreadable file at the lock's path: named, as readFile's error does not.
    throw fileError(err, path) ?? err
  })
  if (text === undefined) return undefined
  let record: LockRecord | undefined
  try {
    record = JSON.parse(text) as LockRecord
  } catch {}
  if (typeof record?.host !== 'string' || typeof record.pid !== 'number') {
    throw new CaloprodError(`lock file ${path} is not caloprod's (unreadable JSON); if no caloprod run is going on, remove it`, 3)
  }
  return { text, record }
}

/**
 * Takes the output directory's lock for `stage` on behalf of `owner` (re-entrant for one pipeline's stages), or
 * throws LockedError naming the holder. A same-host lock whose owner and stage are gone is taken over: logged when a
 * finished pipeline left it, a warning when a stage was killed; another host's is honoured. `path`: another lock
 * file, `output` then naming what it guards (lib/upload/store-lock.ts); `pause`: for tests.
 */
export async function acquireLock(
  output: string,
  stage: string,
  owner: LockOwner,
  options: { log?: Pick<Log, 'info' | 'warn'>; self?: number; pause?: (step: TakeoverStep) => Promise<void>; path?: string } = {},
): Promise<ReleaseLock> {
  const path = options.path ?? layout.lockFile(output)
  const self = options.self ?? process.pid
  const host = hostname()
  const now = new Date().toISOString()
  const mine: LockRecord = {
    host, pid: owner.pid, start: owner.start ?? null, command: owner.command, pipeline: owner.pipeline, since: now,
    stage, stagePid: self, stageStart: processInfo(self)?.start ?? null, stageSince: now,
  }
  const release = (held: LockRecord): ReleaseLock => async () => {
    const current = await readRecord(path).catch(() => undefined)
    if (current?.text !== format(held)) {
      options.log?.warn(`the lock ${path} changed hands while this stage ran; left as it is`)
      return undefined
    }
    if (!held.pipeline) return void (await unlink(path))
    const between = format({ ...held, stage: null, stagePid: null, stageStart: null, stageSince: null })
    await writeFileIfChanged(path, between)
    return between
  }

  for (let attempt = 0; attempt < 10; attempt++) {
    if (await createExclusive(path, format(mine))) return release(mine)
    const current = await readRecord(path)
    if (!current) continue
    const held = current.record
    if (held.host !== host) {
      throw new LockedError(
        `${output} is locked by ${describe(held)}, another host: caloprod cannot tell whether it still runs; ` +
          `if it does not, remove ${path}`,
      )
    }
    const stageRunning = held.stagePid !== self && stillRunning(held.stagePid, held.stageStart)
    if (held.pid === owner.pid && held.start === (owner.start ?? null)) {
      if (stageRunning) throw new LockedError(`${output} is in use by ${describe(held)}; wait for that stage to finish`)
      const entered: LockRecord = { ...mine, since: held.since }
      await writeFileIfChanged(path, format(entered))
      return release(entered)
    }
    if (stageRunning || stillRunning(held.pid, held.start)) {
      throw new LockedError(`${output} is in use by ${describe(held)}; this run stops. If that process is not caloprod, remove ${path}`)
    }
    await options.pause?.('read')
    const claim = JSON.stringify({ host, pid: self, start: mine.stageStart, since: now })
    if (await replaceStale(path, current.text, format(mine), claim, options.pause)) {
      await sweepGuards(path, format(mine))
      if (held.stage) {
        options.log?.warn(`took over the lock of ${describe(held)}: it ended without releasing it (killed?); check that run's log`)
      } else options.log?.info(`took over the lock left by ${describe(held)}, which has finished`)
      return release(mine)
    }
  }
  throw new LockedError(`could not take the lock ${path}: other runs kept changing it; try again`)
}

/** The variable that hands tasks/watch-lock.ts the output directory and the lock's record to watch. */
export const LOCK_WATCH = 'CALOPROD_LOCK_WATCH'

/**
 * Removes the lock `kept` (a pipeline's record between stages) once that pipeline has ended, so nothing looks running
 * after a night; leaves it if it changed. Removing takes the takeover's guard, so a run starting then keeps its lock.
 */
export async function removeWhenEnded(output: string, kept: string, { pollMs = 1000 } = {}): Promise<boolean> {
  const path = layout.lockFile(output)
  const { pid, start } = JSON.parse(kept) as LockRecord
  for (;;) {
    if ((await readFile(path, 'utf8').catch(() => undefined)) !== kept) return false
    if (!stillRunning(pid, start)) break
    await sleep(pollMs)
  }
  const own = processInfo(process.pid)?.start ?? null
  const claim = JSON.stringify({ host: hostname(), pid: process.pid, start: own, since: new Date().toISOString() })
  return replaceStale(path, kept, null, claim).catch(() => false)
}

/** A stage running now that holds the output's lock: when it took the lock (ISO 8601) and who it is, in words. */
export type StageInFlight = { since: string; by: string }

/** A submit stage running now (submitInFlight). */
export type SubmitInFlight = StageInFlight

/**
 * The stage `stage` that holds `output`'s lock now, if any. Another host's counts as running (acquireLock honours it
 * too). `self`: this process, which is never in flight for itself. A lock that cannot be read: none.
 */
async function stageInFlight(output: string, stage: string, self: number): Promise<StageInFlight | undefined> {
  const held = (await readRecord(layout.lockFile(output)).catch(() => undefined))?.record
  if (held?.stage !== stage || typeof held.stageSince !== 'string') return undefined
  if (held.host === hostname() && (held.stagePid === self || !stillRunning(held.stagePid, held.stageStart))) return undefined
  return { since: held.stageSince, by: describe(held) }
}

/**
 * The submit stage that holds `output`'s lock now, if any: the `submitting` and `unknown` rows it has written since
 * are its own, still being decided, not a stopped submit's.
 */
export function submitInFlight(output: string, self = process.pid): Promise<SubmitInFlight | undefined> {
  return stageInFlight(output, 'submit', self)
}

/**
 * The upload stage (`--do-cdb-upload`, the only upload that takes the lock) that holds `output`'s lock now, if any:
 * the rows of uploads.csv written since are its own, payloads it is putting into the CDB now, not an upload that
 * stopped half-way.
 */
export function uploadInFlight(output: string, self = process.pid): Promise<StageInFlight | undefined> {
  return stageInFlight(output, 'upload', self)
}
