import { setMaxListeners } from 'node:events'
import { setTimeout as delay } from 'node:timers/promises'
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
import type { Socket } from 'node:net'
import { withRetry } from '../retry.js'
import { CaloprodError } from '../errors.js'
import { redactUrl } from '../redact.js'

/** How a request failed, each with what to do about it. */
const ADVICE = {
  refused: 'check that nopayloaddb is up and that NOPAYLOADCLIENT_CONF or --cdb-url name its host and port',
  dns: 'check the host name in NOPAYLOADCLIENT_CONF (base_url) or --cdb-url',
  unreachable: 'check the network and the host and port in NOPAYLOADCLIENT_CONF or --cdb-url',
  reset: 'check that nopayloaddb is healthy (its logs), then try again',
  truncated: 'a proxy or the server cut the answer short: check that nopayloaddb is healthy, then try again',
  timeout: 'the server is slow or stuck: check that nopayloaddb is healthy (its logs, its database), then try again',
  status: 'check the server log of nopayloaddb',
  redirect: 'check api_res in NOPAYLOADCLIENT_CONF or --cdb-url: the path must be the API root, with its trailing slash',
  aborted: 'nothing more to do: it was stopped on purpose',
}
export type HttpFailure = keyof typeof ADVICE

/** A request that failed: the message names the server, what was asked and what to do. */
export class HttpError extends CaloprodError {
  readonly failure: HttpFailure
  readonly retryable: boolean
  readonly status: number | undefined
  /** What happened, without server or advice: `answered 503 Service Unavailable`. */
  readonly reason: string
  constructor(message: string, details: { failure: HttpFailure; retryable: boolean; reason: string; status?: number; cause?: unknown }) {
    super(message, 1, { cause: details.cause })
    this.failure = details.failure
    this.retryable = details.retryable
    this.status = details.status
    this.reason = details.reason
  }
}

/**
 * `server` is named in messages without user:password; `maxInFlight` (16) also bounds the connections kept open;
 * `timeoutMs` (30 s) is per try, answer and body; `attempts` (4) count the first (a write is repeated only when it
 * was never sent); pauses double from `retryBaseMs` (500) to `retryMaxMs` (10 s); `token` is sent as a bearer
 * token and never appears in a message.
 */
export interface HttpClientOptions {
  server: string
  maxInFlight?: number
  timeoutMs?: number
  attempts?: number
  retryBaseMs?: number
  retryMaxMs?: number
  token?: string
  signal?: AbortSignal
  onRetry?: (message: string) => void
}

/** A whole answer with a 2xx status. */
type HttpAnswer = { status: number; body: string }

const CODES: Record<string, [HttpFailure, boolean, string]> = {
  ECONNREFUSED: ['refused', true, 'connection refused (nothing listens there: is nopayloaddb running?)'],
  ENOTFOUND: ['dns', false, 'the host name does not resolve (DNS)'],
  EAI_AGAIN: ['dns', true, 'the host name could not be resolved just now (DNS)'],
  ECONNRESET: ['reset', true, 'the connection was reset before the answer'],
  EPIPE: ['reset', true, 'the connection broke while sending'],
  EHOSTUNREACH: ['unreachable', true, 'no route to the host'],
  ENETUNREACH: ['unreachable', true, 'the network is unreachable'],
  ETIMEDOUT: ['unreachable', true, 'the connection timed out'],
}

const REFUSED_HINT = ' (access refused: check the token and the account\'s rights)'
const STATUS_HINTS: Record<number, string> = { 401: REFUSED_HINT, 403: REFUSED_HINT, 404: ' (no such endpoint: check api_res)' }

/** Failures of a request that never left this machine. */
const UNSENT = new Set<HttpFailure>(['refused', 'dns'])

/** The first error code of the cause chain (or of an AggregateError's first error) that says how a request failed. */
function failureOf(err: unknown): [HttpFailure, boolean, string] | undefined {
  type Failed = { code?: string; cause?: unknown; errors?: unknown[] }
  for (let e = err as Failed | undefined, depth = 0; e && depth < 5; e = (e.cause ?? e.errors?.[0]) as Failed | undefined, depth++) {
    if (e.code && CODES[e.code]) return CODES[e.code]
  }
  return undefined
}

/** One try's failure; its `reason` is the bare cause, `request` adds server, tries and advice. */
function fail(failure: HttpFailure, retryable: boolean, reason: string, status?: number, cause?: unknown): never {
  throw new HttpError(reason, { failure, retryable, reason, status, cause })
}

/**
 * How many requests a caller keeps started on a client of `maxInFlight` connections: a few times those, so a request
 * waiting out a retry leaves no connection idle, but not a campaign night's every run at once, each waiting in the
 * agent's queue with its request and signals (about 20 kB: 12,000 runs took 380 MB, docs/speed.md).
 */
export const requestsStarted = (maxInFlight: number) => 4 * maxInFlight

/**
 * How long a kept-alive connection may stay idle and still be reused. A server closes its idle connections after its
 * own keep-alive timeout (gunicorn's 2 s, node's 5 s), and a request written on one as it closes is reset unanswered:
 * for a POST, an upload's failure. node's agent keeps idle connections until the server closes them, unless told.
 */
export const IDLE_CONNECTION_MS = 1000

/** Makes `agent` close each of its kept-alive connections once idle for `ms` (agent.keepSocketAlive, node's hook). */
function closeWhenIdle(agent: HttpAgent, ms: number): void {
  const keep = agent.keepSocketAlive.bind(agent) as (socket: Socket) => boolean
  agent.keepSocketAlive = (socket: Socket) => {
    const kept = keep(socket)
    // node's own timeout (0, or from the server's Keep-Alive hint), when shorter, stays.
    if (kept && !(socket.timeout && socket.timeout < ms)) socket.setTimeout(ms)
    return kept
  }
}

/**
 * An HTTP client for one nopayloaddb: node:http over an agent of its own (connections kept alive and reused), at most
 * `maxInFlight` requests at once, a timeout per try, and retries with backoff on connection errors, timeouts, 429
 * and 5xx only. A 3xx or another 4xx fails at once. Every failure is an HttpError whose one line names the server,
 * what was asked, what happened and what to do. A try that is stopped (timeout, abort) destroys its socket, even one
 * still connecting: fetch (undici) left such a connect running for its own 10 s, and with it the process.
 */
export class HttpClient {
  /** Tries made so far, repeated ones included. */
  requests = 0
  readonly server: string
  private readonly options: HttpClientOptions
  private readonly agent: HttpAgent

  constructor(options: HttpClientOptions) {
    this.options = options
    this.server = redactUrl(options.server)
    // The agent queues requests beyond maxSockets; its idle kept-alive sockets are unref'ed (never hold the process).
    const agentOptions = { keepAlive: true, maxSockets: options.maxInFlight ?? 16 }
    this.agent = /^https:/i.test(options.server) ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions)
    closeWhenIdle(this.agent, IDLE_CONNECTION_MS)
    // Every request in flight or waiting to be repeated listens to the outer signal once: no leak, so no limit.
    if (options.signal) setMaxListeners(0, options.signal)
  }

  get(url: string, what: string): Promise<HttpAnswer> {
    return this.request('GET', url, { what })
  }

  /** `what` is asked, for messages (`run 66500`); `json` is sent as JSON. */
  async request(method: string, url: string, request: { what: string; json?: unknown }): Promise<HttpAnswer> {
    const { attempts = 4, signal } = this.options
    let tries = 0
    try {
      return await withRetry(
        (attempt) => {
          tries = attempt
          return this.once(method, url, request.json)
        },
        {
          attempts,
          baseMs: this.options.retryBaseMs ?? 500,
          maxMs: this.options.retryMaxMs ?? 10000,
          // A write is repeated only when it surely never reached the server: POST piov is not idempotent.
          retryable: (err) =>
            err instanceof HttpError && err.retryable && !signal?.aborted && (method === 'GET' || UNSENT.has(err.failure)),
          onRetry: (err, attempt, delay) =>
            this.options.onRetry?.(
              `${this.server} ${request.what}: try ${attempt} of ${attempts}: ${(err as HttpError).reason}; ` +
                `trying again in ${(delay / 1000).toFixed(1)} s`,
            ),
          // Cut short by an abort: the next try then fails at once as aborted.
          sleep: (ms) => delay(ms, undefined, { signal }).catch(() => {}),
        },
      )
    } catch (err) {
      if (!(err instanceof HttpError)) throw err
      const tried = tries > 1 ? ` (tried ${tries} times)` : ''
      const message = `nopayloaddb ${this.server}, ${request.what}: ${err.reason}${tried}; ${ADVICE[err.failure]}`
      throw new HttpError(message, { failure: err.failure, retryable: false, reason: err.reason, status: err.status, cause: err })
    }
  }

  private async once(method: string, url: string, json: unknown): Promise<HttpAnswer> {
    const timeoutMs = this.options.timeoutMs ?? 30000
    // A plain timer per try, started when the try gets a connection, not while it waits for one.
    const timeout = new AbortController()
    let timer: NodeJS.Timeout | undefined
    const outer = this.options.signal
    // The try's signal is the timer's, aborted by the client's signal too through a listener removed when the try
    // ends. AbortSignal.any([outer, timeout.signal]) would add it to the dependants of every signal outer combines
    // (Node 20 keeps them until a full GC): each request's signal, and what it holds, outlived the request
    // (docs/speed.md, "check's peak memory").
    const stopTry = () => timeout.abort(outer!.reason)
    const headers: Record<string, string> = { accept: 'application/json' }
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`
    if (json !== undefined) headers['content-type'] = 'application/json'
    const stopped = (err: unknown, during: 'answer' | 'body'): never => {
      if (outer?.aborted) return fail('aborted', false, 'stopped', undefined, err)
      if (timeout.signal.aborted) {
        return fail('timeout', true, `no ${during === 'answer' ? 'answer' : 'whole answer'} within ${timeoutMs / 1000} s`, undefined, err)
      }
      if (during === 'body') {
        return fail('truncated', true, 'the answer was cut short (the connection closed after part of the body)', undefined, err)
      }
      const unknown: [HttpFailure, boolean, string] = ['unreachable', true, `the request failed (${(err as Error).message})`]
      return fail(...(failureOf(err) ?? unknown), undefined, err)
    }
    this.requests++
    const { response, body } = await new Promise<{ response: IncomingMessage; body: string }>((resolve, reject) => {
      const failed = (during: 'answer' | 'body') => (err: Error) => reject(Object.assign(err, { during }))
      if (outer?.aborted) stopTry()
      else outer?.addEventListener('abort', stopTry, { once: true })
      const signal = timeout.signal
      const send = /^https:/i.test(url) ? httpsRequest : httpRequest
      const req = send(url, { method, headers, agent: this.agent, signal }, (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('end', () => resolve({ response, body: Buffer.concat(chunks).toString('utf8') }))
        response.on('error', failed('body'))
        response.on('close', () => response.complete || failed('body')(new Error('the connection closed')))
      })
      req.once('socket', () => (timer = setTimeout(() => timeout.abort(), timeoutMs)))
      req.on('error', failed('answer'))
      req.end(json === undefined ? undefined : JSON.stringify(json))
    })
      .catch((err: Error & { during?: 'answer' | 'body' }) => stopped(err, err.during ?? 'answer'))
      .finally(() => {
        clearTimeout(timer)
        outer?.removeEventListener('abort', stopTry)
      })
    const status = response.statusCode ?? 0
    if (status >= 200 && status < 300) return { status, body }
    const said = describeBody(body, response.headers['content-type'])
    if (status >= 300 && status < 400) {
      const location = response.headers.location ?? 'nowhere'
      return fail('redirect', false, `answered ${status} (a redirect to ${redactUrl(location)}) for ${redactUrl(url)}`, status)
    }
    if (status === 429) return fail('status', true, `answered 429 Too Many Requests${said}`, status)
    if (status >= 500) return fail('status', true, `answered ${status} ${response.statusMessage || 'server error'}${said}`, status)
    const hint = STATUS_HINTS[status] ?? ''
    return fail('status', false, `answered ${status} ${response.statusMessage}${hint}${said}`, status)
  }
}

export function jsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** The server's words on one line, as a message quotes them: a Django error's `DETAIL:` line would start a line of its own. */
const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim()

/** A short quote of an error body for a message, on one line: the `detail` of a JSON one, the title of an HTML page. */
function describeBody(body: string, contentType: string | undefined): string {
  const text = body.trim()
  if (!text) return ''
  const detail = contentType?.includes('json') && (jsonOrUndefined(text) as { detail?: unknown } | null)?.detail
  if (typeof detail === 'string') return `: "${oneLine(detail).slice(0, 200)}"`
  const title = htmlTitle(text, 120)
  if (title) return `: an HTML page${title}`
  if (text.startsWith('<')) return ': an HTML page'
  return `: "${oneLine(text).slice(0, 120)}"`
}

/** ` "<title>"` of an HTML page (at most `max` characters, on one line), or '' when it has none. */
export function htmlTitle(body: string, max: number): string {
  const title = oneLine(/<title[^>]*>([^<]*)<\/title>/i.exec(body)?.[1] ?? '')
  return title ? ` "${title.slice(0, max)}"` : ''
}
