// The status command: per run of the process list, what became of it, from the ledger and the scheduler.
import { readdir } from 'node:fs/promises'
import type { Env } from './config/options.js'
import { reconcile, runState, type RunState, type RunStateName } from './condor/job-state.js'
import { runTagKey } from './condor/jobs-list.js'
import { readProcessList } from './condor/process-list.js'
import { schedulerJobs } from './condor/scheduler.js'
import { layout } from './files/layout.js'
import { readLedger } from './ledger.js'

export interface StatusOptions {
  output: string
  runType: string
  maxAttempts: number
  timeout: number
  /** One JSON object per run instead of the lines. */
  json?: boolean
}

/** A run's state as `status --json` prints it: the text's state and detail, and the job's numbers. */
export interface StatusRecord {
  runnumber: number
  tag: string
  state: RunStateName
  detail: string
  attempts: number
  cluster: number | null
  proc: number | null
  hold_reason: string | null
}

const ORDER: readonly RunStateName[] = ['new', 'queued', 'running', 'held', 'done', 'failed']

/** What to know about a run's state: hold reason, attempts made of the most (given up), a missing list. */
export function describeState(state: RunState, hasList: boolean, maxAttempts: number): string {
  let detail = state.detail
  if (state.state === 'failed') detail = `${state.attempts} of ${maxAttempts} attempts${state.attempts >= maxAttempts ? ', given up' : ''}; ${detail}`
  if (state.state === 'new' && !hasList) detail = `no list in datasets/ (see the lists stage's log); ${detail}`
  return detail
}

/** A run's line: run, tag, state, and what to know about it. */
function line(state: RunState, hasList: boolean, maxAttempts: number): string {
  return `${state.runnumber} ${state.tag} ${state.state}: ${describeState(state, hasList, maxAttempts)}`
}

/** A run's object for `status --json`. */
export function statusRecord(state: RunState, hasList: boolean, maxAttempts: number): StatusRecord {
  return {
    runnumber: state.runnumber,
    tag: state.tag,
    state: state.state,
    detail: describeState(state, hasList, maxAttempts),
    attempts: state.attempts,
    cluster: state.job?.cluster ?? state.cluster ?? null,
    proc: state.job?.proc ?? null,
    hold_reason: state.state === 'held' ? (state.job?.holdReason ?? null) : null,
  }
}

/** A JSON array with one object per line, so it reads in a terminal and greps like the text. */
function jsonLines(records: readonly StatusRecord[]): string[] {
  if (records.length === 0) return ['[]']
  return ['[', ...records.map((record, i) => `${JSON.stringify(record)}${i < records.length - 1 ? ',' : ''}`), ']']
}

/**
 * The state of each run of `<runtype>-process.csv`: new, queued, running, held (with the hold reason), done or
 * failed (with attempts). Reads only; an interrupted submission is shown as reconciliation would settle it.
 * Returns the lines and a summary line; with `json`, the lines of a JSON array of StatusRecord.
 */
export async function runStatus(options: StatusOptions, env: Env): Promise<string[]> {
  const entries = await readProcessList(layout.processCsv(options.output, options.runType))
  const lists = new Set(await readdir(layout.datasetsDir(options.output)).catch(() => [] as string[]))
  const ledger = await readLedger(layout.ledgerCsv(options.output))
  const jobs = await schedulerJobs(options.output, { env, timeout: options.timeout })
  const rows = [...ledger.rows, ...reconcile(ledger.rows, jobs, new Date().toISOString())]
  const states = entries.map((entry) => runState(entry.runnumber, entry.tag, rows, jobs))
  const hasList = (state: RunState) => lists.has(`${runTagKey(state.runnumber, state.tag)}.list`)
  if (options.json) return jsonLines(states.map((state) => statusRecord(state, hasList(state), options.maxAttempts)))
  const lines = states.map((state) => line(state, hasList(state), options.maxAttempts))
  const counts = ORDER.map((name) => [name, states.filter((s) => s.state === name).length] as const)
    .filter(([, count]) => count > 0)
    .map(([name, count]) => `${count} ${name}`)
  return [...lines, `status: ${states.length} runs${counts.length ? `: ${counts.join(', ')}` : ''}`]
}
