import { readdirSync } from 'node:fs'
import { join } from 'node:path'

/**
 * The `<run>_<tag>` of every list in `<output>/datasets/`, sorted: the runs a night submits. A run of the process
 * list whose files on disk hold too few events gets no list (the demo catalog leaves files off disk and empty).
 */
export function listedRuns(output: string): string[] {
  return readdirSync(join(output, 'datasets')).filter((name) => name.endsWith('.list')).map((name) => name.slice(0, -'.list'.length)).sort()
}
