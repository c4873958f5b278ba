import { currentPayloadFile, type PayloadState, type PayloadType } from '../rules/calibrations.js'
import type { RunTag } from '../files/run-list.js'
import { htmlTitle, type HttpClient } from './http.js'

/**
 * One row of nopayloaddb's payloadiovs answer: the IOV of one payload type with the latest start at or before the
 * run. `url` is relative to the payload store; `checksum` is the md5 the inserter gave, if any.
 */
export interface PayloadIov {
  type: string
  url: string
  checksum: string | null
  /** Plain numbers: the open end, 2^63-1, reads as 2^63, larger than any run, and that is all it is compared for. */
  majorIov: number
  minorIov: number
  majorIovEnd: number
  minorIovEnd: number
}

/** The columns of a positional row, in order; servers since 2026-03 add `revision` as a ninth. */
const COLUMNS = [
  'payload_type', 'payload_url', 'checksum', 'size', 'major_iov', 'minor_iov', 'major_iov_end', 'minor_iov_end', 'revision',
] as const

function describe(value: unknown): string {
  if (value === undefined) return 'absent'
  if (value === null) return 'null'
  if (Array.isArray(value)) return `a list of ${value.length}`
  if (typeof value === 'object') return 'an object'
  return `${typeof value} ${JSON.stringify(value).slice(0, 60)}`
}

/** One positional row (8 or 9 columns; caloprod never asks for `&shape=dict`). Throws Error naming row and column. */
function parseRow(row: unknown, index: number): PayloadIov {
  const where = `row ${index + 1}`
  if (!Array.isArray(row)) throw new Error(`${where} is ${describe(row)}, not a row of ${COLUMNS.length - 1} or ${COLUMNS.length} columns`)
  if (row.length !== 8 && row.length !== 9) throw new Error(`${where} has ${row.length} columns, expected 8 or 9 (${COLUMNS.join(', ')})`)
  const type: unknown = row[0]
  if (typeof type !== 'string' || type === '') throw new Error(`${where}: payload_type is ${describe(type)}, not a name`)
  const check = <T>(column: (typeof COLUMNS)[number], ok: (value: unknown) => boolean, what: string): T => {
    const value: unknown = row[COLUMNS.indexOf(column)]
    if (!ok(value)) throw new Error(`${where} (${type}): ${column} is ${describe(value)}, not ${what}`)
    return value as T
  }
  const integer = (column: (typeof COLUMNS)[number]) => check<number>(column, Number.isInteger, 'an integer')
  check('size', (v) => v === null || Number.isInteger(v), 'an integer or null')
  return {
    type,
    url: check('payload_url', (v) => typeof v === 'string' && v !== '', 'a non-empty string'),
    checksum: check('checksum', (v) => v === null || typeof v === 'string', 'a string or null'),
    majorIov: integer('major_iov'),
    minorIov: integer('minor_iov'),
    majorIovEnd: integer('major_iov_end'),
    minorIovEnd: integer('minor_iov_end'),
  }
}

/** A payloadiovs answer for `run` (majorIOV 0): a JSON list of at most one row per type, none starting after the run. */
export function parsePayloadIovs(body: string, run: number): PayloadIov[] {
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch (err) {
    if (/^\s*</.test(body)) throw new Error(`the answer is an HTML page${htmlTitle(body, 100)}, not JSON`)
    if (body.trim() === '') throw new Error('the answer is empty, not JSON')
    throw new Error(`the answer is not whole JSON (${(err as Error).message}; ${body.length} characters)`)
  }
  return readPayloadIovs(value, run)
}

/** The URL that asks nopayloaddb for every payload of `run` in `globalTag` (the path keeps its trailing slash). */
export function payloadIovsUrl(apiUrl: string, globalTag: string, run: number): string {
  return `${apiUrl}payloadiovs/?gtName=${encodeURIComponent(globalTag)}&majorIOV=0&minorIOV=${run}`
}

/** `GET payloadiovs` for `run` and its rows: HttpError when it cannot be asked, Error when the rows cannot be read. */
export async function getPayloadIovs(http: HttpClient, apiUrl: string, globalTag: string, run: number): Promise<PayloadIov[]> {
  const { body } = await http.get(payloadIovsUrl(apiUrl, globalTag, run), `run ${run}`)
  return parsePayloadIovs(body, run)
}

export function readPayloadIovs(value: unknown, run: number): PayloadIov[] {
  if (!Array.isArray(value)) throw new Error(`the answer is ${describe(value)}, not a list of payload rows`)
  const rows = value.map(parseRow)
  const seen = new Set<string>()
  for (const row of rows) {
    if (seen.has(row.type)) throw new Error(`two rows for payload type ${row.type}; payloadiovs gives one per type`)
    seen.add(row.type)
    if (row.majorIov > 0 || (row.majorIov === 0 && row.minorIov > run)) {
      throw new Error(`the row of ${row.type} starts at IOV (${row.majorIov}, ${row.minorIov}), after the run asked for`)
    }
  }
  return rows
}

/** Whether an IOV has ended by (0, run): its end, compared as (major, minor), is at or before it. */
export function iovEnded(row: PayloadIov, run: number): boolean {
  return row.majorIovEnd < 0 || (row.majorIovEnd === 0 && row.minorIovEnd <= run)
}

/**
 * Each payload type's state for (run, tag) by filter-datasets's rules: missing without a row or when its IOV has
 * ended; outdated when its URL does not end with the name a payload built for (run, tag) has; current otherwise.
 */
export function judgeRun(
  rows: readonly PayloadIov[], run: number, tag: string, types: readonly PayloadType[],
): Map<PayloadType, PayloadState> {
  const byType = new Map(rows.map((row) => [row.type, row]))
  const states = new Map<PayloadType, PayloadState>()
  for (const type of types) {
    const row = byType.get(type)
    if (!row || iovEnded(row, run)) states.set(type, 'missing')
    else states.set(type, row.url.endsWith(currentPayloadFile(type, tag, run)) ? 'current' : 'outdated')
  }
  return states
}

/** Which of `types` are missing and which outdated for `run` in the payloadiovs rows of its run (judgeRun). */
export function runReasons(rows: PayloadIov[], run: RunTag, types: readonly PayloadType[]): Record<'missing' | 'outdated', PayloadType[]> {
  const states = judgeRun(rows, run.runnumber, run.tag, types)
  const inState = (state: PayloadState) => types.filter((type) => states.get(type) === state)
  return { missing: inState('missing'), outdated: inState('outdated') }
}
