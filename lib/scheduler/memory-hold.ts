// A job held for going over its memory (HoldReasonCode 34) is given more and released a bounded number of times,
// as sPHENIX's production system does with its memory scale factor. Edited in place, not resubmitted, it keeps its
// cluster and proc: the run never has two jobs or none, and the ledger's cluster stays the one to ask (docs/why.md).
import type { Env } from '../config/options.js'
import { appendLedger, type LedgerRow } from '../files/ledger.js'
import type { Log } from '../log.js'
import type { RunState } from './job-state.js'
import { heldForMemory, raiseMemoryAndRelease } from './scheduler.js'

/** --max-memory and --memory-scale; `submittedMb`: condor/genStatus.sub's, for a job the scheduler says none of. */
type MemoryRules = { maxAttempts: number; maxMemoryMb: number; scale: number; submittedMb: number | undefined }

/**
 * Release a held run with `memoryMb` while attempts and --max-memory allow, else leave it for a person. `forMemory`:
 * held for its memory; `moreMb`: then --memory-scale times what it has (known), what a person would give it too.
 */
export function decideHeld(
  state: RunState, rules: MemoryRules,
): { release: boolean; note: string; memoryMb?: number; forMemory: boolean; moreMb?: number } {
  const held = `held: ${state.detail}`
  const forMemory = state.state === 'held' && heldForMemory(state.job)
  if (!forMemory) return { release: false, note: `${held}; not for memory: left for a person (condor_release or condor_rm it)`, forMemory }
  const asked = state.job?.requestMemory ?? rules.submittedMb
  const moreMb = asked === undefined ? undefined : Math.ceil(asked * rules.scale)
  const person = (why: string) => ({ release: false, note: `${held}; ${why}: left for a person`, forMemory, moreMb })
  if (state.attempts >= rules.maxAttempts) return person(`gave up after ${state.attempts} attempts (--max-attempts ${rules.maxAttempts})`)
  if (!state.submission) return person('no submission of the ledger names it')
  if (asked === undefined || asked >= rules.maxMemoryMb) {
    return person(asked === undefined ? 'its memory is not known' : `it has ${asked} MB, the most --max-memory allows`)
  }
  const memoryMb = Math.min(moreMb!, rules.maxMemoryMb)
  const note = `release ${state.attempts + 1} of ${rules.maxAttempts}: held for memory with ${asked} MB; given ${memoryMb} MB`
  return { release: true, note, memoryMb, forMemory, moreMb }
}

/**
 * The ledger's `released` row first (fsynced), then condor_qedit and condor_release. Returns the runs that could
 * not be released, in words; the row stays, so a schedd that keeps refusing cannot make this go on for ever.
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
