import type { PayloadType } from '../rules/calibrations.js'
import { CaloprodError, UsageError } from '../errors.js'
import type { Reasons } from '../files/process-list.js'
import type { RunTag } from '../files/run-list.js'
import type { Log } from '../log.js'
import { describeRuns, throwIfInterrupted, type CdbAnswer } from './ask.js'
import { emptyCounts } from './filter-datasets.js'
import { HttpClient, jsonOrUndefined } from './http.js'
import { answerGaps } from './answer-gaps.js'
import { NOPAYLOADCLIENT_CONF } from './nopayload-config.js'
import { firstUnreadable } from './payload-files.js'
import { getPayloadIovs, runReasons, type PayloadIov } from './payload-iovs.js'

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
  const tags = await readGlobalTagList(http, options.apiUrl).catch((err: unknown) => void stop(err, 'the list of global tags'))
  const tag = tags?.find((entry) => entry.name === options.globalTag)
  if (tags && !tag) {
    throw new UsageError(
      `global tag "${options.globalTag}" (--global-tag): nopayloaddb ${http.server} has no such tag; ` +
        `it has ${tagNames(tags.map((entry) => entry.name))}; nothing was written`,
    )
  }
  const answers = new Map<number, PayloadIov[]>()
  const askRun = async (run: RunTag) => {
    const rows = await getPayloadIovs(http, options.apiUrl, options.globalTag, run.runnumber).catch((err: Error) => {
      if (err instanceof CaloprodError) throw err
      throw new CaloprodError(
        `nopayloaddb ${http.server}, run ${run.runnumber}: ${err.message}; ` +
          'check that --cdb-url or NOPAYLOADCLIENT_CONF (base_url, api_res) name a nopayloaddb API root',
      )
    })
    if (!answers.has(run.runnumber)) {
      pending.delete(run.runnumber)
      options.onAnswered?.(runs.length - pending.size, runs.length)
    }
    answers.set(run.runnumber, rows)
  }
  const askAll = (some: readonly RunTag[]) =>
    Promise.all(some.map((run) => askRun(run).catch((err: unknown) => stop(err, `run ${run.runnumber}`))))
  if (tag) await askAll(runs)
  // Answers that contradict each other are asked again, and refused if they still do (answer-gaps.ts); answers that
  // are all empty are checked against the tag's newest IOVs and its count of IOVs, which the primary database gives.
  if (tag && !failure) {
    const refused = await settleGaps(runs, () => answers, { http, apiUrl: options.apiUrl, log, askAll, tag, failed: () => failure })
    failure = failure ?? refused
  }
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
  let empty = 0
  for (const run of runs) {
    const rows = answers.get(run.runnumber) ?? []
    if (rows.length === 0) empty++
    const { missing, outdated } = runReasons(rows, run, options.payloadTypes)
    for (const type of missing) answer.counts[type].missing++
    for (const type of outdated) answer.counts[type].outdated++
    if (missing.length || outdated.length) {
      answer.keep.add(run.runnumber)
      answer.reasons.set(run.runnumber, { missing, outdated })
      const words = [missing.length && `missing ${missing.join(' ')}`, outdated.length && `outdated ${outdated.join(' ')}`].filter(Boolean)
      log.info(`run ${run.runnumber} (tag ${run.tag}): ${words.join('; ')}`)
    }
  }
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

/** How many times in all a run whose answer has a gap (answer-gaps.ts) is asked before the check is refused. */
const GAP_TRIES = 3
/** The run asked for each type's newest IOV: past any real run (JavaScript's largest exact integer). */
const NEWEST_IOVS = Number.MAX_SAFE_INTEGER

interface GapContext {
  http: HttpClient
  apiUrl: string
  log: Log
  /** Asks `runs` again, each answer replacing its run's in the answers given to settleGaps. */
  askAll: (runs: readonly RunTag[]) => Promise<unknown>
  tag: GlobalTagEntry
  failed: () => CaloprodError | undefined
}

/**
 * Asks again the runs whose answers another answer contradicts (answerGaps), up to GAP_TRIES in all, and returns the
 * error that refuses the check if they still do. When every answer is empty though the tag holds payload IOVs (its
 * count, from the primary database), the tag's newest IOVs witness too: none at all means payloadiovs is misanswered.
 */
async function settleGaps(
  runs: readonly RunTag[], answersNow: () => ReadonlyMap<number, readonly PayloadIov[]>, ctx: GapContext,
): Promise<CaloprodError | undefined> {
  const { http, apiUrl, log, tag } = ctx
  const witnesses = new Map<number, PayloadIov[]>()
  const count = tag.payloadIovCount ?? 0
  if (count > 0 && [...answersNow().values()].every((rows) => rows.length === 0)) {
    let newest: PayloadIov[]
    try {
      newest = await getPayloadIovs(http, apiUrl, tag.name, NEWEST_IOVS)
    } catch (err) {
      return err instanceof CaloprodError
        ? err
        : new CaloprodError(`nopayloaddb ${http.server}, the newest IOVs of "${tag.name}": ${(err as Error).message}`)
    }
    if (newest.length === 0) {
      return new CaloprodError(
        `nopayloaddb ${http.server} answers no payload of global tag "${tag.name}" for any of the ${runs.length} runs ` +
          `asked, nor for its newest IOVs (minorIOV=${NEWEST_IOVS}), though its list of global tags counts ${count} ` +
          'payload IOVs in it: a proxy dropping the query string, or a read replica without the tag? check the server',
      )
    }
    witnesses.set(NEWEST_IOVS, newest)
  }
  for (let tries = 1; ; tries++) {
    const gaps = answerGaps(answersNow(), witnesses)
    if (gaps.length === 0) return undefined
    const gapRuns = runs.filter((run) => gaps.some((gap) => gap.run === run.runnumber))
    if (tries === GAP_TRIES) {
      const [first] = gaps
      const by = first.witness === NEWEST_IOVS ? 'its newest IOVs show' : `its answer for run ${first.witness} shows`
      const more = gapRuns.length > 1 ? ` (so were ${gapRuns.length - 1} more runs)` : ''
      return new CaloprodError(
        `nopayloaddb ${http.server} answered run ${first.run} without ${first.type} in ${GAP_TRIES} tries${more}, though ` +
          `${by} ${first.type}'s IOV starting at run ${first.start}, which payloadiovs always answers for a later run: ` +
          'a read replica out of step with the others, or a proxy dropping the query string? check the server',
      )
    }
    log.info(`nopayloaddb ${http.server}: ${describeRuns(gapRuns)} answered without payloads other answers show; asking again`)
    await ctx.askAll(gapRuns)
    if (ctx.failed()) return undefined
  }
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

/**
 * The server filter-datasets asks, as the guard asks it: `client(signal)` a client to it with `jobs` requests in
 * flight that stops when `signal` aborts; the questions of one step (before filter-datasets, after it) together
 * within `deadlineMs` (--timeout); `signal` stops everything from outside (SIGTERM).
 */
export interface GuardServer {
  apiUrl: string
  client: (signal: AbortSignal) => HttpClient
  jobs: number
  deadlineMs: number
  signal?: AbortSignal
}

interface OutageCheck {
  /** The server filter-datasets asks; undefined when neither NOPAYLOADCLIENT_CONF nor --cdb-url is set. */
  server: GuardServer | undefined
  /** read_dir_list of NOPAYLOADCLIENT_CONF (`file`), where nopayloadclient looks for payload files; undefined if unknown. */
  readDirs?: { dirs: readonly string[]; file: string }
  globalTag: string
  payloadTypes: readonly PayloadType[]
  log: Log
}

const REFUSED = 'CDB check refused, nothing was written'
/**
 * Runs `ask` (a filter-datasets ask of `runs`) and returns its answer unless it cannot be trusted; throws CaloprodError
 * (one line naming the CDB) when the server cannot be asked or lacks the global tag, before or after, when it says
 * current a run filter-datasets called missing or outdated (asking each gives their reasons), or (no server named)
 * when every lookup of every run failed with runs among them that the cache knew as current. No runs: nothing is
 * asked, of the server either (a night with every run settled needs nothing of the CDB, up or down).
 */
export async function guardedAsk(
  runs: readonly RunTag[], known: KnownCurrent, check: OutageCheck, ask: () => Promise<CdbAnswer>,
): Promise<CdbAnswer> {
  if (runs.length === 0) return ask()
  const { server } = check
  if (!server) return refuseWholeFailure(await ask(), runs, known, check)
  const { apiUrl } = server
  await step(server, 'filter-datasets was not started', (http, asking) =>
    probe(http, apiUrl, check.globalTag, asking, 'filter-datasets would count every payload of every run outdated'))
  const answer = await ask()
  // Every kept run, asked directly: its reasons for the process list, and a check of the answer.
  const kept = runs.filter((run) => answer.keep.has(run.runnumber))
  let name = ''
  const reasons = await step(server, 'the answer of filter-datasets cannot be checked', async (http, asking) => {
    name = http.server
    const tag = await probe(http, apiUrl, check.globalTag, asking, 'it stopped answering while filter-datasets ran, so that answer cannot be trusted')
    const answers = new Map<number, { reasons: Reasons; rows: PayloadIov[] }>()
    const askAll = (some: readonly RunTag[]) =>
      Promise.all(some.map(async (run) => void answers.set(run.runnumber, await reasonsOf(http, apiUrl, run, check, asking))))
    await askAll(kept)
    // The server's answers confirm filter-datasets's only when they agree with each other (answer-gaps.ts).
    const rows = () => new Map(kept.map((run) => [run.runnumber, answers.get(run.runnumber)!.rows]))
    const refused = await settleGaps(kept, rows, { http, apiUrl, log: check.log, askAll, tag, failed: () => undefined })
    if (refused) throw new CaloprodError(`${REFUSED}: ${refused.message}; the answer of filter-datasets cannot be checked`)
    return kept.map((run) => answers.get(run.runnumber)!)
  })
  kept.forEach((run, i) => answer.reasons.set(run.runnumber, reasons[i].reasons))
  const denied = kept.filter((_, i) => reasons[i].reasons.missing.length + reasons[i].reasons.outdated.length === 0)
  if (denied.length) {
    const their = denied.length === 1 ? 'its maps are' : 'their maps are'
    const rows = new Map(kept.flatMap((run, i) => (denied.includes(run) ? [[run.runnumber, reasons[i].rows] as const] : [])))
    throw new CaloprodError(
      `${REFUSED}: filter-datasets called ${describeRuns(denied)} missing or outdated, but nopayloaddb ${name} answers ` +
        `that ${their} current: filter-datasets did not get the CDB's answers: ${await whyDenied(rows, check.readDirs)}`,
    )
  }
  if (kept.length) check.log.info(`nopayloaddb ${name}, asked about ${describeRuns(kept)}: agrees with filter-datasets`)
  return answer
}

/**
 * One step of the guard's questions to `server` (`work`, asking through `http` and naming in `asking` what is asked
 * until answered): `jobs` requests in flight, all within --timeout, and the first failure stops the rest, so no
 * request outlives the step. Past the deadline it refuses naming what is still unanswered and `consequence`.
 */
async function step<T>(
  server: GuardServer, consequence: string, work: (http: HttpClient, asking: Set<string>) => Promise<T>,
): Promise<T> {
  const stopAll = new AbortController()
  const deadline = AbortSignal.timeout(server.deadlineMs)
  const http = server.client(AbortSignal.any([stopAll.signal, deadline, ...(server.signal ? [server.signal] : [])]))
  const asking = new Set<string>()
  try {
    return await work(http, asking)
  } catch (err) {
    stopAll.abort()
    throwIfInterrupted(server.signal)
    if (!deadline.aborted) throw err
    const which = describeAsking([...asking])
    throw new CaloprodError(
      `${REFUSED}: nopayloaddb ${http.server}, ${which}: no answer within --timeout ${server.deadlineMs / 1000}s ` +
        `(${server.jobs} requests at a time); ${consequence}; the server is slow or stuck: check that nopayloaddb is ` +
        'healthy, or raise --timeout or --jobs',
      1,
      { cause: err },
    )
  }
}

/** What is still being asked (`run 66500`, `the list of global tags`) for a message: the first five runs and a count. */
function describeAsking(asking: readonly string[]): string {
  const runs = asking.filter((what) => what.startsWith('run ')).map((what) => what.slice('run '.length))
  const more = runs.length > 5 ? ` and ${runs.length - 5} more` : ''
  const named = runs.length === 1 ? [`run ${runs[0]}`] : runs.length ? [`runs ${runs.slice(0, 5).join(', ')}${more}`] : []
  return [...asking.filter((what) => !what.startsWith('run ')), ...named].join(', ')
}

/** Refuses unless the server answers the list of global tags and has the one filter-datasets asks. */
async function probe(
  http: HttpClient, apiUrl: string, globalTag: string, asking: Set<string>, consequence: string,
): Promise<GlobalTagEntry> {
  const what = 'the list of global tags'
  asking.add(what)
  const tags = await readGlobalTagList(http, apiUrl).catch((err: unknown) => {
    throw err instanceof CaloprodError ? new CaloprodError(`${REFUSED}: ${err.message}; ${consequence}`, 1, { cause: err }) : err
  })
  asking.delete(what)
  const tag = tags.find((entry) => entry.name === globalTag)
  if (!tag) {
    throw new CaloprodError(
      `${REFUSED}: nopayloaddb ${http.server} has no global tag "${globalTag}" (it has ${tagNames(tags.map((entry) => entry.name))}), ` +
        `the one filter-datasets asks: ${consequence}; check that NOPAYLOADCLIENT_CONF names the production CDB`,
    )
  }
  return tag
}

/**
 * Why filter-datasets missed answers the server gives, with what to do: an outage while it ran, or payload files
 * nopayloadclient cannot find under read_dir_list; which of them when the folders are known (the files of the
 * disputed runs' rows looked for there, as nopayloadclient does: lib/cdb/payload-files.ts).
 */
async function whyDenied(rows: ReadonlyMap<number, readonly PayloadIov[]>, readDirs: OutageCheck['readDirs']): Promise<string> {
  const outage = 're-run the check stage when the CDB is healthy'
  if (!readDirs?.dirs.length) {
    return `an outage while it ran, or payload files nopayloadclient cannot find under the folders of read_dir_list in ` +
      `${NOPAYLOADCLIENT_CONF} (cvmfs not mounted or not yet published there); ${outage}, or check that those folders hold the payload files`
  }
  const where = `read_dir_list of ${NOPAYLOADCLIENT_CONF}=${readDirs.file} (${readDirs.dirs.join(' ')})`
  const unreadable = await firstUnreadable(rows, readDirs.dirs)
  if (!unreadable) return `the payload files of the runs are all under ${where}, so an outage while it ran, most likely; ${outage}`
  return `nopayloadclient cannot find their payload files: none of the folders of ${where} holds ${unreadable.url} ` +
    `(run ${unreadable.run}), and it fails every lookup of a run with one such file; check that the payload store is ` +
    'mounted there (cvmfs) and published, then re-run the check stage'
}

/** Which payloads of `run` the server says are missing and which outdated for its tag, and its rows. */
async function reasonsOf(
  http: HttpClient, apiUrl: string, run: RunTag, check: OutageCheck, asking: Set<string>,
): Promise<{ reasons: Reasons; rows: PayloadIov[] }> {
  const what = `run ${run.runnumber}`
  asking.add(what)
  try {
    const rows = await getPayloadIovs(http, apiUrl, check.globalTag, run.runnumber)
    asking.delete(what)
    return { reasons: runReasons(rows, run, check.payloadTypes), rows }
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
