// Inserting payloads through nopayloaddb's REST API, as nopayloadclient's insertPayload does: `POST piov` creates
// the payload IOV (URL relative to the store, checksum, IOV), `PUT piov_attach` attaches it to the type's payload
// list in the global tag (from `GET gtPayloadLists/<tag>`). nopayloaddb answers a refusal (a locked tag and a
// conflicting IOV, an unknown list) with an HTTP error and `{"detail": "..."}`, which is passed on as it is.
import { CaloprodError } from '../errors.js'
import { HttpError } from './http-error.js'
import type { HttpClient } from './http.js'
import { readPayloadIovs, type PayloadIov } from './payload-iovs.js'

/** A JSON request to the CDB's API; `path` is relative to `<base_url><api_res>`. */
export interface CdbRequest {
  (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<unknown>
}

/** The server answered with an HTTP error: `detail` is its message. */
export class CdbRefusal extends CaloprodError {
  readonly status: number
  readonly detail: string
  constructor(what: string, status: number, detail: string) {
    super(`the CDB refused ${what}: ${detail}`)
    this.name = 'CdbRefusal'
    this.status = status
    this.detail = detail
  }
}

const WHAT: Record<string, string> = { GET: 'reading', POST: 'creating', PUT: 'attaching' }

/**
 * The CDB's API over the shared HTTP client (lib/cdb/http.ts: keep-alive, timeouts, retries on connection errors,
 * timeouts, 429 and 5xx, the bearer token): JSON in, exact JSON out. An HTTP error status becomes a CdbRefusal with
 * the server's message: nopayloaddb's views roll their transaction back before answering one, so nothing was done.
 */
export function cdbRequestOver(client: HttpClient, apiUrl: string): CdbRequest {
  return async (method, path, body) => {
    const what = `${WHAT[method]} ${path.replace(/\?.*/, '')}`
    try {
      const answer = await client.request(method, `${apiUrl}${path}`, { what, json: body })
      return JSON.parse(answer.body) as unknown
    } catch (err) {
      if (err instanceof HttpError && err.failure === 'status' && err.status !== undefined) {
        throw new CdbRefusal(`${method} ${path}`, err.status, err.reason)
      }
      if (err instanceof SyntaxError) {
        throw new CaloprodError(`nopayloaddb ${client.server}, ${what}: the answer is not JSON (${err.message})`)
      }
      throw err
    }
  }
}

/** The payload lists of a global tag, by payload type (`{}` for a tag that has none, or does not exist). */
export async function payloadLists(request: CdbRequest, globalTag: string): Promise<Map<string, string>> {
  const body = await request('GET', `gtPayloadLists/${encodeURIComponent(globalTag)}`)
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new CaloprodError(
      `the CDB answered gtPayloadLists/${globalTag} with ${JSON.stringify(body).slice(0, 100)}; expected an object of payload lists`,
    )
  }
  return new Map(Object.entries(body as Record<string, unknown>).filter((e): e is [string, string] => typeof e[1] === 'string'))
}

/** Whether the global tag exists (`GET globalTags`, as nopayloadclient checks it). */
export async function globalTagExists(request: CdbRequest, globalTag: string): Promise<boolean> {
  const body = await request('GET', 'globalTags')
  if (!Array.isArray(body)) {
    throw new CaloprodError(`the CDB answered globalTags with ${JSON.stringify(body).slice(0, 100)}; expected a list of global tags`)
  }
  return body.some((tag) => tag && typeof tag === 'object' && (tag as { name?: unknown }).name === globalTag)
}

/** What a payload IOV is made of: sPHENIX inserts a run's map for [run, run+1), major 0 at both ends. */
export interface NewPayloadIov {
  url: string
  checksum: string
  size: number
  run: number
}

/** `POST piov`; returns the new payload IOV's id. The IOV is closed: an open end would cover every later run. */
export async function createPayloadIov(request: CdbRequest, piov: NewPayloadIov): Promise<number> {
  const body = await request('POST', 'piov', {
    payload_url: piov.url,
    checksum: piov.checksum,
    size: piov.size,
    major_iov: 0,
    minor_iov: piov.run,
    major_iov_end: 0,
    minor_iov_end: piov.run + 1,
  })
  const id = (body as { id?: unknown } | null)?.id
  if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
    throw new CaloprodError(`the CDB answered POST piov without an id: ${JSON.stringify(body).slice(0, 200)}`)
  }
  return id
}

/** `PUT piov_attach`: the payload IOV joins the payload list (and so the global tag). */
export async function attachPayloadIov(request: CdbRequest, payloadList: string, piovId: number): Promise<void> {
  await request('PUT', 'piov_attach', { payload_list: payloadList, piov_id: piovId })
}

/** `GET payloadiovs/`: the payload of each type the CDB returns for the run (`[]` for an unknown tag). */
export async function payloadIovs(request: CdbRequest, globalTag: string, run: number): Promise<PayloadIov[]> {
  const body = await request('GET', `payloadiovs/?gtName=${encodeURIComponent(globalTag)}&majorIOV=0&minorIOV=${run}`)
  try {
    return readPayloadIovs(body, run)
  } catch (err) {
    throw new CaloprodError(`the CDB answered payloadiovs for run ${run} with what caloprod cannot read: ${(err as Error).message}`)
  }
}
