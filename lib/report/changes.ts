// What changed since a time: <output>/log/run-states.csv records each run's state whenever a report that writes into
// the output directory finds it different from the last row of that run (an append-only ledger, as submissions.csv);
// a run's state at a time is its last row at or before it.
import { join } from 'node:path'
import { appendRows, readAppendOnly } from '../files/append-only.js'
import { field, type Table } from '../files/csv.js'
import { layout } from '../files/layout.js'
import type { RunView } from './runs.js'

interface StateRow {
  time: string
  runnumber: number
  tag: string
  state: string
}

const TABLE: Table<StateRow> = {
  columns: ['time', 'runnumber', 'tag', 'state'],
  toFields: (r) => [r.time, r.runnumber, r.tag, r.state],
  fromFields: ([time, runnumber, tag, state]) => {
    if (Number.isNaN(Date.parse(time))) throw new Error(`time "${time}" is not a date`)
    return { time, runnumber: field.count(runnumber, 'runnumber'), tag, state }
  },
}

const stateHistoryCsv = (output: string) => join(layout.logDir(output), 'run-states.csv')

const key = (run: { runnumber: number; tag: string }) => `${run.runnumber}_${run.tag}`

/** Each run's last recorded state at or before `time` (every run when `time` is undefined). */
function statesAt(rows: readonly StateRow[], time: string | undefined): Map<string, string> {
  const states = new Map<string, string>()
  for (const row of rows) if (time === undefined || row.time <= time) states.set(key(row), row.state)
  return states
}

/** Appends the runs whose state differs from their last row; returns how many. */
export async function recordStates(output: string, runs: readonly RunView[], now: Date): Promise<number> {
  const path = stateHistoryCsv(output)
  const last = statesAt((await readAppendOnly(path, TABLE)).rows, undefined)
  const time = now.toISOString()
  const rows = runs.filter((run) => last.get(key(run)) !== run.state).map((run) => ({ time, runnumber: run.runnumber, tag: run.tag, state: run.state }))
  if (rows.length) await appendRows(path, TABLE, rows)
  return rows.length
}

/**
 * The runs whose state now differs from their recorded state at `since` (`before` undefined: new since); undefined
 * when nothing was recorded that early (no baseline: every run would look new).
 */
export async function changesSince(output: string, runs: readonly RunView[], since: string) {
  const rows = (await readAppendOnly(stateHistoryCsv(output), TABLE)).rows
  if (!rows.some((row) => row.time <= since)) return undefined
  const before = statesAt(rows, since)
  return runs
    .filter((run) => before.get(key(run)) !== run.state)
    .map((run) => ({ runnumber: run.runnumber, tag: run.tag, before: before.get(key(run)), now: run.state }))
}

export type StateChange = NonNullable<Awaited<ReturnType<typeof changesSince>>>[number]
