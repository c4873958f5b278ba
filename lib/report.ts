// The report stage: the whole run type at a glance in one self-contained <output>/report.html, from what the other
// stages wrote and what the scheduler says. Reads only; writes the page (atomically, only when it changed).
import type { Env } from './config/options.js'
import { writePartsIfChanged } from './files/atomic.js'
import { layout } from './files/layout.js'
import { gatherInputs, type ReportOptions } from './report/gather.js'
import { INLINE_STORIES, pageParts } from './report/page.js'
import { sharedLinesOnce } from './report/stories.js'
import { loadPlotLibraries } from './report/plots.js'
import { changesSince, readStateHistory, recordStates } from './report/last-night.js'
import { jobStates, needsAPerson, REPORT_STATES, runViews } from './report/runs.js'
import { SEED_RULES } from './rules/seed.js'
import { tellStories } from './why/story.js'
import { storyLines } from './why/text.js'

export type { ReportOptions } from './report/gather.js'

/**
 * Writes the page to the file `to` as it is made (a campaign night's page is never held whole, nor again as its
 * bytes), or hands it whole to `to` (--stdout). Returns its size in bytes.
 */
async function deliver(parts: Iterable<string>, to: string | ((html: string) => void)): Promise<number> {
  if (typeof to === 'string') return (await writePartsIfChanged(to, parts)).bytes
  const html = [...parts].join('')
  to(html)
  return Buffer.byteLength(html)
}

/**
 * The report stage: writes `<output>/report.html`, or the file `to` names, or hands the page to `to` (--stdout). A
 * silent scheduler is on the page, not an error. Returns the runs per state (those above zero) and the files left out.
 */
export async function runReport(
  options: ReportOptions,
  env: Env,
  now: Date = new Date(),
  to: string | ((html: string) => void) = layout.reportHtml(options.output),
) {
  // The plots' libraries (Observable Plot, d3, linkedom) load while the files are read and the scheduler asked.
  const plotLibraries = loadPlotLibraries()
  plotLibraries.catch(() => {})
  const inputs = await gatherInputs(options, env, now, { keep: to === layout.reportHtml(options.output) })
  // Each run's job state, for its row and its story alike.
  const known = jobStates(inputs)
  const runs = runViews(inputs, known)
  // What changed since the last good night, from the states earlier reports recorded.
  const since = inputs.lastNight.lastGood
  // log/run-states.csv, read once for the changes and for the states recorded after the page is written.
  const writes = to === layout.reportHtml(options.output)
  const history = since || writes ? readStateHistory(options.output) : Promise.resolve([])
  history.catch(() => {})
  const changed = since
    ? await history.then((rows) => changesSince(options.output, runs, since, rows)).catch((err: Error) => void inputs.problems.push(err.message))
    : undefined
  const toProcess = (inputs.process ?? []).map((run) => run.runnumber)
  // A campaign night's stories go as data (page.ts, INLINE_STORIES): each kept as that data holds it, as it is told.
  const shared = toProcess.length > INLINE_STORIES
  const sharedOnce = sharedLinesOnce()
  // `why`'s story of each run to process (the runs a person asks about; a current run's story is its row), its lines
  // only. A file why cannot read leaves the stories out; the page says which file, once.
  const told = toProcess.length
    ? await tellStories({
        output: options.output, runType: options.runType, rules: { ...SEED_RULES, ...options.rules }, minEvents: options.minEvents,
        runs: toProcess, maxAttempts: options.maxAttempts, maxMemory: options.maxMemory ?? 4,
        memoryScale: options.memoryScale ?? 1.5, timeout: options.timeout,
        // The job states of the page's rows, worked out from the ledger gather read: not when the stories read it again.
        scheduler: !inputs.scheduler.answered ? inputs.scheduler.error
          : inputs.problems.length === 0 ? { ...inputs.scheduler, reconciled: known.reconciled, states: known.states } : inputs.scheduler,
        // Read once: a year of uploads.csv is a hundred MB, a campaign's process list 12,000 rows. A file gather could
        // not read is read again by the stories, whose error the page names as before.
        ledgers: inputs.problems.length === 0 ? { ledger: inputs.ledger, uploads: inputs.uploads } : undefined,
        lists: inputs.problems.length === 0
          ? { runList: inputs.runList ?? [], process: inputs.process ?? [], settled: inputs.settled, missing: inputs.missing }
          : undefined,
        // The job folders of the runs to process, read once: the stories tell from gather's reads.
        folders: inputs.folders,
      }, env, (story): [number, string[]] => {
        const lines = storyLines(story)
        return [story.run, shared ? sharedOnce(story.run, lines) : lines]
      }).catch((err: Error) => {
        if (!inputs.problems.includes(err.message)) inputs.problems.push(err.message)
        return []
      })
    : []
  const stories = new Map(told)
  const attention = needsAPerson(runs, inputs.now)
  await plotLibraries
  const changes = since && changed ? { since, runs: changed } : undefined
  const page = pageParts(inputs, { runs, attention, changes, stories, shared, ledger: known.ledger })
  const path = typeof to === 'string' ? to : 'stdout'
  const bytes = await deliver(page, to)
  // Only a report that writes into the output directory records the states (a read-only look writes nothing there).
  if (writes) await recordStates(options.output, runs, now, await history)
  const counts = REPORT_STATES
    .map((state) => [state.label, runs.filter((run) => run.state === state.name).length] as [string, number])
    .filter(([, n]) => n > 0)
  return {
    path, runs: runs.length, counts, attention: attention.length, schedulerAnswered: inputs.scheduler.answered,
    bytes, problems: inputs.problems,
  }
}
