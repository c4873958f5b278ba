// The page: one self-contained HTML file (inline CSS, inline SVG, nothing fetched), so it reads the same from
// file://, from a web server and as a mail attachment. No script runs on a night's page; on a campaign night's (more
// than INLINE_STORIES runs to process) one script of its own draws a run's story when it is opened (stories.ts), and
// everything else is there without it.
import { basename } from 'node:path'
import type { LedgerRow } from '../files/ledger.js'
import { layout } from '../files/layout.js'
import type { ReportInputs } from './gather.js'
import { badNight, type LastNight, type StateChange } from './last-night.js'
import { escapeHtml, missingPlot, nightCounts, nightsPlot, payloadsPlot, statesPlot } from './plots.js'
import { utcMinute } from './utc-minute.js'
import { visibleLine } from '../visible.js'
import { REPORT_STATES, STATE_BY_NAME, type AttentionItem, type RunView } from './runs.js'
import { STORY_SCRIPT, STORY_SCRIPT_SOURCE, storyDataParts } from './stories.js'
import { plural } from '../plural.js'

const STATE_CSS = REPORT_STATES.map((state) => `.s-${state.name}::before{background:${state.colour}}`).join('\n')

// The coloured square before a state's name and before each headline count; STATE_CSS gives its colour.
const SWATCH_CSS =
  '.state::before,ul.headline li::before' +
  '{content:"";display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:baseline}'

const CSS = `
section.story pre{white-space:pre-wrap;margin:.3em 0;padding:.4em;background:#f6f6f6}
section.story:target pre{outline:2px solid #3b6fb6}
:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;font-size:14px;color:#1b1b1b;background:#fff}
body{margin:0 auto;max-width:1000px;padding:16px 20px 48px}
h1{font-size:22px;margin:8px 0 2px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:14px;margin:18px 0 4px}
p{margin:4px 0}
.made{color:#555}
.banner{background:#fff3cd;border:1px solid #e0b84c;padding:8px 12px;margin:12px 0;border-radius:4px}
.banner.failed{background:#fde2e1;border-color:#d0453f}
.banner ul{margin:4px 0;padding-left:20px}
.empty{background:#f3f3f3;padding:16px;border-radius:4px;margin:16px 0}
ul.headline{list-style:none;padding:0;margin:12px 0;display:flex;flex-wrap:wrap;gap:8px}
ul.headline li{border:1px solid #ddd;border-radius:4px;padding:6px 10px;min-width:120px}
ul.headline b{display:block;font-size:20px}
${SWATCH_CSS}
${STATE_CSS}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:3px 8px;border-bottom:1px solid #eee;vertical-align:top}
th{position:sticky;top:0;background:#fafafa;border-bottom:1px solid #ccc}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
#runs-table td{white-space:nowrap}
td.what{white-space:nowrap;font-weight:600}
tbody tr:nth-child(even){background:#fbfbfb}
figure{margin:8px 0 20px}
figure.plot svg{max-width:100%;height:auto;overflow:visible}
figcaption{color:#555;font-size:12px;margin-top:2px}
.none{color:#555}
.sources{color:#555;font-size:12px}
`

/**
 * What the page may do: its inline styles (and Plot's) and, on a page whose stories are data, its own script
 * (STORY_SCRIPT, by its hash), nothing else: no other script runs, not even an inline handler, and nothing is fetched,
 * should outside text ever slip past escapeHtml (test/report/hostile-text.test.ts).
 */
export const pagePolicy = (storyScript: boolean) =>
  `default-src 'none'; ${storyScript ? `script-src ${STORY_SCRIPT_SOURCE}; ` : ''}style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'`

/**
 * Up to this many stories the page carries them as sections and runs no script, so a night's page reads whole in any
 * reader, a mail reader that runs none included. More (a campaign night's thousands) go as data its one script draws
 * when opened: as sections, 12,000 made a 14.6 MB page seconds from interactive (docs/speed.md, "A campaign night").
 */
export const INLINE_STORIES = 1000

/** A table: its head's cells and one `<tr>` per row, its parts on lines of their own unless `sep` says otherwise. */
const table = (id: string, head: string, rows: readonly string[], sep = '\n') =>
  [`<table id="${id}">`, `<thead><tr>${head}</tr></thead>`, `<tbody>\n${rows.join('\n')}\n</tbody>`, '</table>'].join(sep)

/** A part of the page: `text` and the newline after it. */
const line = (text: string) => `${text}\n`

/** Each of `lines` followed by a newline, made as it is taken. */
function* onLines(lines: Iterable<string>): Generator<string> {
  for (const text of lines) yield line(text)
}

/** `table`'s lines, each row made as it is written: the table of every run is 12,000 rows on a campaign night. */
function* tableLines(id: string, head: string, rows: Iterable<string>): Generator<string> {
  yield* [`<table id="${id}">`, `<thead><tr>${head}</tr></thead>`, '<tbody>']
  yield* rows
  yield* ['</tbody>', '</table>']
}

const label = (state: string | undefined) => (state === undefined ? 'new' : (STATE_BY_NAME.get(state as never)?.label ?? state))

const count = (n: number | undefined) => (n === undefined ? '' : String(n))

/** A run's row: the state's cell carries its detail as a tooltip; a run with a story links to it. */
const runRow = (run: RunView, stories: ReadonlyMap<number, unknown>) => [
  stories.has(run.runnumber) ? `<tr><td><a href="#run-${run.runnumber}">${run.runnumber}</a></td>` : `<tr><td>${run.runnumber}</td>`,
  `<td>${escapeHtml(run.tag)}</td>`,
  `<td class="n">${count(run.events)}</td>`,
  `<td class="n">${count(run.files)}</td>`,
  `<td class="n">${run.missing ? run.missing : ''}</td>`,
  `<td class="state s-${run.state}" title="${escapeHtml(run.detail)}">${escapeHtml(label(run.state))}</td>`,
  `<td class="n">${run.attempts || ''}</td>`,
  `<td>${escapeHtml(run.lastJob ?? '')}</td>`,
  `<td>${escapeHtml(utcMinute(run.lastWhen))}</td></tr>`,
].join('')

/** Every run's row, newest run first (from the end of `runs`: no reversed copy), each made as it is written. */
function* runRows(runs: readonly RunView[], stories: ReadonlyMap<number, unknown>): Generator<string> {
  for (let i = runs.length - 1; i >= 0; i--) yield runRow(runs[i]!, stories)
}

const RUNS_HEAD = '<th>run</th><th>tag</th><th class="n">events</th><th class="n">files</th><th class="n">missing</th>' +
  '<th>state</th><th class="n">attempts</th><th>last job</th><th>when</th>'

/** The table of every run, its lines. */
const runsTable = (runs: readonly RunView[], stories: ReadonlyMap<number, unknown>) =>
  tableLines('runs-table', RUNS_HEAD, runRows(runs, stories))

function attentionTable(items: readonly AttentionItem[]): string {
  if (items.length === 0) return '<p class="none">None: every run is current, on its way, or waiting for the next night.</p>'
  const rows = items.map((item) => `<tr><td>${item.runnumber}</td><td>${escapeHtml(item.tag)}</td>` +
    `<td class="what">${escapeHtml(item.what)}</td><td>${escapeHtml(item.detail)}</td></tr>`)
  return table('attention-table', '<th>run</th><th>tag</th><th>what</th><th>detail</th>', rows)
}

function changesSection(since: string, runs: readonly StateChange[]): string[] {
  const rows = runs.map((c) => `<tr><td>${c.runnumber}</td><td>${escapeHtml(c.tag)}</td><td>${escapeHtml(label(c.before))}</td>` +
    `<td class="state s-${c.now}">${escapeHtml(label(c.now))}</td></tr>`)
  return [
    `<h2 id="changes">Changed since the last good night, ${escapeHtml(utcMinute(since))} (${runs.length})</h2>`,
    runs.length
      ? table('changes-table', '<th>run</th><th>tag</th><th>then</th><th>now</th>', rows, '')
      : '<p class="none">No run changed state.</p>',
  ]
}

/**
 * Whether the stories go as data, drawn by the page's script: more than INLINE_STORIES of them, or `shared` (their
 * lines already as the data holds them, sharedLines).
 */
export const storiesAsData = (stories: ReadonlyMap<number, readonly string[]>, shared = false) =>
  stories.size > INLINE_STORIES || (shared && stories.size > 0)

/**
 * The stories, each a section `#run-<run>` (the run table's link): written out, or with `asData` as data and the
 * script that draws one when it is opened (stories.ts), the page's parts. `shared`: the stories' lines are as the data
 * holds them.
 */
export function* storySections(
  stories: ReadonlyMap<number, readonly string[]>,
  { asData = storiesAsData(stories), shared = false }: { asData?: boolean; shared?: boolean } = {},
): Generator<string> {
  if (stories.size === 0) return
  yield line(`<h2 id="stories">The story of each run to process (${stories.size}), as <code>task why RUN=…</code> tells it</h2>`)
  if (!asData) {
    for (const [run, lines] of stories) {
      yield line(`<section class="story" id="run-${run}"><pre>${escapeHtml(lines.map(visibleLine).join('\n'))}</pre></section>`)
    }
    return
  }
  yield* onLines([
    '<p class="none">Each opens from its run in the table above, or from a link to <code>report.html#run-&lt;run&gt;</code>; ' +
      '<a href="#every-story">open every story</a> to search them all (seconds, with thousands).</p>',
    '<noscript><p class="banner">This reader runs no script, so the stories stay closed: ' +
      '<code>task why RUN=…</code> tells each.</p></noscript>',
    '<div id="every-story"></div>',
  ])
  yield '<script type="application/json" id="story-data">'
  yield* storyDataParts(stories, shared)
  yield line('</script>')
  yield line(`<script>${STORY_SCRIPT}</script>`)
}

function headline(runs: readonly RunView[], madeAt: Date): string {
  const items = REPORT_STATES.flatMap((state) => {
    const n = runs.filter((run) => run.state === state.name).length
    return n > 0 || state.always ? [`<li class="s-${state.name}"><b>${n}</b>${escapeHtml(state.label)}</li>`] : []
  })
  return `<ul class="headline" id="headline">\n${items.join('\n')}\n</ul>\n` +
    `<p class="made">${plural(runs.length, 'run')}; made at ${utcMinute(madeAt.toISOString())}</p>`
}

/** The banner of a bad night: the stage that failed last, its line, and since when there was no good night. */
function nightBanner(runType: string, lastNight: LastNight): string[] {
  const bad = badNight(runType, lastNight)
  if (!bad) return []
  return [`<div class="banner failed" id="last-night"><p><b>${escapeHtml(bad.stage)} failed</b> at ${escapeHtml(bad.at)} ` +
    `(exit ${escapeHtml(bad.end.code)}): <span class="line">${escapeHtml(bad.end.line)}</span></p><p>${escapeHtml(bad.since)} ` +
    'The page below shows what the stages wrote before.</p></div>']
}

/** Where the numbers come from, one sentence each. */
function sources(inputs: ReportInputs, runs: readonly RunView[]): string[] {
  const { output, runType } = inputs.options
  const nights = new Set(inputs.ledger.map((row) => row.time.slice(0, 10))).size
  return [
    `${basename(layout.runListCsv(output, runType))}: ${plural(inputs.runList?.length ?? 0, 'run')}; ` +
      `${basename(layout.processCsv(output, runType))}: ${inputs.process ? plural(inputs.process.length, 'run') : 'no runs'} to process; ` +
      `${basename(layout.settledCsv(output, runType))}: ${inputs.settled.size} settled.`,
    `reduce.csv: files and events of ${plural(inputs.runFiles.size, 'run')}; ${basename(layout.missingCsv(output, runType))}: ` +
      `${plural(runs.reduce((sum, run) => sum + (run.missing ?? 0), 0), 'missing file')}; datasets/: ${plural(inputs.lists.size, 'list')}.`,
    `submissions.csv: ${plural(inputs.ledger.length, 'row')} over ${plural(nights, 'night')}; the scheduler: ` +
      (inputs.scheduler.answered
        ? `${plural(inputs.scheduler.jobs.length, 'job')} of this output directory (condor_q and condor_history).`
        : 'no answer.'),
    `${basename(layout.checkJson(output, runType))}: ` +
      `${inputs.check ? `${Object.keys(inputs.check.payload_types).length} payload types` : 'not written yet'}.`,
  ]
}

/** What the page shows beside the inputs, each worked out once (lib/report.ts). */
export interface PageView {
  runs: RunView[]
  attention: readonly AttentionItem[]
  /** The runs whose state changed since the last good night; undefined before there is a record that old. */
  changes: { since: string; runs: StateChange[] } | undefined
  /** `why`'s lines of each run to process, by run, or with `shared` as the page's data holds them (sharedLines). */
  stories: ReadonlyMap<number, readonly string[]>
  /** More than INLINE_STORIES runs to process: the stories go as data. */
  shared: boolean
  /** The ledger with its interrupted submissions settled (jobStates), as the rows' job states read it. */
  ledger: readonly LedgerRow[]
}

/**
 * The whole page in parts, each made only when the one before has been taken (pure but for the clock the inputs
 * carry): a campaign night's page is written as it is made, never held whole (writePartsIfChanged).
 */
export function* pageParts(inputs: ReportInputs, view: PageView): Generator<string> {
  const { runs, attention, changes, stories, shared } = view
  const { output, runType } = inputs.options
  const asData = storiesAsData(stories, shared)
  const title = `caloprod ${runType}`
  const madeAt = inputs.now
  const jobs = inputs.scheduler.answered ? inputs.scheduler.jobs : undefined
  yield* onLines([
    '<!doctype html>', '<html lang="en">', '<head>', '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">', `<meta http-equiv="Content-Security-Policy" content="${pagePolicy(asData)}">`,
    `<title>${escapeHtml(title)}: the run type at a glance</title>`, `<style>${CSS}</style>`, '</head>', '<body>',
    `<h1>${escapeHtml(title)}</h1>`, `<p class="made">${escapeHtml(output)}</p>`,
    ...nightBanner(runType, inputs.lastNight),
  ])
  if (inputs.problems.length) {
    const items = inputs.problems.map((p) => `<li>${escapeHtml(p)}</li>`).join('')
    yield line(
      `<div class="banner failed" id="unreadable"><p><b>Files the report could not read</b> (left out of the page below):</p>` +
        `<ul>${items}</ul></div>`,
    )
  }
  if (!inputs.scheduler.answered && inputs.scheduler.error) {
    yield line(
      `<p class="banner" id="scheduler-silent"><b>The scheduler did not answer</b>: ${escapeHtml(inputs.scheduler.error)}. ` +
        'The states below are the ledger’s view: a submitted run shows as submitted, whatever became of it since.</p>',
    )
  }
  if (!inputs.runList && !inputs.process) {
    yield* onLines([
      `<p class="empty" id="nothing-yet"><b>Nothing yet.</b> ` +
        `There is no run list (${escapeHtml(runType)}.csv) in this output directory: ` +
        'no night has run here. The first <code>task submit report</code> fills this page.</p>',
      `<p class="made">made at ${utcMinute(madeAt.toISOString())}</p>`,
    ])
  } else {
    yield* onLines([
      headline(runs, madeAt),
      `<h2 id="attention">Runs that need a person (${attention.length})</h2>`,
      attentionTable(attention),
      ...(changes ? changesSection(changes.since, changes.runs) : []),
      '<h2 id="plots">Plots</h2>',
    ])
    // Each plot drawn when it is written, so one plot's drawing passes before the next begins.
    yield line(statesPlot(runs))
    yield line(nightsPlot(nightCounts(view.ledger, jobs, runs), madeAt.toISOString().slice(0, 10)))
    yield line(missingPlot(runs))
    yield line(payloadsPlot(inputs.check, basename(layout.checkJson(output, runType))))
    yield line(`<h2 id="runs">Every run (${runs.length})</h2>`)
    yield* onLines(runsTable(runs, stories))
    yield* storySections(stories, { asData, shared })
  }
  const items = sources(inputs, runs).map((s) => `<li>${escapeHtml(s)}</li>`).join('')
  yield* onLines(['<h2>Where this comes from</h2>', `<ul class="sources">${items}</ul>`, '</body>', '</html>'])
}
