// Every run of the run type along the run-number axis, one row per state, coloured by state.
import * as Plot from '@observablehq/plot'
import type { RunView } from '../runs.js'
import { REPORT_STATES, STATE_BY_NAME } from '../states.js'
import { renderPlot, runNumber, type Figure } from './render.js'

export function statesPlot(runs: readonly RunView[]): Figure {
  const present = REPORT_STATES.filter((state) => runs.some((run) => run.state === state.name))
  const label = (run: RunView) => STATE_BY_NAME.get(run.state)!.label
  const figure = {
    id: 'plot-states',
    title: 'Every run by state',
    caption: 'Each tick is a run of the run type, at its run number.',
    empty: 'No runs yet.',
  }
  if (runs.length === 0) return { ...figure, markup: undefined }
  return {
    ...figure,
    markup: renderPlot({
      height: 50 + 26 * present.length,
      marginLeft: 230,
      x: { label: 'run number', tickFormat: runNumber, grid: true },
      y: { label: null, domain: present.map((state) => state.label) },
      color: { domain: present.map((state) => state.label), range: present.map((state) => state.colour) },
      marks: [
        Plot.tickX(runs, {
          x: 'runnumber',
          y: label,
          stroke: label,
          strokeWidth: 2,
          // No tooltip per tick: thousands of <title>s cost the page and the build more than they help; the
          // table below has every run.
        }),
      ],
    }),
  }
}
