// The write side of the fake CDB (nopayloaddb's piov, piov_attach, gtPayloadLists, globalTags), over the same state
// file as cdb-lib.mjs ($FAKE_CDB_STATE), so what is inserted here is what the fake filter-datasets and the fake
// payloadiovs then return. Plain Node. Additions to the state (all optional):
//   "globalTags": { "<name>": { "status": "unlocked" | "locked", "lists": ["<payload type>", ...] } }
//        default: newcdbtag, unlocked, with a payload list for every payload type caloprod knows
//   "piovs": [ { id, type, globalTag, list, url, checksum, size, minor_iov, minor_iov_end } ]   attached when list is set
//   "nextPiov": N           the next payload IOV id
//   "writeToken": "T"       writes need "Authorization: Bearer T" (403 otherwise), as a server that requires one
// A refusal is what nopayloaddb answers: an HTTP status and {"detail": "..."}.
import { coveringPiov, GLOBAL_TAG } from './cdb-lib.mjs'

/** Every payload type any rule set asks for: the default tag has a list for each. */
export const ALL_TYPES = [
  'CEMC_BadTowerMap', 'CEMC_meanTime', 'HCALIN_meanTime', 'HCALOUT_meanTime',
  'CEMC_hotTowers_fracBadChi2', 'HCALIN_hotTowers_fracBadChi2', 'HCALOUT_hotTowers_fracBadChi2',
  'CEMC_ZSCrossCalib', 'HCALIN_ZSCrossCalib', 'HCALOUT_ZSCrossCalib',
]
/** nopayloaddb's open end (sys.maxsize), as JSON text: a JavaScript number cannot hold it exactly. */
export const OPEN_END = '9223372036854775807'

export class Refusal extends Error {
  constructor(status, detail) {
    super(detail)
    this.status = status
    this.detail = detail
  }
}

export function globalTags(state) {
  return state.globalTags ?? { [GLOBAL_TAG]: { status: 'unlocked', lists: ALL_TYPES } }
}

/** The payload list's name of a type in a tag, nopayloaddb style (`<type>_<n>`). */
function listName(tag, type) {
  return `${type}_${tag}`
}

/** GET gtPayloadLists/<tag>: { type: list name }; {} for an unknown tag. */
export function payloadListsOf(state, tag) {
  const gt = globalTags(state)[tag]
  return Object.fromEntries((gt?.lists ?? []).map((type) => [type, listName(tag, type)]))
}

/** GET globalTags. */
export function globalTagList(state) {
  return Object.entries(globalTags(state)).map(([name, gt]) => ({ name, status: gt.status, payload_iov_count: (state.piovs ?? []).filter((p) => p.globalTag === name && p.list).length }))
}

/** POST piov. Returns the created row, as nopayloaddb does. */
export function createPiov(state, body) {
  const need = ['payload_url', 'major_iov', 'minor_iov']
  for (const key of need) if (body?.[key] === undefined) throw new Refusal(400, `${key}: This field is required.`)
  const end = body.minor_iov_end ?? Number(OPEN_END)
  if (end <= body.minor_iov) throw new Refusal(500, `${body.payload_url} PayloadIOV ending IOVs should be greater or equel than starting.`)
  state.nextPiov ??= 1
  const piov = { id: state.nextPiov++, type: undefined, globalTag: undefined, list: undefined, url: body.payload_url, checksum: body.checksum ?? '', size: body.size ?? null, minor_iov: body.minor_iov, minor_iov_end: end }
  ;(state.piovs ??= []).push(piov)
  return { id: piov.id, payload_url: piov.url, checksum: piov.checksum, major_iov: 0, minor_iov: piov.minor_iov, major_iov_end: 0, minor_iov_end: piov.minor_iov_end, payload_list: null }
}

/** PUT piov_attach. A locked tag refuses an IOV that overlaps one it has (an inserted one, or the SPEC's payload). */
export function attachPiov(state, body, specLookup) {
  const tags = globalTags(state)
  const found = Object.entries(tags).flatMap(([tag, gt]) => (gt.lists ?? []).map((type) => ({ tag, gt, type }))).find((l) => listName(l.tag, l.type) === body?.payload_list)
  if (!found) throw new Refusal(500, 'PayloadList not found.')
  const piov = (state.piovs ?? []).find((p) => p.id === body.piov_id)
  if (!piov) throw new Refusal(500, 'PayloadIOV not found.')
  if (found.gt.status === 'locked') {
    const run = piov.minor_iov
    const existing = coveringPiov(state, found.tag, found.type, run)?.url ?? specLookup(found.type, run)
    if (existing && !existing.startsWith('DataBaseException')) {
      throw new Refusal(500, `GT is LOCKED. You are attempting to insert IOV (major_iov,minor_iov,major_iov_end, minor_iov_end) (0,${run},0,${piov.minor_iov_end}). Conflicts with existing IOV ${existing}`)
    }
  }
  Object.assign(piov, { type: found.type, globalTag: found.tag, list: body.payload_list })
  return { id: piov.id, payload_url: piov.url, checksum: piov.checksum, payload_list: piov.list, major_iov: 0, minor_iov: piov.minor_iov, major_iov_end: 0, minor_iov_end: piov.minor_iov_end }
}

/** Refuses a write without the bearer token the state asks for. */
export function checkWriteToken(state, authorization) {
  if (!state.writeToken) return
  if (!authorization) throw new Refusal(403, 'Authentication credentials were not provided.')
  if (authorization !== `Bearer ${state.writeToken}`) throw new Refusal(403, 'Given token not valid for any token type')
}

/** payloadiovs rows of inserted payloads: [type, url, checksum, size, 0, minor, 0, minor_end]. */
export function piovRow(piov) {
  return [piov.type, piov.url, piov.checksum, piov.size, 0, piov.minor_iov, 0, piov.minor_iov_end]
}

