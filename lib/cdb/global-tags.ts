// The global tags a nopayloaddb server has, as its `GET globalTags` lists them.
import { CaloprodError } from '../errors.js'
import { jsonOrUndefined, type HttpClient } from './http.js'

/** A global tag as `GET globalTags` lists it: its name and, where the server says, how many payload IOVs it holds. */
export interface GlobalTagEntry {
  name: string
  payloadIovCount: number | undefined
}

/**
 * The server's global tags: nopayloaddb's `GET globalTags` (cdb_rest's GlobalTagListSerializer: id, name, author,
 * status, payload_lists_count, payload_iov_count (counted on the primary database), ...). nopayloadclient asks it
 * before every lookup (checkGtExists); caloprod asks it once, to tell a tag the server lacks from payloads it lacks.
 * Throws HttpError when it cannot be asked, CaloprodError for another answer.
 */
export async function readGlobalTagList(http: HttpClient, apiUrl: string): Promise<GlobalTagEntry[]> {
  const { body } = await http.get(`${apiUrl}globalTags`, 'the list of global tags')
  const value = jsonOrUndefined(body)
  type Listed = { name: string; payload_iov_count?: unknown }
  const isTag = (tag: unknown): tag is Listed => typeof (tag as { name?: unknown } | null)?.name === 'string'
  if (!Array.isArray(value) || !value.every(isTag)) {
    throw new CaloprodError(
      `nopayloaddb ${http.server}, the list of global tags: the answer is not a list of tags ("${body.slice(0, 80)}"); ` +
        'check that --cdb-url or NOPAYLOADCLIENT_CONF (base_url, api_res) name a nopayloaddb API root',
    )
  }
  const count = (tag: Listed) => (Number.isInteger(tag.payload_iov_count) ? (tag.payload_iov_count as number) : undefined)
  return value.map((tag) => ({ name: tag.name, payloadIovCount: count(tag) }))
}

/** `a, b, c` for a message: the first twenty names and how many more. */
export function tagNames(tags: readonly string[]): string {
  const names = [...tags].sort()
  if (names.length === 0) return 'none'
  return names.length > 20 ? `${names.slice(0, 20).join(', ')} and ${names.length - 20} more` : names.join(', ')
}
