// A frozen submission: the copy of the submission directory that condor_submit runs from, so that later runs,
// which rewrite condor/ and datasets/, never change a file a queued job still reads.
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { UsageError } from '../errors.js'
import { processAlive, syncDirectory, tempPathFor, writeDurably } from '../files/atomic.js'
import { writeError } from '../files/disk-full.js'
import { LIST_WRITES } from '../files/dataset-list.js'
import { layout } from '../files/layout.js'
import { eachLimited } from '../pool.js'
import { formatJobsList, type Job } from './jobs-list.js'
import { macroValueProblem } from './quote.js'
import { SUBMISSION_FILES } from './submit-file.js'

const FROZEN_NAME = /^\d{8}T\d{6}Z-(\d+)$/
const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/

/**
 * Builds `<output>/submissions/<name>/` (copies of condor/'s files and of the lists, a jobs.list naming the copies,
 * the jobs' stdout/ and error/) under a hidden name, and renames it into place whole.
 */
export async function freezeSubmission(output: string, jobs: readonly Job[], now: Date) {
  const root = layout.submissionsDir(output)
  await mkdir(root, { recursive: true }).catch((err) => Promise.reject(writeError(err, root)))
  const names = await readdir(root)
  // Half-built submissions of killed runs: hidden temporary names whose process is gone.
  for (const match of names.map((name) => TEMP_NAME.exec(name))) {
    if (match && !processAlive(Number(match[1]))) await rm(join(root, match[0]), { recursive: true, force: true })
  }
  // Its time and one more than the highest number so far, e.g. `20250101T020000Z-7`.
  const highest = Math.max(0, ...names.map((name) => Number(FROZEN_NAME.exec(name)?.[1] ?? 0)))
  const name = `${now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '')}-${highest + 1}`
  const dir = join(root, name)
  const frozen = jobs.map((job) => ({ ...job, list: join(dir, 'datasets', basename(job.list)) }))
  for (const job of frozen) {
    const problem = macroValueProblem(job.list)
    if (problem) throw new UsageError(`cannot submit from ${dir}: ${problem}; choose another output directory`)
  }

  const temp = tempPathFor(dir)
  // A write that fails names what it wrote as it will be named once in place (not the hidden temporary name), with
  // the space left in submissions/ (the frozen folder is not there yet); reading condor/ and the lists names its own.
  const naming = (path: string) => (err: unknown) => Promise.reject(writeError(err, path, root))
  /** Writes `name` under the temporary folder. */
  const put = (name: string, content: string | Buffer, mode?: number) =>
    writeDurably(join(temp, name), content, mode).catch(naming(join(dir, name)))
  try {
    const { stdoutDir, stderrDir } = SUBMISSION_FILES
    for (const sub of ['datasets', stdoutDir, stderrDir]) await mkdir(join(temp, sub), { recursive: true }).catch(naming(dir))
    const condor = layout.condorDir(output)
    await put(SUBMISSION_FILES.sub, await readFile(join(condor, SUBMISSION_FILES.sub)))
    await put(SUBMISSION_FILES.script, await readFile(join(condor, SUBMISSION_FILES.script)), 0o755)
    // Several at once, as lists writes them: on a campaign night (every run outdated by a new tag) there are thousands,
    // and one fsync after another made the copy most of submit's wall time (docs/speed.md, "A campaign night").
    await eachLimited(jobs, LIST_WRITES, async (job) => put(join('datasets', basename(job.list)), await readFile(job.list)))
    await put(SUBMISSION_FILES.jobs, formatJobsList(frozen))
    const moveIntoPlace = async () => {
      await syncDirectory(join(temp, 'datasets'))
      await syncDirectory(temp)
      await rename(temp, dir)
      await syncDirectory(root)
    }
    await moveIntoPlace().catch(naming(dir))
  } catch (err) {
    await rm(temp, { recursive: true, force: true })
    throw err
  }
  return { name, dir, jobs: frozen }
}

/**
 * When submission `name` was frozen, by the clock of the file server that holds the output directory (its jobs.list's
 * mtime, ms; written before condor_submit and never after), undefined when it is gone. A job's files in output/ carry
 * that server's clock too, so the two compare whatever this host's clock says.
 */
export async function frozenAt(output: string, name: string): Promise<number | undefined> {
  return (await stat(join(layout.submissionsDir(output), name, SUBMISSION_FILES.jobs)).catch(() => undefined))?.mtimeMs
}
