// How a request to an HTTP server (nopayloaddb) failed, for the client in http.ts and the callers that tell
// a refusal from an outage.
import { CaloprodError } from '../errors.js'

/** How a request failed; `retryable` says whether another try may help. */
export type HttpFailure =
  | 'refused' // nobody listens at the address (server down or restarting)
  | 'dns' // the host name does not resolve
  | 'unreachable' // no route, or the connection could not be made in time
  | 'reset' // the connection broke before the answer began
  | 'truncated' // the connection closed before the whole answer arrived
  | 'timeout' // no whole answer within the timeout
  | 'status' // an HTTP error status
  | 'redirect' // a 3xx: the URL is not the API's (often a missing trailing slash)
  | 'aborted' // stopped from outside (SIGTERM, another request failed)

/** A request that failed: the message names the server, what was asked and what to do. */
export class HttpError extends CaloprodError {
  readonly failure: HttpFailure
  readonly retryable: boolean
  readonly status: number | undefined
  /** What happened, without server or advice: `answered 503 Service Unavailable`. */
  readonly reason: string
  constructor(message: string, details: { failure: HttpFailure; retryable: boolean; reason: string; status?: number; cause?: unknown }) {
    super(message, 1, { cause: details.cause })
    this.name = 'HttpError'
    this.failure = details.failure
    this.retryable = details.retryable
    this.status = details.status
    this.reason = details.reason
  }
}
