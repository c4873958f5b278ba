// What the upload stage would do with each payload of each finished run, decided from the files, the ledger and
// what the CDB holds, before anything is touched: pure, so the plan and the act are the same decision.
import { payloadState, type PayloadType } from '../config/calibrations.js'
import { iovEnded, type PayloadIov } from '../cdb/payload-iovs.js'
import type { PayloadCheck, PayloadFile, PayloadProblem } from './payload-files.js'
import { latestUploads, uploadKey, type UploadRow } from './ledger.js'
import { storeUrl } from './store.js'

export type UploadAction = 'insert' | 'skip' | 'not'

export interface PlanLine {
  runnumber: number
  tag: string
  type: PayloadType
  action: UploadAction
  why: string
  /** For `not` because of the file: what is wrong with it. */
  problem?: PayloadProblem['reason']
  /** For `insert`: the file and its URL in the store. */
  file?: PayloadFile
  url?: string
}

/** What the CDB says of one finished run, and the global tag's payload lists. */
export interface RunView {
  runnumber: number
  tag: string
  checks: readonly PayloadCheck[]
  /** The run's rows of `payloadiovs` in the global tag. */
  cdb: readonly PayloadIov[]
}

/** The row of a type whose IOV covers the run (nopayloaddb also returns IOVs that ended before it). */
function coveringRow(rows: readonly PayloadIov[], type: string, run: number): PayloadIov | undefined {
  const row = rows.find((r) => r.type === type)
  return row && !iovEnded(row, run) ? row : undefined
}

/** Whether the CDB holds this payload (its checksum) for the run: what settles an interrupted upload. */
export function cdbHolds(rows: readonly PayloadIov[], type: string, run: number, checksum: string): boolean {
  return coveringRow(rows, type, run)?.checksum === checksum
}

/**
 * One line per payload type of a finished run: `insert`, `skip` (the CDB has it with this checksum, the ledger
 * says it was uploaded, or the CDB already has a current payload for the run's tag, which is never replaced) or
 * `not` (the file is missing, empty or not ROOT; the global tag has no payload list for the type).
 */
export function planRun(view: RunView, globalTag: string, lists: ReadonlyMap<string, string>, ledger: readonly UploadRow[]): PlanLine[] {
  const latest = latestUploads(ledger)
  return view.checks.map((check): PlanLine => {
    const type = check.ok ? check.file.type : check.problem.type
    const base = { runnumber: view.runnumber, tag: view.tag, type }
    if (!check.ok) return { ...base, action: 'not', why: `${check.problem.reason}: ${check.problem.detail}`, problem: check.problem.reason }
    const { file } = check
    const done = latest.get(uploadKey({ ...base, globalTag }))
    if (done?.state === 'uploaded' && done.checksum === file.md5) {
      const piov = done.piov === undefined ? '' : ` (piov ${done.piov})`
      return { ...base, action: 'skip', why: `in the ledger: uploaded ${done.time}${piov}` }
    }
    if (cdbHolds(view.cdb, type, view.runnumber, file.md5)) {
      return { ...base, action: 'skip', why: `already in the CDB with this checksum (${file.md5})` }
    }
    const present = coveringRow(view.cdb, type, view.runnumber)
    if (present && payloadState(type, view.tag, view.runnumber, present.url) === 'current') {
      return {
        ...base,
        action: 'skip',
        why: `the CDB already has a current payload for this tag with another checksum (${present.url}); not replaced`,
      }
    }
    if (!lists.has(type)) {
      return {
        ...base,
        action: 'not',
        why:
          `global tag ${globalTag} has no payload list for ${type}; ` +
          "creating one in a tag is an administrator's act (nopayloadclient createPayloadList, then pl_attach)",
      }
    }
    const url = storeUrl(type, file.md5, file.name)
    return {
      ...base,
      action: 'insert',
      why: `${file.name} (${file.size} bytes, md5 ${file.md5}) as ${url}, IOV [${view.runnumber}, ${view.runnumber + 1})`,
      file,
      url,
    }
  })
}

/** A plan line as printed: `<run> <tag> <type> <action>: <why>`. */
export function formatPlanLine(line: PlanLine): string {
  return `${line.runnumber} ${line.tag} ${line.type} ${line.action}: ${line.why}`
}
