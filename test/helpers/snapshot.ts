// What an output directory holds, as a person (or the next stage) sees it: every file under its real name.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { layout } from '../../lib/files/layout.js'

/**
 * Maps each file's path (relative to `dir`) to its content; skips `log/`, the directory's lock and the guards of its
 * takeovers (who runs now, not an output: a run killed mid-takeover leaves its guard, which the next run removes,
 * lib/lock.ts), the caches of lists, the report and reduce (they record their inputs' inodes and mtimes) and hidden
 * temporary files.
 */
const CACHES = [layout.listsCache(''), layout.reportCache(''), layout.tagTimesCache('')]
const LOCK = /^\.caloprod\.lock(\.[0-9a-f]{16}\.takeover)?$/
export function snapshot(dir: string, skip: (path: string) => boolean = (p) => p.startsWith('log/') || LOCK.test(p) || CACHES.includes(p)): Record<string, string> {
  const files: Record<string, string> = {}
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const path = join(at, name)
      const rel = relative(dir, path)
      if (skip(rel) || /^\..*\.tmp$/.test(name)) continue
      if (statSync(path).isDirectory()) walk(path)
      else files[rel] = readFileSync(path, 'utf8')
    }
  }
  walk(dir)
  return files
}

/** Snapshot entries that hold neither the clean content nor (when given) the content from before the run. */
export function partialFiles(seen: Record<string, string>, clean: Record<string, string>, before: Record<string, string> = {}): string[] {
  return Object.entries(seen)
    .filter(([path, content]) => content !== clean[path] && content !== before[path])
    .map(([path]) => path)
}
