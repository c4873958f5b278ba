// A job held for going over its memory (HoldReasonCode 34) is given more and released a bounded number of times,
// as sPHENIX's production system does with its memory scale factor. Edited in place, not resubmitted, it keeps its
// cluster and proc: the run never has two jobs or none, and the ledger's cluster stays the one to ask (docs/why.md).
import { chunkJobs } from '../condor/job-ids.js'
import type { Env } from '../config/options.js'
import { appendLedger, type LedgerRow } from '../files/ledger.js'
import type { Log } from '../log.js'
import type { RunState } from './job-state.js'
import { heldForMemory, releaseJobs, setRequestMemory } from './scheduler.js'
import { plural } from '../plural.js'

/** --max-memory and --memory-scale; `submittedMb`: condor/genStatus.sub's, for a job the scheduler says none of. */
type MemoryRules = { maxAttempts: number; maxMemoryMb: number; scale: number; submittedMb: number | undefined }

/**
 * Release a held run with `memoryMb` while attempts and --max-memory allow, else leave it for a person. `forMemory`:
 * held for its memory; `moreMb`: then --memory-scale times what it has (known), what a person would give it too.
 */
export function decideHeld(
  state: RunState, rules: MemoryRules,
): { release: boolean; note: string; why?: string; memoryMb?: number; forMemory: boolean; moreMb?: number } {
  const held = `held: ${state.detail}`
  const forMemory = state.state === 'held' && heldForMemory(state.job)
  // `why`: the note without the hold's detail, for a reader that shows the detail already (why's next step).
  const person = (why: string, moreMb?: number) => ({ release: false, note: `${held}; ${why}`, why, forMemory, moreMb })
  if (!forMemory) return person('not for memory: left for a person (condor_release or condor_rm it)')
  const asked = state.job?.requestMemory ?? rules.submittedMb
  const moreMb = asked === undefined ? undefined : Math.ceil(asked * rules.scale)
  const forPerson = (why: string) => person(`${why}: left for a person`, moreMb)
  if (state.attempts >= rules.maxAttempts) return forPerson(`gave up after ${plural(state.attempts, 'attempt')} (--max-attempts ${rules.maxAttempts})`)
  if (!state.submission) return forPerson('no submission of the ledger names it')
  if (asked === undefined || asked >= rules.maxMemoryMb) {
    return forPerson(asked === undefined ? 'its memory is not known' : `it has ${asked} MB, the most --max-memory allows`)
  }
  const memoryMb = Math.min(moreMb!, rules.maxMemoryMb)
  const note = `release ${state.attempts + 1} of ${rules.maxAttempts}: held for memory with ${asked} MB; given ${memoryMb} MB`
  return { release: true, note, memoryMb, forMemory, moreMb }
}

type Held = { state: RunState; memoryMb: number; note: string }

/** `held` by the schedd that queued each job and the memory it is given (one condor_qedit each), in order. */
function byScheddAndMemory(held: readonly Held[]): Held[][] {
  const groups = new Map<string, Held[]>()
  for (const one of held) {
    const key = `${one.state.job!.schedd ?? ''}\0${one.memoryMb}`
    if (!groups.has(key)) groups.set(key, [])
    groups.get(key)!.push(one)
  }
  return [...groups.values()]
}

/**
 * Releases held jobs a group at a time (one schedd, one memory): the group's `released` ledger rows in one append
 * (fsynced) first, then per chunk of jobs (lib/condor/job-ids.ts) one condor_qedit of their RequestMemory and one
 * condor_release. A chunk whose edit fails is not released (released as it is, a job is held again). Each job's
 * outcome is logged and, when it was not released, returned in words; its row stays, so a schedd that keeps refusing
 * cannot make this go on for ever. `chunkJobs`: at most that many jobs a call (tests).
 */
export async function releaseHeld(
  held: readonly Held[],
  ledger: string,
  ctx: { env: Env; log: Log; timeout: number; time: () => string; chunkJobs?: number },
): Promise<string[]> {
  const failures: string[] = []
  const options = { env: ctx.env, timeout: ctx.timeout }
  for (const group of byScheddAndMemory(held)) {
    const { memoryMb } = group[0]!
    const schedd = group[0]!.state.job!.schedd
    const time = ctx.time()
    await appendLedger(ledger, group.map(({ state, note }): LedgerRow => ({
      time, runnumber: state.runnumber, tag: state.tag, attempt: state.attempts + 1, state: 'released',
      cluster: state.job!.cluster, proc: state.job!.proc, ...(schedd ? { schedd } : {}), memoryMb,
      submission: state.submission ?? '', detail: `${note}: condor_qedit RequestMemory ${memoryMb}, condor_release`,
    })))
    const jobs = group.map(({ state }) => ({ cluster: state.job!.cluster, proc: state.job!.proc, state }))
    for (const chunk of chunkJobs(jobs, ctx.chunkJobs)) {
      const edit = await setRequestMemory(chunk, memoryMb, schedd, options)
      const outcomes = edit === undefined ? await releaseJobs(chunk, schedd, options) : chunk.map(() => edit)
      chunk.forEach(({ state, cluster, proc }, i) => {
        const run = `run ${state.runnumber} ${state.tag}`
        const failed = outcomes[i]
        if (failed === undefined) return ctx.log.info(`${run}: job ${cluster}.${proc} released with ${memoryMb} MB`)
        ctx.log.warn(`${run}: could not release job ${cluster}.${proc} with ${memoryMb} MB: ${failed}`)
        failures.push(`${run}: ${failed}`)
      })
    }
  }
  return failures
}
