// The status command: per run of the process list, what became of it, from the ledger and the scheduler.
import { readdir } from 'node:fs/promises'
import type { Env } from './config/options.js'
import { byRunTag, type RunState, type RunStateName } from './scheduler/job-state.js'
import { currentStates } from './scheduler/current-states.js'
import { MEMORY_HOLD } from './scheduler/scheduler.js'
import { runTagKey } from './files/dataset-list.js'
import { readProcessList } from './files/process-list.js'
import { layout } from './files/layout.js'
import type { PayloadType } from './config/calibrations.js'
import { latestUploads, readUploads, type UploadRow } from './upload/ledger.js'
import { absentPayloads } from './upload/payload-files.js'

export interface StatusOptions {
  output: string
  runType: string
  maxAttempts: number
  timeout: number
  /** The rule set's payload types: a done run lacking a file of one is incomplete. */
  rules: { payloadTypes: readonly PayloadType[] }
  /** One JSON object per run instead of the lines. */
  json?: boolean
}

/** A run's state as `status --json` prints it: the text's state and detail, and the job's numbers. */
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
export type StatusStateName = RunStateName | 'uploaded'

const ORDER: readonly StatusStateName[] = ['new', 'queued', 'running', 'held', 'unknown', 'done', 'uploaded', 'failed']

/** A run's state and, for a done run, what the upload ledger says: `uploaded` (in the CDB, awaiting the next check). */
export type StatusState = Omit<RunState, 'state'> & { state: StatusStateName }

async function uploadedState(
  state: RunState,
  uploaded: ReadonlyMap<string, UploadRow[]>,
  output: string,
  types: readonly PayloadType[],
): Promise<StatusState> {
  if (state.state !== 'done') return state
  const mine = uploaded.get(runTagKey(state.runnumber, state.tag)) ?? []
  // Incomplete: genStatus wrote no payload for a type (its histogram was empty), so the CDB will still lack it.
  const absent = await absentPayloads(output, state.runnumber, state.tag, types)
  const gap = absent.length ? `; incomplete: genStatus wrote no ${absent.join(', ')}` : ''
  if (mine.length === 0) return { ...state, detail: `${state.detail}${gap}` }
  const tags = [...new Set(mine.map((r) => r.globalTag))].join(', ')
  const count = `${mine.length} payload${mine.length === 1 ? '' : 's'}`
  return { ...state, state: 'uploaded', detail: `${count} uploaded to the CDB (${tags}), awaiting the next check${gap}; ${state.detail}` }
}

/** What to know about a run's state: hold reason, attempts made of the most (given up), a missing list. */
export function describeState(state: StatusState, hasList: boolean, maxAttempts: number): string {
  let detail = state.detail
  if (state.state === 'failed') {
    detail = `${state.attempts} of ${maxAttempts} attempts${state.attempts >= maxAttempts ? ', given up' : ''}; ${detail}`
  }
  if (state.state === 'held' && state.job?.holdCode === MEMORY_HOLD && state.job.requestMemory) {
    detail = `${detail} (${state.job.requestMemory} MB asked; attempt ${state.attempts} of ${maxAttempts})`
  }
  if (state.state === 'new' && !hasList) detail = `no list in datasets/ (see the lists stage's log); ${detail}`
  return detail
}

/** A run's object for `status --json`. */
export function statusRecord(state: StatusState, hasList: boolean, maxAttempts: number): StatusRecord {
  return {
    runnumber: state.runnumber,
    tag: state.tag,
    state: state.state,
    detail: describeState(state, hasList, maxAttempts),
    attempts: state.attempts,
    cluster: state.job?.cluster ?? state.cluster ?? null,
    proc: state.job?.proc ?? null,
    hold_reason: state.state === 'held' ? (state.job?.holdReason ?? null) : null,
    memory_mb: state.job?.requestMemory ?? null,
  }
}

/** A JSON array with one object per line, so it reads in a terminal and greps like the text. */
function jsonLines(records: readonly StatusRecord[]): string[] {
  if (records.length === 0) return ['[]']
  return ['[', ...records.map((record, i) => `${JSON.stringify(record)}${i < records.length - 1 ? ',' : ''}`), ']']
}

/**
 * The state of each run of `<runtype>-process.csv`: new, queued, running, held (with the hold reason), unknown (no
 * schedd knows its job), done or failed (with attempts), one object per run. Reads only; an interrupted submission
 * is shown as reconciliation would settle it.
 */
export async function statusRecords(options: StatusOptions, env: Env): Promise<StatusRecord[]> {
  const entries = await readProcessList(layout.processCsv(options.output, options.runType))
  const lists = new Set(await readdir(layout.datasetsDir(options.output)).catch(() => [] as string[]))
  const { states: current } = await currentStates(options.output, entries, { env, timeout: options.timeout })
  const uploads = (await readUploads(layout.uploadsCsv(options.output))).rows
  const latest = [...latestUploads(uploads).values()].filter((r) => r.state === 'uploaded')
  const uploaded = byRunTag(latest, (r) => runTagKey(r.runnumber, r.tag))
  const states = await Promise.all(current.map((state) => uploadedState(state, uploaded, options.output, options.rules.payloadTypes)))
  const hasList = (state: StatusState) => lists.has(`${runTagKey(state.runnumber, state.tag)}.list`)
  return states.map((state) => statusRecord(state, hasList(state), options.maxAttempts))
}

/** The status stage's output: a line per run (run, tag, state: detail) and a count per state; with `json`, the JSON array. */
export async function runStatus(options: StatusOptions, env: Env): Promise<string[]> {
  const records = await statusRecords(options, env)
  if (options.json) return jsonLines(records)
  const counts = ORDER.map((name) => [name, records.filter((r) => r.state === name).length] as const)
    .filter(([, count]) => count > 0)
    .map(([name, count]) => `${count} ${name}`)
  const lines = records.map((r) => `${r.runnumber} ${r.tag} ${r.state}: ${r.detail}`)
  return [...lines, `status: ${records.length} runs${counts.length ? `: ${counts.join(', ')}` : ''}`]
}
