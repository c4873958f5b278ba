// Answers of payloadiovs that contradict each other (answer-gaps.ts), asked again until they agree or refused.
import { CaloprodError } from '../errors.js'
import type { RunTag } from '../files/run-list.js'
import type { Log } from '../log.js'
import { answerGaps, type IovStart } from './answer-gaps.js'
import { describeRuns } from './ask.js'
import type { GlobalTagEntry } from './global-tags.js'
import type { HttpClient } from './http.js'
import { getPayloadIovs, type PayloadIov } from './payload-iovs.js'

/** How many times in all a run whose answer has a gap (answer-gaps.ts) is asked before the check is refused. */
const GAP_TRIES = 3
/** The run asked for each type's newest IOV: past any real run (JavaScript's largest exact integer). */
const NEWEST_IOVS = Number.MAX_SAFE_INTEGER

export interface GapContext {
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
export async function settleGaps(
  runs: readonly RunTag[], answersNow: () => ReadonlyMap<number, readonly IovStart[]>, ctx: GapContext,
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
        `nopayloaddb ${http.server} answers no payload of global tag "${tag.name}" for ${runs.length === 1 ? 'the one run' : `any of the ${runs.length} runs`} ` +
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
