// A run's story as a physicist reads it: one line per step, the rule that decided it, and what the next night does
// and a person can do, by the stages' own rules (threshold, settled cache, lists' count, submit's attempts, memory).
import { join } from 'node:path'
import { jobStderrFile } from '../condor/submit-file.js'
import { layout } from '../files/layout.js'
import type { PayloadType } from '../rules/calibrations.js'
import type { RunState } from '../scheduler/job-state.js'
import { decideHeld } from '../scheduler/memory-hold.js'
import { LOST_AFTER_DAYS } from '../submit.js'
import type { RunStory } from './story.js'
import { plural } from '../plural.js'

/** A path as a shell reads it: quoted only when it needs to be. */
const shellWord = (word: string) => (/^[\w./:=+-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`)

/** The lines of one story, headed by the run. */
export function storyLines(s: RunStory): string[] {
  const threshold = s.threshold === null ? 'no event threshold' : `threshold more than ${s.threshold} events`
  const lines = [`run ${s.run} (${s.runType}, rule set ${s.rules})`]
  if (!s.inRange) lines.push(`  catalog: outside ${s.runType}'s range`)
  else if (!s.queried) lines.push('  catalog: query.csv is not written yet (the query stage has not run here)')
  else if (!s.inCatalog && s.live) lines.push(`  catalog: no histogram file of it under rule set ${s.rules} (${s.live})`)
  else if (!s.inCatalog) {
    lines.push(`  catalog: not selected by the query (${threshold}): no histogram files there, or too few events; --live asks the catalog`)
  } else {
    const tags = s.tags.map((t) => `${t.tag} ${plural(t.files, 'file')} ${t.events} events`).join('; ')
    const below = s.belowBy === null ? '' : `; below the threshold: ${s.belowBy} events short, so the query leaves it out`
    lines.push(`  catalog${s.live ? ' now' : ''}: ${tags} (${threshold})${below}`)
  }
  if (s.keptTag) lines.push(`  reduce: kept ${s.kept}`)
  if (s.selected) {
    const types = Object.entries(s.cdb).map(([type, state]) => `${type} ${state}`).join(', ')
    lines.push(`  CDB: ${types ? `${types}; ` : ''}${s.cdbNote}`)
  }
  if (s.toProcess) {
    const missing = s.missingFiles.length ? `; ${plural(s.missingFiles.length, 'file')} missing on disk: ${s.missingFiles.join(' ')}` : ''
    const short = s.threshold !== null && s.eventsOnDisk !== null && s.eventsOnDisk <= s.threshold
      ? `, ${s.threshold - s.eventsOnDisk + 1} short of the threshold` : ''
    const onDisk = s.eventsOnDisk === null ? '' : ` (${s.eventsOnDisk} events on disk${short})`
    lines.push(`  lists: ${s.listed.length ? `${plural(s.listed.length, 'file')} listed` : 'no list'}${onDisk}${missing}`)
  }
  for (const sub of s.submissions) {
    const memory = sub.memoryMb === null ? '' : `, ${sub.memoryMb} MB`
    const cluster = sub.cluster === null ? '' : ` cluster ${sub.cluster}`
    const tag = sub.tag === s.keptTag ? '' : ` ${sub.tag}`
    lines.push(`  job: ${sub.time}${tag}${cluster} attempt ${sub.attempt}${memory}: ${sub.state}${sub.detail ? ` (${sub.detail})` : ''}`)
  }
  if (s.job) {
    const memory = s.job.memoryMb === null ? '' : `, ${s.job.memoryMb} MB asked`
    const code = s.job.holdCode === null ? '' : ` [HoldReasonCode ${s.job.holdCode}]`
    const tag = s.job.tag === s.keptTag || s.job.tag === null ? '' : ` (${s.job.tag})`
    lines.push(`  scheduler now${tag}: ${s.job.state}: ${s.job.detail}${code}${memory}`)
  }
  if (s.payloads.length) lines.push(`  payloads written: ${s.payloads.join(' ')}`)
  for (const u of s.uploads) lines.push(`  upload: ${u.type} ${u.state} into ${u.globalTag} at ${u.time}${u.detail ? `: ${u.detail}` : ''}`)
  lines.push(`  next: ${s.next}`)
  return lines
}

/**
 * The failed job's standard error, where genStatus.sub has condor write it: `error/` of the frozen submission directory
 * it was submitted from (lib/condor/submit-file.ts); "the job's log" when the ledger names no submission or job.
 */
function jobError(state: RunState, output: string): string {
  if (!state.submission || !state.job) return "the job's log"
  const file = join(layout.submissionsDir(output), state.submission, jobStderrFile(`${state.job.cluster}-${state.job.proc}`))
  return `the job's standard error, ${shellWord(file)}`
}

/** One sentence: what happens next night, and what a person can do. */
export function nextStep(
  s: RunStory, state: RunState | undefined,
  ctx: {
    first: number; last: number; maxAttempts: number; maxMemory: number; memoryScale: number; output: string
    /** status's verdict on the upload of the payloads genStatus wrote; `absent`: the types it wrote no file for. */
    uploaded: { uploaded: number; note: string }; absent: readonly PayloadType[]
    /** Why the scheduler could not be asked about the kept tag's submissions; `job`: the state of the job told. */
    silent?: string; job?: RunState
  },
): string {
  // The by-hand command as README gives it: the script takes the output directory and the run, no flags for them.
  const resubmit = `npx tsx examples/resubmit.ts ${shellWord(ctx.output)} ${s.run} --do-condor-submit`
  const above = s.threshold === null ? 'with files' : `with more than ${s.threshold} events`
  if (!s.inRange) return `nothing, ever: run ${s.run} is outside ${s.runType}'s range ${ctx.first}-${ctx.last}; ask with the right --run-type`
  if (!s.toProcess) return `${notToProcess(s, above)}${leftInFlight(ctx.job)}`
  // No state: the ledger has submissions of the kept tag and the scheduler could not be asked (see `job.detail`).
  if (!state && ctx.silent) {
    return 'not known while the scheduler cannot be asked: its job may be queued, running or done; submit asks it ' +
      'first and, while it cannot, fails (exit 1) and submits nothing; once it answers, this run is decided by its job'
  }
  const submitted = state !== undefined && state.state !== 'new'
  if (!submitted && s.listed.length === 0) {
    const onDisk = s.eventsOnDisk === null ? '' : ` (${s.eventsOnDisk} events on disk)`
    const files = s.missingFiles.length === 1 ? 'the missing file' : `the ${s.missingFiles.length} missing files`
    // Without a threshold (--rules current) a run has no list only with no file on disk: no --min-events to lower.
    const lower = s.threshold === null ? '' : ' or lower --min-events'
    return `no job until its files are back${onDisk}: the lists stage looks again every night; a person can restore ${files}${lower}`
  }
  if (!state || state.state === 'new') return `submitted next night (attempt ${(state?.attempts ?? 0) + 1} of ${ctx.maxAttempts})`
  const dueAgain = (state.state === 'failed' && state.attempts < ctx.maxAttempts) || state.state === 'unknown'
  if (dueAgain && s.listed.length === 0) {
    return `not sent again while it has no list (${plural(s.missingFiles.length, 'file')} missing on disk): the lists stage looks again every night`
  }
  const id = state.job ? `${state.job.cluster}.${state.job.proc}` : String(state.cluster ?? '?')
  switch (state.state) {
    case 'queued':
    case 'running':
      return `waits for its job ${id} (${state.state}); nothing to do`
    case 'held': {
      const held = decideHeld(state, {
        maxAttempts: ctx.maxAttempts, maxMemoryMb: Math.round(ctx.maxMemory * 1024), scale: ctx.memoryScale, submittedMb: undefined,
      })
      if (held.release) return `released with ${held.memoryMb} MB next night (attempt ${state.attempts + 1} of ${ctx.maxAttempts})`
      // The note without the hold's detail (outside text), which the scheduler's line shows already.
      const why = held.why ?? held.note
      if (!held.forMemory) return `stays held: ${why}; a person: condor_release ${id} or condor_rm ${id}, then ${resubmit}`
      // Released as it is, it goes over the same limit and is held again: more memory first, as submit itself does.
      return `stays held: ${why}; a person: condor_qedit ${id} RequestMemory ${held.moreMb ?? '<MB>'}, then condor_release ${id} ` +
        `(released as it is, it is held again), or condor_rm ${id}, then ${resubmit}`
    }
    case 'failed':
      if (state.attempts < ctx.maxAttempts) return `submitted again next night (attempt ${state.attempts + 1} of ${ctx.maxAttempts})`
      return `nothing: given up after ${plural(state.attempts, 'attempt')} (--max-attempts ${ctx.maxAttempts}); a person: read ${jobError(state, ctx.output)}, ` +
        `then ${resubmit}`
    case 'unknown':
      if (state.silent) return `nothing while schedd ${state.schedd} does not answer: its job may be queued or running there`
      return `nothing for ${LOST_AFTER_DAYS} days after its submission, then submitted again if it wrote nothing to output/`
    case 'done': {
      // As status tells it (uploadVerdict): every payload written in the CDB, some only, or none yet.
      const gap = ctx.absent.length
        ? `; incomplete: genStatus wrote no ${ctx.absent.join(', ')}, so the CDB will still lack them and the check keeps the run`
        : ''
      if (ctx.uploaded.uploaded) return `the next check finds its uploaded payloads current${gap || ' and settles it'}`
      if (ctx.uploaded.note) return `${ctx.uploaded.note}${gap}`
      const one = s.payloads.length === 1
      return `its ${plural(s.payloads.length, 'payload file')} wait${one ? 's' : ''} in output/${s.run}_${s.keptTag}/: ` +
        `task upload -- --do-cdb-upload --global-tag TAG puts ${one ? 'it' : 'them'} into the CDB${gap}`
    }
  }
}

/** What becomes of a run not to process (not in the process list): the stage that left it out, and why. */
function notToProcess(s: RunStory, above: string): string {
  if (!s.queried) return 'the query stage has not run in this output directory yet: run `task submit` (or query) first'
  if (s.belowBy !== null && s.belowBy > 0) {
    return `nothing until it has ${s.belowBy} more events in the catalog (--min-events ${s.threshold}); a person can lower --min-events`
  }
  if (!s.inCatalog) {
    return `nothing until the catalog has histogram files of it ${above} (under rule set ${s.rules}); the query asks again every night`
  }
  if (!s.selected) return 'reduce has not run since the query: the next night keeps a tag for it'
  if (s.settledAt !== null) {
    return 'nothing: its payloads are current in the CDB; the check asks again once the settled entry is older than --recheck-after'
  }
  return 'the next check asks the CDB about it'
}

const IN_FLIGHT = new Set(['queued', 'running', 'held'])

/** A job still in the scheduler of a run not to process (it left the selection, its tag changed, it is current). */
function leftInFlight(job: RunState | undefined): string {
  if (!job || !IN_FLIGHT.has(job.state)) return ''
  const id = job.job ? `${job.job.cluster}.${job.job.proc}` : String(job.cluster ?? '?')
  return `; its job ${id} of ${job.tag} is still ${job.state}, though the run is not to process: a person can condor_rm ${id}`
}
