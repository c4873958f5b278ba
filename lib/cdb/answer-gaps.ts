// What one payloadiovs answer says of another. nopayloaddb answers, for each payload type of the tag, the IOV with
// the latest start at or before the run, ended or not (cdb_rest/queries.py get_payload_iovs at 0c9f2f8: a LATERAL
// join per payload list, ORDER BY comb_iov DESC LIMIT 1). So a type that any answer shows starting at or before run
// R has a row in R's answer too, whatever the CDB holds. An answer without it is no fact about the CDB but a faulty
// answer: a read replica out of step with the others (payloadiovs reads a random `read_db_*`), or a proxy that
// dropped the query string (payloadiovs then answers []). Taken at its word, it sends R's job for nothing.
import type { PayloadType } from '../rules/calibrations.js'
import type { RunTag } from '../files/run-list.js'
import { runReasons, type PayloadIov } from './payload-iovs.js'

/** Of a payloadiovs row, what answerGaps reads: its type and where its IOV starts. */
export type IovStart = Pick<PayloadIov, 'type' | 'majorIov' | 'minorIov'>

/** One string per payload type name for all the starts kept: JSON.parse makes a new one for each row of each answer. */
const typeNames = new Map<string, string>()

/**
 * `rows` as answerGaps reads them, to keep until every run is answered: the URL, checksum and end of each row (most
 * of a row, and a run's answer has a row for every payload type of the global tag) are no longer needed once the
 * run is judged.
 */
export function iovStarts(rows: readonly PayloadIov[]): IovStart[] {
  return rows.map(({ type, majorIov, minorIov }) => {
    if (!typeNames.has(type)) typeNames.set(type, type)
    return { type: typeNames.get(type)!, majorIov, minorIov }
  })
}

/** What check keeps of a run's answer until every run is answered: its reasons, and where its rows' IOVs start. */
export interface JudgedAnswer {
  reasons: ReturnType<typeof runReasons>
  starts: IovStart[]
}

/** `rows`, the answer for `run`, judged for `types` and cut to what check keeps of it (JudgedAnswer). */
export const judgeAnswer = (rows: PayloadIov[], run: RunTag, types: readonly PayloadType[]): JudgedAnswer =>
  ({ reasons: runReasons(rows, run, types), starts: iovStarts(rows) })

/** Run `run`'s answer has no row of `type`, though the answer for `witness` shows one starting at (0, `start`). */
export interface AnswerGap {
  run: number
  type: string
  witness: number
  start: number
}

/** Whether an IOV starts at or before (0, run), as (major, minor) pairs compare. */
const startsBy = (row: IovStart, run: number) => row.majorIov < 0 || (row.majorIov === 0 && row.minorIov <= run)

/** Whether `a` starts before `b`. */
const earlier = (a: IovStart, b: IovStart) => a.majorIov < b.majorIov || (a.majorIov === b.majorIov && a.minorIov < b.minorIov)

/**
 * The gaps among `answers` (run → its rows): each type a run's answer lacks that another answer (`witnesses`: more
 * answers, such as one for the last IOV, that are no run of the check) shows starting at or before that run.
 */
export function answerGaps(
  answers: ReadonlyMap<number, readonly IovStart[]>, witnesses: ReadonlyMap<number, readonly IovStart[]> = new Map(),
): AnswerGap[] {
  const earliest = new Map<string, { row: IovStart; witness: number }>()
  for (const source of [answers, witnesses]) {
    for (const [witness, rows] of source) {
      for (const row of rows) {
        const seen = earliest.get(row.type)
        if (!seen || earlier(row, seen.row)) earliest.set(row.type, { row, witness })
      }
    }
  }
  const gaps: AnswerGap[] = []
  for (const [run, rows] of answers) {
    const has = new Set(rows.map((row) => row.type))
    for (const [type, { row, witness }] of earliest) {
      if (!has.has(type) && startsBy(row, run)) gaps.push({ run, type, witness, start: row.minorIov })
    }
  }
  return gaps.sort((a, b) => a.run - b.run || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0))
}
