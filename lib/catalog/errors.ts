import { CaloprodError, describeError } from '../errors.js'

/** What to tell a person for the PostgreSQL error codes a catalog query meets. */
const ADVICE: Record<string, string> = {
  '57014': 'the query ran past its statement timeout; raise --statement-timeout or ask the catalog\'s admins',
  '42P01': 'a table is missing: is this a FileCatalog database? check PGDATABASE or --db-url',
  '42703': 'a column is missing: is this a FileCatalog database? check PGDATABASE or --db-url',
  '42501': "this user may not read the catalog's tables; check PGUSER or --db-url, or ask the catalog's admins for SELECT",
  '3D000': 'the database does not exist; check PGDATABASE or --db-url',
  '28P01': 'the password was refused; check PGPASSWORD, ~/.pgpass or --db-url',
  '28000': 'the server refused this user; check PGUSER or --db-url',
  '57P03': 'the server is starting up or in recovery; try again later',
  '53300': 'the server has too many connections; try again later',
  '40001': 'the query conflicted with recovery on the replica; try again',
  '57P01': 'the server ended the connection (a restart or an administrator); try again later',
}

/** Node's socket-level error codes that mean the server could not be reached at all. */
const UNREACHABLE = new Set([
  'ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'CONNECT_TIMEOUT', 'ENOENT',
])

/** Codes of a connection that was up and then went away. */
const LOST = new Set(['ECONNRESET', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'EPIPE'])

/**
 * Error codes worth another try: a lost connection, the server restarting, overloaded, or a replica conflict; a
 * socket that timed out (ETIMEDOUT: TCP keepalive or retransmission gave up on a connection that was up; a connect
 * that never answers is postgres.js's CONNECT_TIMEOUT, tried again already); a deadlock (40P01) or a lock not
 * granted within the role's lock_timeout (55P03), as an ALTER of a table being read meets; the server ending every
 * backend after a crash of one of them (57P02). PostgreSQL's docs (errcodes-appendix) and its retry advice for
 * classes 40 and 57.
 */
const TRANSIENT = new Set([
  ...LOST, 'ECONNREFUSED', 'CONNECT_TIMEOUT', 'EAI_AGAIN', 'ETIMEDOUT', '40001', '40P01', '55P03', '53300', '57P02', '57P03',
  '08001', '08006', '08000', '08003', '57P01',
])

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown })?.code
  return typeof code === 'string' ? code : undefined
}

/**
 * Codes of a statement this server cannot run as written, which only the fingerprint's hashing meets: a function
 * missing (hashtextextended before PostgreSQL 11) or not taking a column's type, a feature not supported, a value
 * the hash cannot take (class 22). What the selection would meet as well (no SELECT, a table or column missing) is
 * none of these.
 */
const FINGERPRINT_ONLY = new Set(['42883', '42725', '42804', '42846', '0A000'])

/** Whether a failed fingerprint may be skipped for the whole selection, rather than fail the night. */
export function isFingerprintOnly(err: unknown): boolean {
  const code = codeOf(err) ?? ''
  return FINGERPRINT_ONLY.has(code) || code.startsWith('22')
}

/** Whether a failed catalog call may succeed if tried again after a pause. */
export function isTransient(err: unknown): boolean {
  return TRANSIENT.has(codeOf(err) ?? '')
}

/**
 * Turns a postgres.js or socket error into one line naming the catalog (never its password) and what to do.
 * The message of a PostgresError comes from the server and holds no credentials.
 */
export function catalogError(err: unknown, where: string): CaloprodError {
  if (err instanceof CaloprodError) return err
  // A local file's trouble (a rename into the output directory) is the file's, never the catalog's.
  if (typeof (err as NodeJS.ErrnoException)?.path === 'string') return new CaloprodError(describeError(err), 1, { cause: err })
  const code = codeOf(err) ?? ''
  const message = (err as Error)?.message ?? String(err)
  let line = `FileCatalog ${where}: ${message}${code ? ` (${code})` : ''}`
  if (ADVICE[code]) line += `; ${ADVICE[code]}`
  else if (UNREACHABLE.has(code)) {
    line = `cannot reach the FileCatalog at ${where}: ${message}; check PGHOST/PGPORT or --db-url, and that the server is up`
  } else if (LOST.has(code)) {
    line = `lost the connection to the FileCatalog at ${where}: ${message}; the server may be restarting: try again later`
  }
  return new CaloprodError(line, 1, { cause: err })
}
