// The runs that need a person: nothing more will happen to them without one.
import type { RunView } from './runs.js'

/** Done for longer than this and still not in the CDB: nobody has put its maps in. */
const DONE_TOO_LONG_S = 86400

/**
 * Held runs (with the reason; not one held for memory that the next submit releases with more), runs given up,
 * runs done but not in the CDB for more than a day, finished runs with payload types genStatus wrote no file for,
 * runs to process without a list (with their missing files, the usual reason). Missing files alone are routine (the
 * lists stage lists what is on disk): not here. One row per run, its reasons (what is wrong, in a few words; what the
 * page knows about it) joined; newest run first.
 */
export function needsAPerson(runs: readonly RunView[], now: Date) {
  return [...runs].reverse().flatMap((run) => {
    const reasons: [what: string, detail: string][] = []
    if (run.state === 'held' && !run.releasing) reasons.push(['held', `${run.holdReason}; job ${run.lastJob}`])
    if (run.state === 'given-up') reasons.push(['given up', run.detail])
    if (run.state === 'done' && run.lastWhen && (now.getTime() - Date.parse(run.lastWhen)) / 1000 > DONE_TOO_LONG_S) {
      const at = `${run.lastWhen.slice(0, 16).replace('T', ' ')} UTC`
      const where = `output/${run.runnumber}_${run.tag}/`
      reasons.push(['done, not in the CDB', `job ${run.lastJob} finished at ${at}, over a day ago; its maps wait in ${where}`])
    }
    if (run.absent.length) {
      reasons.push(['incomplete', `genStatus wrote no ${run.absent.join(', ')}: the CDB will lack them (empty histograms?)`])
    }
    if (run.state === 'needs-maps' && !run.hasList) {
      const missing = run.missing ? ` (${run.missing} of ${run.files} files missing on disk, see the missing-files list)` : ''
      const detail = `no list in datasets/: too few events on disk${missing}, or lists has not run (see the lists stage's log)`
      reasons.push(['no list', detail])
    }
    if (reasons.length === 0) return []
    const [what, detail] = [reasons.map((r) => r[0]).join(', '), reasons.map((r) => r[1]).join('; ')]
    return [{ runnumber: run.runnumber, tag: run.tag, what, detail }]
  })
}

export type AttentionItem = ReturnType<typeof needsAPerson>[number]
