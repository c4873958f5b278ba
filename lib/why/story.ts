// `why`: the whole story of a run from what the stages wrote (query.csv, the run list, the settled cache, the process
// list, the missing list, datasets/, the ledger, uploads.csv, the job folders) and, for a run that was submitted, the
// scheduler now. Reads only. Each step says the rule that decided it; `next` says what the next night does.
import { readFile, stat } from 'node:fs/promises'
import type { Env, Options } from '../config/options.js'
import { runRange } from '../rules/run-types.js'
import type { PayloadState, PayloadType } from '../rules/calibrations.js'
import { CaloprodError } from '../errors.js'
import { layout } from '../files/layout.js'
import type { FoldersRead } from '../files/folder-files.js'
import { readLedger, type LedgerRow } from '../files/ledger.js'
import { readMissingPaths } from '../files/missing-list.js'
import { readProcessList, type ProcessEntry } from '../files/process-list.js'
import { runTagKey } from '../files/dataset-list.js'
import { readRunList, type RunTag } from '../files/run-list.js'
import { readSettled, type SettledRow } from '../files/settled.js'
import { submitInFlight, uploadInFlight } from '../lock.js'
import type { RuleSet } from '../rules/types.js'
import { currentStates, settleUnknown } from '../scheduler/current-states.js'
import { byRunTag, reconcile, runStates, writtenInFlight, type RunState } from '../scheduler/job-state.js'
import type { SchedulerJob } from '../scheduler/scheduler.js'
import { readLatestUploads, type UploadRow } from '../upload/ledger.js'
import { absentPayloads } from '../upload/payload-files.js'
import { readQueryRows } from '../files/query-csv.js'
import { keptFor } from '../files/derived-cache.js'
import { addToSurvey, emptySurvey } from '../reduce.js'
import { currentPayloadFile } from '../rules/calibrations.js'
import { readLastNight } from '../report/last-night.js'
import { lastCheck, uploadedInFlight, uploadVerdict } from '../status.js'
import { nextStep } from './text.js'
import { mapLimited } from '../pool.js'

/**
 * Stories told at once (each reads its run's list and job folder): more than libuv's threads (4, or the Taskfile's
 * UV_THREADPOOL_SIZE), so the disk is never idle. All of a campaign night's 12,000 at once kept every one's reads
 * and intermediate objects alive together: 160 MB of the report's 560 MB peak (docs/speed.md, "A campaign night").
 */
const STORY_READS = 64

/**
 * `scheduler`: what it already answered (the report asked it: its jobs and the schedds the ledger names that did not
 * answer), or why it said nothing: then it is not asked again; with what the report worked out of it (jobStates): the
 * rows settling interrupted submissions and the job state of each run of its page, by `<run>_<tag>`, before its
 * folder is looked at, so they are not worked out again (a state of another tag the ledger names still is).
 * `ledgers`: the rows of submissions.csv and the latest of uploads.csv (readLatestUploads) the report has just read,
 * so a year of them is not read a second time; `lists`: the run list, the process list (each [] when not written yet),
 * the settled cache by run and the missing files' paths, which it read too; `folders`: the job folders it read
 * (gatherInputs), which the stories then do not read again.
 */
type WhyOptions = Pick<Options, 'output' | 'rules' | 'minEvents' | 'maxAttempts' | 'maxMemory' | 'memoryScale' | 'timeout'>
  & Partial<Pick<Options, 'live' | 'dbUrl' | 'cdbUrl' | 'globalTag' | 'statementTimeout'>>
  & { runType: string; runs: readonly number[]; scheduler?: KnownScheduler | string }
  & { ledgers?: { ledger: readonly LedgerRow[]; uploads: readonly UploadRow[] } }
  & { lists?: { runList: readonly RunTag[]; process: readonly ProcessEntry[]; settled: ReadonlyMap<number, SettledRow> } & { missing?: ReadonlySet<string> } }
  & { folders?: FoldersRead }

type KnownScheduler = {
  jobs: SchedulerJob[]; unanswered: ReadonlyMap<string, string>; reconciled?: readonly LedgerRow[]; states?: ReadonlyMap<string, RunState>
}

/**
 * One run's story. `queried`: query.csv exists; `inCatalog`: query.csv has the run; `belowBy` (--live): the events a
 * run the catalog has but the query left out still needs; `live`: what the catalog and CDB said now, or why not asked;
 * `selected`: in the run list; `kept`: why reduce kept `keptTag`, with the times compared; `cdb`: each payload type's
 * state when known (all current when settled: the check records only counts); `cdbNote`: how that is known;
 * `settledAt`: when the check found every payload of `keptTag` current (its settled entry), null if it has not;
 * `eventsOnDisk`: the kept tag's, as lists counts them; `submissions`: the ledger's events that reached (or may have
 * reached) the scheduler, or a release, of every tag of the run; `job`: the scheduler's state of the latest job now
 * (of the kept tag, else of the tag the ledger names last: a run that left the selection may still have one); `payloads`: files the
 * job wrote into output/<run>_<tag>/.
 */
export interface RunStory {
  run: number
  runType: string
  rules: string
  inRange: boolean
  queried: boolean
  inCatalog: boolean
  tags: { tag: string; events: number; files: number }[]
  threshold: number | null
  belowBy: number | null
  live: string | null
  selected: boolean
  keptTag: string | null
  kept: string
  cdb: Partial<Record<PayloadType, PayloadState>>
  cdbNote: string
  settledAt: string | null
  toProcess: boolean
  listed: string[]
  missingFiles: string[]
  eventsOnDisk: number | null
  submissions: {
    time: string; tag: string; cluster: number | null; attempt: number; state: LedgerRow['state']; memoryMb: number | null; detail: string
  }[]
  job: {
    tag: string | null; state: string; detail: string; holdReason: string | null; holdCode: number | null; exitCode: number | null; memoryMb: number | null
  } | null
  payloads: string[]
  uploads: { type: string; state: string; globalTag: string; time: string; detail: string }[]
  next: string
}

/**
 * `events`: each segment once; `missing`: its files among the missing; `onDisk`: each segment's events from its
 * last file not missing, as lists counts them. Paths are not kept: a run's are tens of thousands.
 */
type TagFiles = { tag: string; files: number; events: number; segments: Set<number>; missing: string[]; onDisk: Map<number, number> }

/**
 * What query.csv says of `runs` (a run the query did not select has no tags): each run's tags with their files and
 * events, and each tag's recency under the tag rule. A tag's earliest file is of any run, so that needs every row:
 * reduce keeps each tag's earliest time (`tagTimesCache`) while query.csv is the same file, and then only the rows of
 * `runs` are read; otherwise the whole file is, as reduce read it.
 */
async function readCatalogView(output: string, runs: ReadonlySet<number>, missing: ReadonlySet<string>) {
  const path = layout.queryCsv(output)
  const tags = new Map<number, TagFiles[]>()
  const survey = emptySurvey()
  if (!(await stat(path).catch(() => undefined))) return { queried: false, tags, survey }
  const tagTimes = await keptFor<[string, string][]>(layout.tagTimesCache(output), [path])
  if (tagTimes) survey.tagMinTime = new Map(tagTimes)
  // With reduce's times, only the asked runs' rows come (they cannot lower a tag's earliest time any further).
  for await (const row of readQueryRows(path, tagTimes ? runs : undefined)) {
    addToSurvey(survey, row)
    if (!runs.has(row.runnumber)) continue
    const list = tags.get(row.runnumber) ?? []
    tags.set(row.runnumber, list)
    let entry = list.find((t) => t.tag === row.tag)
    if (!entry) list.push((entry = { tag: row.tag, files: 0, events: 0, segments: new Set(), missing: [], onDisk: new Map() }))
    entry.files++
    if (missing.has(row.full_file_path)) entry.missing.push(row.full_file_path)
    else entry.onDisk.set(row.segment, row.events)
    if (!entry.segments.has(row.segment)) entry.events += row.events
    entry.segments.add(row.segment)
  }
  return { queried: true, tags, survey }
}

type CatalogView = Awaited<ReturnType<typeof readCatalogView>>

const optional = <T>(path: string, read: (path: string) => Promise<T>, none: T): Promise<T> => stat(path).then(() => read(path), () => none)

/** Why the kept tag won, under the rule set's tag rule, with the times it compared. */
function keptBecause(tags: readonly string[], kept: string | null, run: number, catalog: CatalogView, rules: RuleSet): string {
  if (!kept) return ''
  if (tags.length <= 1) return `${kept}: the only tag`
  const time = (tag: string) =>
    rules.tagRule === 'earliest-file' ? catalog.survey.tagMinTime.get(tag) : catalog.survey.runTagMaxTime.get(`${run}/${tag}`)
  const what = rules.tagRule === 'earliest-file'
    ? 'the tag whose earliest file (of any run) is the latest'
    : 'the tag whose newest file of this run is the latest'
  const compared = [...tags].sort().map((tag) => `${tag} ${time(tag) ?? '?'}`).join(', ')
  return `${kept}: rule ${rules.tagRule} keeps ${what} (ties to the tag that sorts last): ${compared}`
}

/**
 * lib/why/live.ts, loaded for --live only (the catalog's and the CDB's clients, which the report never asks). A stage
 * started as the Taskfile starts it (tasks/start.cjs) runs as CommonJS under tsx's require hooks: there, only require
 * finds live.ts by its .js name, and import() goes to node's own loader, which does not ('Cannot find module'). Under
 * tsx's ES-module hooks (npx tsx, the tests) there is no require, and import() is theirs: one copy of each module
 * either way.
 */
const loadLive = (): Promise<typeof import('./live.js')> =>
  typeof require === 'function' ? Promise.resolve(require('./live.js') as typeof import('./live.js')) : import('./live.js')

/**
 * The stories of `options.runs`, in their order, each as `as` makes it of its RunStory (the report keeps only its
 * lines: 12,000 stories whole are 25 MB more at its peak). Throws InputError for a malformed file, as the stages do.
 */
export async function tellStories<T = RunStory>(
  options: WhyOptions,
  env: Env,
  as: (story: RunStory) => T = (story) => story as T,
): Promise<T[]> {
  const { output, runType, rules } = options
  const asked = new Set(options.runs)
  const missingPaths = options.lists?.missing ?? await readMissingPaths(layout.missingCsv(output, runType))
  const [catalog, runList, settled, process, ledger, uploads] = await Promise.all([
    readCatalogView(output, asked, missingPaths),
    options.lists?.runList ?? optional(layout.runListCsv(output, runType), readRunList, []),
    options.lists?.settled ?? readSettled(layout.settledCsv(output, runType)).then((rows) => new Map(rows.map((r) => [r.runnumber, r]))),
    options.lists?.process ?? optional(layout.processCsv(output, runType), readProcessList, []),
    options.ledgers ? { rows: options.ledgers.ledger } : readLedger(layout.ledgerCsv(output)),
    options.ledgers ? { rows: options.ledgers.uploads } : readLatestUploads(layout.uploadsCsv(output), (row) => asked.has(row.runnumber)).then((rows) => ({ rows })),
  ])
  // After uploads.csv: an upload running now wrote every row of it since its lock (read first, it might start between).
  const uploading = await uploadInFlight(output)
  // By run once, so the stories of all the runs to process (the report's) cost one pass over each file.
  const keptTags = new Map(runList.map((r) => [r.runnumber, r.tag]))
  const processed = new Map(process.map((r) => [`${r.runnumber}_${r.tag}`, r]))
  const rowsOf = byRunTag(ledger.rows.filter((row) => asked.has(row.runnumber)), (row) => `${row.runnumber}_${row.tag}`)
  // As status reads it: an upload the last check still found missing is no upload awaiting that check.
  const lastNight = await readLastNight(output).catch(() => undefined)
  const checkedAt = lastCheck(lastNight)
  // When the CDB was last asked: the check that last succeeded. The process list's mtime is only when its content last
  // changed (a check that finds the same runs leaves the file alone), so it is the fallback for a record without one.
  const checked = checkedAt ?? await stat(layout.processCsv(output, runType)).then((s) => s.mtime.toISOString(), () => undefined)
  const checkFailed = lastNight?.stages.check && lastNight.stages.check.code !== 0
    ? `; the check of ${lastNight.stages.check.at} failed (exit ${lastNight.stages.check.code}), so this is from an earlier one` : ''
  const keptRuns = options.runs.map((run) => ({ runnumber: run, tag: keptTags.get(run)! })).filter((run) => run.tag)
  // The scheduler is asked only about runs the ledger says were submitted: each tag of them, kept or not (a run
  // that left the selection, or whose kept tag changed, may still have a job of another tag).
  const ledgerRuns = ledger.rows.filter((row) => asked.has(row.runnumber))
  const submitted = [...new Map(ledgerRuns.map(({ runnumber, tag }) => [`${runnumber}_${tag}`, { runnumber, tag }])).values()]
  // Each run's rows of every tag, and the tag of its latest row: the job to tell when the kept tag has none.
  const runRows = byRunTag(ledgerRuns, (row) => String(row.runnumber))
  let states: RunState[] = []
  // Rows settling submissions a submit left `submitting`, as status reads them (never written here).
  let reconciled: readonly LedgerRow[] = []
  let schedulerSilent: string | undefined
  // A submit running now: its own `submitting` rows are being decided, not a stopped submit's.
  let inFlight = await submitInFlight(output)
  const known = options.scheduler
  if (submitted.length && typeof known === 'string') schedulerSilent = known
  else if (submitted.length && typeof known === 'object') {
    const { jobs, unanswered } = known
    reconciled = known.reconciled ?? reconcile(ledger.rows, jobs, new Date().toISOString(), { inFlight, unanswered })
    // The states the report worked out already are not worked out again: only those of the other tags.
    const worked = known.states ?? new Map<string, RunState>()
    const rest = submitted.filter(({ runnumber, tag }) => !worked.has(runTagKey(runnumber, tag)))
    const more = rest.length ? runStates(rest, [...ledger.rows, ...reconciled], jobs, { unanswered, inFlight }) : []
    const found = new Map(more.map((state) => [runTagKey(state.runnumber, state.tag), state]))
    const before = submitted.map(({ runnumber, tag }) => worked.get(runTagKey(runnumber, tag)) ?? found.get(runTagKey(runnumber, tag))!)
    // A job no schedd knows any more that wrote its folder is done, as currentStates says for status and why.
    states = await settleUnknown(output, before, options.folders)
  } else if (submitted.length) {
    try {
      const current = await currentStates(output, submitted, { env, timeout: options.timeout })
      states = current.states
      reconciled = current.reconciled
      inFlight = current.inFlight
    } catch (err) {
      if (!(err instanceof CaloprodError)) throw err
      schedulerSilent = err.message
    }
  }
  const { first, last } = runRange(runType, rules.runTypes)
  // The catalog's and the CDB's clients (pg, the HTTP client) load only for --live: the report never asks them.
  const live = options.live ? await (await loadLive()).askNow(options, env, keptRuns) : undefined
  // Already the latest row of each payload (readLatestUploads, or the report's read of it).
  const uploadsOf = byRunTag(uploads.rows, (row) => `${row.runnumber}_${row.tag}`)
  const statesOf = new Map(states.map((state) => [`${state.runnumber}_${state.tag}`, state]))
  const reconciledOf = new Map(reconciled.map((row) => [`${row.submission}\0${row.runnumber}_${row.tag}`, row]))

  const tell = async (run: number): Promise<RunStory> => {
    const tagFiles = live?.tags.get(run) ?? catalog.tags.get(run) ?? []
    const keptTag = keptTags.get(run) ?? null
    const key = `${run}_${keptTag}`
    const kept = catalog.tags.get(run)?.find((t) => t.tag === keptTag)
    const settledRow = settled.get(run)?.tag === keptTag ? settled.get(run) : undefined
    const reasons = processed.get(key)
    const toProcess = reasons !== undefined
    const cdb: RunStory['cdb'] = {}
    let cdbNote = 'not asked: reduce has not kept the run'
    if (settledRow) {
      for (const type of settledRow.payload_types.split(' ')) cdb[type as PayloadType] = 'current'
      cdbNote = `settled: all current for ${keptTag} when asked at ${settledRow.checked_at}`
    } else if (reasons && reasons.missing.length + reasons.outdated.length > 0) {
      // The check's reasons for this run (process list's missing and outdated columns): which type, not just counts.
      for (const type of reasons.missing) cdb[type as PayloadType] = 'missing'
      for (const type of reasons.outdated) cdb[type as PayloadType] = 'outdated'
      cdbNote = `by the check of ${checked ?? '?'} (the process list's missing and outdated columns)${checkFailed}`
    } else if (toProcess) {
      cdbNote = `a payload of ${rules.payloadTypes.join(', ')} is missing or outdated, by the check of ${checked ?? '?'} ` +
        `(which records only counts per type, not which)${checkFailed}`
    } else if (keptTag) cdbNote = `not asked yet: the check stage has not run since reduce kept ${keptTag}`
    const now = live?.cdb.get(run)
    if (now) {
      for (const [type, answer] of now) cdb[type] = answer
      cdbNote = `${live!.cdbNote}${settledRow ? `; ${cdbNote}` : ''}`
    } else if (live && !live.cdbAsked && keptTag) {
      // --live without a nopayloaddb: the stages' record, and that the CDB was not asked now (docs/why.md).
      cdbNote = `${cdbNote}; ${live.cdbNote}`
    }
    const list = keptTag ? layout.listFile(output, run, keptTag) : undefined
    const listed = list ? (await readFile(list, 'utf8').catch(() => '')).split('\n').filter(Boolean) : []
    const rows = rowsOf.get(key) ?? []
    const allRows = runRows.get(String(run)) ?? []
    const jobTag = rows.length ? keptTag : (allRows.at(-1)?.tag ?? keptTag)
    // A `submitting` row followed by its `submitted` one is the same event; one left alone is a submit stopped
    // before it recorded what condor_submit did: shown as it is, with what the scheduler says of it now.
    const lastOf = new Map(allRows.map((row) => [`${row.submission}\0${row.tag}`, row]))
    const submissions = allRows.filter((row) => row.state !== 'submitting' || lastOf.get(`${row.submission}\0${row.tag}`) === row).map((row) => {
      const settled = row.state === 'submitting' ? reconciledOf.get(`${row.submission}\0${run}_${row.tag}`) : undefined
      const detail = row.state !== 'submitting' ? row.detail
        : writtenInFlight(row, inFlight) ? [row.detail, `being submitted now, by ${inFlight!.by}`].filter(Boolean).join('; ')
        : [row.detail, 'not confirmed: the submit stopped before recording it submitted', settled?.detail ?? 'unsettled until the scheduler answers']
            .filter(Boolean).join('; ')
      return {
        time: row.time, tag: row.tag, cluster: row.cluster ?? settled?.cluster ?? null, attempt: row.attempt, state: row.state, memoryMb: row.memoryMb ?? null, detail,
      }
    })
    const state = statesOf.get(key)
    const jobState = statesOf.get(`${run}_${jobTag}`)
    const job = jobState
      ? {
          tag: jobState.tag, state: jobState.state, detail: jobState.detail, holdReason: jobState.job?.holdReason ?? null, holdCode: jobState.job?.holdCode ?? null,
          exitCode: jobState.job?.exitCode ?? null, memoryMb: jobState.job?.requestMemory ?? null,
        }
      : allRows.length && schedulerSilent
        ? { tag: jobTag, state: 'unknown', detail: schedulerSilent, holdReason: null, holdCode: null, exitCode: null, memoryMb: null }
        : null
    const absent = !keptTag || !rows.length ? rules.payloadTypes
      : options.folders?.folder(run, keptTag)?.absent ?? await absentPayloads(output, run, keptTag, rules.payloadTypes)
    const written = rules.payloadTypes.filter((type) => !absent.includes(type))
    const payloads = written.map((type) => currentPayloadFile(type, keptTag!, run))
    const uploaded = uploadVerdict(uploadsOf.get(key) ?? [], written, checkedAt, uploading)
    const story: RunStory = {
      run, runType, rules: rules.name, inRange: run >= first && run <= last, queried: catalog.queried, inCatalog: tagFiles.length > 0,
      tags: tagFiles.map(({ tag, events, files }) => ({ tag, events, files })),
      threshold: options.minEvents ?? null,
      belowBy: live && options.minEvents !== undefined && tagFiles.length && !catalog.tags.has(run)
        ? options.minEvents + 1 - Math.max(...tagFiles.map((t) => t.events)) : null,
      live: live ? `${live.catalogNote}; ${live.cdbNote}` : null,
      selected: keptTag !== null, keptTag,
      kept: keptBecause(tagFiles.map((t) => t.tag), keptTag, run, catalog, rules),
      cdb, cdbNote, settledAt: settledRow?.checked_at ?? null, toProcess, listed,
      missingFiles: kept?.missing ?? [],
      eventsOnDisk: kept && toProcess ? [...kept.onDisk.values()].reduce((a, b) => a + b, 0) : null,
      submissions, job, payloads,
      // A row the upload running now left open is its payload under way, not an upload that stopped.
      uploads: (uploadsOf.get(key) ?? []).map((row) => {
        const { type, state, globalTag, time } = row
        const live = (state === 'uploading' || state === 'created') && uploadedInFlight(row, uploading)
        return { type, state, globalTag, time, detail: live ? [row.detail, `being uploaded now, by ${uploading!.by}`].filter(Boolean).join('; ') : row.detail }
      }),
      next: '',
    }
    const silent = rows.length ? schedulerSilent : undefined
    story.next = nextStep(story, state, { first, last, ...options, uploaded, absent, silent, job: jobState })
    return story
  }
  // STORY_READS stories at a time, in the runs' order: each reads the run's list and its job folder.
  return mapLimited(options.runs, STORY_READS, async (run) => as(await tell(run)))
}
