// The report loads Observable Plot and d3 from their one-file builds (lib/report/plot-umd.ts): they must draw what
// the ES modules draw, mark for mark, for every kind of mark and scale the page's plots use.
import t from 'tap'
import * as PlotEsm from '@observablehq/plot'
import { parseHTML } from 'linkedom/worker'
import { loadObservablePlot, umdFile } from '../../lib/report/plot-umd.js'

const PlotUmd = loadObservablePlot()

type PlotLib = typeof PlotEsm
const runs = Array.from({ length: 40 }, (_, i) => ({
  runnumber: 66457 + i * 37, state: ['current', 'needs maps', 'queued', 'failed'][i % 4]!, missing: (i * 7) % 5,
  when: new Date(Date.UTC(2026, 10, 1 + (i % 20), 2, 15)),
}))
/** One plot of each shape the page draws (lib/report/plots.ts), built with `lib`. */
const plots: Record<string, (lib: PlotLib) => PlotEsm.PlotOptions> = {
  ticks: (lib) => ({ color: { legend: true }, marks: [lib.tickX(runs, { x: 'runnumber', y: 'state', stroke: 'state', strokeWidth: 2 })] }),
  bars: (lib) => ({
    x: { type: 'utc' }, marks: [lib.rectY(runs, lib.binX({ y: 'count' }, { x: 'when', thresholds: 'day' })), lib.ruleY([0])],
  }),
  dots: (lib) => ({
    marks: [
      lib.ruleX(runs, { x: 'runnumber', y: 'missing', stroke: '#d73027', title: (d: (typeof runs)[number]) => `run ${d.runnumber}` }),
      lib.dot(runs, { x: 'runnumber', y: 'missing', fill: '#d73027', r: 2.5 }), lib.ruleY([0]),
    ],
  }),
  horizontal: (lib) => ({ marginLeft: 100, marks: [lib.barX(runs, lib.groupY({ x: 'count' }, { y: 'state', fill: 'state' })), lib.ruleX([0])] }),
  barsByBand: (lib) => ({ marks: [lib.barY(runs.slice(0, 8), { x: 'runnumber', y: 'missing', fill: 'state' })] }),
}

const draw = (lib: PlotLib, options: PlotEsm.PlotOptions) => {
  const { document } = parseHTML('<!doctype html><html><body></body></html>')
  return lib.plot({ width: 960, style: { fontSize: '12px' }, ...options, document: document as unknown as Document }).outerHTML
}

for (const [name, options] of Object.entries(plots)) {
  t.test(`${name}: the one-file build draws what the ES modules draw`, async (t) => {
    const esm = draw(PlotEsm, options(PlotEsm))
    t.match(esm, /<svg/, 'a plot was drawn')
    t.equal(draw(PlotUmd, options(PlotUmd)), esm)
  })
}

t.test('the builds are the ones the packages declare, and a package without one is named', async (t) => {
  t.match(umdFile('d3'), /node_modules\/d3\/dist\/d3\.min\.js$/)
  t.match(umdFile('@observablehq/plot'), /node_modules\/@observablehq\/plot\/dist\/plot\.umd\.min\.js$/)
  t.throws(() => umdFile('csv-parse'), /csv-parse\/package\.json exports no umd build/)
})
