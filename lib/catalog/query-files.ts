import type postgres from 'postgres'
import { runRange, type RunType } from '../config/run-types.js'
import { pathProblem, tagProblem } from '../files/names.js'
import type { QueryRow } from '../files/query-rows.js'

export interface QueryFilesOptions {
  runType: RunType
  minEvents: number
  /** Seconds. */
  statementTimeout: number
  /** Rows fetched per round trip. @default 10000 */
  batchSize?: number
}

/** A catalog row that cannot be used safely (hostile or broken content), with why. */
export interface SkippedRow {
  row: QueryRow
  problem: string
}

/**
 * Streams the seed's selection, sorted by run, tag, segment (and path): every HIST_CALOQA file of each
 * (run, tag) of the run type whose event count is greater than `minEvents`. The event count of a
 * (run, tag) sums `events` over its DST_CALOFITTING segments that have a HIST_CALOQA segment of the same
 * (run, tag, segment); each file's row carries its segment's events, 0 when the segment has no twin.
 * Runs in a read-only transaction with a statement timeout; memory holds one batch at a time.
 */
export async function queryFiles(
  sql: postgres.Sql,
  options: QueryFilesOptions,
  onBatch: (rows: QueryRow[], skipped: SkippedRow[]) => Promise<void>,
): Promise<void> {
  const { first, last } = runRange(options.runType)
  const timeoutMs = Math.round(options.statementTimeout * 1000)
  await sql.begin('isolation level repeatable read read only', async (tx) => {
    await tx`select set_config('statement_timeout', ${String(timeoutMs)}, true)`
    // ::text must not shift times: fix the session's zone and style for timestamptz columns.
    await tx`select set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, YMD', true)`
    const cursor = tx<{ runnumber: number; tag: string; segment: number; events: string; full_file_path: string; time: string }[]>`
      with qa as (
        select runnumber, tag, segment, filename
        from datasets
        where dsttype like ${'HIST\\_CALOQA%'} and runnumber between ${first} and ${last}
      ),
      fit as (
        select d.runnumber, d.tag, d.segment, sum(d.events) as events
        from datasets d
        where d.dsttype like ${'DST\\_CALOFITTING%'} and d.runnumber between ${first} and ${last}
          and exists (select 1 from qa where qa.runnumber = d.runnumber and qa.tag = d.tag and qa.segment = d.segment)
        group by d.runnumber, d.tag, d.segment
      ),
      qualified as (
        select runnumber, tag from fit group by runnumber, tag having sum(events) > ${options.minEvents}
      )
      select qa.runnumber, qa.tag, qa.segment, coalesce(fit.events, 0)::text as events,
             f.full_file_path, f.time::text as time
      from qa
      join qualified q on q.runnumber = qa.runnumber and q.tag = qa.tag
      join files f on f.lfn = qa.filename
      left join fit on fit.runnumber = qa.runnumber and fit.tag = qa.tag and fit.segment = qa.segment
      order by qa.runnumber, qa.tag collate "C", qa.segment, f.full_file_path collate "C"
    `.cursor(options.batchSize ?? 10000)
    for await (const batch of cursor) {
      const rows: QueryRow[] = []
      const skipped: SkippedRow[] = []
      for (const r of batch) {
        const row: QueryRow = {
          runnumber: r.runnumber,
          tag: r.tag,
          segment: r.segment,
          events: Number(r.events),
          full_file_path: r.full_file_path,
          time: r.time,
        }
        const problem = tagProblem(row.tag) ?? pathProblem(row.full_file_path) ?? (row.time === null ? 'files.time is empty' : undefined)
        if (problem) skipped.push({ row, problem })
        else rows.push(row)
      }
      await onBatch(rows, skipped)
    }
  })
}
