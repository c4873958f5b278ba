// What the upload stage would do with each payload of each finished run, decided from the files, the ledger and
// what the CDB holds around the run, before anything is touched: pure, so the plan and the act are the same decision.
import { payloadState, type PayloadType } from '../rules/calibrations.js'
import { PAYLOAD_URL_MAX } from '../cdb/nopayload-write.js'
import { iovEnded, type PayloadIov } from '../cdb/payload-iovs.js'
import type { PayloadCheck, PayloadFile, PayloadProblem } from './payload-files.js'
import { uploadKey, type UploadRow } from './ledger.js'
import { storeUrl } from './store.js'

type UploadAction = 'insert' | 'skip' | 'not'

export interface PlanLine {
  runnumber: number
  tag: string
  type: PayloadType
  action: UploadAction
  why: string
  /**
   * For `not`: what is wrong with the file, `layout`: the CDB's insert would fail around the run, `url`: its URL is
   * longer than nopayloaddb keeps.
   */
  problem?: PayloadProblem['reason'] | 'layout' | 'url'
  /**
   * For a `skip` because the CDB holds a current payload of this tag for the run: its url, and whether it is this
   * run's file (same checksum). The act records it in the ledger (insert.ts, heldRows), so status need not ask the CDB.
   */
  held?: { url: string; same: boolean; checksum: string }
  /**
   * For `insert`; `piov`: one an earlier run made and did not attach; `moves`: see attachEffect, and `moved` the IOV
   * it moves back (lib/upload/model.ts); `open`: inserted as [run, ∞), not [run, run+1).
   */
  file?: PayloadFile
  url?: string
  piov?: number
  moves?: string
  moved?: PayloadIov
  open?: boolean
}

/**
 * One finished run's payload files and `payloadiovs` in the global tag at the run, run ± 1 and the last run;
 * `detached`: the payload IOVs the ledger says it attached for the run that the CDB holds in no payload list.
 */
interface RunView {
  runnumber: number
  tag: string
  checks: readonly PayloadCheck[]
  cdb: readonly PayloadIov[]
  before?: readonly PayloadIov[]
  after?: readonly PayloadIov[]
  last?: readonly PayloadIov[]
  detached?: ReadonlySet<number>
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
 * How the run's payload of `type` goes in, and what nopayloaddb's attach does around it in a continuous tag
 * (PayloadIOVAttachAPIView.put, cdb_rest/views.py at 0c9f2f8). Where the type's last IOV is open and starts before
 * the run, as [run, ∞) (`open`), as sPHENIX's CDBUtils insertPayload with a start alone does: the attach detaches
 * every IOV from the run on (there is none but its own) and ends the open one at the run, so the next run above goes
 * in the same way. A closed [run, run+1) there would cut the open IOV at the run and add a copy of it from run + 1,
 * which then hides run + 1's insert (below). Anywhere else as [run, run+1) (an open end there would detach the later
 * IOVs): the attach detaches the run's own IOV, ends the IOV before it at the run (a copy of it goes on from run + 1
 * when it reached further), and moves the start of the IOV after it to run + 1 whether they touched or not. It fails
 * (an HTML 500) with nothing before the run and something after, and when an earlier closed IOV reaches past run + 1,
 * or to it with something after. An open IOV that starts at the run itself is ended there, [run, run): payloadiovs
 * orders by the start alone (cdb_rest/queries.py), so readers of the run may get that empty IOV instead of the new
 * one, and find the run missing for ever; caloprod does not insert there either.
 */
export function attachEffect(type: string, view: RunView): { fails?: string; hides?: string; moves?: string; open?: boolean } {
  const run = view.runnumber
  const of = (rows: readonly PayloadIov[] | undefined) => rows?.find((r) => r.type === type)
  const start = (r: PayloadIov) => Number(r.minorIov)
  const end = (r: PayloadIov) => Number(r.minorIovEnd)
  const open = (r: PayloadIov) => Number(r.majorIovEnd) > 0
  const at = of(view.cdb)
  const own = at && start(at) === run && !open(at) && end(at) === run + 1
  const prev = own ? of(view.before) : at
  const last = of(view.last)
  if (last && open(last) && start(last) < run) return { open: true }
  const later = last && start(last) > run ? start(last) : undefined
  const lastStarts = `(the last starts at run ${later})`
  if (!prev) return later === undefined ? {} : { fails: `no IOV of ${type} before run ${run} in the tag, but one after it ${lastStarts}` }
  if (open(prev)) {
    if (start(prev) !== run) return {}
    const ended = `the open IOV of ${prev.url} starts at run ${run}: the insert would end it there, an empty IOV [${run}, ${run})`
    return { hides: `${ended} that readers of the run may get instead of the new one (payloadiovs orders by the start alone)` }
  }
  const inside = `run ${run} lies inside the closed IOV [${start(prev)}, ${end(prev)}) of ${prev.url}`
  if (end(prev) > run + 1) return { fails: inside }
  if (end(prev) === run + 1) return later === undefined ? {} : { fails: `${inside}, and the tag has an IOV after it` }
  const next = of(view.after)
  if (later === undefined || (next && start(next) === run + 1)) return {}
  return { moves: `it moves the start of the next IOV of ${type} ${lastStarts} back to run ${run + 1}: the runs between get its payload` }
}

/**
 * One line per payload type of a finished run: `insert` (attaching the payload IOV an earlier run made, if the
 * ledger has one), `skip` (the CDB has it with this checksum, which the ledger may say it uploaded, or the CDB
 * already has a current payload for the run's tag, which is never replaced) or `not` (the file is missing, empty or
 * not ROOT; the global tag has no payload list for the type; its URL is longer than nopayloaddb keeps; nopayloaddb's
 * insert would fail around the run).
 * `latest`: the ledger's last row of each payload (latestUploads), read once for every run. The ledger's `uploaded`
 * alone skips nothing: a payload the CDB does not hold for the run is planned again, attaching the payload IOV the
 * ledger names when the CDB has it in no payload list (`view.detached`), never making a second one.
 */
export function planRun(
  view: RunView, globalTag: string, lists: ReadonlyMap<string, string>, latest: ReadonlyMap<string, UploadRow>,
): PlanLine[] {
  return view.checks.map((check): PlanLine => {
    const type = check.ok ? check.file.type : check.problem.type
    const base = { runnumber: view.runnumber, tag: view.tag, type }
    if (!check.ok) return { ...base, action: 'not', why: `${check.problem.reason}: ${check.problem.detail}`, problem: check.problem.reason }
    const { file } = check
    const done = latest.get(uploadKey({ ...base, globalTag }))
    const uploaded = done?.state === 'uploaded' && done.checksum === file.md5
    const ledgerPiov = done?.piov === undefined ? '' : ` (piov ${done.piov})`
    if (uploaded && cdbHolds(view.cdb, type, view.runnumber, file.md5)) {
      return { ...base, action: 'skip', why: `in the ledger: uploaded ${done.time}${ledgerPiov}` }
    }
    // The payload IOV an earlier run made for this file and the CDB holds in no list: attached, not made again.
    const made = done?.piov !== undefined && done.checksum === file.md5 &&
      (done.state === 'created' || (uploaded && view.detached?.has(done.piov) === true))
    const line = planFile(view, file, globalTag, lists, made ? done.piov : undefined)
    if (!uploaded) return line
    return { ...line, why: `${line.why}; the ledger says uploaded ${done.time}${ledgerPiov}, but the CDB does not hold this checksum for the run` }
  })
}

/** planRun for a payload file the ledger does not call uploaded (or the CDB does not bear out); `piov`: one to attach. */
function planFile(view: RunView, file: PayloadFile, globalTag: string, lists: ReadonlyMap<string, string>, piov: number | undefined): PlanLine {
  const type = file.type
  const base = { runnumber: view.runnumber, tag: view.tag, type }
  const present = coveringRow(view.cdb, type, view.runnumber)
  if (present?.checksum === file.md5) {
    const held = { url: present.url, same: true, checksum: file.md5 }
    return { ...base, action: 'skip', why: `already in the CDB with this checksum (${file.md5})`, held }
  }
  if (present && payloadState(type, view.tag, view.runnumber, present.url) === 'current') {
    const why = `the CDB already has a current payload for this tag with another checksum (${present.url}); not replaced`
    return { ...base, action: 'skip', why, held: { url: present.url, same: false, checksum: file.md5 } }
  }
  if (!lists.has(type)) {
    const admin = "creating one in a tag is an administrator's act (nopayloadclient createPayloadList, then pl_attach)"
    return { ...base, action: 'not', why: `global tag ${globalTag} has no payload list for ${type}; ${admin}` }
  }
  const url = storeUrl(type, file.md5, file.name)
  if ([...url].length > PAYLOAD_URL_MAX) {
    const why = `its URL in the store has ${[...url].length} characters, more than the ${PAYLOAD_URL_MAX} nopayloaddb keeps ` +
      `(PayloadIOV.payload_url): POST piov would be refused; only a shorter tag makes it fit`
    return { ...base, action: 'not', problem: 'url', why }
  }
  const effect = attachEffect(type, view)
  const fixIovs = "ask the CDB's administrators to fix the IOVs"
  if (effect.fails) {
    const why = `${effect.fails}: nopayloaddb's continuous insert fails there (an HTML 500); ${fixIovs}`
    return { ...base, action: 'not', problem: 'layout', why }
  }
  if (effect.hides) return { ...base, action: 'not', problem: 'layout', why: `${effect.hides}; ${fixIovs}` }
  const what = piov === undefined ? `${file.name} (${file.size} bytes, md5 ${file.md5}) as ${url}` : `piov ${piov}, made for ${url}`
  const iov = effect.open
    ? `IOV [${view.runnumber}, ∞): the type's last IOV is open, so the run's ends it and later runs get this payload until their own`
    : `IOV [${view.runnumber}, ${view.runnumber + 1})`
  const why = `${what}, ${iov}${effect.moves ? `; ${effect.moves}` : ''}`
  return { ...base, action: 'insert', why, file, url, piov, moves: effect.moves, open: effect.open }
}

export function formatPlanLine(line: PlanLine): string {
  return `${line.runnumber} ${line.tag} ${line.type} ${line.action}: ${line.why}`
}
