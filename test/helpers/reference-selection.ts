// The seed's selection as caloprod first ported it (two scans of datasets and a semi-join, with the seed's
// temporary table as the CTE `qa`): the reference lib/catalog/query-files.ts's faster SELECT must equal, in
// test/catalog/query-files.test.ts on odd catalogs and in bench/plans.ts on the Run 3-sized one.
import { runRange, type RunType } from '../../lib/config/run-types.js'

/** The reference SELECT, with the run range and threshold as literals (validated integers). */
export function referenceSelectionSql(runType: RunType, minEvents: number): string {
  const { first, last } = runRange(runType)
  if (![first, last, minEvents].every(Number.isSafeInteger)) throw new Error('run range and threshold must be whole numbers')
  return `
    with qa as (
      select runnumber, tag, segment, filename
      from datasets
      where dsttype like 'HIST\\_CALOQA%' and runnumber between ${first} and ${last}
    ),
    fit as (
      select d.runnumber, d.tag, d.segment, sum(d.events) as events
      from datasets d
      where d.dsttype like 'DST\\_CALOFITTING%' and d.runnumber between ${first} and ${last}
        and exists (select 1 from qa where qa.runnumber = d.runnumber and qa.tag = d.tag and qa.segment = d.segment)
      group by d.runnumber, d.tag, d.segment
    ),
    qualified as (
      select runnumber, tag from fit group by runnumber, tag having sum(events) > ${minEvents}
    )
    select qa.runnumber, qa.tag, qa.segment, coalesce(fit.events, 0)::text as events,
           f.full_file_path, f.time::text as time
    from qa
    join qualified q on q.runnumber = qa.runnumber and q.tag = qa.tag
    join files f on f.lfn = qa.filename
    left join fit on fit.runnumber = qa.runnumber and fit.tag = qa.tag and fit.segment = qa.segment
    order by qa.runnumber, qa.tag collate "C", qa.segment, f.full_file_path collate "C"`
}
