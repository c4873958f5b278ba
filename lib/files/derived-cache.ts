// What a stage derives from large inputs that most nights leave alone (reduce.csv: hundreds of MB for Run 3), kept
// in a hidden file of the output directory beside them.
import { readFile, stat } from 'node:fs/promises'
import { writeFileIfChanged } from './atomic.js'

/** What identifies a file's content without reading it; undefined when it cannot be read. */
async function identity(path: string): Promise<string | undefined> {
  const info = await stat(path, { bigint: true }).catch(() => undefined)
  return info && `${info.size}:${info.mtimeNs}:${info.ino}:${info.dev}`
}

/**
 * `derive()`, or what it gave for the exact same `inputs` (size, mtime in ns, inode and device: a stage renames a
 * new file into place, an editor changes mtime), kept in `cachePath` as JSON. `save: false` reads a kept value but
 * writes none (a read-only look). An input replaced while `derive` read it is not kept: the next time derives again.
 */
export async function derivedFrom<T>(
  cachePath: string, inputs: readonly string[], derive: () => Promise<T>, { version = 1, save = true } = {},
): Promise<{ value: T; kept: boolean }> {
  const before = await Promise.all(inputs.map(identity))
  const cached = await readFile(cachePath, 'utf8').then((text) => JSON.parse(text)).catch(() => undefined)
  if (cached?.version === version && before.every((id) => id !== undefined) && JSON.stringify(cached.inputs) === JSON.stringify(before)) {
    return { value: cached.value as T, kept: true }
  }
  const value = await derive()
  const after = await Promise.all(inputs.map(identity))
  if (save && after.every((id, i) => id !== undefined && id === before[i])) {
    await writeFileIfChanged(cachePath, JSON.stringify({ version, inputs: after, value }))
  }
  return { value, kept: false }
}
