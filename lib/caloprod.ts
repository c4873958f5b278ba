// The scripting API (README.md, "Scripting caloprod"): resolves a run type's settings once, as a stage would, and
// gives each stage as a method that returns data, and each output file's reader.
import { join } from 'node:path'
import { catalogTarget } from './catalog/connection.js'
import { resolveApiUrl } from './cdb/backend.js'
import { askRest } from './cdb/rest.js'
import { runCheck } from './check.js'
import type { PayloadType } from './rules/calibrations.js'
import { FLAGS, resolveOptions, type Env, type FlagName, type Options } from './config/options.js'
import { checkSettings } from './config/settings.js'
import { runCondor } from './condor.js'
import { readJobsList } from './condor/jobs-list.js'
import { SUBMISSION_FILES } from './condor/submit-file.js'
import { readTable } from './files/csv.js'
import { layout } from './files/layout.js'
import { readLedger } from './files/ledger.js'
import { MISSING_TABLE } from './files/missing-list.js'
import { readProcessList, type Reasons } from './files/process-list.js'
import { readQueryRows } from './files/query-csv.js'
import { readRunList, type RunTag } from './files/run-list.js'
import { checkRunTypeMark } from './files/run-type-mark.js'
import { readSettled } from './files/settled.js'
import { runLists } from './lists.js'
import { acquireLock, lockOwner } from './lock.js'
import { logFileFor, openLog, type Log } from './log.js'
import { runQuery } from './query.js'
import { runReduce } from './reduce.js'
import { runReport } from './report.js'
import { statusRecords } from './status.js'
import { runSubmit } from './submit.js'
import { checkUploadOptions, connectForUpload, runUpload } from './upload.js'
import { readUploads } from './upload/ledger.js'

/**
 * `output` defaults to the run type's name in `cwd`; `runType` to run3auau; `rules` (`seed`, `current` or a file) to
 * seed; `settings`: any other stage setting, e.g. `{ cdb: 'rest', maxAttempts: 5, recheckAfter: '3d' }`, each checked
 * as its flag's value (lib/config/settings.ts); `name`: the log's, caloprod.
 */
export type CaloprodInit = {
  output?: string; runType?: string; rules?: string; settings?: Partial<Options>; name?: string; env?: Env; cwd?: string
}

/** A run type's output directory and settings, resolved once; see caloprod(). */
export type Caloprod = ReturnType<typeof caloprod>

/**
 * Resolves a script's context; throws UsageError for a setting a stage would refuse. A method that writes appends to
 * `<output>/log/<date>.log` too; one that acts on the scheduler or the CDB holds the lock while it runs, as stages do.
 */
export function caloprod(init: CaloprodInit = {}) {
  const env = init.env ?? process.env
  const given = { 'run-type': init.runType, rules: init.rules, output: init.output }
  const argv = Object.entries(given).flatMap(([flag, value]) => (value === undefined ? [] : [`--${flag}`, value]))
  const cwd = init.cwd ?? process.cwd()
  const options: Options = { ...resolveOptions(argv, env, cwd, Object.keys(FLAGS) as FlagName[]), ...checkSettings(init.settings ?? {}, cwd) }
  const { output, runType } = options
  const logTo = (file: string | undefined) => openLog({
    stage: init.name ?? 'caloprod', file, verbose: options.verbose, quiet: options.quiet,
    stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text),
  })
  const log = logTo(undefined)
  // `mark`: a stage of the pipeline, which marks the directory as the run type's, as its command does (not the report).
  const writing = async <T>(lock: boolean, body: (log: Log) => Promise<T>, mark = true): Promise<T> => {
    // Opening the log makes the directory, which the mark goes in: nothing is written there before it is checked.
    const fileLog = logTo(logFileFor(output))
    await checkRunTypeMark(output, runType, { claim: mark })
    const release = lock ? await acquireLock(output, init.name ?? 'caloprod', lockOwner(), { log: fileLog }) : undefined
    try {
      return await body(fileLog)
    } finally {
      await release?.()
    }
  }
  return {
    options,
    log,
    query: () => writing(false, (log) => runQuery(catalogTarget(options.dbUrl, env), { ...options, retry: { attempts: options.dbTries } }, log)),
    reduce: () => writing(false, () => runReduce(options)),
    check: () => writing(false, (log) => runCheck(options, log, { env })),
    lists: () => writing(false, (log) => runLists(options, log)),
    condor: () => writing(false, (log) => runCondor(options, log)),
    /** The plan (`lines`), or with `doCondorSubmit` the submission; `runs`: only these, by hand. */
    submit: (by: { runs?: readonly number[]; doCondorSubmit?: boolean } = {}) => {
      const submit = (log: Log) => runSubmit({ ...options, ...by, doCondorSubmit: !!by.doCondorSubmit }, { env, log })
      return by.doCondorSubmit ? writing(true, submit) : submit(log)
    },
    /** One object per run of the process list: its state, what to know of it, its latest job. */
    status: async () => {
      await checkRunTypeMark(output, runType, { claim: false })
      return statusRecords(options, env)
    },
    /** The plan, or with `doCdbUpload` (and a `globalTag`, never a default) the payloads inserted. */
    upload: async (by: { doCdbUpload?: boolean; globalTag?: string } = {}) => {
      const choice = { doCdbUpload: !!by.doCdbUpload, globalTag: by.globalTag }
      checkUploadOptions(choice)
      const upload = async (log: Log) => {
        const connection = await connectForUpload(env, { timeout: options.timeout, needStore: choice.doCdbUpload, log })
        const ctx = { env, log, ...connection, readTag: options.globalTag, types: options.rules.payloadTypes }
        return runUpload({ ...options, ...choice }, ctx)
      }
      return choice.doCdbUpload ? writing(true, upload) : upload(log)
    },
    report: () => writing(false, () => runReport(options, env), false),
    /**
     * Asks nopayloaddb (`--cdb-url`, else NOPAYLOADCLIENT_CONF's) about `runs` (default: the run list), one request
     * a run: the runs lacking a current payload of `types` (default: the rule set's), with which are missing or outdated.
     */
    lacking: async (by: { runs?: readonly RunTag[]; types?: readonly PayloadType[] } = {}): Promise<Map<number, Reasons>> => {
      const runs = by.runs ?? (await readRunList(layout.runListCsv(output, runType)))
      const answer = await askRest(runs, {
        apiUrl: await resolveApiUrl(options.cdbUrl, env), globalTag: options.globalTag, payloadTypes: by.types ?? options.rules.payloadTypes,
        jobs: options.jobs ?? 16, timeoutMs: options.timeout * 1000, attempts: options.cdbTries, log,
      })
      return answer.reasons
    },
    /** Each output file's reader (reduce and query stream their rows). */
    read: {
      query: () => readQueryRows(layout.queryCsv(output)),
      reduce: () => readQueryRows(layout.reduceCsv(output)),
      runList: () => readRunList(layout.runListCsv(output, runType)),
      settled: () => readSettled(layout.settledCsv(output, runType)),
      processList: () => readProcessList(layout.processCsv(output, runType)),
      missing: () => readTable(layout.missingCsv(output, runType), MISSING_TABLE),
      jobs: () => readJobsList(join(layout.condorDir(output), SUBMISSION_FILES.jobs)),
      ledger: async () => (await readLedger(layout.ledgerCsv(output))).rows,
      uploads: async () => (await readUploads(layout.uploadsCsv(output))).rows,
    },
  }
}
