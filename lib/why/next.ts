// The conclusion of a run's story: what the next night does with it, and what a person can do, by the same rules the
// stages follow (the threshold, the settled cache, the lists stage's count, submit's attempts and memory releases).
import type { RunState } from '../scheduler/job-state.js'
import { decideHeld } from '../scheduler/memory-hold.js'
import { LOST_AFTER_DAYS } from '../submit.js'
import type { RunStory } from './story.js'

interface NextContext {
  /** Whether query.csv exists. */
  catalogRead: boolean
  state: RunState | undefined
  first: number
  last: number
  maxAttempts: number
  maxMemory: number
  memoryScale: number
}

/** One sentence: what happens next night, and what a person can do. */
export function nextStep(s: RunStory, ctx: NextContext): string {
  const above = s.threshold === null ? 'with files' : `with more than ${s.threshold} events`
  if (!s.inRange) return `nothing, ever: run ${s.run} is outside ${s.runType}'s range ${ctx.first}-${ctx.last}; ask with the right --run-type`
  if (!s.toProcess) {
    if (!ctx.catalogRead) return 'the query stage has not run in this output directory yet: run `task submit` (or query) first'
    if (s.belowBy !== null && s.belowBy > 0) {
      return `nothing until it has ${s.belowBy} more events in the catalog (--min-events ${s.threshold}); a person can lower --min-events`
    }
    if (!s.inCatalog) {
      return `nothing until the catalog has histogram files of it ${above} (under rule set ${s.rules}); the query asks again every night`
    }
    if (!s.selected) return 'reduce has not run since the query: the next night keeps a tag for it'
    if (s.cdbNote.startsWith('settled')) {
      return 'nothing: its payloads are current in the CDB; the check asks again once the settled entry is older than --recheck-after'
    }
    return 'the next check asks the CDB about it'
  }
  const state = ctx.state
  const submitted = state !== undefined && state.state !== 'new'
  if (!submitted && s.listed.length === 0) {
    const onDisk = s.eventsOnDisk === null ? '' : ` (${s.eventsOnDisk} events on disk)`
    return `no job until its files are back${onDisk}: the lists stage looks again every night; a person can restore ` +
      `the ${s.missingFiles.length} missing files or lower --min-events`
  }
  if (!state || state.state === 'new') return `submitted next night (attempt ${(state?.attempts ?? 0) + 1} of ${ctx.maxAttempts})`
  const dueAgain = (state.state === 'failed' && state.attempts < ctx.maxAttempts) || state.state === 'unknown'
  if (dueAgain && s.listed.length === 0) {
    return `not sent again while it has no list (${s.missingFiles.length} files missing on disk): the lists stage looks again every night`
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
      return `stays held: ${held.note.replace(/^held: .*?; /, '')}; a person: condor_release ${id} or condor_rm ${id}, then examples/resubmit.ts`
    }
    case 'failed':
      if (state.attempts < ctx.maxAttempts) return `submitted again next night (attempt ${state.attempts + 1} of ${ctx.maxAttempts})`
      return `nothing: given up after ${state.attempts} attempts (--max-attempts ${ctx.maxAttempts}); a person: read the job's log, ` +
        `then examples/resubmit.ts --run ${s.run}`
    case 'unknown':
      return `nothing for ${LOST_AFTER_DAYS} days after its submission, then submitted again if it wrote nothing to output/`
    case 'done':
      if (s.uploads.some((u) => u.state === 'uploaded')) return 'the next check finds its uploaded payloads current and settles it'
      return `its ${s.payloads.length} payload files wait in output/${s.run}_${s.keptTag}/: ` +
        'task upload -- --do-cdb-upload --global-tag TAG puts them into the CDB'
  }
}
