// The seed's selection as the seed runs it (DESIGN.md, "The seed's exact rules"): two statements on one
// connection. Step A makes the temporary table t1 of the DST_CALOFITTING rows (tag, runnumber, segment, events)
// that have a HIST_CALOQA row of the same tag, run and segment, the HIST rows restricted to the run range (a join:
// a segment with two histogram rows, e.g. a skimmed one beside the plain one, puts its DST row into t1 twice).
// Step B joins the HIST_CALOQA rows of datasets (matched on filename) to t1's (tag, run) groups whose SUM(events)
// is greater than the threshold, to t1 itself on (tag, run, segment), and to files on lfn = filename, selecting
// tag, runnumber, full_file_path, t1.events, files.time. The patterns are the seed's own (LIKE with a bare `_`).
// The equality tests (test/catalog/query-files.test.ts) and bench/plans.ts compare caloprod's query with it.
import type postgres from 'postgres'
import { runRange, RUN_TYPES, type RunType } from '../../lib/rules/run-types.js'

/** A row of the seed's answer: its step B's columns, events and time as text (null stays null). */
export type SeedRow = [tag: string | null, runnumber: number, full_file_path: string, events: string | null, time: string | null]

/** Step A: the temporary table t1 of twinned DST_CALOFITTING segments of the run range. */
export function seedStepA(first: number, last: number): string {
  if (![first, last].every(Number.isSafeInteger)) throw new Error('the run range must be whole numbers')
  return `
    create temporary table t1 as
    select d.tag, d.runnumber, d.segment, d.events
    from datasets d
    join datasets h on h.tag = d.tag and h.runnumber = d.runnumber and h.segment = d.segment
    where d.dsttype like 'DST_CALOFITTING%'
      and h.dsttype like 'HIST_CALOQA%'
      and h.runnumber between ${first} and ${last}`
}

/** Step B: the HIST_CALOQA files of the qualifying (tag, run)s whose segment is in t1. */
export function seedStepB(minEvents: number): string {
  if (!Number.isSafeInteger(minEvents)) throw new Error('the threshold must be a whole number')
  return `
    select h.tag, h.runnumber, f.full_file_path, t1.events, f.time
    from datasets h
    join (select tag, runnumber from t1 group by tag, runnumber having sum(events) > ${minEvents}) g
      on g.tag = h.tag and g.runnumber = h.runnumber
    join t1 on t1.tag = h.tag and t1.runnumber = h.runnumber and t1.segment = h.segment
    join files f on f.lfn = h.filename
    where h.filename like 'HIST_CALOQA%'`
}

/**
 * Runs the seed's two steps on one connection of `sql` and returns step B's rows (events and time read as text,
 * so nothing is rounded). `schema` picks the catalog's tables (default: the search path's); t1 is dropped after.
 */
export async function seedSelection(
  sql: postgres.Sql,
  runType: RunType,
  minEvents: number,
  options: { schema?: string; runTypes?: typeof RUN_TYPES } = {},
): Promise<SeedRow[]> {
  const { first, last } = runRange(runType, options.runTypes)
  const conn = await sql.reserve()
  try {
    // The connection goes back to the pool afterwards: its settings are put back as they were.
    const [saved] = await conn`select current_setting('DateStyle') as date_style, current_setting('search_path') as search_path`
    await conn`select set_config('DateStyle', 'ISO, YMD', false)`
    if (options.schema) await conn`select set_config('search_path', ${options.schema}, false)`
    await conn.unsafe(seedStepA(first, last))
    try {
      const rows = await conn.unsafe(`select tag, runnumber, full_file_path, events::text as events, time::text as time from (${seedStepB(minEvents)}) b`).values()
      return rows as unknown as SeedRow[]
    } finally {
      await conn.unsafe('drop table t1')
      await conn`select set_config('DateStyle', ${saved.date_style}, false), set_config('search_path', ${saved.search_path}, false)`
    }
  } finally {
    conn.release()
  }
}
