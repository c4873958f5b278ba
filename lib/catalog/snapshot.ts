import type postgres from 'postgres'
import { connectCatalog, type CatalogTarget } from './connection.js'

/**
 * One snapshot of the catalog for a night's fingerprint and its query (lib/query.ts): a read-only repeatable-read
 * transaction on one connection, or shared by two (`pg_export_snapshot`, `SET TRANSACTION SNAPSHOT`: PostgreSQL 9.2
 * and later; on a hot standby since 10, where 9.x refuses and the night asks one statement after the other). The
 * fingerprint a night records then describes exactly the rows of its query.csv: a change made while the night ran,
 * even one undone before the next night, cannot hide behind an equal fingerprint.
 */
const BEGIN = 'begin isolation level repeatable read, read only'

/**
 * A catalog connection whose snapshots the stage begins and ends itself, and whose loss it cannot miss. postgres.js
 * opens a new connection for the next statement when one is lost, without a word: that statement would run outside
 * the snapshot and outside the session's settings, so `end` fails, to be tried again, on a connection lost at any
 * time before. A failed try calls `abandon`: a snapshot is not left to the connection's end, since PGlite's
 * connections share one session and the next client's statements would run in it (read-only).
 */
export interface SnapshotConnection {
  readonly sql: postgres.Sql
  /** Begins a snapshot of its own, taken now (not at the next statement). */
  begin(): Promise<void>
  /** Begins a snapshot and names it for another session to import (`pg_export_snapshot`). */
  exportSnapshot(): Promise<string>
  /** Begins a transaction in the snapshot another session exported. */
  importSnapshot(id: string): Promise<void>
  /** Ends the snapshot (a read-only transaction has nothing to keep; an aborted one is rolled back). */
  end(): Promise<void>
  /** Rolls back a snapshot still open on a connection still there; never fails (a failed try's end). */
  abandon(): Promise<void>
  /** Its backend's process id (asked once; `begin` asks it too). */
  backendPid(): Promise<number>
  /**
   * Asks the server to cancel the statement this connection runs (`pg_cancel_backend`, from a connection of its own).
   * postgres.js's `query.cancel()` drops a promise that rejects when its cancel connection is refused (a server
   * going down), an error no code can catch; this one never fails. It does nothing on a lost connection, whose process
   * id may be another session's by now, or before the id is known.
   */
  cancel(): Promise<void>
  /** Closes the connection (postgres.js's `end`: 5 s before it is cut, none when it was lost). */
  close(): Promise<void>
}

/** A transient error (lib/catalog/errors.ts) for a connection that closed while the stage held a snapshot on it. */
export const lostBetweenStatements = () =>
  Object.assign(new Error('the connection closed between two statements of one snapshot'), { code: 'CONNECTION_CLOSED' })

/** SQL classes of a statement this server cannot run here (a feature missing, not allowed, or a bad value). */
export const cannotRun = (err: unknown): boolean => /^(42|0A|22|25|55)/.test(String((err as { code?: unknown })?.code))

/** Opens a SnapshotConnection to `target` (connectCatalog). */
export function snapshotConnection(target: CatalogTarget): SnapshotConnection {
  let lost = false
  let open = false
  let pid: number | undefined
  const sql = connectCatalog(target, { onClose: () => void (lost = true) })
  const beginTransaction = async () => {
    await sql.unsafe(BEGIN)
    open = true
  }
  return {
    sql,
    async begin() {
      await beginTransaction()
      // The snapshot is taken by the transaction's first query.
      const [row] = await sql`select pg_backend_pid() as pid`
      pid = row.pid
    },
    async exportSnapshot() {
      await beginTransaction()
      const [{ id }] = await sql`select pg_export_snapshot() as id`
      // The server names it (hex digits and dashes); SET TRANSACTION SNAPSHOT takes no parameter, so it is checked.
      if (!/^[0-9A-Fa-f-]+$/.test(String(id))) throw Object.assign(new Error(`snapshot name ${String(id)}`), { code: '22023' })
      return String(id)
    },
    async importSnapshot(id) {
      await beginTransaction()
      await sql.unsafe(`set transaction snapshot '${id}'`)
    },
    async end() {
      if (lost) throw lostBetweenStatements()
      await sql.unsafe('commit')
      open = false
      if (lost) throw lostBetweenStatements()
    },
    async abandon() {
      if (open && !lost) await sql.unsafe('rollback').catch(() => {})
      open = false
    },
    async backendPid() {
      if (pid === undefined) [{ pid }] = await sql`select pg_backend_pid() as pid`
      return pid!
    },
    async cancel() {
      if (lost || pid === undefined) return
      const other = connectCatalog(target, { connectTimeout: 10 })
      // A server that takes the connection and never answers must not keep the process alive.
      const cut = setTimeout(() => void other.end({ timeout: 0 }).catch(() => {}), 20_000).unref()
      await other`select pg_cancel_backend(${pid}::int)`.catch(() => {})
      clearTimeout(cut)
      await other.end({ timeout: 5 }).catch(() => {})
    },
    // A lost connection has nothing left to finish: postgres.js would otherwise wait the whole 5 s for a statement
    // that failed with it.
    close: () => sql.end({ timeout: lost ? 0 : 5 }),
  }
}

/**
 * Begins one snapshot on `exporter` and `importer` (two sessions). False, with neither in a transaction, when this
 * server cannot share it (`cannotRun`); a lost connection is thrown.
 */
export async function shareSnapshot(exporter: SnapshotConnection, importer: SnapshotConnection): Promise<boolean> {
  try {
    await importer.importSnapshot(await exporter.exportSnapshot())
    return true
  } catch (err) {
    if (!cannotRun(err)) throw err
    await Promise.all([exporter.end(), importer.end()])
    return false
  }
}

/** Whether `a` and `b` are two sessions of the server: PGlite serves every connection from its one session. */
export async function separateSessions(a: SnapshotConnection, b: SnapshotConnection): Promise<boolean> {
  const [first, second] = await Promise.all([a.backendPid(), b.backendPid()])
  return first !== second
}
