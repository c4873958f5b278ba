// `why --live`: the catalog and the CDB asked now, about a few runs. The catalog answers each run's tags with their
// files and events without the threshold (the query stage's own selection, lib/catalog/selection.ts, with none), so
// a run the query left out is told absent or below the threshold by how much; the CDB (nopayloaddb's payloadiovs,
// as `check --cdb rest` asks it) answers each payload type's state for the kept tag.
import type { PayloadState, PayloadType } from '../rules/calibrations.js'
import type { RuleSet } from '../rules/types.js'
import { buildSelection } from '../catalog/selection.js'
import { connectCatalog, describeTarget, type CatalogTarget } from '../catalog/connection.js'
import { catalogError } from '../catalog/errors.js'
import { setSession } from '../catalog/query-files.js'
import { HttpClient } from '../cdb/http.js'
import { judgeRun, parsePayloadIovs } from '../cdb/payload-iovs.js'
import { payloadIovsUrl } from '../cdb/rest.js'
import type { RunTag } from '../files/run-list.js'

type LiveTags = Map<number, { tag: string; files: number; events: number }[]>

/** Each run's tags in the catalog now, files and events (each segment once), under the rule set but no threshold. */
export async function catalogNow(
  target: CatalogTarget, rules: RuleSet, runType: string, runs: readonly number[], timeoutS: number,
): Promise<LiveTags> {
  const { select } = buildSelection(rules, runType, undefined)
  const sql = connectCatalog(target)
  try {
    // The query stage's session (read-only, its timeout, the settings its selection's patterns and times need).
    await setSession(sql, timeoutS)
    const rows = await sql.unsafe<{ runnumber: number; tag: string; files: number; events: string }[]>(
      `select runnumber, tag, sum(n)::int as files, sum(events)::text as events from (
         select runnumber, tag, segment, count(*) as n, max(events::bigint) as events
         from (${select}) selected where runnumber = any($1::int[]) group by runnumber, tag, segment
       ) segments group by runnumber, tag order by runnumber, tag collate "C"`,
      // As an array literal: the catalog's connection fetches no array types (lib/catalog/connection.ts).
      [`{${runs.join(',')}}`],
    )
    const tags: LiveTags = new Map()
    for (const { runnumber, tag, files, events } of rows) {
      tags.set(runnumber, [...(tags.get(runnumber) ?? []), { tag, files, events: Number(events) }])
    }
    return tags
  } catch (err) {
    throw catalogError(err, describeTarget(target))
  } finally {
    await sql.end({ timeout: 5 })
  }
}

/** Each payload type's state for each run and tag, asked of nopayloaddb at `apiUrl` now. */
export async function cdbNow(
  apiUrl: string, globalTag: string, runs: readonly RunTag[], types: readonly PayloadType[], timeoutMs: number,
): Promise<Map<number, Map<PayloadType, PayloadState>>> {
  const http = new HttpClient({ server: apiUrl, maxInFlight: 4, timeoutMs, attempts: 2 })
  const states = new Map<number, Map<PayloadType, PayloadState>>()
  for (const { runnumber, tag } of runs) {
    const { body } = await http.get(payloadIovsUrl(apiUrl, globalTag, runnumber), `run ${runnumber}`)
    states.set(runnumber, judgeRun(parsePayloadIovs(body, runnumber), runnumber, tag, types))
  }
  return states
}
