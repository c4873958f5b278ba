// Parsers for flag values. Each throws a message that names the accepted form, for UsageError to carry.

import { redactUrl } from '../redact.js'

const SUFFIXES: Record<string, number> = { '': 1, k: 1e3, K: 1e3, m: 1e6, M: 1e6 }

/** Larger than any run's event count: a typo, not a threshold. */
const MAX_EVENTS = 1e12

/** An event count such as `500000`, `500k` or `1.5M`. */
export function parseEventCount(raw: string): number {
  const match = /^(\d+(?:\.\d+)?)([kKmM]?)$/.exec(raw.trim())
  if (!match) throw new Error(`cannot parse "${raw}": expected a number such as 500000, 500k or 1.5M`)
  const value = Number(match[1]) * SUFFIXES[match[2]]
  if (!Number.isInteger(value)) throw new Error(`"${raw}" is not a whole number of events`)
  if (value > MAX_EVENTS) throw new Error(`"${raw}" is more events than any run has; expected e.g. 500k`)
  return value
}

/** Parses a positive integer such as a job count. */
export function parsePositiveInt(raw: string): number {
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1 || Number(raw) > 1e6) {
    throw new Error(`cannot parse "${raw}": expected a whole number from 1`)
  }
  return Number(raw)
}

/** Parses a memory request in GB, e.g. `0.5` or `2`. */
export function parseGigabytes(raw: string): number {
  const value = Number(raw)
  if (!/^\d+(\.\d+)?$/.test(raw.trim()) || !(value > 0) || value > 1024) {
    throw new Error(`cannot parse "${raw}": expected a size in GB greater than 0, such as 0.5 or 2`)
  }
  return value
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 }

/** Longer than any duration caloprod means (a night, a recheck, a look back): a typo, and past it dates overflow. */
const MAX_DURATION_DAYS = 3650

/** Parses a duration such as `7d`, `12h`, `30m`, `90s` or a plain number of seconds, into seconds; at most 3650d. */
export function parseDuration(raw: string): number {
  const match = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(raw.trim())
  if (!match) throw new Error(`cannot parse "${raw}": expected a duration such as 7d, 12h, 30m or 90s`)
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] || 's']
  if (!(seconds <= MAX_DURATION_DAYS * 86400)) {
    throw new Error(`"${raw}" is longer than ${MAX_DURATION_DAYS}d (ten years): expected a duration such as 7d, 12h, 30m or 90s`)
  }
  return seconds
}

/** PostgreSQL's largest statement_timeout, in ms (an int): about 24.8 days. */
const MAX_STATEMENT_TIMEOUT_MS = 2147483647

/** `--statement-timeout`: 1 ms (setSession sends whole ms; 0 turns the timeout off) up to PostgreSQL's limit. */
export function parseStatementTimeout(raw: string): number {
  const seconds = parseDuration(raw)
  const ms = Math.round(seconds * 1000)
  if (ms < 1) throw new Error(`"${raw}" is 0 ms, which turns the timeout off: expected from 0.001s to 24d, such as 10m`)
  if (ms > MAX_STATEMENT_TIMEOUT_MS) {
    throw new Error(`"${raw}" is longer than PostgreSQL's statement_timeout allows (${MAX_STATEMENT_TIMEOUT_MS} ms, about 24.8 days): expected from 0.001s to 24d, such as 10m`)
  }
  return seconds
}

/** `--timeout`: 1 s to 24 h (0 times every call out; Node's timers hold at most 2^31-1 ms, a night is shorter). */
export function parseTimeout(raw: string): number {
  const seconds = parseDuration(raw)
  if (seconds < 1) throw new Error(`"${raw}" is no time to run anything: expected from 1s to 24h, such as 30m`)
  if (seconds > 86400) throw new Error(`"${raw}" is longer than 24h: expected from 1s to 24h, such as 30m`)
  return seconds
}

/** A whole number from 1 to `max`; above it, `"N" is more than <what>`. */
const upTo = (max: number, what: string) => (raw: string): number => {
  const n = parsePositiveInt(raw)
  if (n > max) throw new Error(`"${raw}" is more than ${what}: expected 1 to ${max}`)
  return n
}

/** `--jobs`: more filter-datasets processes than this at once only crowd the submit host and the CDB. */
export const parseJobs = upTo(64, '64 filter-datasets processes at once')

/** Why a URL with user info is refused: it would reach logs and messages, and nopayloaddb takes a bearer token. */
export const USER_INFO =
  'holds a user name or password, which caloprod refuses (it would reach logs); give a token in CALOPROD_CDB_TOKEN'

/** `--cdb-url`: a nopayloaddb API root (`http://` may be left out, as in base_url), returned ending with `/`. */
export function parseCdbUrl(raw: string): string {
  const text = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`
  let url: URL
  try {
    url = new URL(text)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`${url.protocol} is not http: or https:`)
    if (url.search || url.hash) throw new Error('it holds a query or fragment')
  } catch (err) {
    const example = 'such as http://localhost:8000/api/cdb_rest/'
    throw new Error(`"${redactUrl(text)}" is not a nopayloaddb API URL ${example} (${(err as Error).message})`)
  }
  if (url.username || url.password) throw new Error(`"${redactUrl(text)}" ${USER_INFO}`)
  if (!url.pathname.endsWith('/')) url.pathname += '/'
  return url.href
}

/** `--db-url`: a FileCatalog URL, checked here so that a bad one is refused naming the flag or its variable. */
export function parseDbUrl(raw: string): string {
  const example = 'expected postgres://user@host:5432/FileCatalog'
  const encode = '(an @, /, ?, # or space in the user name or password is written %40, %2F, %3F, %23 or %20)'
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new Error(`"${redactUrl(raw)}" is not a URL; ${example} ${encode}`)
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new Error(`must start with postgres://, not ${url.protocol}//`)
  // A password with an unencoded / ? or # ends the authority there: `user:2024/SECRET@host/db` is host `user`, port
  // 2024 and database `SECRET@host/db`, which messages name. An @ further on is such a password's end, never a host's.
  if (/@/.test(url.pathname + url.search + url.hash)) {
    throw new Error(`"${redactUrl(raw)}" holds an @ after its host, as from an unencoded /, ? or # in the password: percent-encode it (%2F, %3F, %23)`)
  }
  const parts: [string, string][] = [['user name', url.username], ['password', url.password], ['host', url.hostname], ['database', url.pathname]]
  for (const [part, value] of parts) {
    try {
      decodeURIComponent(value)
    } catch {
      throw new Error(`the URL's ${part} holds a % that is not followed by two hex digits (a % itself is written %25); ${example}`)
    }
  }
  return raw
}

/** `--stat-concurrency`: stats in flight, up to libuv's largest thread pool (UV_THREADPOOL_SIZE is capped there). */
export const parseStatConcurrency = upTo(1024, "libuv's 1024 threads")
