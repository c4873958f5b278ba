import { catalogError, isFingerprintOnly, isTransient } from './catalog/errors.js'
import { describeTarget, type CatalogTarget } from './catalog/connection.js'
import { catalogFingerprint, lastStamp, saveStamp, stampFor } from './catalog/fingerprint.js'
import { askTraps, queryFiles, setSession, type QueryFilesResult, type SkippedRow } from './catalog/query-files.js'
import { buildSelection } from './catalog/selection.js'
import { separateSessions, shareSnapshot, snapshotConnection, type SnapshotConnection } from './catalog/snapshot.js'
import { openAtomicWriter } from './files/atomic.js'
import { formatCsvRecord } from './files/csv.js'
import { layout } from './files/layout.js'
import { QUERY_TABLE } from './files/query-csv.js'
import type { Log } from './log.js'
import { withRetry, type RetryPolicy } from './retry.js'
import type { RunType } from './rules/run-types.js'
import type { RuleSet } from './rules/types.js'

interface QueryOptions {
  runType: RunType
  /** Keep only the (run, tag)s whose counted twins hold more events; undefined: no threshold. */
  minEvents: number | undefined
  rules: RuleSet
  output: string
  /** Seconds a statement may run (setSession). */
  statementTimeout: number
  /** Ask for the whole selection even when the catalog's fingerprint is last night's. */
  fullQuery?: boolean
  retry?: Partial<RetryPolicy>
  /** Told the rows received so far, after each chunk (a terminal's progress line); counting costs a scan. */
  onRows?: (received: number) => void
  /**
   * Called once the snapshot the fingerprint and the query read is taken: before both when they run at once, else
   * between them (tests change the catalog there).
   */
  onSnapshot?: () => Promise<void>
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
 * One try, on fresh connections and a temporary file. The catalog's fingerprint (lib/catalog/fingerprint.ts) and
 * the selection read one snapshot (lib/catalog/snapshot.ts), so the stamp a night leaves describes exactly its
 * query.csv. A night that may be quiet (the last stamp is of this statement and code, query.csv as it left it) asks
 * for the fingerprint first and keeps query.csv when it is the stamp's; any other night cannot be spared the query,
 * and asks for both at once, on a second connection, where the server gives it a second session.
 */
async function queryOnce(target: CatalogTarget, options: QueryOptions, log: Log): Promise<QueryResult> {
  const path = layout.queryCsv(options.output)
  const stampPath = layout.queryStamp(options.output)
  const where = describeTarget(target)
  const statements = buildSelection(options.rules, options.runType, options.minEvents)
  const made = await stampFor(statements.select)
  const last = options.fullQuery ? undefined : await lastStamp(stampPath, path, made)
  const first = snapshotConnection(target)
  let second: SnapshotConnection | undefined
  const skipped: SkippedRow[] = []
  let writer: AtomicWriter | undefined
  let taken: Fingerprint | null
  let counts: Omit<QueryFilesResult, 'traps'>
  let traps: QueryFilesResult['traps']
  const fingerprint = (on: SnapshotConnection) => catalogFingerprint(on.sql, statements.fingerprint).catch(async (err) => {
    // Only what the fingerprint alone meets (isFingerprintOnly: a function or feature this server lacks) is
    // skipped; what the query would meet too (a lost connection, a refused password, no SELECT, a table or column
    // missing) is the query's failure, one line, tried again or not.
    if (!isFingerprintOnly(err)) throw err
    log.warn(`the catalog's fingerprint failed (${catalogError(err, where).message}): asking for the whole selection`)
    return null
  })
  const select = async (on: SnapshotConnection, stop?: AbortSignal) => {
    writer = await openAtomicWriter(path)
    await writer.write(formatCsvRecord(QUERY_TABLE.columns))
    const file = writer
    // Each batch is written as it comes, before the next row is read from the server.
    return queryFiles(on.sql, statements.select, (rows, bad, received) => {
      // A few examples are enough to act on; a hostile catalog must not flood the log.
      skipped.push(...bad.slice(0, Math.max(0, 20 - skipped.length)))
      file.writeNow(rows)
      options.onRows?.(received)
    }, { stop, cancel: () => on.cancel() })
  }
  try {
    await setSession(first.sql, options.statementTimeout)
    if (!last) second = await secondSession(target, first, options.statementTimeout, (err) =>
      log.info(`a second connection failed (${catalogError(err, where).message}): the fingerprint and the selection one after the other`))
    if (second && await shareSnapshot(first, second)) {
      const query = second
      // Beside the query the fingerprint has the query's whole time: one process is enough, and the server's parallel
      // workers stay the query's (on 2 cores, a fingerprint with workers made a first night 1 s slower, not faster).
      await first.sql`select set_config(name, '0', false) from pg_settings where name = 'max_parallel_workers_per_gather'`
      await options.onSnapshot?.()
      // The fingerprint's transaction ends when it has its answer; the query's snapshot was imported already.
      ;[taken, counts] = await bothAtOnce(() => fingerprint(first).then(async (got) => (await first.end(), got)), (stop) => select(query, stop))
      traps = taken?.traps ?? await askTraps(query.sql, statements.traps)
      await query.end()
    } else {
      await first.begin()
      taken = await fingerprint(first)
      await options.onSnapshot?.()
      // A failed statement ends the transaction's use: the query begins another (no fingerprint is kept with it).
      if (taken === null) await first.end().then(() => first.begin())
      if (last && taken?.fingerprint !== undefined && taken.fingerprint === last.catalog) {
        await first.end()
        log.info(`the catalog's fingerprint (${taken.fingerprint}) is the last query's: ${path} kept`)
        return { ...last.result, changed: false, unchangedCatalog: true, path }
      }
      counts = await select(first)
      traps = taken?.traps ?? await askTraps(first.sql, statements.traps)
      await first.end()
    }
  } catch (err) {
    await writer?.abort()
    await Promise.all([first.abandon(), second?.abandon()])
    throw err
  } finally {
    await Promise.all([first.close(), second?.close()])
  }
  if (taken?.fingerprint === undefined && taken) log.info("a histogram's file name does not start with its type: the fingerprint cannot cover its files, so every night asks")
  const { files, runs, skipped: skippedCount } = counts
  // The catalog's traps, fixed under every rule set; counted so a person sees what the seed would have used.
  const excludedTypes = options.rules.excludedTypes.join(', ')
  const once = "never listed, their segments' DST events counted once"
  if (traps.excluded) log.info(`left out ${traps.excluded} histogram rows of an excluded type (${excludedTypes}): ${once}`)
  if (traps.aggregated) log.info(`left out ${traps.aggregated} histogram rows of segment 9999 (aggregated per-run files): never listed`)
  if (traps.untagged) log.info(`left out ${traps.untagged} histogram rows with a NULL or empty tag: such a tag never wins`)
  for (const { row, problem } of skipped) log.warn(`skipped catalog row of run ${row.runnumber}: ${problem}`)
  if (skippedCount > skipped.length) log.warn(`skipped ${skippedCount - skipped.length} more catalog rows`)
  const changed = await writer!.commit()
  await saveStamp(stampPath, path, { ...made, catalog: taken?.fingerprint }, { files, runs, skipped: skippedCount, traps })
  return { files, runs, skipped: skippedCount, traps, changed, unchangedCatalog: false, path }
}

type Fingerprint = Awaited<ReturnType<typeof catalogFingerprint>>
type AtomicWriter = Awaited<ReturnType<typeof openAtomicWriter>>

/**
 * Runs `a` and `b` at once and waits for both: the first to fail stops `b` (a fingerprint is short, a selection is
 * not), and its error is thrown once neither is still running, so nothing writes after the try has failed.
 */
async function bothAtOnce<A, B>(a: () => Promise<A>, b: (stop: AbortSignal) => Promise<B>): Promise<[A, B]> {
  const stop = new AbortController()
  let failure: { error: unknown } | undefined
  const settle = <T>(promise: Promise<T>) => promise.catch((error: unknown) => {
    failure ??= { error }
    stop.abort()
    return undefined as T
  })
  const both = await Promise.all([settle(a()), settle(b(stop.signal))])
  if (failure) throw failure.error
  return both
}

/**
 * A second connection in the query's session settings, or undefined where there is none to have: the server
 * refuses it (a connection limit on the role, too many connections) or serves it from the first's session
 * (PGlite), where two snapshots at once would wait on each other for ever.
 */
async function secondSession(
  target: CatalogTarget, first: SnapshotConnection, timeoutSeconds: number, refused: (err: unknown) => void,
): Promise<SnapshotConnection | undefined> {
  const second = snapshotConnection(target)
  try {
    await setSession(second.sql, timeoutSeconds)
    if (await separateSessions(first, second)) return second
  } catch (err) {
    // The first connection's trouble shows on its own next statement; the second is only a way to be quicker.
    refused(err)
  }
  await second.close()
  return undefined
}
