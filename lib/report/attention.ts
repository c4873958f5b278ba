// The runs that need a person: nothing more will happen to them without one.
import type { RunView } from './runs.js'

export interface AttentionItem {
  runnumber: number
  tag: string
  /** What is wrong, in a few words. */
  what: string
  /** What the page knows about it: the hold reason, the attempts, the missing count. */
  detail: string
}

/** Done for longer than this and still not in the CDB: nobody has put its maps in. */
export const DONE_TOO_LONG_S = 86400

/**
 * Held runs (with the reason; not one held for memory that the next submit releases with more), runs given up,
 * runs done but not in the CDB for more than a day, finished runs with
 * payload types genStatus wrote no file for, runs with missing files (k of n), runs to process without a list.
 * Newest run first; a run may appear more than once.
 */
export function needsAPerson(runs: readonly RunView[], now: Date): AttentionItem[] {
  const items: AttentionItem[] = []
  for (const run of [...runs].reverse()) {
    const base = { runnumber: run.runnumber, tag: run.tag }
    if (run.state === 'held' && !run.releasing) items.push({ ...base, what: 'held', detail: `${run.holdReason}; job ${run.lastJob}` })
    if (run.state === 'given-up') items.push({ ...base, what: 'given up', detail: run.detail })
    if (run.state === 'done' && run.lastWhen) {
      const age = (now.getTime() - Date.parse(run.lastWhen)) / 1000
      const at = `${run.lastWhen.slice(0, 16).replace('T', ' ')} UTC`
      if (age > DONE_TOO_LONG_S) {
        const detail = `job ${run.lastJob} finished at ${at}, over a day ago; its maps wait in output/${run.runnumber}_${run.tag}/`
        items.push({ ...base, what: 'done, not in the CDB', detail })
      }
    }
    if (run.absent.length) {
      const detail = `genStatus wrote no ${run.absent.join(', ')}: the CDB will lack them (empty histograms?)`
      items.push({ ...base, what: 'incomplete', detail })
    }
    if (run.toProcess && run.missing) {
      const detail = `${run.missing} of ${run.files} files missing on disk (see the missing-files list)`
      items.push({ ...base, what: 'missing files', detail })
    }
    if (run.state === 'needs-maps' && !run.hasList) {
      const detail = "no list in datasets/: too few events on disk, or lists has not run (see the lists stage's log)"
      items.push({ ...base, what: 'no list', detail })
    }
  }
  return items
}
