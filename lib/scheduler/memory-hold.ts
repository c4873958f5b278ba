// A job HTCondor held for going over its memory (HoldReasonCode 34) is given more and released, a bounded number of
// times, as sPHENIX's production system does with its memory scale factor. The job is edited in place
// (condor_qedit RequestMemory, then condor_release), not removed and submitted again: it keeps its cluster and proc,
// so no moment exists where the run has two jobs or none, and the ledger's cluster stays the one to ask about
// (docs/why.md says more).
import type { Env } from '../config/options.js'
import { appendLedger, type LedgerRow } from '../files/ledger.js'
import type { Log } from '../log.js'
import type { RunState } from './job-state.js'
import { DISK_SUBCODE, MEMORY_HOLD, raiseMemoryAndRelease } from './scheduler.js'

/** --max-memory and --memory-scale; `submittedMb`: condor/genStatus.sub's, for a job the scheduler says none of. */
type MemoryRules = { maxAttempts: number; maxMemoryMb: number; scale: number; submittedMb: number | undefined }

/** What to do with a held run: release it with `memoryMb`, or leave it for a person (`memoryMb` undefined). */
type HeldDecision = { release: boolean; note: string; memoryMb?: number }

/** Whether a held run's job is held for memory. */
const heldForMemory = (state: RunState) =>
  state.state === 'held' && state.job?.holdCode === MEMORY_HOLD && state.job.holdSubCode !== DISK_SUBCODE

/** The decision for a held run: more memory while attempts and --max-memory allow, else a person's turn. */
export function decideHeld(state: RunState, rules: MemoryRules): HeldDecision {
  const held = `held: ${state.detail}`
  if (!heldForMemory(state)) return { release: false, note: `${held}; not for memory: left for a person (condor_release or condor_rm it)` }
  const asked = state.job?.requestMemory ?? rules.submittedMb
  if (state.attempts >= rules.maxAttempts) {
    return { release: false, note: `${held}; gave up after ${state.attempts} attempts (--max-attempts ${rules.maxAttempts}): left for a person` }
  }
  if (!state.submission) return { release: false, note: `${held}; no submission of the ledger names it: left for a person` }
  if (asked === undefined || asked >= rules.maxMemoryMb) {
    const at = asked === undefined ? 'its memory is not known' : `it has ${asked} MB, the most --max-memory allows`
    return { release: false, note: `${held}; ${at}: left for a person` }
  }
  const memoryMb = Math.min(Math.ceil(asked * rules.scale), rules.maxMemoryMb)
  const note = `release ${state.attempts + 1} of ${rules.maxAttempts}: held for memory with ${asked} MB; given ${memoryMb} MB`
  return { release: true, note, memoryMb }
}

/**
 * Releases each of `held` (run state and memory) with its memory: the ledger's `released` row first (fsynced), then
 * condor_qedit and condor_release. Returns the runs that could not be released, in words (the row stays: the
 * attempt is counted, so a schedd that keeps refusing cannot make this go on for ever).
 */
export async function releaseHeld(
  held: readonly { state: RunState; memoryMb: number; note: string }[],
  ledger: string,
  ctx: { env: Env; log: Log; timeout: number; time: () => string },
): Promise<string[]> {
  const failures: string[] = []
  for (const { state, memoryMb, note } of held) {
    const job = state.job!
    const row: LedgerRow = {
      time: ctx.time(), runnumber: state.runnumber, tag: state.tag, attempt: state.attempts + 1, state: 'released',
      cluster: job.cluster, proc: job.proc, ...(job.schedd ? { schedd: job.schedd } : {}), memoryMb,
      submission: state.submission ?? '', detail: `${note}: condor_qedit RequestMemory ${memoryMb}, condor_release`,
    }
    await appendLedger(ledger, [row])
    const failed = await raiseMemoryAndRelease(job, memoryMb, { env: ctx.env, timeout: ctx.timeout })
    const run = `run ${state.runnumber} ${state.tag}`
    if (failed) {
      ctx.log.warn(`${run}: could not release job ${job.cluster}.${job.proc} with ${memoryMb} MB: ${failed}`)
      failures.push(`${run}: ${failed}`)
    } else ctx.log.info(`${run}: job ${job.cluster}.${job.proc} released with ${memoryMb} MB`)
  }
  return failures
}
