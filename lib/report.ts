// The report stage: the whole run type at a glance in one self-contained <output>/report.html, from what the other
// stages wrote and what the scheduler says. Reads only; writes the page (atomically, only when it changed).
import { basename } from 'node:path'
import type { Env } from './config/options.js'
import { writeFileIfChanged } from './files/atomic.js'
import { layout } from './files/layout.js'
import { needsAPerson } from './report/attention.js'
import { gatherInputs, type ReportInputs, type ReportOptions } from './report/gather.js'
import { nightCounts } from './report/nights.js'
import { renderPage, type PageModel } from './report/page.js'
import { changesSince, recordStates } from './report/changes.js'
import { missingPlot } from './report/plots/missing.js'
import { nightsPlot } from './report/plots/nights.js'
import { payloadsPlot } from './report/plots/payloads.js'
import { statesPlot } from './report/plots/states.js'
import { runViews, settledLedger, type RunView } from './report/runs.js'
import { REPORT_STATES } from './report/states.js'
import { SEED_RULES } from './rules/seed.js'
import { tellStories } from './why/story.js'
import { storyLines } from './why/text.js'

export type { ReportOptions } from './report/gather.js'

interface ReportResult {
  path: string
  runs: number
  /** Runs per state, in REPORT_STATES' order, those above zero. */
  counts: [string, number][]
  attention: number
  schedulerAnswered: boolean
  bytes: number
  /** Files the page had to leave out, one line each naming the file. */
  problems: string[]
}

function sources(inputs: ReportInputs, runs: readonly RunView[]): string[] {
  const { output, runType } = inputs.options
  const nights = new Set(inputs.ledger.map((row) => row.time.slice(0, 10))).size
  return [
    `${basename(layout.runListCsv(output, runType))}: ${inputs.runList?.length ?? 0} runs; ` +
      `${basename(layout.processCsv(output, runType))}: ${inputs.process?.length ?? 'no'} runs to process; ` +
      `${basename(layout.settledCsv(output, runType))}: ${inputs.settled.size} settled.`,
    `reduce.csv: files and events of ${inputs.runFiles.size} runs; ${basename(layout.missingCsv(output, runType))}: ` +
      `${runs.reduce((sum, run) => sum + (run.missing ?? 0), 0)} missing files; datasets/: ${inputs.lists.size} lists.`,
    `submissions.csv: ${inputs.ledger.length} rows over ${nights} nights; the scheduler: ` +
      (inputs.scheduler.answered
        ? `${inputs.scheduler.jobs.length} jobs of this output directory (condor_q and condor_history).`
        : 'no answer.'),
    `${basename(layout.checkJson(output, runType))}: ` +
      `${inputs.check ? `${Object.keys(inputs.check.payload_types).length} payload types` : 'not written yet'}.`,
  ]
}

/** Builds the page from gathered inputs (pure but for the clock the inputs carry): the HTML and what it shows. */
function buildReport(
  inputs: ReportInputs, runs: RunView[], changes: PageModel['changes'], stories?: ReadonlyMap<number, readonly string[]>,
): { html: string; attention: number } {
  const { output, runType } = inputs.options
  const attention = needsAPerson(runs, inputs.now)
  const jobs = inputs.scheduler.answered ? inputs.scheduler.jobs : undefined
  const html = renderPage({
    runType,
    output,
    madeAt: inputs.now,
    schedulerError: inputs.scheduler.answered ? undefined : inputs.scheduler.error,
    runs: inputs.runList || inputs.process ? runs : undefined,
    attention,
    figures: [
      statesPlot(runs),
      nightsPlot(nightCounts(settledLedger(inputs), jobs, runs), inputs.now.toISOString().slice(0, 10)),
      missingPlot(runs),
      payloadsPlot(inputs.check, basename(layout.checkJson(output, runType))),
    ],
    sources: sources(inputs, runs),
    lastNight: inputs.lastNight,
    problems: inputs.problems,
    changes,
    stories,
  })
  return { html, attention: attention.length }
}

/**
 * The report stage: gathers, builds and writes `<output>/report.html`, or the file `to` names, or hands the page to
 * `to` (report --stdout). A silent scheduler is on the page, not an error.
 */
export async function runReport(
  options: ReportOptions,
  env: Env,
  now: Date = new Date(),
  to: string | ((html: string) => void) = layout.reportHtml(options.output),
): Promise<ReportResult> {
  const inputs = await gatherInputs(options, env, now)
  const runs = runViews(inputs)
  // What changed since the last good night, from the states earlier reports recorded.
  const since = inputs.lastNight.lastGood
  const changed = since ? await changesSince(options.output, runs, since).catch((err: Error) => void inputs.problems.push(err.message)) : undefined
  const toProcess = (inputs.process ?? []).map((run) => run.runnumber)
  // `why`'s story of each run to process (the runs a person asks about; a current run's story is its row). A file
  // why cannot read leaves the stories out; the page says which file, once.
  const told = toProcess.length
    ? await tellStories({
        output: options.output, runType: options.runType, rules: { ...SEED_RULES, ...options.rules }, minEvents: options.minEvents,
        runs: toProcess, maxAttempts: options.maxAttempts, maxMemory: options.maxMemory ?? 4,
        memoryScale: options.memoryScale ?? 1.5, timeout: options.timeout,
        scheduler: inputs.scheduler.answered ? inputs.scheduler.jobs : inputs.scheduler.error,
      }, env).catch((err: Error) => {
        if (!inputs.problems.includes(err.message)) inputs.problems.push(err.message)
        return []
      })
    : []
  const stories = new Map(told.map((story) => [story.run, storyLines(story)]))
  const { html, attention } = buildReport(inputs, runs, since && changed ? { since, runs: changed } : undefined, stories)
  const path = typeof to === 'string' ? to : 'stdout'
  if (typeof to === 'string') await writeFileIfChanged(to, html)
  else to(html)
  // Only a report that writes into the output directory records the states (a read-only look writes nothing there).
  if (to === layout.reportHtml(options.output)) await recordStates(options.output, runs, now)
  const counts = REPORT_STATES
    .map((state) => [state.label, runs.filter((run) => run.state === state.name).length] as [string, number])
    .filter(([, n]) => n > 0)
  return { path, runs: runs.length, counts, attention, schedulerAnswered: inputs.scheduler.answered, bytes: Buffer.byteLength(html), problems: inputs.problems }
}
