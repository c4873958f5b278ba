import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { FileRow } from './catalog.js'

/**
 * Creates the catalogued histogram files (HIST_CALOQA, HIST_CALOFITTINGQA) on disk, leaving out every
 * `missingEvery`-th one so the demo shows files that are catalogued but gone, and the copies on a second host
 * (only one copy of a file is on this disk). Every `missingEvery * 5`-th one is created empty (an empty file is
 * missing too). Returns how many were left out or empty.
 */
export async function createCatalogFiles(files: readonly FileRow[], missingEvery = 40): Promise<number> {
  let missing = 0
  let index = 0
  const dirs = new Set<string>()
  for (const file of files) {
    if (!/^HIST_CALO(QA|FITTINGQA)/.test(file.lfn) || file.full_host_name !== 'lustre') continue
    if (++index % missingEvery === 0) {
      missing++
      continue
    }
    const empty = Number.isFinite(missingEvery) && index % (missingEvery * 5) === 1
    if (empty) missing++
    const dir = dirname(file.full_file_path)
    if (!dirs.has(dir)) await mkdir(dir, { recursive: true }), dirs.add(dir)
    await writeFile(file.full_file_path, empty ? '' : `demo histogram file ${file.lfn}\n`)
  }
  return missing
}
