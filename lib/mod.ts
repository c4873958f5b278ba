// The library a person scripts against (Deno's convention: one entry module). Everything a script may import is
// here; the rest of lib/ is caloprod's own. See README.md, "Scripting caloprod".

// The stages, as the Taskfile runs them.
/** query: the FileCatalog's HIST_CALOQA files of a run type into `query.csv`. */
export { runQuery } from './query.js'
/** reduce: one tag per run (the seed's rule) into `reduce.csv` and `<runtype>.csv`. */
export { runReduce, chooseTags, surveyTags } from './reduce.js'
/** check: which runs need their maps made, asking the CDB, into `<runtype>-process.csv`. */
export { runCheck, planCheck } from './check.js'
/** lists: each run's files on disk into `datasets/<run>_<tag>.list`, the missing ones into `<runtype>-missing.csv`. */
export { runLists, planLists, findMissing } from './lists.js'
/** condor: the submission files of the runs that have a list, under `condor/`. */
export { runCondor } from './condor.js'
/** submit: the plan (dry run) or the submission of the runs due (or of `runs`, by hand), recorded in the ledger first. */
export { runSubmit, planSubmission, formatPlan, type SubmitOptions } from './submit.js'
/** status: one line per run of the process list, from the ledger and the scheduler. */
export { runStatus } from './status.js'
/** A stage's log, appended to `<output>/log/<date>.log` (`logFileFor`). */
export { openLog, logFileFor, type Log } from './log.js'
/** The output directory's lock, one caloprod run at a time: a script that acts takes it as the stages do (exit 3 when held). */
export { acquireLock, lockOwner, type ReleaseLock } from './lock.js'
/** Every stage setting's default, as the stage scripts start from (some read `env`: OFFLINE_MAIN, USER). */
export { defaultOptions, type Options } from './config/options.js'

// The output directory: where each file is, and each file's reader and writer.
/** The path of every file of an output directory. */
export { layout } from './files/layout.js'
/** `query.csv` and `reduce.csv`: the rows, read whole or streamed. */
export { QUERY_TABLE, readQueryCsv, readQueryRows, type QueryRow } from './files/query-csv.js'
/** `<runtype>.csv`: the run list, one tag per run. */
export { readRunList, writeRunList, type RunTag } from './files/run-list.js'
/** `<runtype>-settled.csv`: the check stage's cache of runs the CDB had all payloads for. */
export { readSettled, writeSettled, type SettledRow } from './files/settled.js'
/** `<runtype>-process.csv`: the runs to process, with any columns a person added. */
export { readProcessList, writeProcessList, type ProcessEntry } from './files/process-list.js'
/** `<runtype>-missing.csv`: catalogued files not usable on disk. */
export { MISSING_TABLE, writeMissingList } from './files/missing-list.js'
/** `datasets/<run>_<tag>.list`: a run's list, its name and its content. */
export { formatDatasetList, parseListName, runTagKey } from './files/dataset-list.js'
/** `condor/jobs.list`: the lists condor_submit queues, one job each. */
export { readJobsList, formatJobsList, type Job } from './condor/jobs-list.js'
/** `submissions.csv`: the ledger of submissions, appended and fsynced before each action. */
export { appendLedger, readLedger, type LedgerRow } from './files/ledger.js'
/** Reads any CSV a person edits against its table; writes one, atomically, only when it changes. */
export { readTable, writeCsv, type Table } from './files/csv.js'
/** Writes a file atomically (temporary file, fsync, rename), only when its content changes. */
export { writeFileIfChanged } from './files/atomic.js'

// The outside systems.
/** The FileCatalog: where it is (flag or PG* environment) and a connection to it. */
export { catalogTarget, connectCatalog } from './catalog/connection.js'
/** The FileCatalog's selection of a run type's files under a rule set, as the query stage runs it. */
export { queryFiles } from './catalog/query-files.js'
/** The SQL of that selection, for a rule set and run type. */
export { buildSelection } from './catalog/selection.js'
/** The CDB, asked through CaloCDB-FilterDatasets in shards: which runs lack a current payload. */
export { askCdb } from './cdb/ask.js'
/** The CDB asked directly over nopayloaddb's REST API: which runs lack a current payload, one request per run. */
export { askRest, payloadIovsUrl } from './cdb/rest.js'
/** One run's payload IOVs as nopayloaddb answers them, and each payload type's state (current, missing, outdated). */
export { parsePayloadIovs, judgeRun, type PayloadIov } from './cdb/payload-iovs.js'
/** The HTTP client for nopayloaddb (keep-alive, bounded in flight, timeouts, retries), and its configuration file. */
export { HttpClient } from './cdb/http.js'
export { readNopayloadConfig, type NopayloadConfig } from './cdb/nopayload-config.js'
/** The upload stage (finished payloads into the CDB) and its ledger, uploads.csv. */
export { runUpload } from './upload.js'
export { readUploads, latestUploads, type UploadRow } from './upload/ledger.js'
/** The report stage: <output>/report.html. */
export { runReport } from './report.js'
/** The scheduler: a run's jobs from condor_q and condor_history, and condor_submit. */
export { schedulerJobs, condorSubmit, JOB_STATUS, type SchedulerJob } from './scheduler/scheduler.js'
/** What the ledger and the scheduler together say of a run: new, queued, running, held, done or failed. */
export { runState, reconcile, type RunState } from './scheduler/job-state.js'

// The rules.
/** The payload types caloprod knows (a rule set keeps some current), the CDB global tag, a current payload's file name. */
export { PAYLOAD_TYPES, GLOBAL_TAG, currentPayloadFile, type PayloadType } from './config/calibrations.js'
/** The rule sets (seed, current, a site's file): run types, payload types, thresholds. */
export { BUILTIN_RULES, resolveRules } from './rules/load.js'
/** The run types and their run ranges. */
export { RUN_TYPES, runRange, isRunType, type RunType } from './config/run-types.js'
/** Why a tag or a path cannot go into file names and lists. */
export { tagProblem, pathProblem } from './files/names.js'
/** The errors a script may catch: each carries the exit code of DESIGN.md's contract. */
export { CaloprodError, InputError, UsageError, LockedError } from './errors.js'
