// Missing files per run: the runs to process whose catalogued files are not all on disk.
import * as Plot from '@observablehq/plot'
import type { RunView } from '../runs.js'
import { renderPlot, runNumber, type Figure } from './render.js'

export function missingPlot(runs: readonly RunView[]): Figure {
  const figure = {
    id: 'plot-missing',
    title: 'Missing files per run',
    caption: 'Catalogued files of the runs to process that the lists stage did not find on disk.',
    empty: 'No file of a run to process is missing.',
  }
  const missing = runs.filter((run) => run.missing)
  if (missing.length === 0) return { ...figure, markup: undefined }
  const all = runs.map((run) => run.runnumber)
  const title = (run: RunView) => `${run.runnumber} ${run.tag}: ${run.missing} of ${run.files} files missing`
  return {
    ...figure,
    markup: renderPlot({
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
    }),
  }
}
