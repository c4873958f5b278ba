import { catalogError } from './catalog/errors.js'
import { connectCatalog, describeTarget, type CatalogTarget } from './catalog/connection.js'
import { queryFiles, type QueryFilesOptions, type SkippedRow } from './catalog/query-files.js'
import { openCsvWriter } from './files/csv.js'
import { layout } from './files/layout.js'
import { QUERY_TABLE } from './files/query-rows.js'
import type { Log } from './log.js'

export interface QueryResult {
  files: number
  runs: number
  skipped: number
  changed: boolean
  path: string
}

/**
 * The query stage: streams the catalog's selection into `<output>/query.csv`. The file is replaced
 * only when the whole query succeeded and its content changed; on any error it stays as it was.
 */
export async function runQuery(
  target: CatalogTarget,
  options: QueryFilesOptions & { output: string },
  log: Log,
): Promise<QueryResult> {
  const path = layout.queryCsv(options.output)
  const where = describeTarget(target)
  log.info(`querying ${where} for ${options.runType}, more than ${options.minEvents} events`)
  const sql = connectCatalog(target)
  const writer = await openCsvWriter(path, QUERY_TABLE)
  let files = 0
  let runs = 0
  let lastRun = -1
  const skipped: SkippedRow[] = []
  let skippedCount = 0
  try {
    await queryFiles(sql, options, async (rows, bad) => {
      for (const row of rows) if (row.runnumber !== lastRun) (lastRun = row.runnumber), runs++
      files += rows.length
      skippedCount += bad.length
      // A few examples are enough to act on; a hostile catalog must not flood the log.
      skipped.push(...bad.slice(0, Math.max(0, 20 - skipped.length)))
      await writer.write(rows)
    })
  } catch (err) {
    await writer.abort()
    throw catalogError(err, where)
  } finally {
    await sql.end({ timeout: 5 })
  }
  for (const { row, problem } of skipped) log.warn(`skipped catalog row of run ${row.runnumber}: ${problem}`)
  if (skippedCount > skipped.length) log.warn(`skipped ${skippedCount - skipped.length} more catalog rows`)
  const changed = await writer.commit()
  return { files, runs, skipped: skippedCount, changed, path }
}
