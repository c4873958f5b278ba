import type postgres from 'postgres'

/**
 * One snapshot of the catalog for a night's fingerprint and its query (lib/query.ts): a read-only repeatable-read
 * transaction on one connection, or shared by two (`pg_export_snapshot`, `SET TRANSACTION SNAPSHOT`: PostgreSQL 9.2
 * and later; on a hot standby since 10, where 9.x refuses and the night asks one statement after the other). The
 * fingerprint a night records then describes exactly the rows of its query.csv: a change made while the night ran,
 * even one undone before the next night, cannot hide behind an equal fingerprint.
 */
const BEGIN = 'begin isolation level repeatable read, read only'

/** Begins the snapshot on `sql`, taken now (not at the next statement): statements until `endSnapshot` read it. */
export async function beginSnapshot(sql: postgres.Sql): Promise<void> {
  await sql.unsafe(BEGIN)
  await sql`select 1`
}

/** Ends the snapshot (a read-only transaction has nothing to keep; an aborted one is rolled back). */
export async function endSnapshot(sql: postgres.Sql): Promise<void> {
  await sql.unsafe('commit')
}

/** Whether `a` and `b` are two sessions of the server: PGlite serves every connection from its one session. */
export async function separateSessions(a: postgres.Sql, b: postgres.Sql): Promise<boolean> {
  const [[first], [second]] = await Promise.all([a`select pg_backend_pid() as pid`, b`select pg_backend_pid() as pid`])
  return first.pid !== second.pid
}

/** SQL classes of a statement this server cannot run here (a feature missing, not allowed, or a bad value). */
export const cannotRun = (err: unknown): boolean => /^(42|0A|22|25|55)/.test(String((err as { code?: unknown })?.code))

/**
 * Begins one snapshot on `exporter` and `importer` (their own sessions). False, with neither in a transaction,
 * when this server cannot share it (`cannotRun`); a lost connection is thrown.
 */
export async function shareSnapshot(exporter: postgres.Sql, importer: postgres.Sql): Promise<boolean> {
  try {
    await exporter.unsafe(BEGIN)
    const [{ id }] = await exporter`select pg_export_snapshot() as id`
    // The server names it (hex digits and dashes); SET TRANSACTION SNAPSHOT takes no parameter, so it is checked.
    if (!/^[0-9A-Fa-f-]+$/.test(String(id))) throw Object.assign(new Error(`snapshot name ${String(id)}`), { code: '22023' })
    await importer.unsafe(BEGIN)
    await importer.unsafe(`set transaction snapshot '${String(id)}'`)
    return true
  } catch (err) {
    if (!cannotRun(err)) throw err
    await Promise.all([exporter.unsafe('rollback'), importer.unsafe('rollback')])
    return false
  }
}
