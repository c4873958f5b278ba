// nopayloaddb's `GET globalTags`: every global tag the server has, as cdb_rest's GlobalTagListSerializer writes it
// (id, name, author, status, payload_lists_count, payload_iov_count, created, updated). nopayloadclient asks it before
// every lookup (checkGtExists); caloprod asks it once, to tell a tag the server lacks from payloads it lacks.
import { CaloprodError } from '../errors.js'
import { jsonOrUndefined, type HttpClient } from './http.js'

/** The global tags' names of the server behind `http`. Throws HttpError when it cannot be asked, CaloprodError for another answer. */
export async function readGlobalTags(http: HttpClient, apiUrl: string): Promise<string[]> {
  const { body } = await http.get(`${apiUrl}globalTags`, 'the list of global tags')
  const value = jsonOrUndefined(body)
  const isTag = (tag: unknown): tag is { name: string } => typeof (tag as { name?: unknown } | null)?.name === 'string'
  if (!Array.isArray(value) || !value.every(isTag)) {
    throw new CaloprodError(
      `nopayloaddb ${http.server}, the list of global tags: the answer is not a list of tags ("${body.slice(0, 80)}"); ` +
        'check that --cdb-url or NOPAYLOADCLIENT_CONF (base_url, api_res) name a nopayloaddb API root',
    )
  }
  return value.map((tag) => tag.name)
}

/** `a, b, c` for a message: the first twenty names and how many more. */
export function tagNames(tags: readonly string[]): string {
  const names = [...tags].sort()
  if (names.length === 0) return 'none'
  return names.length > 20 ? `${names.slice(0, 20).join(', ')} and ${names.length - 20} more` : names.join(', ')
}
