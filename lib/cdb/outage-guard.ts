// filter-datasets cannot tell a CDB it could not get answers from (down, a proxy's 504s, a server without the global
// tag) from maps that are outdated: nopayloadclient's error becomes '' (releases since 2026-03) or an error text,
// counted outdated or missing, and it exits 0. So the check asks the server filter-datasets itself uses (the one
// NOPAYLOADCLIENT_CONF names) directly: its global tags before and after the call, and the runs the call kept.
// Without a server named, only the answer itself is left to judge.
import type { PayloadType } from '../rules/calibrations.js'
import { CaloprodError } from '../errors.js'
import type { RunTag } from '../files/run-list.js'
import type { Log } from '../log.js'
import { judgeAnswer, type JudgedAnswer } from './answer-gaps.js'
import { describeRuns, throwIfInterrupted, type CdbAnswer } from './ask.js'
import { readGlobalTagList, tagNames, type GlobalTagEntry } from './global-tags.js'
import { requestsStarted, type HttpClient } from './http.js'
import { NOPAYLOADCLIENT_CONF } from './nopayload-config.js'
import { firstUnreadable } from './payload-files.js'
import { getPayloadIovs, type PayloadIov } from './payload-iovs.js'
import { settleGaps } from './settle-gaps.js'
import { eachLimited } from '../pool.js'

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

/**
 * What the guard keeps of a run's answer until every kept run is answered: its reasons; where each row's IOV starts,
 * for answerGaps; and the rows themselves only when they say every payload is current, which refuses the check and
 * whyDenied looks for their files. A run's answer has a row for every payload type of the global tag: a campaign
 * night's 12,000 answers kept whole were most of the check's memory (docs/speed.md).
 */
interface KeptAnswer extends JudgedAnswer {
  currentRows?: PayloadIov[]
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
    const answers = new Map<number, KeptAnswer>()
    const askAll = (some: readonly RunTag[]) => eachLimited(some, requestsStarted(server.jobs), async (run) => {
      answers.set(run.runnumber, await reasonsOf(http, apiUrl, run, check, asking))
    })
    await askAll(kept)
    // The server's answers confirm filter-datasets's only when they agree with each other (answer-gaps.ts).
    const starts = () => new Map(kept.map((run) => [run.runnumber, answers.get(run.runnumber)!.starts]))
    const refused = await settleGaps(kept, starts, { http, apiUrl, log: check.log, askAll, tag, failed: () => undefined })
    if (refused) throw new CaloprodError(`${REFUSED}: ${refused.message}; the answer of filter-datasets cannot be checked`)
    return kept.map((run) => answers.get(run.runnumber)!)
  })
  kept.forEach((run, i) => answer.reasons.set(run.runnumber, reasons[i].reasons))
  // The runs the server calls current, with their rows.
  const denied = kept.flatMap((run, i) => {
    const rows = reasons[i].currentRows
    return rows ? [{ run, rows }] : []
  })
  if (denied.length) {
    const their = denied.length === 1 ? 'its maps are' : 'their maps are'
    const rows = new Map(denied.map(({ run, rows }) => [run.runnumber, rows]))
    const runs = describeRuns(denied.map(({ run }) => run))
    throw new CaloprodError(
      `${REFUSED}: filter-datasets called ${runs} missing or outdated, but nopayloaddb ${name} answers ` +
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

/** Which payloads of `run` the server says are missing and which outdated for its tag, and the rest of its KeptAnswer. */
async function reasonsOf(
  http: HttpClient, apiUrl: string, run: RunTag, check: OutageCheck, asking: Set<string>,
): Promise<KeptAnswer> {
  const what = `run ${run.runnumber}`
  asking.add(what)
  try {
    const rows = await getPayloadIovs(http, apiUrl, check.globalTag, run.runnumber)
    asking.delete(what)
    const judged = judgeAnswer(rows, run, check.payloadTypes)
    const current = judged.reasons.missing.length + judged.reasons.outdated.length === 0
    return { ...judged, currentRows: current ? rows : undefined }
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
    `${REFUSED}: filter-datasets answered every payload of ${runs.length === 1 ? 'the one run' : `all ${runs.length} runs`} missing or outdated, ` +
      `also of ${describeRuns(witnesses)}, which were current when last asked: that is how it answers when it cannot ` +
      'reach the CDB; check the CDB and set NOPAYLOADCLIENT_CONF so that caloprod can ask the CDB itself, or, if those ' +
      `maps are really gone, delete ${known.cache}`,
  )
}
