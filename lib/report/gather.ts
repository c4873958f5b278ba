// Everything the report reads: the files the other stages wrote, and the scheduler asked as status asks it.
// A file not written yet is "nothing yet", never an error. Each file is read with the stages' own rules; one they
// would refuse (malformed, unreadable) is left out and named in `problems`, so the page is still written and says so.
import { readdir, stat } from 'node:fs/promises'
import type { Env, Options } from '../config/options.js'
import { readCheckSummary } from '../cdb/check-summary.js'
import { readSettled } from '../files/settled.js'
import { readProcessList } from '../files/process-list.js'
import { readQueryBatches } from '../files/query-csv.js'
import { frozenAt } from '../condor/freeze.js'
import { FOLDER_READS, folderFiles, newestOf, type FoldersRead } from '../files/folder-files.js'
import { derivedFrom } from '../files/derived-cache.js'
import { readMissingPaths } from '../files/missing-list.js'
import { schedulerJobs, type SchedulerJob } from '../scheduler/scheduler.js'
import { scheddsToAsk } from '../scheduler/job-state.js'
import { CaloprodError } from '../errors.js'
import { layout } from '../files/layout.js'
import { runTagKey } from '../files/dataset-list.js'
import { readRunList, type RunTag } from '../files/run-list.js'
import { readLedger, type LedgerRow } from '../files/ledger.js'
import { submitInFlight, uploadInFlight } from '../lock.js'
import type { PayloadType } from '../rules/calibrations.js'
import { readLatestUploads, type UploadRow } from '../upload/ledger.js'
import { absentFrom, runOutputDir } from '../upload/payload-files.js'
import { readLastNight, type LastNight } from './last-night.js'
import { eachLimited } from '../pool.js'

/** `rules`: a finished run without a file of one of its payload types is incomplete; the rest is for `why`'s stories. */
export type ReportOptions = Pick<Options, 'output' | 'maxAttempts' | 'timeout'> & Partial<Pick<Options, 'maxMemory' | 'memoryScale'>>
  & { runType: string; rules: { payloadTypes: readonly PayloadType[] }; minEvents?: number }

/** What the scheduler said: its jobs and the schedds named in the ledger that did not answer (and why), or why it said nothing. */
type SchedulerView = { answered: true; jobs: SchedulerJob[]; unanswered: ReadonlyMap<string, string> } | { answered: false; error: string }

const exists = (path: string) => stat(path).then(() => true, () => false)
const optional = <T>(path: string, read: (path: string) => Promise<T>) => stat(path).then(() => read(path), () => undefined)

/** A run's rows of reduce.csv; `events`: each segment once, as lists counts; `missing`: in `<runtype>-missing.csv`. */
type RunFiles = { tag: string; files: number; events: number; missing: number }

/**
 * Reads reduce.csv (streamed: memory holds one batch and one entry per run), maybe not written yet; only
 * `runsToProcess` (those lists checks on disk) are looked up among the `missing` files.
 */
async function readRunFiles(reducePath: string, missing: ReadonlySet<string>, runsToProcess: ReadonlySet<number>) {
  const runs = new Map<number, RunFiles>()
  if (!(await exists(reducePath))) return runs
  // The segments of the run being read: reduce.csv is sorted by run.
  let seen = new Set<number>()
  let seenRun = -1
  for await (const batch of readQueryBatches(reducePath)) {
    for (const row of batch) {
      let run = runs.get(row.runnumber)
      if (!run) runs.set(row.runnumber, (run = { tag: row.tag, files: 0, events: 0, missing: 0 }))
      if (row.runnumber !== seenRun) [seen, seenRun] = [new Set(), row.runnumber]
      run.files++
      if (runsToProcess.has(row.runnumber) && missing.has(row.full_file_path)) run.missing++
      if (!seen.has(row.segment)) run.events += row.events
      seen.add(row.segment)
    }
  }
  return runs
}

/**
 * readRunFiles, or its result for the same reduce.csv, missing files and runs to process (derivedFrom): on a quiet
 * night none of them changed, and reading reduce.csv is most of the report's work (0.5 s of 2.3 on the bench).
 */
async function cachedRunFiles(
  output: string, runType: string, runsToProcess: ReadonlySet<number>, keep: boolean, missing: () => Promise<ReadonlySet<string>>,
) {
  const [reduce, missingCsv, process] = [layout.reduceCsv(output), layout.missingCsv(output, runType), layout.processCsv(output, runType)]
  const { value } = await derivedFrom(layout.reportCache(output), [reduce, missingCsv, process],
    async () => [...(await readRunFiles(reduce, await missing(), runsToProcess))], { save: keep })
  return new Map(value)
}

/**
 * The (run, tag)s whose rows of uploads.csv the page and the stories read: each run of the process list under its
 * tag and under its run list's tag. runViews reads a run's uploads only when it is to process (any other is current
 * or unchecked, whatever was uploaded), and why's story tells the uploads of the run list's (kept) tag. A year of
 * campaigns is a hundred thousand payloads; these are a night's few hundred runs.
 */
export function shownUploads(runList: readonly RunTag[] | undefined, process: readonly RunTag[] | undefined) {
  const kept = new Map((runList ?? []).map((run) => [run.runnumber, run.tag]))
  const shown = new Set<string>()
  for (const { runnumber, tag } of process ?? []) {
    shown.add(runTagKey(runnumber, tag))
    const keptTag = kept.get(runnumber)
    if (keptTag !== undefined) shown.add(runTagKey(runnumber, keptTag))
  }
  return (row: Pick<UploadRow, 'runnumber' | 'tag'>) => shown.has(runTagKey(row.runnumber, row.tag))
}

/**
 * Asks the scheduler about this output's jobs: this host's schedd and, by name, `schedds` (those the ledger says took
 * a run's latest cluster), as status asks. A scheduler that does not answer is a fact for the page, not a failure.
 */
function askScheduler(options: ReportOptions, env: Env, schedds: readonly string[]): Promise<SchedulerView> {
  const unanswered = new Map<string, string>()
  return schedulerJobs(options.output, { env, timeout: options.timeout, schedds, unanswered }).then(
    (jobs) => ({ answered: true, jobs, unanswered }),
    (err: Error) => ({
      answered: false, error: err instanceof CaloprodError ? err.message : `cannot ask the scheduler: ${err.message}`,
    }),
  )
}

/**
 * Reads every input of the report. `keep`: what it derives from reduce.csv is kept in `<output>/.report-runs.json`
 * for the next report (the stage's, which writes into the output directory; a read-only look reads it only).
 */
export async function gatherInputs(options: ReportOptions, env: Env, now: Date, { keep = false } = {}) {
  const { output, runType } = options
  const problems: string[] = []
  /** What `read` gives, or `fallback` with the reason (naming the file) in `problems`. */
  const tolerant = <T>(read: () => Promise<T>, fallback: T): Promise<T> =>
    read().catch((err: unknown) => {
      problems.push(err instanceof CaloprodError ? err.message : String((err as Error)?.message ?? err))
      return fallback
    })
  const process = await tolerant(() => optional(layout.processCsv(output, runType), readProcessList), undefined)
  const toProcess = new Set((process ?? []).map((run) => run.runnumber))
  // The ledger and the run list first: they name the schedds to ask besides this host's.
  const [runList, ledger] = await Promise.all([
    tolerant(() => optional(layout.runListCsv(output, runType), readRunList), undefined),
    tolerant(() => readLedger(layout.ledgerCsv(output)), { rows: [] as LedgerRow[], tornTail: false }),
  ])
  const schedds = scheddsToAsk(ledger.rows, [...(runList ?? []), ...(process ?? [])])
  // The missing files, read once for reduce.csv's counts and why's stories of the runs to process, whichever asks first.
  let missingRead: Promise<ReadonlySet<string>> | undefined
  const missingPaths = () => (missingRead ??= readMissingPaths(layout.missingCsv(output, runType)))
  const [settled, lists, runFiles, check, scheduler, uploads, lastNight, inFlight] = await Promise.all([
    tolerant(() => optional(layout.settledCsv(output, runType), readSettled), undefined),
    readdir(layout.datasetsDir(output)).catch(() => [] as string[]),
    tolerant(() => cachedRunFiles(output, runType, toProcess, keep, missingPaths), new Map<number, RunFiles>()),
    tolerant(() => readCheckSummary(layout.checkJson(output, runType)), undefined),
    askScheduler(options, env, schedds),
    tolerant(() => readLatestUploads(layout.uploadsCsv(output), shownUploads(runList, process)), [] as UploadRow[]),
    tolerant(() => readLastNight(output), { stages: {}, lastGood: null, badSince: null } as LastNight),
    submitInFlight(output),
  ])
  // After uploads.csv: an upload running now wrote every row of it since its lock (read first, it might start between).
  const uploading = await uploadInFlight(output)
  // A list that cannot be read is left to the stories, which read it again and say why (reduce.csv's read named it).
  const missing = toProcess.size ? await missingPaths().catch(() => undefined) : undefined
  const types = options.rules.payloadTypes
  const absent = new Map<number, PayloadType[]>()
  // What each folder read said, by run and tag (FoldersRead): the page's rows and the stories tell from it, not a second read.
  const read = new Map<string, { newest: number | undefined; absent: PayloadType[] }>()
  // Each run's folder read once, FOLDER_READS at a time, and only those there are (output/ listed once: most of a
  // campaign night's runs have none yet, and thousands of reads that fail were thousands of errors). No folder: a
  // finished job wrote none of its payloads (or they were deleted), as status counts it; a run not finished yet is
  // never shown incomplete (runViews looks at `absent` of finished runs only).
  const there = new Set(process?.length ? await readdir(layout.jobOutputDir(output)).catch(() => [] as string[]) : [])
  await eachLimited(process ?? [], FOLDER_READS, async ({ runnumber, tag }) => {
    const files = there.has(runTagKey(runnumber, tag)) ? await folderFiles(runOutputDir(output, runnumber, tag)) : undefined
    const seen = { newest: newestOf(files), absent: absentFrom(files, runnumber, tag, types) }
    absent.set(runnumber, seen.absent)
    read.set(runTagKey(runnumber, tag), seen)
  })
  // When each submission of a run with files in its folder was frozen, by the same file server's clock as their mtimes.
  const names = new Set(ledger.rows
    .filter((row) => read.get(runTagKey(row.runnumber, row.tag))?.newest !== undefined).map((row) => row.submission))
  const frozen = new Map<string, number>()
  await Promise.all([...names].map(async (name) => {
    const at = await frozenAt(output, name)
    if (at !== undefined) frozen.set(name, at)
  }))
  // runList, process: undefined before the first reduce, check; lists: names in datasets/; absent: per run to process,
  // the payload types genStatus wrote no file for (all without a folder in output/); folders: each folder of a run to
  // process as read, by run and tag (its newest file's mtime: a job no schedd knows that wrote it is done,
  // writtenSince), and when each submission of a run with files there was frozen (frozenAt), for the page's rows and
  // why's stories alike (FoldersRead);
  // missing: the missing-files list's paths when there are runs to process (undefined: it could not be read);
  // problems: a line per unreadable file; inFlight: the submit stage running now, whose own rows are left to it;
  // uploading: the upload stage running now, whose runs are being uploaded, not unfinished; uploads: the latest row of
  // each payload in uploads.csv of the runs to process (readLatestUploads, shownUploads), all the page and the stories
  // read of it.
  const folders: FoldersRead = { folder: (run, tag) => read.get(runTagKey(run, tag)), frozen }
  return {
    options, now, runList, process, settled: new Map((settled ?? []).map((row) => [row.runnumber, row])),
    lists: new Set(lists), runFiles, missing, ledger: ledger.rows, uploads, absent, folders, scheduler, check, lastNight,
    inFlight, uploading, problems,
  }
}

export type ReportInputs = Awaited<ReturnType<typeof gatherInputs>>
