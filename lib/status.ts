// The status command: per run of the process list, what became of it, from the ledger and the scheduler.
import { readdir } from 'node:fs/promises'
import type { Env } from './config/options.js'
import { reconcile, runState, type RunState, type RunStateName } from './scheduler/job-state.js'
import { runTagKey } from './files/dataset-list.js'
import { readProcessList } from './files/process-list.js'
import { schedulerJobs } from './scheduler/scheduler.js'
import { layout } from './files/layout.js'
import { readLedger } from './files/ledger.js'

export interface StatusOptions {
  output: string
  runType: string
  maxAttempts: number
  timeout: number
}

const ORDER: readonly RunStateName[] = ['new', 'queued', 'running', 'held', 'done', 'failed']

/** A run's line: run, tag, state, and what to know about it (hold reason, attempts, missing list). */
function line(state: RunState, hasList: boolean, maxAttempts: number): string {
  let detail = state.detail
  if (state.state === 'failed') detail = `${state.attempts} of ${maxAttempts} attempts${state.attempts >= maxAttempts ? ', given up' : ''}; ${detail}`
  if (state.state === 'new' && !hasList) detail = `no list in datasets/ (see the lists stage's log); ${detail}`
  return `${state.runnumber} ${state.tag} ${state.state}: ${detail}`
}

/**
 * The state of each run of `<runtype>-process.csv`: new, queued, running, held (with the hold reason), done or
 * failed (with attempts). Reads only; an interrupted submission is shown as reconciliation would settle it.
 * Returns the lines and a summary line.
 */
export async function runStatus(options: StatusOptions, env: Env): Promise<string[]> {
  const entries = await readProcessList(layout.processCsv(options.output, options.runType))
  const lists = new Set(await readdir(layout.datasetsDir(options.output)).catch(() => [] as string[]))
  const ledger = await readLedger(layout.ledgerCsv(options.output))
  const jobs = await schedulerJobs(options.output, { env, timeout: options.timeout })
  const rows = [...ledger.rows, ...reconcile(ledger.rows, jobs, new Date().toISOString())]
  const states = entries.map((entry) => runState(entry.runnumber, entry.tag, rows, jobs))
  const lines = states.map((state) => line(state, lists.has(`${runTagKey(state.runnumber, state.tag)}.list`), options.maxAttempts))
  const counts = ORDER.map((name) => [name, states.filter((s) => s.state === name).length] as const)
    .filter(([, count]) => count > 0)
    .map(([name, count]) => `${count} ${name}`)
  return [...lines, `status: ${states.length} runs${counts.length ? `: ${counts.join(', ')}` : ''}`]
}
