// Missing and outdated counts per payload type, from the check's <runtype>-check.json.
import * as Plot from '@observablehq/plot'
import type { CheckSummary } from '../../cdb/check-summary.js'
import { renderPlot, type Figure } from './render.js'

const KINDS = [
  { name: 'missing', colour: '#d73027' },
  { name: 'outdated', colour: '#fdae61' },
] as const

export function payloadsPlot(check: CheckSummary | undefined, checkFile: string): Figure {
  const figure = {
    id: 'plot-payloads',
    title: 'Missing and outdated payloads, by type',
    caption: 'Runs whose payload of each type is missing in the CDB, or was built from another tag, at the last check.',
    empty: check ? 'Every payload of every run checked is current.' : `No check has written ${checkFile} yet.`,
  }
  const data = Object.entries(check?.payload_types ?? {}).flatMap(([type, counts]) =>
    KINDS.map((kind) => ({ type, kind: kind.name, runs: counts[kind.name] })),
  )
  if (!data.some((d) => d.runs > 0)) return { ...figure, markup: undefined }
  const types = Object.keys(check!.payload_types)
  return {
    ...figure,
    markup: renderPlot({
      height: 50 + 28 * types.length,
      marginLeft: 230,
      x: { label: 'runs', grid: true },
      y: { label: null, domain: types },
      color: { domain: KINDS.map((k) => k.name), range: KINDS.map((k) => k.colour), legend: true },
      marks: [
        Plot.barX(data, { y: 'type', x: 'runs', fill: 'kind', title: (d: (typeof data)[number]) => `${d.type}: ${d.runs} runs ${d.kind}` }),
        Plot.ruleX([0]),
      ],
    }),
  }
}
