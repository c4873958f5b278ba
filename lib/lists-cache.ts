// The files of the process list's runs, kept between nights: reading them means reading all of reduce.csv
// (hundreds of MB on a Run 3 catalog), while on most nights neither input changed and only the disk did, which
// the lists stage asks anew every time. The cache is one hidden JSON file, valid only for the exact inputs it
// was made from (size, mtime to the nanosecond and inode of both: every stage replaces a file by renaming a new
// one into place, and an editor changes the mtime).
import { readFile, stat } from 'node:fs/promises'
import { writeFileIfChanged } from './files/atomic.js'
import type { Log } from './log.js'

/** The cache's file in the output directory: hidden, so no glob of a stage or the Taskfile sees it. */
export const LISTS_CACHE = '.lists-files.json'

const VERSION = 1

/** What identifies a file's content without reading it; undefined when it cannot be read. */
async function identity(path: string): Promise<string | undefined> {
  const info = await stat(path, { bigint: true }).catch(() => undefined)
  return info && `${info.size}:${info.mtimeNs}:${info.ino}:${info.dev}`
}

interface CacheFile<Run> {
  version: number
  inputs: string[]
  runs: Run[]
}

async function readCache<Run>(path: string): Promise<CacheFile<Run> | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as CacheFile<Run>
  } catch {
    return undefined
  }
}

/**
 * The runs of the process list with their files: from the cache when `inputs` are the files it was made from,
 * else from `read`, and the cache renewed. A cache that cannot be read or does not fit is simply not used.
 */
export async function cachedRunFiles<Run>(
  cachePath: string,
  inputs: readonly string[],
  read: () => Promise<Run[]>,
  log: Pick<Log, 'info'>,
): Promise<Run[]> {
  const before = await Promise.all(inputs.map(identity))
  const cached = await readCache<Run>(cachePath)
  if (cached?.version === VERSION && before.every((id) => id !== undefined) && JSON.stringify(cached.inputs) === JSON.stringify(before)) {
    log.info(`the files of the ${cached.runs.length} runs to process come from ${cachePath}: ${inputs.join(' and ')} are unchanged`)
    return cached.runs
  }
  const runs = await read()
  const after = await Promise.all(inputs.map(identity))
  // An input replaced while it was read (another stage ran meanwhile) is not cached: the next night reads it again.
  if (after.every((id, i) => id !== undefined && id === before[i])) {
    await writeFileIfChanged(cachePath, JSON.stringify({ version: VERSION, inputs: after as string[], runs } satisfies CacheFile<Run>))
  }
  return runs
}
