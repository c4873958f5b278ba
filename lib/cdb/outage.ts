// filter-datasets cannot tell a CDB it could not get answers from (down, a proxy's 504s, a server without the global
// tag) from maps that are outdated: nopayloadclient's error becomes '' (releases since 2026-03) or an error text,
// counted outdated or missing, and it exits 0. So the check asks the server filter-datasets itself uses (the one
// NOPAYLOADCLIENT_CONF names) directly: its global tags before and after the call, and the runs the call kept.
// Without a server named, only the answer itself is left to judge.
import type { PayloadType } from '../rules/calibrations.js'
import { CaloprodError } from '../errors.js'
import type { Reasons } from '../files/process-list.js'
import type { RunTag } from '../files/run-list.js'
import type { Log } from '../log.js'
import { describeRuns, type CdbAnswer } from './ask.js'
import type { HttpClient } from './http.js'
import { getPayloadIovs, runReasons } from './payload-iovs.js'
import { readGlobalTags, tagNames } from './rest.js'

/** Runs asked that the settled cache found current for the same tag and payload types, and the cache's path. */
export interface KnownCurrent {
  runs: ReadonlySet<number>
  cache: string
}

interface OutageCheck {
  /** The server filter-datasets asks (`http` to it); undefined when neither NOPAYLOADCLIENT_CONF nor --cdb-url is set. */
  server: { apiUrl: string; http: HttpClient } | undefined
  globalTag: string
  payloadTypes: readonly PayloadType[]
  log: Log
}

const REFUSED = 'CDB check refused, nothing was written'
/**
 * Runs `ask` (a filter-datasets ask of `runs`) and returns its answer unless it cannot be trusted; throws CaloprodError
 * (one line naming the CDB) when the server cannot be asked or lacks the global tag, before or after, when it says
 * current a run filter-datasets called missing or outdated (asking each gives their reasons), or (no server named)
 * when every lookup of every run failed with runs among them that the cache knew as current.
 */
export async function guardedAsk(
  runs: readonly RunTag[],
  known: KnownCurrent,
  check: OutageCheck,
  ask: () => Promise<CdbAnswer>,
): Promise<CdbAnswer> {
  if (!check.server) {
    const answer = await ask()
    refuseWholeFailure(answer, runs, known, check)
    return answer
  }
  const { http, apiUrl } = check.server
  await probe(http, apiUrl, check.globalTag, 'filter-datasets would count every payload of every run outdated')
  const answer = await ask()
  await probe(http, apiUrl, check.globalTag, 'it stopped answering while filter-datasets ran, so that answer cannot be trusted')
  // Every kept run, asked directly: its reasons for the process list, and a check of the answer.
  const kept = runs.filter((run) => answer.keep.has(run.runnumber))
  const reasons = await Promise.all(kept.map((run) => askRun(http, apiUrl, run, check)))
  kept.forEach((run, i) => answer.reasons.set(run.runnumber, reasons[i]))
  const denied = kept.filter((_, i) => reasons[i].missing.length + reasons[i].outdated.length === 0)
  if (denied.length) {
    const their = denied.length === 1 ? 'its maps are' : 'their maps are'
    throw new CaloprodError(
      `${REFUSED}: filter-datasets called ${describeRuns(denied)} missing or outdated, but nopayloaddb ${http.server} answers ` +
        `that ${their} current: filter-datasets did not get the CDB's answers (an outage while it ran?); ` +
        're-run the check stage when the CDB is healthy',
    )
  }
  if (kept.length) check.log.info(`nopayloaddb ${http.server}, asked about ${describeRuns(kept)}: agrees with filter-datasets`)
  return answer
}

/** Refuses unless the server answers the list of global tags and has the one filter-datasets asks. */
async function probe(http: HttpClient, apiUrl: string, globalTag: string, consequence: string): Promise<void> {
  const tags = await readGlobalTags(http, apiUrl).catch((err: unknown) => {
    throw err instanceof CaloprodError ? new CaloprodError(`${REFUSED}: ${err.message}; ${consequence}`, 1, { cause: err }) : err
  })
  if (!tags.includes(globalTag)) {
    throw new CaloprodError(
      `${REFUSED}: nopayloaddb ${http.server} has no global tag "${globalTag}" (it has ${tagNames(tags)}), ` +
        `the one filter-datasets asks: ${consequence}; check that NOPAYLOADCLIENT_CONF names the production CDB`,
    )
  }
}

/** Which payloads of `run` the server says are missing and which outdated for its tag. */
async function askRun(http: HttpClient, apiUrl: string, run: RunTag, check: OutageCheck): Promise<Reasons> {
  try {
    return runReasons(await getPayloadIovs(http, apiUrl, check.globalTag, run.runnumber), run, check.payloadTypes)
  } catch (err) {
    const message =
      err instanceof CaloprodError ? err.message : `nopayloaddb ${http.server}, run ${run.runnumber}: ${(err as Error).message}`
    throw new CaloprodError(`${REFUSED}: ${message}; the answer of filter-datasets cannot be checked`, 1, { cause: err })
  }
}

/** No server to ask: refuses the answer an outage gives (every lookup failed) when the cache knew some runs as current. */
function refuseWholeFailure(answer: CdbAnswer, runs: readonly RunTag[], known: KnownCurrent, check: OutageCheck): void {
  const { payloadTypes: types, log } = check
  const failed = types.reduce((sum, type) => sum + answer.counts[type].missing + answer.counts[type].outdated, 0)
  const witnesses = runs.filter((run) => known.runs.has(run.runnumber))
  if (!witnesses.length || answer.keep.size < runs.length || failed < runs.length * types.length) return
  log.info(`runs the settled cache knew as current: ${witnesses.map((run) => run.runnumber).join(' ')}`)
  throw new CaloprodError(
    `${REFUSED}: filter-datasets answered every payload of all ${runs.length} runs missing or outdated, ` +
      `also of ${describeRuns(witnesses)}, which were current when last asked: that is how it answers when it cannot ` +
      'reach the CDB; check the CDB and set NOPAYLOADCLIENT_CONF so that caloprod can ask the CDB itself, or, if those ' +
      `maps are really gone, delete ${known.cache}`,
  )
}
