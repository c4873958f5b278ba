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
 * The inputs' identities now (size, mtime in ns, inode and device: a stage renames a new file into place, an editor
 * changes mtime), to hand keepDerived once the value is derived.
 */
export const identities = (inputs: readonly string[]) => Promise.all(inputs.map(identity))

type Identities = Awaited<ReturnType<typeof identities>>

/** The value kept in `cachePath` for inputs of exactly these identities, or undefined. */
async function kept<T>(cachePath: string, ids: Identities, version: number): Promise<{ value: T } | undefined> {
  if (!ids.every((id) => id !== undefined)) return undefined
  const cached = await readFile(cachePath, 'utf8').then((text) => JSON.parse(text)).catch(() => undefined)
  return cached?.version === version && JSON.stringify(cached.inputs) === JSON.stringify(ids) ? { value: cached.value as T } : undefined
}

/** What was kept in `cachePath` for `inputs` as they are now, or undefined: nothing kept, or for other files. */
export async function keptFor<T>(cachePath: string, inputs: readonly string[], { version = 1 } = {}): Promise<T | undefined> {
  return (await kept<T>(cachePath, await identities(inputs), version))?.value
}

/**
 * Keeps `value`, derived from `inputs` read when their identities were `before`, in `cachePath`; not when one of
 * them was replaced while it was read (the next reader derives again). Returns whether it did.
 */
export async function keepDerived(
  cachePath: string, inputs: readonly string[], before: Identities, value: unknown, { version = 1 } = {},
): Promise<boolean> {
  const after = await identities(inputs)
  if (!after.every((id, i) => id !== undefined && id === before[i])) return false
  await writeFileIfChanged(cachePath, JSON.stringify({ version, inputs: after, value }))
  return true
}

/**
 * `derive()`, or what it gave for the exact same `inputs`, kept in `cachePath` as JSON. `save: false` reads a kept
 * value but writes none (a read-only look).
 */
export async function derivedFrom<T>(
  cachePath: string, inputs: readonly string[], derive: () => Promise<T>, { version = 1, save = true } = {},
): Promise<{ value: T; kept: boolean }> {
  const before = await identities(inputs)
  const cached = await kept<T>(cachePath, before, version)
  if (cached) return { value: cached.value, kept: true }
  const value = await derive()
  if (save) await keepDerived(cachePath, inputs, before, value, { version })
  return { value, kept: false }
}
