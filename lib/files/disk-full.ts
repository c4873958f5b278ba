import { statfsSync } from 'node:fs'
import { dirname } from 'node:path'
import { CaloprodError, fileError } from '../errors.js'

/** Error codes of a write that failed for want of room: the device is full, or the user's quota is. */
const NO_ROOM: Record<string, string> = { ENOSPC: 'no space left on the device', EDQUOT: 'the disk quota is exceeded' }

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`
  const unit = Math.min(Math.floor(Math.log2(bytes) / 10), 4)
  const value = bytes / 1024 ** unit
  return `${value.toFixed(value < 10 ? 1 : 0)} ${['KB', 'MB', 'GB', 'TB'][unit - 1]}`
}

/** What is free for this user in directory `dir`, or undefined where the file system cannot say. */
function freeSpace(dir: string): string | undefined {
  try {
    const info = statfsSync(dir)
    return formatBytes(Number(info.bavail) * Number(info.bsize))
  } catch {
    return undefined
  }
}

/**
 * A write error as one line for a person: for a full disk or quota, the file being written and the space left
 * there (so it is not taken for the catalog's or the CDB's fault); a directory, a permission or a read-only file system
 * in the way, naming `path` (not its temporary file); any other error as it is. The space left is measured in `where`
 * (default: `path`'s directory; give an existing one when that is not there yet, as a folder built under another name).
 */
export function writeError(err: unknown, path: string, where = dirname(path)): unknown {
  const code = (err as NodeJS.ErrnoException)?.code
  if (!code || !NO_ROOM[code]) return fileError(err, path) ?? err
  const free = freeSpace(where)
  const room = free === undefined ? '' : `; ${free} free in ${where}`
  return new CaloprodError(`cannot write ${path}: ${NO_ROOM[code]} (${code})${room}`, 1, { cause: err })
}
