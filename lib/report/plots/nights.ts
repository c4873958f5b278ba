// Each night's submissions, stacked by what became of them: one band per day from the first night to the last,
// so a night without submissions shows as a gap.
import * as Plot from '@observablehq/plot'
import { OUTCOMES, type NightCount } from '../nights.js'
import { PLOT_WIDTH, renderPlot, type Figure } from './render.js'

/** Every day from `first` to `last` (YYYY-MM-DD, UTC), both included. */
function days(first: string, last: string): string[] {
  const out: string[] = []
  const end = Date.parse(`${last}T00:00:00Z`)
  for (let t = Date.parse(`${first}T00:00:00Z`); t <= end; t += 86400_000) out.push(new Date(t).toISOString().slice(0, 10))
  return out
}

export function nightsPlot(counts: readonly NightCount[], today: string): Figure {
  const figure = {
    id: 'plot-nights',
    title: 'Submissions per night, by what became of them',
    caption: 'Runs submitted each night (UTC day), coloured by what became of that submission.',
    empty: 'Nothing submitted yet.',
  }
  if (counts.length === 0) return { ...figure, markup: undefined }
  const present = OUTCOMES.filter((outcome) => counts.some((c) => c.outcome === outcome.name))
  const domain = days(counts[0]!.night, today > counts.at(-1)!.night ? today : counts.at(-1)!.night)
  // About twenty labels at most, the latest night always among them.
  const every = Math.ceil(domain.length / 20)
  const ticks = domain.filter((_, i) => (domain.length - 1 - i) % every === 0)
  return {
    ...figure,
    markup: renderPlot({
      // A bar is at most about 40 px wide: a first night is one bar, not the whole width.
      width: Math.min(PLOT_WIDTH, 140 + 48 * domain.length),
      height: 280,
      marginLeft: 50,
      x: { label: 'night (UTC)', domain, ticks, tickFormat: (day: string) => day.slice(5), padding: 0.15 },
      y: { label: 'runs submitted', grid: true },
      color: { domain: present.map((o) => o.name), range: present.map((o) => o.colour), legend: true },
      marks: [
        Plot.barY(counts, {
          x: 'night',
          y: 'runs',
          fill: 'outcome',
          order: present.map((o) => o.name),
          title: (c: NightCount) => `${c.night}: ${c.runs} ${c.outcome}`,
        }),
        Plot.ruleY([0]),
      ],
    }),
  }
}
