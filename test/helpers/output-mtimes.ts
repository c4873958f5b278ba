// What a night rewrote: the files of an output directory with their mtimes.
import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Every file under `dir` (but the log, the lock, which records who ran last, with its takeover's guard and temporary
 * file, which the lock's watcher of the last night may be writing as the lock is removed, and the page, written
 * every night) with its mtime, to see what a night touched.
 */
const isLock = (name: string) => name.startsWith('.caloprod.lock') || name.startsWith('..caloprod.lock.')

export function mtimes(dir: string): Map<string, number> {
  const seen = new Map<string, number>()
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name)
    if (entry.isFile() && !path.includes('/log/') && !isLock(entry.name) && entry.name !== 'report.html') seen.set(path.slice(dir.length + 1), statSync(path).mtimeMs)
  }
  return seen
}
