// The status command: per run of the process list, what became of it, from the ledger and the scheduler.
import { readdir } from 'node:fs/promises'
import type { Env, Options } from './config/options.js'
import { byRunTag, type RunState, type RunStateName } from './scheduler/job-state.js'
import { currentStates } from './scheduler/current-states.js'
import { heldForMemory } from './scheduler/scheduler.js'
import { runTagKey } from './files/dataset-list.js'
import { readProcessList } from './files/process-list.js'
import { layout } from './files/layout.js'
import type { PayloadType } from './rules/calibrations.js'
import { readLatestUploads, refusedRow, type UploadRow } from './upload/ledger.js'
import { absentPayloads, unusablePayloads, type PayloadProblem } from './upload/payload-files.js'
import { CaloprodError } from './errors.js'
import { uploadInFlight, type StageInFlight } from './lock.js'
import { mapLimited } from './pool.js'
import { gatherInputs } from './report/gather.js'
import { runViews } from './report/runs.js'
import { badNight, changesSince, oldestRecord, readLastNight, readStateHistory, type LastNight } from './report/last-night.js'
import { plural } from './plural.js'

/** When the check stage last succeeded (log/last-night.json). */
export const lastCheck = (record: LastNight | undefined) => (record?.stages.check?.code === 0 ? record.stages.check.at : undefined)

/** `rules.payloadTypes`: a done run lacking a file of one is incomplete; `json`: one JSON object per run. */
type StatusOptions = Pick<Options, 'output' | 'runType' | 'maxAttempts' | 'timeout'> & {
  rules: { payloadTypes: readonly PayloadType[] }
  json?: boolean
}

/** A run's state as `status --json` prints it. */
export interface StatusRecord {
  runnumber: number
  tag: string
  state: StatusStateName
  detail: string
  attempts: number
  cluster: number | null
  proc: number | null
  hold_reason: string | null
  /** MB the job asks for now (RequestMemory: a release for memory raises it). */
  memory_mb: number | null
}

/** A run's state as status tells it: the scheduler's view, and `uploaded` from the upload ledger. */
type StatusStateName = RunStateName | 'uploaded'

const ORDER: readonly StatusStateName[] = ['new', 'queued', 'running', 'held', 'unknown', 'done', 'uploaded', 'failed']

/** A run's state and, for a done run, what the upload ledger says: `uploaded` (in the CDB, awaiting the next check). */
type StatusState = Omit<RunState, 'state'> & { state: StatusStateName }

/**
 * Whether an upload row was written by the upload running now (`inFlight.since`: when it took the lock; both times
 * from its own clock, to the millisecond): a payload it is putting into the CDB now, not one an upload left.
 */
export function uploadedInFlight(row: Pick<UploadRow, 'time'>, inFlight: StageInFlight | undefined): boolean {
  return inFlight !== undefined && Date.parse(row.time) >= Date.parse(inFlight.since)
}

/** Upload rows, earliest first. */
const byTime = (a: UploadRow, b: UploadRow) => (a.time < b.time ? -1 : 1)

/**
 * A done run's upload, from the latest row per payload type: uploaded only when every payload genStatus wrote is
 * in the CDB (inserted, or found there by upload: `present`) and no check since still found the run missing; else
 * why not (no note when upload has not recorded a payload of it in the CDB). `inFlight`: the upload running now: a
 * run it has written rows of and not finished is being uploaded, not unfinished. `unfinished`: a payload written
 * is not in the CDB though upload tried it (or put in the others), and no upload runs now: a person's matter.
 * `notCurrent`: every payload is in the CDB, and a check since still found the run missing or outdated: a person's
 * matter too (the global tag, or files nopayloadclient cannot read): no stage changes that by itself.
 */
export function uploadVerdict(
  latest: readonly UploadRow[], written: readonly PayloadType[], checkedAt: string | undefined, inFlight?: StageInFlight,
): { uploaded: number; note: string; unfinished: boolean; notCurrent?: true } {
  const inCdb = latest.filter((r) => r.state === 'uploaded' || r.state === 'present')
  const left = written.filter((type) => !inCdb.some((r) => r.type === type))
  if (left.length && latest.some((r) => uploadedInFlight(r, inFlight))) {
    return { uploaded: 0, note: beingUploaded(latest, inCdb, written, inFlight!), unfinished: false }
  }
  // What an upload running now may yet take up, instead of asking for another.
  const again = inFlight ? `the upload running now (${inFlight.by}) may yet take it up` : 'run upload again'
  if (inCdb.length === 0) {
    const note = unfinishedUpload(latest, inFlight ? again : `${again} once that is fixed`)
    return { uploaded: 0, note, unfinished: note !== '' && !inFlight }
  }
  const tags = [...new Set(inCdb.map((r) => r.globalTag))].join(', ')
  if (left.length) {
    // Why the rest are not in, in the CDB's words, as for an upload that put nothing in; nothing more for payloads
    // never tried or only interrupted (their rows name no refusal).
    const tried = latest.filter((r) => left.includes(r.type) && (r.state === 'failed' || r.state === 'created')).sort(byTime)
    const why = tried.length ? `; ${lastWords(tried)}` : ''
    const note = `partly uploaded: ${inCdb.length} of ${plural(written.length, 'payload')} in the CDB (${tags}), not ${left.join(', ')}: ${again}${why}`
    return { uploaded: 0, note, unfinished: !inFlight }
  }
  const last = inCdb.map((r) => r.time).sort().at(-1)!
  if (checkedAt !== undefined && checkedAt > last) {
    const note = `uploaded to the CDB (${tags}) at ${last}, but the check at ${checkedAt} still found it missing or outdated: look at the global tag`
    return { uploaded: 0, note, unfinished: false, notCurrent: true }
  }
  const present = inCdb.filter((r) => r.state === 'present').length
  const inserted = inCdb.length - present
  const payloads = (n: number) => `${n} payload${n === 1 ? '' : 's'}`
  const were = `${present === 1 ? 'was' : 'were'} current there already`
  const what = inserted === 0 ? `${payloads(present)} in the CDB (${tags}): all ${were}`
    : `${payloads(inserted)} uploaded to the CDB (${tags})${present === 0 ? '' : `, ${present} more ${were}`}`
  return { uploaded: inCdb.length, note: `${what}, awaiting the next check`, unfinished: false }
}

/**
 * A run the upload running now has written rows of, not all its payloads in the CDB yet: how far it has got, and
 * what it has had refused so far, with the latest refusal's words (the upload may come back to the run for another
 * group of types, so it is not told finished before the upload ends).
 */
function beingUploaded(latest: readonly UploadRow[], inCdb: readonly UploadRow[], written: readonly PayloadType[], inFlight: StageInFlight): string {
  const mine = latest.filter((r) => uploadedInFlight(r, inFlight))
  const tags = [...new Set(mine.map((r) => r.globalTag))].join(', ')
  const payloads = `${written.length} payload${written.length === 1 ? '' : 's'}`
  const refused = mine.filter(refusedRow).sort(byTime)
  const soFar = refused.length ? `; ${refused.length} refused so far, ${lastWords(refused)}` : ''
  return `being uploaded now into ${tags}, by ${inFlight.by}: ${inCdb.length} of ${payloads} in the CDB so far${soFar}`
}

/**
 * An upload none of whose payloads reached the CDB but that was tried: refused (`failed`), made but not attached
 * (`created`: its attach refused), or interrupted (`uploading`): said with the latest refusal's words, so it is not
 * told as a run merely done; `then`: what to do. (Rows of an upload running now are beingUploaded's.)
 */
function unfinishedUpload(latest: readonly UploadRow[], then: string): string {
  const tried = latest.filter((r) => r.state === 'failed' || r.state === 'created' || r.state === 'uploading').sort(byTime)
  if (tried.length === 0) return ''
  const tags = [...new Set(tried.map((r) => r.globalTag))].join(', ')
  const how = ([['failed', 'refused'], ['created', 'made but not attached'], ['uploading', 'interrupted']] as const)
    .map(([state, words]) => [tried.filter((r) => r.state === state).length, words] as const)
    .filter(([n]) => n > 0).map(([n, words]) => `${n} ${words}`).join(', ')
  const payloads = `${tried.length} payload${tried.length === 1 ? '' : 's'}`
  return `upload unfinished: ${payloads} not in the CDB (${tags}): ${how}; ${lastWords(tried)}; ${then}`
}

/**
 * `the last at TIME: <the CDB's words>` of the latest refusal among `tried` (time-ordered rows not in the CDB); an
 * interrupted row's detail only names the payload list: `see uploads.csv`.
 */
function lastWords(tried: readonly UploadRow[]): string {
  const last = tried.filter((r) => r.state !== 'uploading').at(-1) ?? tried.at(-1)!
  const words = last.state === 'uploading' ? 'see uploads.csv' : last.detail || 'see uploads.csv'
  return `the last at ${last.time}: ${words}`
}

async function uploadedState(
  state: RunState, uploads: ReadonlyMap<string, UploadRow[]>, output: string, types: readonly PayloadType[],
  checkedAt: string | undefined, inFlight: StageInFlight | undefined,
): Promise<StatusState> {
  if (state.state !== 'done') return state
  // Incomplete: genStatus wrote no payload for a type (its histogram was empty), so the CDB will still lack it.
  const absent = await absentPayloads(output, state.runnumber, state.tag, types)
  const written = types.filter((type) => !absent.includes(type))
  const verdict = uploadVerdict(uploads.get(runTagKey(state.runnumber, state.tag)) ?? [], written, checkedAt, inFlight)
  // A payload upload would refuse (cut off, empty, not ROOT) says so here, before an upload fails on it (by its size
  // and header: the files are not read whole); once every payload is in the CDB, the files no longer matter.
  const unusable = verdict.uploaded ? [] : await unusablePayloads(output, state.runnumber, state.tag, written)
  const gap = `${absent.length ? `; incomplete: genStatus wrote no ${absent.join(', ')}` : ''}${refusedPayloads(unusable)}`
  if (!verdict.note) return { ...state, detail: `${state.detail}${gap}` }
  return { ...state, state: verdict.uploaded ? 'uploaded' : 'done', detail: `${verdict.note}${gap}; ${state.detail}` }
}

/**
 * Finished runs whose payloads are looked at at once (each opens its folder and then up to one file per payload type,
 * all together): a campaign night's thousands at once passed the open-files limit (EMFILE), and each file past it read
 * as unreadable.
 */
const PAYLOAD_RUNS = 8

/**
 * The payloads upload would refuse, in one clause: each type with its reason, then the first one's detail (each
 * names its file and says what to do; one is enough to act on): `; upload would refuse CEMC_meanTime (truncated),
 * HCALIN_meanTime (empty): <detail>`.
 */
function refusedPayloads(unusable: readonly PayloadProblem[]): string {
  if (unusable.length === 0) return ''
  return `; upload would refuse ${unusable.map((p) => `${p.type} (${p.reason})`).join(', ')}: ${unusable[0]!.detail}`
}

/** What to know about a run's state: hold reason, attempts made of the most (given up), a missing list. */
export function describeState(state: StatusState, hasList: boolean, maxAttempts: number): string {
  let detail = state.detail
  if (state.state === 'failed') {
    detail = `${state.attempts} of ${maxAttempts} attempts${state.attempts >= maxAttempts ? ', given up' : ''}; ${detail}`
  }
  if (state.state === 'held' && heldForMemory(state.job) && state.job?.requestMemory) {
    detail = `${detail} (${state.job.requestMemory} MB asked; attempt ${state.attempts} of ${maxAttempts})`
  }
  if (state.state === 'new' && !hasList) detail = `no list in datasets/ (see the lists stage's log); ${detail}`
  return detail
}

/** last-night.json as read once by status: the record, or why it cannot be read (`record` then undefined). */
type NightRecord = { record?: LastNight; problem?: string }

const readNight = (output: string): Promise<NightRecord> =>
  readLastNight(output).then((record) => ({ record }), (err: Error) => ({ problem: err.message }))

/** A JSON array with one object per line, so it reads in a terminal and greps like the text. */
const jsonLines = (records: readonly object[]) => (records.length === 0 ? ['[]']
  : ['[', ...records.map((record, i) => `${JSON.stringify(record)}${i < records.length - 1 ? ',' : ''}`), ']'])

/**
 * The state of each run of `<runtype>-process.csv`: new, queued, running, held (with the hold reason), unknown (no
 * schedd knows its job), done or failed (with attempts). Reads only: an interrupted submission is shown as settled.
 */
export async function statusRecords(options: StatusOptions, env: Env, night?: NightRecord): Promise<StatusRecord[]> {
  const entries = await readProcessList(layout.processCsv(options.output, options.runType))
  const lists = new Set(await readdir(layout.datasetsDir(options.output)).catch(() => [] as string[]))
  const { states: current } = await currentStates(options.output, entries, { env, timeout: options.timeout })
  const shown = new Set(current.map((state) => runTagKey(state.runnumber, state.tag)))
  const uploads = await readLatestUploads(layout.uploadsCsv(options.output), (row) => shown.has(runTagKey(row.runnumber, row.tag)))
  // After the ledger: an upload running now wrote every row of it since its lock (read first, it might start between).
  const uploading = await uploadInFlight(options.output)
  // Already the latest row of each payload of the runs shown (readLatestUploads).
  const latest = byRunTag(uploads, (r) => runTagKey(r.runnumber, r.tag))
  const types = options.rules.payloadTypes
  const { record } = night ?? (await readNight(options.output))
  const checkedAt = lastCheck(record)
  const states = await mapLimited(current, PAYLOAD_RUNS, (state) => uploadedState(state, latest, options.output, types, checkedAt, uploading))
  return states.map((state): StatusRecord => {
    const { runnumber, tag, job, attempts } = state
    const detail = describeState(state, lists.has(`${runTagKey(runnumber, tag)}.list`), options.maxAttempts)
    const holdReason = state.state === 'held' ? (job?.holdReason ?? null) : null
    return {
      runnumber, tag, state: state.state, detail, attempts,
      cluster: job?.cluster ?? state.cluster ?? null, proc: job?.proc ?? null,
      hold_reason: holdReason, memory_mb: job?.requestMemory ?? null,
    }
  })
}

/**
 * The status stage's output: a line per run (run, tag, state: detail), a count per state and, after a bad night, the
 * night's line; with `json`, the JSON array alone, the night's line given to `warn` (stderr), so a script reading
 * the runs still reads an array and the person running it still sees that the night failed.
 */
export async function runStatus(options: StatusOptions, env: Env, warn: (line: string) => void = () => {}): Promise<string[]> {
  // One read of last-night.json for the uploads' verdicts and the night's line, so the two agree.
  const night = await readNight(options.output)
  const records = await statusRecords(options, env, night)
  const nightSays = nightLine(options.runType, night)
  if (options.json) {
    nightSays.forEach(warn)
    return jsonLines(records)
  }
  const counts = ORDER.map((name) => [name, records.filter((r) => r.state === name).length] as const)
    .filter(([, count]) => count > 0)
    .map(([name, count]) => `${count} ${name}`)
  const lines = records.map((r) => `${r.runnumber} ${r.tag} ${r.state}: ${r.detail}`)
  return [...lines, `status: ${plural(records.length, 'run')}${counts.length ? `: ${counts.join(', ')}` : ''}`, ...nightSays.map((line) => `status: ${line}`)]
}

/**
 * After a bad night, what report.html's banner opens with: the stage that failed, its line, since when there was no
 * good night (the runs above are the process list the check last wrote); or that the record cannot be read. Nothing
 * after a good night.
 */
function nightLine(runType: string, { record, problem }: NightRecord): string[] {
  // Unreadable: read as if there were none (no last check for the uploads' verdict), and said, as the report names it.
  if (problem) return [problem]
  const bad = record && badNight(runType, record)
  if (!bad) return []
  return [`${bad.stage} failed at ${bad.at} (exit ${bad.end.code}): ${bad.end.line}; ${bad.since} ` +
    'The runs above are those of the process list the check last wrote.']
}

/**
 * The runs whose state changed in the last `seconds`, in the report's words (new, submitted, queued, held, done,
 * uploaded, current, …), from the states the nightly report records in log/run-states.csv. Reads only. With `json`,
 * the JSON array of them, one object a line ({runnumber, tag, before, state}: `before` null where no state was
 * recorded then, the text's "new"), and no count line. A record not reaching back that far is an error in both forms
 * (exit 1), naming the oldest record, not an answer that would call every run new or say nothing changed.
 */
export async function runStatusSince(options: StatusOptions, env: Env, seconds: number, now = new Date()): Promise<string[]> {
  const inputs = await gatherInputs(options, env, now)
  if (inputs.problems.length) throw new CaloprodError(inputs.problems[0]!)
  const since = new Date(now.getTime() - seconds * 1000).toISOString()
  const history = await readStateHistory(options.output)
  const changes = await changesSince(options.output, runViews(inputs), since, history)
  // Without a record that old every run would look new, and an empty answer would say nothing changed: neither is
  // an answer, so both forms fail, naming the oldest record to ask from instead.
  if (!changes) {
    const oldest = oldestRecord(history)
    const known = oldest ? `the oldest is from ${oldest}` : 'none yet'
    throw new CaloprodError(`no record of the runs' states as old as ${since} (each night's report records them; ${known})`)
  }
  if (options.json) return jsonLines(changes.map((c) => ({ runnumber: c.runnumber, tag: c.tag, before: c.before ?? null, state: c.now })))
  const lines = changes.map((c) => `${c.runnumber} ${c.tag} ${c.before ?? 'new'} -> ${c.now}`)
  return [...lines, `status: ${plural(changes.length, 'run')} changed state since ${since}`]
}
