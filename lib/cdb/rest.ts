// The check's `rest` backend: nopayloaddb asked directly, one payloadiovs request per run.
import type { PayloadType } from '../rules/calibrations.js'
import { CaloprodError, UsageError } from '../errors.js'
import type { RunTag } from '../files/run-list.js'
import type { Log } from '../log.js'
import { judgeAnswer, type JudgedAnswer } from './answer-gaps.js'
import { throwIfInterrupted, type CdbAnswer } from './ask.js'
import { emptyCounts } from './filter-datasets.js'
import { readGlobalTagList, tagNames } from './global-tags.js'
import { HttpClient, requestsStarted } from './http.js'
import { getPayloadIovs, runReasons } from './payload-iovs.js'
import { eachLimited } from '../pool.js'
import { settleGaps } from './settle-gaps.js'
import { plural } from '../plural.js'

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
  // Of each answer, its run's reasons and its rows' starts (answerGaps'), as the outage guard keeps them: a row for
  // every payload type of the tag, each run's kept whole until the last was answered, was most of a campaign night's
  // memory (docs/speed.md).
  const answers = new Map<number, JudgedAnswer>()
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
    answers.set(run.runnumber, judgeAnswer(rows, run, options.payloadTypes))
  }
  const askAll = (some: readonly RunTag[]) =>
    eachLimited(some, requestsStarted(maxInFlight), (run) => askRun(run).catch((err: unknown) => stop(err, `run ${run.runnumber}`)))
  if (tag) await askAll(runs)
  // Answers that contradict each other are asked again, and refused if they still do (answer-gaps.ts); answers that
  // are all empty are checked against the tag's newest IOVs and its count of IOVs, which the primary database gives.
  if (tag && !failure) {
    const starts = () => new Map([...answers].map(([runnumber, answer]) => [runnumber, answer.starts]))
    const refused = await settleGaps(runs, starts, { http, apiUrl: options.apiUrl, log, askAll, tag, failed: () => failure })
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
    const answered = answers.get(run.runnumber)
    if (!answered?.starts.length) empty++
    const { missing, outdated } = answered?.reasons ?? runReasons([], run, options.payloadTypes)
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
      `global tag "${options.globalTag}" has no payload of any type for ${runs.length === 1 ? 'the one run asked, so it is missing' : `any of the ${runs.length} runs asked, so they are all missing`}`,
    )
  }
  log.info(
    `asked ${http.server} about ${plural(runs.length, 'run')} in ${plural(http.requests, 'request')} (${options.jobs} at a time): ` +
      `${answer.keep.size} to process`,
  )
  return answer
}
