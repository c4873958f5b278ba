// The table of every run, newest first, and the table of runs that need a person.
import type { AttentionItem } from './attention.js'
import { escapeHtml, utcMinute } from './html.js'
import type { RunView } from './runs.js'
import { STATE_BY_NAME } from './states.js'

const count = (n: number | undefined) => (n === undefined ? '' : String(n))

/** One row per run, newest run first; the state's cell carries its detail as a tooltip; a run with a story links to it. */
export function runsTable(runs: readonly RunView[], stories?: ReadonlyMap<number, unknown>): string {
  const rows = [...runs].reverse().map((run) => {
    const cells = [
      stories?.has(run.runnumber) ? `<td><a href="#run-${run.runnumber}">${run.runnumber}</a></td>` : `<td>${run.runnumber}</td>`,
      `<td>${escapeHtml(run.tag)}</td>`,
      `<td class="n">${count(run.events)}</td>`,
      `<td class="n">${count(run.files)}</td>`,
      `<td class="n">${run.missing ? run.missing : ''}</td>`,
      `<td class="state s-${run.state}" title="${escapeHtml(run.detail)}">${escapeHtml(STATE_BY_NAME.get(run.state)!.label)}</td>`,
      `<td class="n">${run.attempts || ''}</td>`,
      `<td>${run.lastJob ?? ''}</td>`,
      `<td>${utcMinute(run.lastWhen)}</td>`,
    ]
    return `<tr>${cells.join('')}</tr>`
  })
  return [
    '<table id="runs-table">',
    '<thead><tr><th>run</th><th>tag</th><th class="n">events</th><th class="n">files</th><th class="n">missing</th>' +
      '<th>state</th><th class="n">attempts</th><th>last job</th><th>when</th></tr></thead>',
    `<tbody>\n${rows.join('\n')}\n</tbody>`,
    '</table>',
  ].join('\n')
}

/** The runs that need a person, or a sentence saying there are none. */
export function attentionTable(items: readonly AttentionItem[]): string {
  if (items.length === 0) return '<p class="none">None: every run is current, on its way, or waiting for the next night.</p>'
  const rows = items.map(
    (item) =>
      `<tr><td>${item.runnumber}</td><td>${escapeHtml(item.tag)}</td>` +
      `<td class="what">${escapeHtml(item.what)}</td><td>${escapeHtml(item.detail)}</td></tr>`,
  )
  return [
    '<table id="attention-table">',
    '<thead><tr><th>run</th><th>tag</th><th>what</th><th>detail</th></tr></thead>',
    `<tbody>\n${rows.join('\n')}\n</tbody>`,
    '</table>',
  ].join('\n')
}
