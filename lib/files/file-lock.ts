// A short exclusive hold on one file's read-modify-write, for a file that writers holding no common lock update: a
// stage of the pipeline (holding the output's lock) and a report beside it (holding none) each read
// log/last-night.json, add their own end and write it whole; without a hold, the second rename dropped the first
// writer's entry, and the page missed that stage's failure. The hold is `<file>.lock`, made as the output's lock is
// (lock.ts createExclusive: linked into place whole), naming its holder (host, pid, start); a holder of this host that
// has ended (killed between making it and removing it) is passed over. Waiting is bounded: a record that must never
// change a stage's exit goes ahead without the hold then.
import { readFile, unlink } from 'node:fs/promises'
import { hostname } from 'node:os'
import { setTimeout as wait } from 'node:timers/promises'
import { createExclusive, processInfo, stillRunning } from '../lock.js'

/** Whether the hold at `lock` is of a process of this host that has ended; false when it is gone or of another host. */
async function heldByEnded(lock: string): Promise<boolean> {
  const text = await readFile(lock, 'utf8').catch(() => undefined)
  if (text === undefined) return false
  const [host, pid, start] = text.trim().split(' ')
  return host === hostname() && /^\d+$/.test(pid ?? '') && !stillRunning(Number(pid), start || null)
}

/**
 * Runs `work` holding `<path>.lock`, waiting up to `waitMs` for another holder to let go (every 10 to 30 ms);
 * past it, or where the hold cannot be made at all (a folder that cannot be written), `work` runs without it. The
 * hold is removed however `work` ends.
 */
export async function withFileLock<T>(path: string, work: () => Promise<T>, waitMs = 5000): Promise<T> {
  const lock = `${path}.lock`
  // By the monotonic clock: a wall clock stepped back (NTP) while waiting would stretch the bound by the step.
  const until = performance.now() + waitMs
  const holder = `${hostname()} ${process.pid} ${processInfo(process.pid)?.start ?? ''}\n`
  let held = false
  for (;;) {
    // true: made; false: another holds it; undefined: it cannot be made here at all.
    const made = await createExclusive(lock, holder).catch(() => undefined)
    held = made === true
    if (made !== false) break
    if (await heldByEnded(lock)) await unlink(lock).catch(() => {})
    else if (performance.now() >= until) break
    else await wait(10 + Math.random() * 20)
  }
  try {
    return await work()
  } finally {
    if (held) await unlink(lock).catch(() => {})
  }
}
