// The write side of the fake CDB (nopayloaddb's piov, piov_attach, gtPayloadLists, globalTags), over the same state
// file as cdb-lib.mjs ($FAKE_CDB_STATE), so what is inserted here is what the fake filter-datasets and the fake
// payloadiovs then return. Plain Node. Additions to the state (all optional):
//   "globalTags": { "<name>": { "status": "unlocked" | "locked", "lists": ["<payload type>", ...] } }
//        default: newcdbtag, unlocked, with a payload list for every payload type caloprod knows
//   "piovs": [ { id, type, globalTag, list, url, checksum, size, minor_iov, minor_iov_end } ]   attached when list is set
//   "nextPiov": N           the next payload IOV id
//   "writeToken": "T"       writes need "Authorization: Bearer T" (403 otherwise), as a server that requires one
// A refusal is what nopayloaddb answers: an HTTP status and {"detail": "..."}.
import { ALL_PAYLOAD_TYPES, GLOBAL_TAG, OPEN_END, selectIov } from './cdb-lib.mjs'

export class Refusal extends Error {
  constructor(status, detail) {
    super(detail)
    this.status = status
    this.detail = detail
  }
}

export function globalTags(state) {
  return state.globalTags ?? { [GLOBAL_TAG]: { status: 'unlocked', lists: ALL_PAYLOAD_TYPES } }
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
export function attachPiov(state, body, tagOf = () => undefined) {
  const tags = globalTags(state)
  const found = Object.entries(tags).flatMap(([tag, gt]) => (gt.lists ?? []).map((type) => ({ tag, gt, type }))).find((l) => listName(l.tag, l.type) === body?.payload_list)
  if (!found) throw new Refusal(500, 'PayloadList not found.')
  const piov = (state.piovs ?? []).find((p) => p.id === body.piov_id)
  if (!piov) throw new Refusal(500, 'PayloadIOV not found.')
  if (found.gt.status === 'locked') {
    const run = piov.minor_iov
    const iov = selectIov(state, found.type, run, tagOf, found.tag)
    const existing = iov && iov.end > BigInt(run) && !iov.url.startsWith('DataBaseException') ? iov.url : undefined
    if (existing) {
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


const json = (status, value) => ({ status, body: JSON.stringify(value) })

/** Runs a write against the state file: load, change, save, as one step (the fake serves one request at a time). */
function write(ctx, change) {
  try {
    checkWriteToken(ctx.load(), ctx.headers?.authorization)
    const state = structuredClone(ctx.load())
    const result = change(state, ctx.json())
    ctx.save(state)
    return json(200, result)
  } catch (err) {
    if (err instanceof Refusal) return json(err.status, { detail: err.detail })
    if (err instanceof SyntaxError) return json(400, { detail: `JSON parse error - ${err.message}` })
    throw err
  }
}

/** The routes of the write side, for startFakeNopayloaddb (keys "METHOD path-after-api_res"). */
export const writeRoutes = {
  'GET globalTags': (ctx) => json(200, globalTagList(ctx.load())),
  'GET gtPayloadLists/*': (ctx) => json(200, payloadListsOf(ctx.load(), decodeURIComponent(ctx.path.slice('gtPayloadLists/'.length)))),
  'POST piov': (ctx) => write(ctx, (state, body) => createPiov(state, body)),
  'PUT piov_attach': (ctx) => write(ctx, (state, body) => attachPiov(state, body)),
}
