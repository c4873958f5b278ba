import { readFile } from 'node:fs/promises'
import { InputError } from '../errors.js'
import { parseListName } from '../files/dataset-list.js'
import { macroValueProblem } from './quote.js'

/** A run and tag, and the file list of its job (the absolute path of `<run>_<tag>.list`). */
export type Job = { runnumber: number; tag: string; list: string }

/** Orders jobs as jobs.list holds them: by run, then tag. */
export function compareJobs(a: Job, b: Job): number {
  return a.runnumber - b.runnumber || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0)
}

/** jobs.list: the absolute path of each job's list, one a line, in `compareJobs` order. */
export const formatJobsList = (jobs: readonly Job[]) => jobs.map((job) => `${job.list}\n`).join('')

/**
 * Reads a jobs.list, checking each line is an absolute `<run>_<tag>.list` path that condor_submit can pass to a
 * job unchanged. Throws InputError naming the line.
 */
export async function readJobsList(path: string): Promise<Job[]> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new InputError(path, undefined, 'does not exist; run the condor stage first')
    throw new InputError(path, undefined, `cannot be read: ${err.message}`)
  })
  if (text !== '' && !text.endsWith('\n')) throw new InputError(path, undefined, 'last line is truncated; re-run the condor stage')
  const lines = text === '' ? [] : text.slice(0, -1).split('\n')
  return lines.map((line, i) => {
    const name = parseListName(line)
    if (!line.startsWith('/')) throw new InputError(path, i + 1, `"${line}" is not an absolute path; re-run the condor stage`)
    if (!name) throw new InputError(path, i + 1, `"${line}" is not named <run>_<tag>.list`)
    const problem = macroValueProblem(line)
    if (problem) throw new InputError(path, i + 1, problem)
    return { ...name, list: line }
  })
}
