// `why --live`: the catalog and the CDB asked now, about a few runs. The catalog answers each run's tags with their
// files and events without the threshold (the query stage's own selection, lib/catalog/selection.ts, with none), so
// a run the query left out is told absent or below the threshold by how much; the CDB (nopayloaddb's payloadiovs,
// as `check --cdb rest` asks it) answers each payload type's state for the kept tag.
import type { Env, Options } from '../config/options.js'
import { GLOBAL_TAG, type PayloadState, type PayloadType } from '../rules/calibrations.js'
import type { RuleSet } from '../rules/types.js'
import { buildSelection } from '../catalog/selection.js'
import { catalogTarget, connectCatalog, describeTarget, type CatalogTarget } from '../catalog/connection.js'
import { catalogError } from '../catalog/errors.js'
import { setSession } from '../catalog/query-files.js'
import { REQUEST_TIMEOUT_MS, resolveApiUrl } from '../cdb/backend.js'
import { HttpClient } from '../cdb/http.js'
import { redactUrl } from '../redact.js'
import { getPayloadIovs, judgeRun } from '../cdb/payload-iovs.js'
import type { RunTag } from '../files/run-list.js'

/** Each run's tags in the catalog now, files and events (each segment once), under the rule set but no threshold. */
async function catalogNow(target: CatalogTarget, rules: RuleSet, runType: string, runs: readonly number[], timeoutS: number) {
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
    const tags = new Map<number, { tag: string; files: number; events: number }[]>()
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

/** The catalog and the CDB now: each run's tags, each `kept` tag's payload states, and what was asked. */
export async function askNow(
  options: Pick<Options, 'rules'> & Partial<Pick<Options, 'dbUrl' | 'cdbUrl' | 'globalTag' | 'statementTimeout'>>
    & { runType: string; runs: readonly number[] },
  env: Env,
  kept: readonly RunTag[],
) {
  const target = catalogTarget(options.dbUrl, env)
  const tags = await catalogNow(target, options.rules, options.runType, options.runs, options.statementTimeout ?? 600)
  const catalogNote = `the catalog ${describeTarget(target)} asked now, without the threshold`
  const cdb = new Map<number, Map<PayloadType, PayloadState>>()
  const apiUrl = await resolveApiUrl(options.cdbUrl, env).catch(() => undefined)
  if (!apiUrl) {
    return { tags, cdb, catalogNote, cdbAsked: false, cdbNote: 'the CDB not asked now: name nopayloaddb with --cdb-url or NOPAYLOADCLIENT_CONF' }
  }
  const globalTag = options.globalTag ?? GLOBAL_TAG
  const http = new HttpClient({ server: apiUrl, maxInFlight: 4, timeoutMs: REQUEST_TIMEOUT_MS, attempts: 2 })
  for (const { runnumber, tag } of kept) {
    cdb.set(runnumber, judgeRun(await getPayloadIovs(http, apiUrl, globalTag, runnumber), runnumber, tag, options.rules.payloadTypes))
  }
  return { tags, cdb, catalogNote, cdbAsked: true, cdbNote: `nopayloaddb ${redactUrl(apiUrl)} asked now (global tag ${globalTag})` }
}
