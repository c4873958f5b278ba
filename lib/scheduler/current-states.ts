// The state of some runs now, as the submit, status and upload stages need it: the ledger, the scheduler (this
// host's schedd, and each other schedd the ledger says took one of these runs' latest clusters), the interrupted
// submissions settled, and, for a job no schedd knows any more, whether it wrote its folder in output/.
import { join } from 'node:path'
import type { Env } from '../config/options.js'
import { runTagKey } from '../files/dataset-list.js'
import { frozenAt } from '../condor/freeze.js'
import { FOLDER_READS, folderFiles, newestOf, type FoldersRead } from '../files/folder-files.js'
import { layout } from '../files/layout.js'
import { readLedger, type LedgerRow } from '../files/ledger.js'
import { submitInFlight } from '../lock.js'
import { mapLimited } from '../pool.js'
import { hasUnsettled, reconcile, runStates, scheddsToAsk, writtenSince, writtenSinceRead, type RunState } from './job-state.js'
import { schedulerJobs } from './scheduler.js'

/** `timeout`: seconds one scheduler call may take; `settle`: which interrupted submissions to settle (default all). */
type CurrentStatesOptions = { env: Env; timeout: number; now?: Date; settle?: (row: LedgerRow) => boolean }

/**
 * The state of each of `runs` now. Asks the scheduler unless there is nothing to decide or settle (then a schedd
 * outage is no failure). `reconciled`: rows settling interrupted submissions (only a stage that acts appends them).
 */
export async function currentStates(
  output: string, runs: readonly { runnumber: number; tag: string }[], options: CurrentStatesOptions,
) {
  const ledger = await readLedger(layout.ledgerCsv(output))
  const unanswered = new Map<string, string>()
  const ask = runs.length > 0 || hasUnsettled(ledger.rows)
  const schedds = scheddsToAsk(ledger.rows, runs)
  const jobs = ask ? await schedulerJobs(output, { env: options.env, timeout: options.timeout, schedds, unanswered }) : []
  const now = (options.now ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z')
  // A submit running now (status or why asked meanwhile) is deciding its own rows: they are not a stopped submit's.
  const inFlight = await submitInFlight(output)
  const reconciled = reconcile(ledger.rows, jobs, now, { inFlight, unanswered }).filter(options.settle ?? (() => true))
  const states = await settleUnknown(output, runStates(runs, [...ledger.rows, ...reconciled], jobs, { unanswered, inFlight }))
  return { states, reconciled, jobs, unanswered, inFlight, tornTail: ledger.tornTail }
}

/**
 * `states`, each unknown one done when its job folder got files after its submission (`writtenSince`). FOLDER_READS
 * folders at a time: a campaign's 12,000 jobs gone from the scheduler's history at once cost the report 80 MB. A
 * folder in `read` (the report's, read by its gather step) is not read again.
 */
export function settleUnknown(output: string, states: readonly RunState[], read?: FoldersRead): Promise<RunState[]> {
  return mapLimited(states, FOLDER_READS, async (state) => {
    if (state.state !== 'unknown') return state
    const settled = read && writtenSinceRead(state, read)
    if (settled) return settled
    const written = newestOf(await folderFiles(join(layout.jobOutputDir(output), runTagKey(state.runnumber, state.tag))))
    return writtenSince(state, written, state.submission === undefined ? undefined : await frozenAt(output, state.submission))
  })
}
