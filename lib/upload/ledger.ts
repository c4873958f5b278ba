// The upload ledger `<output>/uploads.csv`, append-only like submissions.csv: an `uploading` row is on disk before
// anything reaches the payload store or the CDB, and a second row after says how it ended, so the next run knows
// what a crash interrupted and asks the CDB about exactly those payloads before deciding anything.
import { PAYLOAD_TYPES, type PayloadType } from '../rules/calibrations.js'
import { appendRows, eachAppendOnly, readAppendOnly, type AppendOnlyContents } from '../files/append-only.js'
import { field, type Table } from '../files/csv.js'
import { tagProblem } from '../files/names.js'

/**
 * - `uploading`: about to copy into the store and insert (a row left alone in this state means a crash, or a
 *   `POST piov` whose answer never came: the next run looks for the payload IOV before making another);
 * - `created`: the CDB made payload IOV `piov`, not attached yet (the attach was refused or interrupted): the next
 *   run attaches it, never making a second one;
 * - `uploaded`: the CDB has the payload for [run, run+1) in the global tag (with the piov id when caloprod saw it);
 * - `failed`: not inserted (the CDB refused, or a crash left it out): the next run may try again;
 * - `present`: not inserted, and nothing to insert: the CDB already had a current payload of this tag for the run, of
 *   another file (`url` is the CDB's; `checksum` this run's file's). A payload the CDB held with this very checksum
 *   is recorded `uploaded`, without a piov. Either way the type is in the CDB: status and why count it so.
 */
const UPLOAD_STATES = ['uploading', 'created', 'uploaded', 'failed', 'present'] as const
type UploadState = (typeof UPLOAD_STATES)[number]

/**
 * The start of a `created` row's detail when the CDB refused the attach (insert.ts writes it), as against the
 * `created` row written between making the payload IOV and attaching it: the ledger's states do not tell the two apart.
 */
export const ATTACH_REFUSED = 'the attach was refused'

/** Whether this row's payload was turned down: not inserted (`failed`), or its attach refused (`created`, ATTACH_REFUSED). */
export const refusedRow = (row: Pick<UploadRow, 'state' | 'detail'>): boolean =>
  row.state === 'failed' || (row.state === 'created' && row.detail.startsWith(ATTACH_REFUSED))

/** `time`: ISO 8601 UTC; `checksum`: the file's md5; `piov`: the payload IOV's id, when known; `url`: in the store. */
export interface UploadRow {
  time: string
  runnumber: number
  tag: string
  type: PayloadType
  globalTag: string
  state: UploadState
  checksum: string
  piov: number | undefined
  url: string
  detail: string
}

const MD5 = /^[0-9a-f]{32}$/

const UPLOADS_TABLE: Table<UploadRow> = {
  columns: ['time', 'runnumber', 'tag', 'payload_type', 'global_tag', 'state', 'checksum', 'piov', 'url', 'detail'],
  toFields: (r) => [r.time, r.runnumber, r.tag, r.type, r.globalTag, r.state, r.checksum, r.piov ?? '', r.url, r.detail],
  fromFields([time, runnumber, tag, type, globalTag, state, checksum, piov, url, detail]) {
    if (Number.isNaN(Date.parse(time))) throw new Error(`time "${time}" is not a date`)
    const problem = tagProblem(tag) ?? tagProblem(globalTag)
    if (problem) throw new Error(problem)
    if (!(PAYLOAD_TYPES as readonly string[]).includes(type)) {
      throw new Error(`payload_type "${type}" is not one of ${PAYLOAD_TYPES.join(', ')}`)
    }
    if (!(UPLOAD_STATES as readonly string[]).includes(state)) throw new Error(`state "${state}" is not one of ${UPLOAD_STATES.join(', ')}`)
    if (!MD5.test(checksum)) throw new Error(`checksum "${checksum}" is not an md5 (32 hex digits)`)
    return {
      time, runnumber: field.count(runnumber, 'runnumber'), tag, type: type as PayloadType, globalTag, state: state as UploadState, checksum,
      piov: piov === '' ? undefined : field.count(piov, 'piov'), url: field.text(url, 'url'), detail,
    }
  },
}

export function readUploads(path: string): Promise<AppendOnlyContents<UploadRow>> {
  return readAppendOnly(path, UPLOADS_TABLE)
}

/**
 * The last row of each (global tag, run, tag, type), as latestUploads gives them: all that status, why and the report
 * read of uploads.csv. Each row is checked as readUploads checks it, and only the latest are kept: a year of the
 * ledger is a hundred MB and three hundred thousand rows, a few of them still where a payload stands. `keep`: only
 * the payloads of the runs it takes (those a caller shows: status its process list, why the runs asked), every
 * row still checked, so memory follows what is shown and not the year's campaigns.
 */
export async function readLatestUploads(
  path: string, keep?: (row: Pick<UploadRow, 'runnumber' | 'tag'>) => boolean,
): Promise<UploadRow[]> {
  const latest = new Map<string, UploadRow>()
  await eachAppendOnly(path, UPLOADS_TABLE, (row) => {
    if (!keep || keep(row)) latest.set(uploadKey(row), row)
  })
  return [...latest.values()]
}

/** A payload whose latest row is one of these is unsettled: the next upload asks the CDB about it, whatever its run. */
const OPEN_STATES: readonly UploadState[] = ['uploading', 'created']

/**
 * What the upload stage needs of uploads.csv: the latest row of each payload (latestUploads) and every payload IOV a
 * row names (a payload IOV no row names may be one an interrupted upload made). Every row checked, none kept whole.
 * `keep`: the latest rows only of the runs it takes (the process list's) and of every payload still unsettled
 * (`uploading`, `created`: settle asks about those of any run), so memory follows the runs, not the year.
 */
export async function readUploadState(
  path: string, keep?: (row: Pick<UploadRow, 'runnumber' | 'tag'>) => boolean,
): Promise<{ latest: Map<string, UploadRow>; piovs: Set<number> }> {
  const latest = new Map<string, UploadRow>()
  const piovs = new Set<number>()
  await eachAppendOnly(path, UPLOADS_TABLE, (row) => {
    if (!keep || keep(row) || OPEN_STATES.includes(row.state)) latest.set(uploadKey(row), row)
    // A later settled row of a run not kept: the payload's latest is neither kept nor open.
    else latest.delete(uploadKey(row))
    if (row.piov !== undefined) piovs.add(row.piov)
  })
  return { latest, piovs }
}

/** Appends and fsyncs; returns whether a torn last line (a crash) was cut off first. */
export function appendUploads(path: string, rows: readonly UploadRow[]): Promise<boolean> {
  return appendRows(path, UPLOADS_TABLE, rows)
}

export function uploadKey(row: Pick<UploadRow, 'runnumber' | 'tag' | 'type' | 'globalTag'>): string {
  return `${row.globalTag}\0${row.runnumber}\0${row.tag}\0${row.type}`
}

/** The last row of each (global tag, run, tag, type): where each payload stands. */
export function latestUploads(rows: readonly UploadRow[]): Map<string, UploadRow> {
  const latest = new Map<string, UploadRow>()
  for (const row of rows) latest.set(uploadKey(row), row)
  return latest
}
