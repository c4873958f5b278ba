// Everything the report reads: the files the other stages wrote, and the scheduler asked as status asks it.
// A file not written yet is "nothing yet", never an error; a malformed one fails the report, naming it.
import { readdir, stat } from 'node:fs/promises'
import type { Env } from '../config/options.js'
import { readCheckSummary, type CheckSummary } from '../cdb/check-summary.js'
import { readSettled, type SettledRow } from '../files/settled.js'
import { readProcessList, type ProcessEntry } from '../files/process-list.js'
import { schedulerJobs, type SchedulerJob } from '../scheduler/scheduler.js'
import { CaloprodError } from '../errors.js'
import { layout } from '../files/layout.js'
import { readRunList, type RunTag } from '../files/run-list.js'
import { readLedger, type LedgerRow } from '../files/ledger.js'
import type { PayloadType } from '../config/calibrations.js'
import { readUploads, type UploadRow } from '../upload/ledger.js'
import { absentPayloads, runOutputDir } from '../upload/payload-files.js'
import { readRunFiles, type RunFiles } from './run-files.js'

export interface ReportOptions {
  output: string
  runType: string
  maxAttempts: number
  /** Seconds condor_q or condor_history may take. */
  timeout: number
  /** The rule set's payload types: a finished run without a file of one is incomplete. */
  rules: { payloadTypes: readonly PayloadType[] }
  /** For the stories of the runs to process (`why`): the threshold, and the memory rules of a held job. */
  minEvents?: number
  maxMemory?: number
  memoryScale?: number
}

/** What the scheduler said: its jobs, or why it said nothing. */
export type SchedulerView = { answered: true; jobs: SchedulerJob[] } | { answered: false; error: string }

export interface ReportInputs {
  options: ReportOptions
  now: Date
  /** `<runtype>.csv`; undefined before the first reduce. */
  runList: RunTag[] | undefined
  /** `<runtype>-process.csv`; undefined before the first check. */
  process: ProcessEntry[] | undefined
  settled: Map<number, SettledRow>
  /** Names in datasets/. */
  lists: Set<string>
  runFiles: Map<number, RunFiles>
  ledger: LedgerRow[]
  /** uploads.csv, the upload stage's ledger. */
  uploads: UploadRow[]
  /** For each run to process with a folder in output/: the payload types genStatus wrote no file for. */
  absent: Map<number, PayloadType[]>
  scheduler: SchedulerView
  check: CheckSummary | undefined
}

const exists = (path: string) => stat(path).then(() => true, () => false)

async function optional<T>(path: string, read: (path: string) => Promise<T>): Promise<T | undefined> {
  return (await exists(path)) ? read(path) : undefined
}

/** Asks the scheduler about this output's jobs; a scheduler that does not answer is a fact for the page, not a failure. */
async function askScheduler(options: ReportOptions, env: Env): Promise<SchedulerView> {
  try {
    return { answered: true, jobs: await schedulerJobs(options.output, { env, timeout: options.timeout }) }
  } catch (err) {
    if (err instanceof CaloprodError) return { answered: false, error: err.message }
    return { answered: false, error: `cannot ask the scheduler: ${(err as Error).message}` }
  }
}

/** Reads every input of the report. */
export async function gatherInputs(options: ReportOptions, env: Env, now: Date): Promise<ReportInputs> {
  const { output, runType } = options
  const process = await optional(layout.processCsv(output, runType), readProcessList)
  const toProcess = new Set((process ?? []).map((run) => run.runnumber))
  const [runList, settled, lists, runFiles, ledger, check, scheduler] = await Promise.all([
    optional(layout.runListCsv(output, runType), readRunList),
    optional(layout.settledCsv(output, runType), readSettled),
    readdir(layout.datasetsDir(output)).catch(() => [] as string[]),
    readRunFiles(layout.reduceCsv(output), layout.missingCsv(output, runType), toProcess),
    readLedger(layout.ledgerCsv(output)),
    readCheckSummary(layout.checkJson(output, runType)),
    askScheduler(options, env),
  ])
  const uploads = await readUploads(layout.uploadsCsv(output))
  const types = options.rules.payloadTypes
  const absent = new Map<number, PayloadType[]>()
  for (const run of process ?? []) {
    if (!(await exists(runOutputDir(output, run.runnumber, run.tag)))) continue
    absent.set(run.runnumber, await absentPayloads(output, run.runnumber, run.tag, types))
  }
  return {
    options,
    now,
    runList,
    process,
    settled: new Map((settled ?? []).map((row) => [row.runnumber, row])),
    lists: new Set(lists),
    runFiles,
    ledger: ledger.rows,
    uploads: uploads.rows,
    absent,
    scheduler,
    check,
  }
}
