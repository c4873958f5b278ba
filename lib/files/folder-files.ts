// The regular files directly in a folder, each with its mtime: what a job left in its output folder, read once.
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { PayloadType } from '../rules/calibrations.js'

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

/**
 * Job folders a caller has read already, so they are not read again (the report's gather step reads those of the
 * process list's runs, and its stories tell from them): `folder(run, tag)`, that folder's newest file's mtime
 * (newestOf) and the payload types it holds no file of (absentFrom), undefined when it was not read; `frozen`: when
 * each submission of a folder with files was frozen (frozenAt), which is all writtenSince asks of the others.
 */
export type FoldersRead = {
  folder: (run: number, tag: string) => { newest: number | undefined; absent: readonly PayloadType[] } | undefined
  frozen: ReadonlyMap<string, number>
}

/** The newest mtime (ms) among `files`, undefined when there are none. */
export const newestOf = (files: ReadonlyMap<string, number> | undefined): number | undefined =>
  files?.size ? Math.max(...files.values()) : undefined
