import { catalogError, isTransient } from './catalog/errors.js'
import { connectCatalog, describeTarget, type CatalogTarget } from './catalog/connection.js'
import { catalogFingerprint, saveStamp, stampFor, unchangedSince } from './catalog/fingerprint.js'
import { queryFiles, type QueryFilesOptions, type QueryFilesResult, type SkippedRow } from './catalog/query-files.js'
import { buildSelection } from './catalog/selection.js'
import { openAtomicWriter } from './files/atomic.js'
import { formatCsvRecord } from './files/csv.js'
import { layout } from './files/layout.js'
import { QUERY_TABLE } from './files/query-csv.js'
import type { Log } from './log.js'
import { withRetry, type RetryPolicy } from './retry.js'

interface QueryOptions extends QueryFilesOptions {
  output: string
  /** Ask for the whole selection even when the catalog's fingerprint is last night's. */
  fullQuery?: boolean
  retry?: Partial<RetryPolicy>
  /** Told the rows received so far, after each chunk (a terminal's progress line); counting costs a scan. */
  onRows?: (received: number) => void
}

interface QueryResult extends QueryFilesResult {
  changed: boolean
  /** The catalog's fingerprint was last night's: query.csv was kept without asking for the selection. */
  unchangedCatalog: boolean
  path: string
}

/**
 * The query stage: streams the catalog's selection into `<output>/query.csv`, replaced only when the whole query
 * succeeded and its content changed. Transient failures (lib/catalog/errors.ts) are tried again with backoff, each
 * from the start on a new connection; anything else fails at once.
 */
export async function runQuery(target: CatalogTarget, options: QueryOptions, log: Log): Promise<QueryResult> {
  const where = describeTarget(target)
  const threshold = options.minEvents === undefined ? 'no event threshold' : `more than ${options.minEvents} events`
  log.info(`querying ${where} for ${options.runType} under rules ${options.rules.name}, ${threshold}`)
  try {
    return await withRetry(() => queryOnce(target, options, log), {
      retryable: isTransient,
      // A retry that then succeeds is no error: the log has it, cron's mail does not.
      onRetry: (err, attempt, delay) => {
        const why = catalogError(err, where).message
        log.info(`FileCatalog at ${where}, try ${attempt}: ${why}; trying again in ${(delay / 1000).toFixed(1)} s`)
      },
      ...options.retry,
    })
  } catch (err) {
    throw catalogError(err, where)
  }
}

/**
 * One try, on a fresh connection and temporary file. First the catalog's fingerprint (lib/catalog/fingerprint.ts):
 * when it, the statement and query.csv are as the last night left them, query.csv is kept and nothing more asked.
 */
async function queryOnce(target: CatalogTarget, options: QueryOptions, log: Log): Promise<QueryResult> {
  const path = layout.queryCsv(options.output)
  const stampPath = layout.queryStamp(options.output)
  const statements = buildSelection(options.rules, options.runType, options.minEvents)
  const sql = connectCatalog(target)
  const skipped: SkippedRow[] = []
  let stamp, writer, result
  try {
    // A fingerprint the server cannot give (a version without the hash functions) costs only the skip.
    const taken = await catalogFingerprint(sql, statements.fingerprint, options.statementTimeout).catch((err) => {
      // Only a statement this server cannot run (SQL classes 42, 0A, 22) is skipped; what the query would meet too
      // (a lost connection, a refused password, a missing database) is the query's failure, tried again or not.
      if (!/^(42|0A|22)/.test(String((err as { code?: unknown }).code))) throw err
      log.warn(`the catalog's fingerprint failed (${catalogError(err, describeTarget(target)).message}): asking for the whole selection`)
      return null
    })
    if (taken && taken.fingerprint === undefined) log.info("a histogram's file name does not start with its type: the fingerprint cannot cover its files, so every night asks")
    stamp = await stampFor(taken?.fingerprint, statements.select)
    const last = options.fullQuery ? undefined : await unchangedSince(stampPath, path, stamp)
    if (last) {
      log.info(`the catalog's fingerprint (${stamp.catalog}) is the last query's: ${path} kept`)
      return { ...last.result, changed: false, unchangedCatalog: true, path }
    }
    const file = await openAtomicWriter(path)
    writer = file
    await file.write(formatCsvRecord(QUERY_TABLE.columns))
    // Each batch is written as it comes, before the next row is read from the server.
    result = await queryFiles(sql, options, (rows, bad, received) => {
      // A few examples are enough to act on; a hostile catalog must not flood the log.
      skipped.push(...bad.slice(0, Math.max(0, 20 - skipped.length)))
      file.writeNow(rows)
      options.onRows?.(received)
    }, taken?.traps)
  } catch (err) {
    await writer?.abort()
    throw err
  } finally {
    await sql.end({ timeout: 5 })
  }
  const { files, runs, skipped: skippedCount, traps } = result
  // The catalog's traps, fixed under every rule set; counted so a person sees what the seed would have used.
  const excludedTypes = options.rules.excludedTypes.join(', ')
  const once = "never listed, their segments' DST events counted once"
  if (traps.excluded) log.info(`left out ${traps.excluded} histogram rows of an excluded type (${excludedTypes}): ${once}`)
  if (traps.aggregated) log.info(`left out ${traps.aggregated} histogram rows of segment 9999 (aggregated per-run files): never listed`)
  if (traps.untagged) log.info(`left out ${traps.untagged} histogram rows with a NULL or empty tag: such a tag never wins`)
  for (const { row, problem } of skipped) log.warn(`skipped catalog row of run ${row.runnumber}: ${problem}`)
  if (skippedCount > skipped.length) log.warn(`skipped ${skippedCount - skipped.length} more catalog rows`)
  const changed = await writer.commit()
  await saveStamp(stampPath, path, stamp, { files, runs, skipped: skippedCount, traps })
  return { files, runs, skipped: skippedCount, traps, changed, unchangedCatalog: false, path }
}
