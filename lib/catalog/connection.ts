import { readFileSync } from 'node:fs'
import { userInfo } from 'node:os'
import postgres from 'postgres'
import { UsageError } from '../errors.js'
import { parseDbUrl } from '../config/parse-values.js'
import type { Env } from '../config/options.js'

/** Where the FileCatalog is, resolved from --db-url, then the libpq variables, then defaults. */
export interface CatalogTarget {
  host: string
  port: number
  database: string
  user: string
  password: string | undefined
  ssl: false | 'require' | 'allow' | 'prefer' | 'verify-full'
}

const SSL_MODES: Record<string, CatalogTarget['ssl']> = {
  disable: false, allow: 'allow', prefer: 'prefer', require: 'require', 'verify-ca': 'verify-full', 'verify-full': 'verify-full',
}

/**
 * Resolves the FileCatalog connection: the URL's parts win, then PGHOST, PGPORT, PGUSER, PGPASSWORD,
 * PGDATABASE, PGSSLMODE, then `.pgpass` for the password, then defaults (database `FileCatalog`,
 * as the seed's). A host starting with `/` is a Unix socket directory, as in libpq.
 */
export function catalogTarget(dbUrl: string | undefined, env: Env): CatalogTarget {
  let url: URL | undefined
  if (dbUrl !== undefined) {
    // Options have checked it (naming --db-url or CALOPROD_DB_URL); again here for a caller that did not.
    try {
      url = new URL(parseDbUrl(dbUrl))
    } catch (err) {
      throw new UsageError(`the FileCatalog URL: ${(err as Error).message}`)
    }
  }
  const fromUrl = (value: string | undefined) => (value ? decodeURIComponent(value) : undefined)
  const host = fromUrl(url?.hostname) ?? url?.searchParams.get('host') ?? env.PGHOST ?? 'localhost'
  const portText = url?.port || env.PGPORT || '5432'
  const port = Number(portText)
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`port "${portText}" is not a TCP port`)
  const database = fromUrl(url?.pathname.slice(1)) ?? env.PGDATABASE ?? 'FileCatalog'
  const user = fromUrl(url?.username) ?? env.PGUSER ?? processUser(env)
  const sslmode = url?.searchParams.get('sslmode') ?? env.PGSSLMODE ?? 'prefer'
  if (!Object.hasOwn(SSL_MODES, sslmode)) throw new UsageError(`sslmode "${sslmode}" is not one of ${Object.keys(SSL_MODES).join(', ')}`)
  let password = fromUrl(url?.password) ?? env.PGPASSWORD
  if (password === undefined) {
    const passfile = env.PGPASSFILE ?? (env.HOME ? `${env.HOME}/.pgpass` : undefined)
    if (passfile) password = pgpassLookup(passfile, { host, port, database, user })
  }
  return { host, port, database, user, password, ssl: SSL_MODES[sslmode] }
}

/**
 * libpq's default user: the name of the process's user (getpwuid), not $USER, which cron leaves unset (Debian's
 * sets LOGNAME only): the nightly run then connected as `postgres` while the same command by hand used the login.
 * $USER, then $LOGNAME, only where the user has no name (a container's uid without a passwd entry).
 */
function processUser(env: Env): string {
  try {
    return userInfo().username
  } catch {
    return env.USER || env.LOGNAME || 'postgres'
  }
}

/** Names a target for messages and logs: user, host, port and database, never the password. */
export function describeTarget(target: CatalogTarget): string {
  return `${target.user}@${target.host}:${target.port}/${target.database}`
}

/**
 * The postgres.js client for a target: one connection, quiet about NOTICEs, named in pg_stat_activity. It asks
 * nothing of the server on connecting (`fetch_types`: caloprod sends and reads no arrays): postgres.js runs that
 * question without handling its failure, so a connection lost during it became an error no code could catch. The
 * connection is never retired for its age (postgres.js's `max_lifetime`, 30 to 60 minutes by default), which would
 * end a transaction under the statements that follow; `onClose` is told when it closes, since postgres.js opens a
 * new one for the next statement without a word.
 */
export function connectCatalog(target: CatalogTarget, options: { connectTimeout?: number; onClose?: () => void } = {}): postgres.Sql {
  const socket = target.host.startsWith('/')
  return postgres({
    ...(socket ? { path: `${target.host}/.s.PGSQL.${target.port}` } : { host: target.host, port: target.port }),
    database: target.database,
    username: target.user,
    password: target.password,
    ssl: socket ? false : target.ssl,
    max: 1,
    idle_timeout: 0,
    max_lifetime: 0,
    connect_timeout: options.connectTimeout ?? 30,
    onnotice: () => {},
    ...(options.onClose ? { onclose: options.onClose } : {}),
    fetch_types: false,
    connection: { application_name: 'caloprod' },
  })
}

/** The fields of one `.pgpass` line, split at each `:`; a backslash takes the next character as it is. */
function splitLine(line: string): string[] {
  const fields = ['']
  for (let i = 0; i < line.length; i++) {
    if (line[i] === ':') fields.push('')
    else fields[fields.length - 1] += line[i] === '\\' && i + 1 < line.length ? line[++i] : line[i]
  }
  return fields
}

/**
 * Looks a password up in a libpq password file, as libpq does (postgres.js does not read it): the first line
 * `host:port:database:user:password` whose four fields match, `*` matching anything. Unreadable files give undefined.
 */
export function pgpassLookup(file: string, want: Omit<CatalogTarget, 'password' | 'ssl'>): string | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return undefined
  }
  const wanted = [want.host, String(want.port), want.database, want.user]
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue
    const fields = splitLine(line)
    if (fields.length >= 5 && wanted.every((value, i) => fields[i] === '*' || fields[i] === value)) return fields[4]
  }
  return undefined
}
