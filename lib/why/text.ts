// A run's story as a physicist reads it: one line per step, the rule that decided it, and the conclusion.
import type { RunStory } from './story.js'

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

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
    lines.push(`  job: ${sub.time}${cluster} attempt ${sub.attempt}${memory}: ${sub.state}${sub.detail ? ` (${sub.detail})` : ''}`)
  }
  if (s.job) {
    const memory = s.job.memoryMb === null ? '' : `, ${s.job.memoryMb} MB asked`
    const code = s.job.holdCode === null ? '' : ` [HoldReasonCode ${s.job.holdCode}]`
    lines.push(`  scheduler now: ${s.job.state}: ${s.job.detail}${code}${memory}`)
  }
  if (s.payloads.length) lines.push(`  payloads written: ${s.payloads.join(' ')}`)
  for (const u of s.uploads) lines.push(`  upload: ${u.type} ${u.state} into ${u.globalTag} at ${u.time}${u.detail ? `: ${u.detail}` : ''}`)
  lines.push(`  next: ${s.next}`)
  return lines
}
