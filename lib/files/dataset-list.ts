// `<output>/datasets/<run>_<tag>.list`: the lists stage's output, one per run to process, naming its files on
// disk; the name says the run and tag (CaloCDB-GenStatus reads them from it), the content is one path a line.
import { basename } from 'node:path'
import { tagProblem } from './names.js'

/** Lists written (each fsynced) at once, by the lists stage and by submit's frozen copy: thousands on a campaign night. */
export const LIST_WRITES = 16

/** `<run>_<tag>`: the name of a run's list without `.list`, the job's `CaloprodRunTag`, and its output folder. */
export function runTagKey(runnumber: number, tag: string): string {
  return `${runnumber}_${tag}`
}

/** The run and tag a list's file name `<run>_<tag>.list` stands for, as CaloCDB-GenStatus reads them; undefined for any other name. */
export function parseListName(path: string): { runnumber: number; tag: string } | undefined {
  // As the lists stage writes it: no leading zero (`066500_x.list` is a person's file, not a list).
  const match = /^([1-9]\d{0,9})_(.+)\.list$/.exec(basename(path))
  if (!match || tagProblem(match[2])) return undefined
  return { runnumber: Number(match[1]), tag: match[2] }
}

/** A run's list: its absolute paths, sorted, one a line. */
export function formatDatasetList(paths: readonly string[]): string {
  return paths.map((path) => `${path}\n`).join('')
}
