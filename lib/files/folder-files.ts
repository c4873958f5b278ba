// The regular files directly in a folder, each with its mtime: what a job left in its output folder, read once.
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * Job folders read at once (folderFiles each): more than libuv's threads (4 unless UV_THREADPOOL_SIZE says more), so
 * the disk is never idle, and not a campaign night's thousands at once, each read and its error alive together (up
 * to 80 MB of the report's peak at 12,000 runs: docs/speed.md, "A campaign night").
 */
export const FOLDER_READS = 64

/** The regular files (a link followed) directly in `dir`, by name, each with its mtime (ms); undefined: no folder. */
export async function folderFiles(dir: string): Promise<Map<string, number> | undefined> {
  const names = await readdir(dir).catch(() => undefined)
  if (!names) return undefined
  const files = await Promise.all(names.map((name) =>
    stat(join(dir, name)).then((info) => (info.isFile() ? ([name, info.mtimeMs] as const) : undefined), () => undefined)))
  return new Map(files.filter((file) => file !== undefined))
}

/** The newest mtime (ms) among `files`, undefined when there are none. */
export const newestOf = (files: ReadonlyMap<string, number> | undefined): number | undefined =>
  files?.size ? Math.max(...files.values()) : undefined
