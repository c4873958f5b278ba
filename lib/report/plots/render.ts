// Observable Plot rendered to SVG text at build time, with linkedom as its document: the page needs no script.
import * as Plot from '@observablehq/plot'
import { parseHTML } from 'linkedom'

/** A plot on the page: its SVG (with its legend), or a sentence saying why there is nothing to draw. */
export interface Figure {
  id: string
  title: string
  caption: string
  /** The rendered markup; undefined when there is nothing to draw. */
  markup: string | undefined
  empty: string
}

/** Width of every plot, in CSS pixels: the page's column. */
export const PLOT_WIDTH = 960

/** Renders `options` to markup: an `<svg>`, or a `<figure>` holding the legend and the `<svg>`. */
export function renderPlot(options: Plot.PlotOptions): string {
  const { document } = parseHTML('<!doctype html><html><body></body></html>')
  const plot = Plot.plot({ width: PLOT_WIDTH, style: { fontSize: '12px' }, ...options, document: document as unknown as Document })
  return plot.outerHTML
}

/** A run number as it is written (66457, never 66,457). */
export const runNumber = (n: number) => String(n)
