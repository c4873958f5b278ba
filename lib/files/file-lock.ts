// A short exclusive hold on one file's read-modify-write, for a file that writers holding no common lock update: a
// stage of the pipeline (holding the output's lock) and a report beside it (holding none) each read
// log/last-night.json, add their own end and write it whole; without a hold, the second rename dropped the first
// writer's entry, and the page missed that stage's failure. The hold is `<file>.lock`, made with O_EXCL, naming its
// holder (host, pid, start); a holder of this host that has ended (killed between its open and its unlink) is
// passed over. Waiting is bounded: a record that must never change a stage's exit goes ahead without the hold then.
import { open, readFile, stat, unlink } from 'node:fs/promises'
import { hostname } from 'node:os'
import { setTimeout as wait } from 'node:timers/promises'
import { processInfo, stillRunning } from '../lock.js'

/** How long a hold may stay empty (its holder killed between making it and naming itself) before it is passed over. */
const UNNAMED_MS = 2000

/** Whether the hold at `lock` is of a process of this host that has ended, or was never named; false if it is gone. */
async function heldByEnded(lock: string): Promise<boolean> {
  const [text, info] = await Promise.all([readFile(lock, 'utf8'), stat(lock)]).catch(() => [undefined, undefined])
  if (text === undefined || info === undefined) return false
  // A hold still being named, or of another host, is taken as live.
  if (text === '') return Date.now() - info.mtimeMs > UNNAMED_MS
  const [host, pid, start] = text.trim().split(' ')
  return host === hostname() && /^\d+$/.test(pid ?? '') && !stillRunning(Number(pid), start || null)
}

/**
 * Runs `work` holding `<path>.lock`, waiting up to `waitMs` for another holder to let go (every 10 to 30 ms);
 * past it, `work` runs without the hold. The hold is removed however `work` ends.
 */
export async function withFileLock<T>(path: string, work: () => Promise<T>, waitMs = 5000): Promise<T> {
  const lock = `${path}.lock`
  const until = Date.now() + waitMs
  let held = false
  while (!held) {
    try {
      const file = await open(lock, 'wx')
      try {
        await file.writeFile(`${hostname()} ${process.pid} ${processInfo(process.pid)?.start ?? ''}\n`)
      } finally {
        await file.close()
      }
      held = true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') break
      if (await heldByEnded(lock)) await unlink(lock).catch(() => {})
      else if (Date.now() >= until) break
      else await wait(10 + Math.random() * 20)
    }
  }
  try {
    return await work()
  } finally {
    if (held) await unlink(lock).catch(() => {})
  }
}
