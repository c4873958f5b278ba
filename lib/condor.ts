import { constants, readFileSync } from 'node:fs'
import { access, mkdir, readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { InputError, UsageError } from './errors.js'
import { writeFileIfChanged } from './files/atomic.js'
import { layout } from './files/layout.js'
import { parseListName, runTagKey } from './files/dataset-list.js'
import { compareJobs, formatJobsList, type Job } from './condor/jobs-list.js'
import { readProcessList } from './files/process-list.js'
import { macroValueProblem, submitValueProblem } from './condor/quote.js'
import { resolvedOutput, SUBMISSION_FILES, submitFileText } from './condor/submit-file.js'
import type { Log } from './log.js'
import type { Options } from './config/options.js'

type CondorOptions = Pick<Options, 'output' | 'runType' | 'binGenStatus' | 'condorScript' | 'condorLogDir' | 'memory'>

/** Refuses a genStatus binary that is not given, not absolute, not executable here, or not expressible in a submit file. */
async function checkBinary(bin: string | undefined): Promise<string> {
  const advice = 'give --bin-genStatus PATH (default $OFFLINE_MAIN/bin/CaloCDB-GenStatus)'
  if (!bin) throw new UsageError(`no genStatus binary: OFFLINE_MAIN is not set; ${advice}`)
  const problem = submitValueProblem(bin)
  if (problem) throw new UsageError(`genStatus binary ${problem}; ${advice}`)
  const info = await stat(bin).catch(() => undefined)
  const executable = info?.isFile() && (await access(bin, constants.X_OK).then(() => true, () => false))
  if (!executable) throw new UsageError(`genStatus binary ${bin} is not an executable file; ${advice}`)
  return bin
}

/** Our job wrapper, a shell file beside this module (CALOPROD_SPHENIX_SETUP replaces its setup script, for tests). */
export const wrapperScript = (): string => readFileSync(new URL('./condor/genStatus.sh', import.meta.url), 'utf8')

/** The job wrapper: ours, or the text of --condor-script. */
async function wrapperText(condorScript: string | undefined): Promise<string> {
  if (!condorScript) return wrapperScript()
  return readFile(condorScript, 'utf8').catch((err: Error) => {
    throw new UsageError(`--condor-script ${condorScript} cannot be read (${err.message}); give a job wrapper taking BIN LIST OUTDIR`)
  })
}

/** The lists in datasets/ as jobs, by `<run>_<tag>` key; hidden and other files are not lists. */
async function listsOnDisk(output: string): Promise<Map<string, Job>> {
  const dir = layout.datasetsDir(output)
  const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[]
    throw err
  })
  const lists = new Map<string, Job>()
  for (const name of names) {
    const parsed = name.startsWith('.') ? undefined : parseListName(name)
    if (parsed) lists.set(runTagKey(parsed.runnumber, parsed.tag), { ...parsed, list: join(dir, name) })
  }
  return lists
}

/**
 * The condor stage: `<output>/condor/` with a job per run of the process list that has a list in datasets/, each
 * file rewritten only when it changed. `stale`: lists of runs that left the process list (their maps became
 * current); `unlisted`: runs without a list (the lists stage found too few files on disk).
 */
export async function runCondor(options: CondorOptions, log: Log) {
  const bin = await checkBinary(options.binGenStatus)
  const outputProblem = macroValueProblem(options.output)
  if (outputProblem) throw new UsageError(`--output ${outputProblem}; job arguments name files under it: choose another output directory`)
  // Every job carries the resolved path (CaloprodOutput), which a symlink may make another string.
  const resolved = await resolvedOutput(options.output)
  const resolvedProblem = submitValueProblem(resolved)
  if (resolvedProblem) throw new UsageError(`--output ${options.output} resolves to ${resolvedProblem}; choose another output directory`)
  const logDirProblem = submitValueProblem(options.condorLogDir)
  if (logDirProblem) throw new UsageError(`--condor-log-dir ${logDirProblem}`)
  const script = await wrapperText(options.condorScript)

  const processList = await readProcessList(layout.processCsv(options.output, options.runType))
  const lists = await listsOnDisk(options.output)
  const jobs: Job[] = []
  let unlisted = 0
  for (const entry of processList) {
    const key = runTagKey(entry.runnumber, entry.tag)
    const job = lists.get(key)
    lists.delete(key)
    if (job) jobs.push(job)
    else unlisted++
  }
  jobs.sort(compareJobs)
  for (const { list } of jobs) {
    const info = await stat(list)
    const rerun = 'remove it and re-run the lists stage'
    if (!info.isFile()) throw new InputError(list, undefined, `is not a regular file; ${rerun}`)
    if (info.size === 0) throw new InputError(list, undefined, `is empty: a job would have no files; ${rerun}`)
  }
  if (unlisted) log.info(`${unlisted === 1 ? '1 run of the process list has' : `${unlisted} runs of the process list have`} no list in datasets/ (see the lists stage's log): no job`)
  for (const stale of lists.values()) log.info(`not a job: ${stale.list} (run ${stale.runnumber} is not in the process list)`)

  // condor_submit refuses a job whose event log has no directory: it is made with the submit file that names it.
  await mkdir(options.condorLogDir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
    throw new UsageError(`--condor-log-dir ${options.condorLogDir} cannot be created (${err.code ?? err.message}); give one you can write`)
  })
  const dir = layout.condorDir(options.output)
  const sub = submitFileText({
    binGenStatus: bin, output: options.output, resolvedOutput: resolved,
    condorLogDir: options.condorLogDir, memory: options.memory,
  })
  // jobs.list goes last: a reader that sees the new jobs also sees the submit file they were written for.
  const changed = [
    await writeFileIfChanged(join(dir, SUBMISSION_FILES.sub), sub),
    await writeFileIfChanged(join(dir, SUBMISSION_FILES.script), script, 0o755),
    await writeFileIfChanged(join(dir, SUBMISSION_FILES.jobs), formatJobsList(jobs)),
  ].some(Boolean)
  return { jobs: jobs.length, stale: lists.size, unlisted, changed }
}
