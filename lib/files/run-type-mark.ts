// <output>/.caloprod.run-type: the run type an output directory belongs to. Most of its files carry no run type in
// their names (query.csv, reduce.csv, condor/, submissions.csv, report.html, log/last-night.json), so two run types
// given one OUTPUT took turns overwriting them: each night's report showed only the last run type, one run type's
// good night cleared the other's failed-night banner, lists removed the other's lists as stale, and query and reduce
// ran again every night. The first stage of the pipeline to run there names its run type; a stage of another run
// type (the report, status and why too) is refused.
import { readFile } from 'node:fs/promises'
import { createExclusive } from '../lock.js'
import { fileError, UsageError } from '../errors.js'
import { layout } from './layout.js'

/** The run type the mark names (the file's text, trimmed), or undefined when there is none. */
async function readMark(path: string): Promise<string | undefined> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw fileError(err, path) ?? err
  })
  return text?.trim()
}

/**
 * Refuses (UsageError, exit 2) an output directory whose mark names another run type than `runType`; with `claim`
 * (a stage of the pipeline, which takes the directory's lock), marks an unmarked one as `runType`'s first. The mark
 * is linked into place whole (lock.ts createExclusive), so of two run types starting on one new directory, one marks
 * it and the other is refused. A directory without a mark (made before marks, or read only) is taken as it is.
 */
export async function checkRunTypeMark(output: string, runType: string, { claim }: { claim: boolean }): Promise<void> {
  const path = layout.runTypeMark(output)
  let marked = await readMark(path)
  if (marked === undefined && claim && !(await createExclusive(path, `${runType}\n`))) marked = await readMark(path)
  if (marked === undefined || marked === runType) return
  if (marked === '') throw new UsageError(`${path} names no run type; remove it (the next stage that writes in ${output} marks it again)`)
  throw new UsageError(
    `--output ${output} is run type ${marked}'s (${path}), not ${runType}'s: give each run type its own output ` +
      `directory (OUTPUT defaults to the run type's name); if it is to be ${runType}'s from now on, remove that file`,
  )
}

/** Whether `output` may be taken as `runType`'s: unmarked, or marked for it (a lenient look, for an error's record). */
export async function markAllows(output: string, runType: string): Promise<boolean> {
  return checkRunTypeMark(output, runType, { claim: false }).then(() => true, () => false)
}
