// Inserting payloads through nopayloaddb's REST API, as nopayloadclient's insertPayload does (nopayloadclient
// fbce293, src/nopayloadclient.cpp and resthandler.cpp): `POST piov` makes the payload IOV (URL relative to the store,
// checksum, IOV; no size: the server has no field for it), `PUT piov_attach` attaches it to the type's payload list
// in the global tag (`GET gtPayloadLists/<tag>`). nopayloaddb (cdb_rest/views.py at 0c9f2f8) answers a refusal with
// a 4xx or a 500 and {"detail"}, and a view that raised with Django's HTML 500 page; either way nothing was written
// (a create saves last, an attach is one transaction). A 502/503/504 is a proxy's: whether it got through is unknown.
import { CaloprodError } from '../errors.js'
import { HttpError, htmlTitle, jsonOrUndefined, type HttpClient } from './http.js'
import { parsePayloadIovs, payloadIovsUrl, type PayloadIov } from './payload-iovs.js'

/** A request to the CDB's API, `path` relative to `<base_url><api_res>`; resolves to the body of a 2xx answer. */
export type CdbRequest = (method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown) => Promise<string>

/**
 * The longest payload URL nopayloaddb keeps: PayloadIOV.payload_url is CharField(max_length=255) (cdb_rest/models.py
 * at 0c9f2f8); `POST piov` with a longer one is refused, 400. Of the other fields caloprod writes, the checksum (also
 * 255) is an md5 and the IOV bounds are integers; tag, type and list names are only read.
 */
export const PAYLOAD_URL_MAX = 255

/** Whether nopayloaddb refused a request (a 4xx or 500: nothing was written). */
export function isRefusal(err: unknown): err is HttpError & { status: number } {
  return err instanceof HttpError && err.failure === 'status' && err.status !== undefined && err.status <= 500
}

/** The CDB's API over the shared HTTP client (lib/cdb/http.ts: keep-alive, timeouts, the bearer token; writes are never repeated). */
export function cdbRequestOver(client: HttpClient, apiUrl: string): CdbRequest {
  return async (method, path, body) => (await client.request(method, `${apiUrl}${path}`, { what: `${method} ${path}`, json: body })).body
}

/** The JSON answer to `what` when `ok` accepts it; else one line saying what came, never a whole page. */
function parse(text: string, what: string, expected: string, ok: (value: unknown) => boolean): unknown {
  const value = jsonOrUndefined(text)
  if (value === undefined) {
    const came = /^\s*</.test(text) ? `an HTML page${htmlTitle(text, 60)}` : `"${text.trim().slice(0, 60)}"`
    throw new CaloprodError(`the CDB answered ${what} with ${came}, not JSON`)
  }
  if (!ok(value)) throw new CaloprodError(`the CDB answered ${what} with ${JSON.stringify(value).slice(0, 100)}; expected ${expected}`)
  return value
}

const isObject = (v: unknown) => !!v && typeof v === 'object' && !Array.isArray(v)

/** The payload lists of a global tag, by payload type (`{}` for a tag that has none, or does not exist). */
export async function payloadLists(request: CdbRequest, globalTag: string): Promise<Map<string, string>> {
  const path = `gtPayloadLists/${encodeURIComponent(globalTag)}`
  const body = parse(await request('GET', path), path, 'an object of payload lists', isObject) as Record<string, unknown>
  return new Map(Object.entries(body).filter((e): e is [string, string] => typeof e[1] === 'string'))
}

/** The global tag's status (`unlocked`, `locked`, `frozen`) by `GET globalTags`; undefined for no such tag. */
export async function globalTagStatus(request: CdbRequest, globalTag: string): Promise<string | undefined> {
  const tags = parse(await request('GET', 'globalTags'), 'globalTags', 'a list of global tags', Array.isArray) as Record<string, unknown>[]
  const tag = tags.find((t) => t?.name === globalTag)
  return tag ? String(tag.status) : undefined
}

/**
 * `POST piov`; returns the new payload IOV's id. A run's map is [run, run+1), major 0 at both ends; `open`: [run, ∞),
 * no end sent (nopayloaddb stores 2^63-1 at both ends), as CDBUtils insertPayload with a start alone makes it.
 */
export async function createPayloadIov(request: CdbRequest, piov: { url: string; checksum: string; run: number; open?: boolean }): Promise<number> {
  const start = { major_iov: 0, minor_iov: piov.run }
  const iov = piov.open ? start : { ...start, major_iov_end: 0, minor_iov_end: piov.run + 1 }
  const text = await request('POST', 'piov', { payload_url: piov.url, checksum: piov.checksum, ...iov })
  const created = parse(text, 'POST piov', 'the new payload IOV with its id', (v) => Number.isSafeInteger((v as { id?: unknown })?.id))
  return (created as { id: number }).id
}

/**
 * `PUT piov_attach`: the payload IOV joins the payload list (and so the global tag). nopayloaddb answers the payload
 * IOV it attached as PayloadIOVSerializer writes it, its list by name (PayloadIOVAttachAPIView.put, serializers.py at
 * 0c9f2f8); any other 200 (a proxy's or a single sign-on page) says nothing of what the CDB did: it throws, an
 * outcome unknown, never a refusal.
 */
export async function attachPayloadIov(request: CdbRequest, payloadList: string, piovId: number): Promise<void> {
  const text = await request('PUT', 'piov_attach', { payload_list: payloadList, piov_id: piovId })
  const attached = (v: unknown) => isObject(v) && (v as { id?: unknown }).id === piovId && (v as { payload_list?: unknown }).payload_list === payloadList
  parse(text, 'PUT piov_attach', `payload IOV ${piovId} in payload list ${payloadList}`, attached)
}

/** A payload IOV in no payload list; `inserted`: when nopayloaddb made it (ms since the epoch), if it said so readably. */
export interface DetachedPayloadIov {
  id: number
  inserted: number | undefined
}

/**
 * nopayloaddb's `inserted` in ms: Django writes a naive time when USE_TZ is False, in its TIME_ZONE, 'UTC' in
 * nopayloaddb/settings.py at 0c9f2f8; a time with an offset (a deployment with USE_TZ) is read as it says.
 */
function insertedAt(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined
  const ms = Date.parse(/(?:[zZ]|[+-]\d\d:?\d\d)$/.test(value) ? value : `${value}Z`)
  return Number.isNaN(ms) ? undefined : ms
}

/**
 * The payload IOVs whose URL holds `url`, as rows: nopayloaddb's `GET piov?page=…&search=` (its browse endpoint,
 * PayloadIOVBrowseSerializer, a page with `results`); a server older than that answers every payload IOV it has
 * (PayloadIOVSerializer, a list), which is read the same way.
 */
async function payloadIovsWithUrl(request: CdbRequest, url: string): Promise<Record<string, unknown>[]> {
  const text = await request('GET', `piov?page=1&page_size=1000&search=${encodeURIComponent(url)}`)
  const rowsOf = (v: unknown) => (Array.isArray(v) ? v : (v as { results?: unknown } | null)?.results)
  return rowsOf(parse(text, 'GET piov', 'payload IOVs', (v) => Array.isArray(rowsOf(v)))) as Record<string, unknown>[]
}

/** An IOV end that is nopayloaddb's open end, 2^63-1: read as a double, anything past 2^62 (no run comes near). */
const isOpenEnd = (end: unknown) => Number(end) >= 2 ** 62

/**
 * The payload IOVs starting at `run` with this URL that are in no payload list (payloadIovsWithUrl): made by a
 * `POST piov` whose answer never came back, or never attached; closed, [run, run+1), or open, [run, ∞), as
 * createPayloadIov makes them (the insert checks which end the plan wants before it attaches one). Both answers
 * carry `inserted`, the model's creation time (auto_now_add).
 */
export async function detachedPayloadIovs(request: CdbRequest, url: string, run: number): Promise<DetachedPayloadIov[]> {
  const madeEnd = (end: unknown) => Number(end) === run + 1 || isOpenEnd(end)
  return (await payloadIovsWithUrl(request, url))
    .filter((r) => r.payload_url === url && Number(r.minor_iov) === run && madeEnd(r.minor_iov_end) && !r.payload_list)
    .map((r) => ({ id: Number(r.id), inserted: insertedAt(r.inserted) }))
}

/**
 * Whether payload IOV `id` (with this URL) is open-ended, [run, ∞) (payloadIovsWithUrl); undefined when the CDB does
 * not list it.
 */
export async function payloadIovIsOpen(request: CdbRequest, url: string, id: number): Promise<boolean | undefined> {
  const row = (await payloadIovsWithUrl(request, url)).find((r) => Number(r.id) === id)
  return row === undefined ? undefined : isOpenEnd(row.minor_iov_end)
}

/** `GET payloadiovs/`: the payload of each type the CDB returns for the run (`[]` for an unknown tag). */
export async function payloadIovs(request: CdbRequest, globalTag: string, run: number): Promise<PayloadIov[]> {
  const body = await request('GET', payloadIovsUrl('', globalTag, run))
  try {
    return parsePayloadIovs(body, run)
  } catch (err) {
    throw new CaloprodError(`the CDB answered payloadiovs for run ${run} with what caloprod cannot read: ${(err as Error).message}`)
  }
}
