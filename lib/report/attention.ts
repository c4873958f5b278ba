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
const DONE_TOO_LONG_S = 86400

/**
 * Held runs (with the reason; not one held for memory that the next submit releases with more), runs given up,
 * runs done but not in the CDB for more than a day, finished runs with payload types genStatus wrote no file for,
 * runs to process without a list (with their missing files, the usual reason). Missing files alone are routine (the
 * lists stage lists what is on disk): not here. One row per run, its reasons joined; newest run first.
 */
export function needsAPerson(runs: readonly RunView[], now: Date): AttentionItem[] {
  const items: AttentionItem[] = []
  for (const run of [...runs].reverse()) {
    const reasons: { what: string; detail: string }[] = []
    if (run.state === 'held' && !run.releasing) reasons.push({ what: 'held', detail: `${run.holdReason}; job ${run.lastJob}` })
    if (run.state === 'given-up') reasons.push({ what: 'given up', detail: run.detail })
    if (run.state === 'done' && run.lastWhen && (now.getTime() - Date.parse(run.lastWhen)) / 1000 > DONE_TOO_LONG_S) {
      const at = `${run.lastWhen.slice(0, 16).replace('T', ' ')} UTC`
      const detail = `job ${run.lastJob} finished at ${at}, over a day ago; its maps wait in output/${run.runnumber}_${run.tag}/`
      reasons.push({ what: 'done, not in the CDB', detail })
    }
    if (run.absent.length) {
      reasons.push({ what: 'incomplete', detail: `genStatus wrote no ${run.absent.join(', ')}: the CDB will lack them (empty histograms?)` })
    }
    if (run.state === 'needs-maps' && !run.hasList) {
      const missing = run.missing ? ` (${run.missing} of ${run.files} files missing on disk, see the missing-files list)` : ''
      const detail = `no list in datasets/: too few events on disk${missing}, or lists has not run (see the lists stage's log)`
      reasons.push({ what: 'no list', detail })
    }
    if (reasons.length === 0) continue
    items.push({
      runnumber: run.runnumber,
      tag: run.tag,
      what: reasons.map((r) => r.what).join(', '),
      detail: reasons.map((r) => r.detail).join('; '),
    })
  }
  return items
}
