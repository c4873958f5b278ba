import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { FileRow } from './catalog.js'

/**
 * Creates the catalogued HIST_CALOQA files on disk, leaving out every `missingEvery`-th one so the
 * demo shows files that are catalogued but gone. Returns how many were left out.
 */
export async function createCatalogFiles(files: readonly FileRow[], missingEvery = 40): Promise<number> {
  let missing = 0
  let index = 0
  const dirs = new Set<string>()
  for (const file of files) {
    if (!file.lfn.startsWith('HIST_CALOQA')) continue
    if (++index % missingEvery === 0) {
      missing++
      continue
    }
    const dir = dirname(file.full_file_path)
    if (!dirs.has(dir)) await mkdir(dir, { recursive: true }), dirs.add(dir)
    await writeFile(file.full_file_path, `demo histogram file ${file.lfn}\n`)
  }
  return missing
}
