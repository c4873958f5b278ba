// The page's four plots: Observable Plot rendered to SVG text at build time, with linkedom as its document: the page
// needs no script. And text into HTML, times as the page writes them.
import type * as PlotTypes from '@observablehq/plot'
import { loadObservablePlot } from './plot-umd.js'
import type { CheckSummary } from '../cdb/check-summary.js'
import { JOB_STATUS, type SchedulerJob } from '../scheduler/scheduler.js'
import { runTagKey } from '../files/dataset-list.js'
import type { LedgerRow } from '../files/ledger.js'
import { missingFilesText, REPORT_STATES, STATE_BY_NAME, type ReportStateName, type RunView } from './runs.js'
import { visible } from '../visible.js'
import { plural } from '../plural.js'

/** What the plots draw with: Observable Plot, and linkedom's `parseHTML` for the document Plot renders into. */
interface PlotLibraries {
  Plot: typeof PlotTypes
  parseHTML: typeof import('linkedom/worker').parseHTML
}
let libraries: PlotLibraries | undefined
let loading: Promise<void> | undefined

/**
 * Loads the plots' libraries, once; nothing is loaded when this module is imported, so a script that imports
 * caloprod and draws no page loads none of them. The report starts it before it reads its files and waits for it
 * before drawing. linkedom comes from its one-file build (its `worker` export; the same code and output: its 150
 * modules one by one cost the report 0.3 s of CPU and 5 MB more), by import(), which node serves itself, plain
 * JavaScript: under tasks/start.cjs a require would pass its 690 KB through tsx's compiler, 11 MB more memory
 * (docs/speed.md). Then Plot and d3 (lib/report/plot-umd.ts).
 */
export function loadPlotLibraries(): Promise<void> {
  return (loading ??= import('linkedom/worker').then(({ parseHTML }) => {
    libraries = { Plot: loadObservablePlot(), parseHTML }
  }))
}

/** The plots' libraries, once loadPlotLibraries has settled. */
function drawing(): PlotLibraries {
  if (!libraries) throw new Error('the plots are drawn before their libraries have loaded: await loadPlotLibraries()')
  return libraries
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/**
 * Text for an element or a quoted attribute: its markup escaped, and its control and bidi characters shown as
 * `\u001b` (lib/visible.ts), as status and why show them: a browser draws an override as text reversed.
 */
export function escapeHtml(text: string | number): string {
  return visible(String(text)).replace(/[&<>"']/g, (c) => ESCAPES[c]!)
}

/** Width of every plot, in CSS pixels: the page's column. */
const PLOT_WIDTH = 960

/** A run number as it is written (66457, never 66,457). */
const runNumber = (n: number) => String(n)

/** A plot on the page: `options` rendered (an `<svg>`, or a legend and an `<svg>`), or, with none, the sentence `empty`. */
function figure(id: string, title: string, caption: string, empty: string, options: PlotTypes.PlotOptions | undefined): string {
  const { Plot, parseHTML } = drawing()
  const { document } = parseHTML('<!doctype html><html><body></body></html>')
  const body = options
    ? Plot.plot({ width: PLOT_WIDTH, style: { fontSize: '12px' }, ...options, document: document as unknown as Document }).outerHTML
    : `<p class="none">${escapeHtml(empty)}</p>`
  return `<figure class="plot" id="${id}">\n<h3>${escapeHtml(title)}</h3>\n${body}\n` +
    `<figcaption>${escapeHtml(caption)}</figcaption>\n</figure>`
}

/** Every run of the run type along the run-number axis, one row per state, coloured by state. */
export function statesPlot(runs: readonly RunView[]): string {
  const { Plot } = drawing()
  const present = REPORT_STATES.filter((state) => runs.some((run) => run.state === state.name))
  const label = (run: RunView) => STATE_BY_NAME.get(run.state)!.label
  return figure('plot-states', 'Every run by state', 'Each tick is a run of the run type, at its run number.', 'No runs yet.',
    runs.length === 0 ? undefined : {
      height: 50 + 26 * present.length,
      marginLeft: 230,
      x: { label: 'run number', tickFormat: runNumber, grid: true },
      y: { label: null, domain: present.map((state) => state.label) },
      color: { domain: present.map((state) => state.label), range: present.map((state) => state.colour) },
      // No tooltip per tick: thousands of <title>s cost the page and the build more than they help; the table below
      // has every run.
      marks: [Plot.tickX(runs, { x: 'runnumber', y: label, stroke: label, strokeWidth: 2 })],
    })
}

const colour = (state: ReportStateName) => STATE_BY_NAME.get(state)!.colour

/** What became of one submission of one run, with its colour (those of the run states where they agree). */
const OUTCOMES = [
  { name: 'in the CDB', colour: colour('current') },
  { name: 'done, not in the CDB', colour: colour('done') },
  { name: 'queued', colour: colour('queued') },
  { name: 'running', colour: colour('running') },
  { name: 'held', colour: colour('held') },
  { name: 'failed', colour: colour('failed') },
  { name: 'never reached the scheduler', colour: '#bababa' },
  { name: 'not known (scheduler silent)', colour: colour('submitted') },
] as const

type Outcome = (typeof OUTCOMES)[number]['name']

/** `night`: the UTC day the submission was made, YYYY-MM-DD. */
type NightCount = { night: string; outcome: Outcome; runs: number }

/** What became of a submission the scheduler took, by its job (undefined: no schedd knows it any more). */
function outcomeOf(row: LedgerRow, job: SchedulerJob | undefined, run: RunView | undefined): Outcome {
  const status = job?.status
  if (status === JOB_STATUS.idle) return 'queued'
  if (status === JOB_STATUS.held) return 'held'
  if (status === JOB_STATUS.running || status === JOB_STATUS.transferring || status === JOB_STATUS.suspended) return 'running'
  if (status !== JOB_STATUS.completed || job!.exitCode !== 0) return 'failed'
  return run?.state === 'current' && run.tag === row.tag ? 'in the CDB' : 'done, not in the CDB'
}

/**
 * Per night and outcome, the runs submitted that night. `rows` is the settled ledger; each submission counts by its
 * last row. Nights in order, outcomes in OUTCOMES' order; only counts above zero.
 */
export function nightCounts(rows: readonly LedgerRow[], jobs: readonly SchedulerJob[] | undefined, runs: readonly RunView[]): NightCount[] {
  const first = new Map<string, string>()
  const last = new Map<string, LedgerRow>()
  for (const row of rows) {
    if (!first.has(row.submission)) first.set(row.submission, row.time)
    last.set(`${row.submission}\0${row.runnumber}\0${row.tag}`, row)
  }
  const byRun = new Map(runs.map((run) => [run.runnumber, run]))
  const jobOf = new Map<string, SchedulerJob>()
  for (const job of jobs ?? []) if (!jobOf.has(`${job.cluster}\0${job.runTag}`)) jobOf.set(`${job.cluster}\0${job.runTag}`, job)
  const counts = new Map<string, NightCount>()
  for (const row of last.values()) {
    const night = first.get(row.submission)!.slice(0, 10)
    const outcome: Outcome = row.state === 'failed' || row.state === 'lost'
      ? 'never reached the scheduler'
      : !jobs || row.cluster === undefined
        ? 'not known (scheduler silent)'
        : outcomeOf(row, jobOf.get(`${row.cluster}\0${runTagKey(row.runnumber, row.tag)}`), byRun.get(row.runnumber))
    counts.set(`${night}\0${outcome}`, { night, outcome, runs: (counts.get(`${night}\0${outcome}`)?.runs ?? 0) + 1 })
  }
  const order = OUTCOMES.map((o): string => o.name)
  return [...counts.values()]
    .sort((a, b) => (a.night < b.night ? -1 : a.night > b.night ? 1 : order.indexOf(a.outcome) - order.indexOf(b.outcome)))
}

/** Every day from `first` to `last` (YYYY-MM-DD, UTC), both included. */
function days(first: string, last: string): string[] {
  const out: string[] = []
  const end = Date.parse(`${last}T00:00:00Z`)
  for (let t = Date.parse(`${first}T00:00:00Z`); t <= end; t += 86400_000) out.push(new Date(t).toISOString().slice(0, 10))
  return out
}

/**
 * Each night's submissions, stacked by what became of them: one band per day from the first night to the last (or
 * `today`), so a night without submissions shows as a gap.
 */
export function nightsPlot(counts: readonly NightCount[], today: string): string {
  const { Plot } = drawing()
  const present = OUTCOMES.filter((outcome) => counts.some((c) => c.outcome === outcome.name))
  const domain = counts.length ? days(counts[0]!.night, today > counts.at(-1)!.night ? today : counts.at(-1)!.night) : []
  // About twenty labels at most, the latest night always among them.
  const every = Math.ceil(domain.length / 20)
  return figure('plot-nights', 'Submissions per night, by what became of them',
    'Runs submitted each night (UTC day), coloured by what became of that submission.', 'Nothing submitted yet.',
    counts.length === 0 ? undefined : {
      // A bar is at most about 40 px wide: a first night is one bar, not the whole width.
      width: Math.min(PLOT_WIDTH, 140 + 48 * domain.length),
      height: 280,
      marginLeft: 50,
      x: {
        label: 'night (UTC)', domain, ticks: domain.filter((_, i) => (domain.length - 1 - i) % every === 0),
        tickFormat: (day: string) => day.slice(5), padding: 0.15,
      },
      y: { label: 'runs submitted', grid: true },
      color: { domain: present.map((o) => o.name), range: present.map((o) => o.colour), legend: true },
      marks: [
        Plot.barY(counts, {
          x: 'night', y: 'runs', fill: 'outcome', order: present.map((o) => o.name),
          title: (c: NightCount) => `${c.night}: ${c.runs} ${c.outcome}`,
        }),
        Plot.ruleY([0]),
      ],
    })
}

/** Missing files per run: the runs to process whose catalogued files are not all on disk. */
export function missingPlot(runs: readonly RunView[]): string {
  const { Plot } = drawing()
  const missing = runs.filter((run) => run.missing)
  const all = runs.map((run) => run.runnumber)
  const title = (run: RunView) => `${run.runnumber} ${run.tag}: ${missingFilesText(run)}`
  return figure('plot-missing', 'Missing files per run',
    'Catalogued files of the runs to process that the lists stage did not find on disk.', 'No file of a run to process is missing.',
    missing.length === 0 ? undefined : {
      height: 220,
      marginLeft: 50,
      x: { label: 'run number', tickFormat: runNumber, domain: [Math.min(...all), Math.max(...all)], grid: true },
      // Whole files: no tick between two counts.
      y: { label: 'files missing', grid: true, ticks: Math.min(5, Math.max(...missing.map((run) => run.missing!))) },
      marks: [
        Plot.ruleX(missing, { x: 'runnumber', y: 'missing', stroke: '#d73027', title }),
        Plot.dot(missing, { x: 'runnumber', y: 'missing', fill: '#d73027', r: 2.5, title }),
        Plot.ruleY([0]),
      ],
    })
}

const KINDS = [
  { name: 'missing', colour: '#d73027' },
  { name: 'outdated', colour: '#fdae61' },
] as const

/** Missing and outdated counts per payload type, from the check's <runtype>-check.json. */
export function payloadsPlot(check: CheckSummary | undefined, checkFile: string): string {
  const { Plot } = drawing()
  const types = Object.keys(check?.payload_types ?? {})
  const data = types.flatMap((type) => KINDS.map((kind) => ({ type, kind: kind.name, runs: check!.payload_types[type]![kind.name] })))
  return figure('plot-payloads', 'Missing and outdated payloads, by type',
    'Runs whose payload of each type is missing in the CDB, or was built from another tag, at the last check.',
    check ? 'Every payload of every run checked is current.' : `No check has written ${checkFile} yet.`,
    !data.some((d) => d.runs > 0) ? undefined : {
      height: 50 + 28 * types.length,
      marginLeft: 230,
      x: { label: 'runs', grid: true },
      y: { label: null, domain: types },
      color: { domain: KINDS.map((k) => k.name), range: KINDS.map((k) => k.colour), legend: true },
      marks: [
        Plot.barX(data, { y: 'type', x: 'runs', fill: 'kind', title: (d: (typeof data)[number]) => `${d.type}: ${plural(d.runs, 'run')} ${d.kind}` }),
        Plot.ruleX([0]),
      ],
    })
}
