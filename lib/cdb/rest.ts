import type { PayloadType } from '../rules/calibrations.js'
import { CaloprodError, UsageError } from '../errors.js'
import type { Reasons } from '../files/process-list.js'
import type { RunTag } from '../files/run-list.js'
import type { Log } from '../log.js'
import { describeRuns, throwIfInterrupted, type CdbAnswer } from './ask.js'
import { emptyCounts } from './filter-datasets.js'
import { HttpClient, jsonOrUndefined } from './http.js'
import { getPayloadIovs, runReasons } from './payload-iovs.js'

/**
 * `apiUrl` ends with `/` (`http://localhost:8000/api/cdb_rest/`); `jobs` requests in flight, each try within
 * `timeoutMs`, `attempts` tries; past `deadlineMs` for the whole ask it fails naming the runs still unanswered.
 */
interface RestAskOptions {
  apiUrl: string
  globalTag: string
  payloadTypes: readonly PayloadType[]
  jobs: number
  timeoutMs: number
  attempts: number
  log: Log
  retryBaseMs?: number
  deadlineMs?: number
  signal?: AbortSignal
  onAnswered?: (answered: number, total: number) => void
}

/**
 * The names of the server's global tags: nopayloaddb's `GET globalTags` (cdb_rest's GlobalTagListSerializer: id, name,
 * author, status, ...). nopayloadclient asks it before every lookup (checkGtExists); caloprod asks it once, to tell a
 * tag the server lacks from payloads it lacks. Throws HttpError when it cannot be asked, CaloprodError for another answer.
 */
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

/**
 * Asks nopayloaddb about `runs`, one request per run (it answers every payload type at once), `jobs` at a time,
 * and judges each run as filter-datasets would (judgeRun). First it asks for the global tags: payloadiovs answers
 * `[]` for a tag it does not have, which would read as every payload missing, so an unknown tag is a UsageError
 * naming the tags it has. Any run left unanswered, after retries, or answered with something that is not
 * payloadiovs rows, stops the others and throws one line naming the server, the run and what to do: the caller
 * writes nothing. A tag with no payload for any run asked gets one warning.
 */
export async function askRest(runs: readonly RunTag[], options: RestAskOptions): Promise<CdbAnswer> {
  const answer: CdbAnswer = { keep: new Set(), reasons: new Map(), counts: emptyCounts(), calls: 0, shards: 0 }
  if (runs.length === 0) return answer
  const { log, jobs: maxInFlight, timeoutMs, attempts, retryBaseMs = 500 } = options
  const stopAll = new AbortController()
  const deadline = options.deadlineMs === undefined ? undefined : AbortSignal.timeout(options.deadlineMs)
  const signal = AbortSignal.any([stopAll.signal, ...(options.signal ? [options.signal] : []), ...(deadline ? [deadline] : [])])
  const pending = new Set(runs.map((run) => run.runnumber))
  const onRetry = (message: string) => log.info(message)
  const http = new HttpClient({ server: options.apiUrl, maxInFlight, timeoutMs, attempts, retryBaseMs, signal, onRetry })
  let failure: CaloprodError | undefined
  // The first failure stops the rest; theirs (aborted) say nothing more. So does the deadline's.
  const stop = (err: unknown, what: string) => {
    if (failure || options.signal?.aborted || deadline?.aborted) return
    failure = err instanceof CaloprodError
      ? err
      : new CaloprodError(`nopayloaddb ${http.server}, ${what}: ${(err as Error).message}`, 1, { cause: err })
    stopAll.abort()
  }
  const tags = await readGlobalTags(http, options.apiUrl).catch((err: unknown) => void stop(err, 'the list of global tags'))
  if (tags && !tags.includes(options.globalTag)) {
    throw new UsageError(
      `global tag "${options.globalTag}" (--global-tag): nopayloaddb ${http.server} has no such tag; ` +
        `it has ${tagNames(tags)}; nothing was written`,
    )
  }
  let empty = 0
  const askRun = async (run: RunTag) => {
    const what = `run ${run.runnumber}`
    const rows = await getPayloadIovs(http, options.apiUrl, options.globalTag, run.runnumber).catch((err: Error) => {
      if (err instanceof CaloprodError) throw err
      throw new CaloprodError(
        `nopayloaddb ${http.server}, ${what}: ${err.message}; ` +
          'check that --cdb-url or NOPAYLOADCLIENT_CONF (base_url, api_res) name a nopayloaddb API root',
      )
    })
    pending.delete(run.runnumber)
    options.onAnswered?.(runs.length - pending.size, runs.length)
    if (rows.length === 0) empty++
    const { missing, outdated } = runReasons(rows, run, options.payloadTypes)
    for (const type of missing) answer.counts[type].missing++
    for (const type of outdated) answer.counts[type].outdated++
    if (missing.length || outdated.length) {
      answer.keep.add(run.runnumber)
      answer.reasons.set(run.runnumber, { missing, outdated })
      const words = [missing.length && `missing ${missing.join(' ')}`, outdated.length && `outdated ${outdated.join(' ')}`].filter(Boolean)
      log.info(`${what} (tag ${run.tag}): ${words.join('; ')}`)
    }
  }
  if (tags) await Promise.all(runs.map((run) => askRun(run).catch((err: unknown) => stop(err, `run ${run.runnumber}`))))
  answer.calls = http.requests
  throwIfInterrupted(options.signal)
  if (!failure && deadline?.aborted) {
    const left = [...pending].sort((a, b) => a - b)
    const more = left.length > 5 ? ` and ${left.length - 5} more` : ''
    const which = left.length === 1 ? `run ${left[0]}` : `runs ${left.slice(0, 5).join(', ')}${more}`
    failure = new CaloprodError(
      `nopayloaddb ${http.server}, ${which}: no answer within --timeout ${options.deadlineMs! / 1000}s for the whole check; ` +
        'the server is slow or stuck: check that nopayloaddb is healthy, or raise --timeout',
    )
  }
  if (failure) throw new CaloprodError(`CDB check failed, nothing was written: ${failure.message}`, 1, { cause: failure })
  if (empty === runs.length) {
    log.warn(
      `global tag "${options.globalTag}" has no payload of any type for any of the ${runs.length} runs asked, so they are all missing`,
    )
  }
  log.info(
    `asked ${http.server} about ${runs.length} runs in ${http.requests} requests (${options.jobs} at a time): ` +
      `${answer.keep.size} to process`,
  )
  return answer
}

// filter-datasets cannot tell a CDB it could not get answers from (down, a proxy's 504s, a server without the global
// tag) from maps that are outdated: nopayloadclient's error becomes '' (releases since 2026-03) or an error text,
// counted outdated or missing, and it exits 0. So the check asks the server filter-datasets itself uses (the one
// NOPAYLOADCLIENT_CONF names) directly: its global tags before and after the call, and the runs the call kept.
// Without a server named, only the answer itself is left to judge.

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
  runs: readonly RunTag[], known: KnownCurrent, check: OutageCheck, ask: () => Promise<CdbAnswer>,
): Promise<CdbAnswer> {
  if (!check.server) return refuseWholeFailure(await ask(), runs, known, check)
  const { http, apiUrl } = check.server
  await probe(http, apiUrl, check.globalTag, 'filter-datasets would count every payload of every run outdated')
  const answer = await ask()
  await probe(http, apiUrl, check.globalTag, 'it stopped answering while filter-datasets ran, so that answer cannot be trusted')
  // Every kept run, asked directly: its reasons for the process list, and a check of the answer.
  const kept = runs.filter((run) => answer.keep.has(run.runnumber))
  const reasons = await Promise.all(kept.map((run) => reasonsOf(http, apiUrl, run, check)))
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
async function reasonsOf(http: HttpClient, apiUrl: string, run: RunTag, check: OutageCheck): Promise<Reasons> {
  try {
    return runReasons(await getPayloadIovs(http, apiUrl, check.globalTag, run.runnumber), run, check.payloadTypes)
  } catch (err) {
    const message =
      err instanceof CaloprodError ? err.message : `nopayloaddb ${http.server}, run ${run.runnumber}: ${(err as Error).message}`
    throw new CaloprodError(`${REFUSED}: ${message}; the answer of filter-datasets cannot be checked`, 1, { cause: err })
  }
}

/** No server to ask: the answer, unless an outage gave it (every lookup failed) and the cache knew some runs as current. */
function refuseWholeFailure(answer: CdbAnswer, runs: readonly RunTag[], known: KnownCurrent, check: OutageCheck) {
  const { payloadTypes: types, log } = check
  const failed = types.reduce((sum, type) => sum + answer.counts[type].missing + answer.counts[type].outdated, 0)
  const witnesses = runs.filter((run) => known.runs.has(run.runnumber))
  if (!witnesses.length || answer.keep.size < runs.length || failed < runs.length * types.length) return answer
  log.info(`runs the settled cache knew as current: ${witnesses.map((run) => run.runnumber).join(' ')}`)
  throw new CaloprodError(
    `${REFUSED}: filter-datasets answered every payload of all ${runs.length} runs missing or outdated, ` +
      `also of ${describeRuns(witnesses)}, which were current when last asked: that is how it answers when it cannot ` +
      'reach the CDB; check the CDB and set NOPAYLOADCLIENT_CONF so that caloprod can ask the CDB itself, or, if those ' +
      `maps are really gone, delete ${known.cache}`,
  )
}
