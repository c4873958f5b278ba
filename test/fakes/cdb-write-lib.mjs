// The write side of the fake CDB, as nopayloaddb does it: POST piov, PUT piov_attach, GET piov (?page: the search),
// GET globalTags, GET gtPayloadLists/<tag>. It follows nopayloaddb at 0c9f2f8 (2026-07-23): cdb_rest/views.py
// (PayloadIOVListCreationAPIView.create, PayloadIOVAttachAPIView.put, GlobalTagsListAPIView), serializers.py,
// iov_comparisons.py in its default CDB_IOV_MODE "continuous", and authentication.py (CustomJWTAuthentication),
// faults included; checked against that source running on Debian's Django 3.2 and PostgreSQL 15
// (test/upload/nopayloaddb-writes.test.ts holds the layouts and what the real server answered). Plain Node.
//
// State (the file of cdb-lib.mjs, $FAKE_CDB_STATE), all optional:
//   "globalTags": { "<name>": { "status": "unlocked" | "locked" | "frozen", "lists": ["<payload type>", ...] } }
//        default: newcdbtag, unlocked, with a payload list for every payload type caloprod knows
//   "piovs": [ { id, url, checksum, size, minor_iov, minor_iov_end, major_iov_end, list, type, globalTag, inserted } ]
//        every payload IOV made; `list` null when detached. major_iov is 0; an open end is 9223372036854775807 at
//        both ends, written as a string; major_iov_end is 0 otherwise. `inserted`: when it was made, as the server
//        writes it (naive UTC); a seeded one has none and answers 2026-07-01.
//   "nextPiov": N           the next payload IOV id
//   "writeToken": "T"       writes need "Authorization: Bearer T", as a server with CDB_AUTH_CLASS set
//
// What the real server does and the fake with it:
// - authentication: only writes are authenticated. No header: 403 "Authentication credentials were not provided";
//   not "Bearer <token>": 403 "Wrong access_token format"; a token it cannot verify: 403 "invalid access_token";
//   a header that is not two words: an HTML 500 (a ValueError). Never 401 (the class has no authenticate_header).
// - POST piov: no end means open (2^63-1 at both ends); `size` is not a field of its serializer: dropped, stored
//   null. An empty or reversed IOV: 500 {"detail"}. A missing or non-numeric major_iov/minor_iov: an HTML 500. A
//   missing payload_url or checksum, or one over 255 characters (models.py: max_length=255): 400 {"<field>": [why]}.
//   Nothing is attached: it answers the row with "payload_list": null.
// - PUT piov_attach in an unlocked tag: (a) detaches the list's IOVs inside the new one (a replaced run's old IOV),
//   (b) cuts the IOV before it to end where the new one starts, and when that one went on past the new one's end,
//   adds a copy of it from there, (c) moves the start of the IOV after it to the new one's end. Two layouts crash
//   (an HTML 500, everything rolled back): nothing before the new IOV but something after (UnboundLocalError), and
//   an earlier closed IOV reaching to or past its end with something after it (NameError in
//   is_conflicting_iov_end_continuous). A locked tag: an IOV with the same start is refused (500 "GT is LOCKED…");
//   with any earlier IOV it crashes (KeyError 'is_conflicting_iov_tail', a name iov_comparisons.py lacks); a frozen
//   one: 500 "Global Tag is frozen.". An unknown list or piov id: an HTML 500 (DoesNotExist).
// The seeded IOVs of cdb-lib.mjs (`runs`, `iovs`) are part of the tag's lists: the first attach to a type's list
// turns them into piovs, so the attach sees and rewrites them as the server would (a `default` other than "missing"
// and a bare "current" cannot be written over; that write answers an HTML 500 naming why).
import { createHash } from 'node:crypto'
import { ALL_PAYLOAD_TYPES, GLOBAL_TAG, resolveSpec, specFor } from './cdb-lib.mjs'

export const MAXSIZE = 9223372036854775807n

/** Django's page for an exception a view did not catch (DEBUG off): the same for every crash. */
export const DJANGO_500 =
  '<!doctype html>\n<html lang="en">\n<head>\n  <title>Server Error (500)</title>\n</head>\n<body>\n  <h1>Server Error (500)</h1><p></p>\n</body>\n</html>\n'

/** An answer with a JSON body ({"detail"} for a refusal). */
export class Refusal extends Error {
  constructor(status, detail) {
    super(typeof detail === 'string' ? detail : JSON.stringify(detail))
    this.status = status
    this.body = typeof detail === 'string' ? { detail } : detail
  }
}

/** An exception nopayloaddb's view does not catch: Django answers DJANGO_500 and logs this line. */
export class Crash extends Error {}

export function globalTags(state) {
  return state.globalTags ?? { [GLOBAL_TAG]: { status: 'unlocked', lists: ALL_PAYLOAD_TYPES } }
}

/** The next payload IOV id (a BigAutoField). */
function newId(state) {
  state.nextPiov ??= Math.max(0, ...(state.piovs ?? []).map((p) => p.id)) + 1
  return state.nextPiov++
}

/** The payload list's name of a type in a tag. */
function listName(tag, type) {
  return `${type}_${tag}`
}

/** GET gtPayloadLists/<tag>: { type: list name }; {} for an unknown tag. */
export function payloadListsOf(state, tag) {
  const gt = globalTags(state)[tag]
  return Object.fromEntries((gt?.lists ?? []).map((type) => [type, listName(tag, type)]))
}

const STAMP = '2026-07-01T00:00:00.000000'

/**
 * A payload IOV's `inserted` (auto_now_add, models.py at 0c9f2f8) as nopayloaddb writes it: now, naive (USE_TZ is
 * False) in its TIME_ZONE 'UTC' (nopayloaddb/settings.py), with microseconds (DRF's isoformat).
 */
const insertedNow = () => new Date().toISOString().replace('Z', '000')

/**
 * The payload IOVs the read side (cdb-lib.mjs's state, served for the server's tag) holds: the explicit
 * "iovs", each listed run's own IOV of each type it does not mark missing, and the one of the type every answer has.
 */
function readSideIovs(state) {
  const own = Object.keys(state.runs ?? {}).reduce(
    (sum, run) => sum + ALL_PAYLOAD_TYPES.filter((type) => specFor(state, type, Number(run)) !== 'missing').length, 0)
  return (state.iovs ?? []).length + own + 1
}

/**
 * GET globalTags: GlobalTagListSerializer's fields (its `type` has no model field and is left out). payload_iov_count
 * counts, as the real one does on the primary database, every payload IOV in the tag's lists: those inserted, and
 * for `readTag` (the tag payloadiovs serves) the read side's.
 */
export function globalTagList(state, readTag = GLOBAL_TAG) {
  return Object.entries(globalTags(state)).map(([name, gt], i) => ({
    id: i + 1,
    name,
    author: 'sphnxpro',
    status: gt.status,
    payload_lists_count: (gt.lists ?? []).length,
    payload_iov_count: (state.piovs ?? []).filter((p) => p.globalTag === name && p.list).length + (name === readTag ? readSideIovs(state) : 0),
    created: STAMP,
    updated: STAMP,
  }))
}

/** JSON text with bigints as exact integers. */
const exact = (value) => JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? `#${v}#` : v)).replace(/"#(-?\d+)#"/g, '$1')
const big = (v) => BigInt(v ?? 0)
/** An IOV bound in the state: a number, or the open end as a string (JSON numbers cannot hold it exactly). */
const stored = (v) => (v >= MAXSIZE ? MAXSIZE.toString() : Number(v))

/** A piov as [start, end] pairs of bigints (major, minor). */
function bounds(p) {
  return { start: [big(p.major_iov), big(p.minor_iov)], end: [big(p.major_iov_end), big(p.minor_iov_end)] }
}
const cmp = (a, b) => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)

function row(p) {
  const { start, end } = bounds(p)
  return {
    id: p.id, payload_url: p.url, checksum: p.checksum ?? '', major_iov: start[0], minor_iov: start[1],
    comb_iov: `${start[0]}.${start[1].toString().padStart(19, '0')}`, major_iov_end: end[0], minor_iov_end: end[1],
    payload_list: p.list ?? null, inserted: p.inserted ?? STAMP,
  }
}

/** POST piov (PayloadIOVListCreationAPIView.create). */
export function createPiov(state, body) {
  for (const key of ['major_iov', 'minor_iov']) {
    if (!/^-?\d+$/.test(String(body?.[key]))) throw new Crash(`KeyError or InvalidOperation: ${key} ${JSON.stringify(body?.[key])}`)
  }
  const start = [big(body.major_iov), big(body.minor_iov)]
  const end = [big(body.major_iov_end ?? MAXSIZE), big(body.minor_iov_end ?? MAXSIZE)]
  if (cmp(end, start) <= 0) {
    if (body.payload_url === undefined) throw new Crash("KeyError: 'payload_url'")
    throw new Refusal(
      500,
      `${body.payload_url} PayloadIOV ending IOVs should be greater or equal than starting. Provided end IOVs: major_iov: ` +
        `${start[0]} major_iov_end: ${end[0]} minor_iov: ${start[1]} minor_iov_end: ${end[1]}`,
    )
  }
  // The serializer's validation: both required, and at most 255 characters (PayloadIOV.payload_url and .checksum are
  // CharField(max_length=255) in cdb_rest/models.py at 0c9f2f8; DRF's MaxLengthValidator words the refusal).
  const invalid = {}
  for (const key of ['payload_url', 'checksum']) {
    if (typeof body[key] !== 'string' || body[key] === '') invalid[key] = ['This field is required.']
    else if ([...body[key]].length > 255) invalid[key] = ['Ensure this field has no more than 255 characters.']
  }
  if (Object.keys(invalid).length) throw new Refusal(400, invalid)
  if (start[0] !== 0n) throw new Crash('fake nopayloaddb: only major_iov 0 is modelled')
  const piov = {
    id: newId(state), url: body.payload_url, checksum: body.checksum, size: null,
    minor_iov: Number(start[1]), minor_iov_end: stored(end[1]), major_iov_end: stored(end[0]), list: null, type: undefined, globalTag: undefined,
    inserted: insertedNow(),
  }
  ;(state.piovs ??= []).push(piov)
  return row(piov)
}

/** The seeded IOVs of `type` (cdb-lib.mjs's runs and iovs) as attached piovs of `list`: the tag's list holds them. */
function materialize(state, tag, type, list) {
  if ((state.default ?? 'missing') !== 'missing') throw new Crash('fake nopayloaddb: a default SPEC cannot be written over')
  const seeded = []
  for (const run of Object.keys(state.runs ?? {})) {
    const spec = specFor(state, type, Number(run))
    if (spec === 'missing') continue
    if (spec === 'current') throw new Crash(`fake nopayloaddb: run ${run}'s bare "current" cannot be written over`)
    seeded.push({ start: Number(run), end: Number(run) + 1, url: resolveSpec(spec, type, Number(run), undefined) })
    const entry = state.runs[run]
    state.runs[run] = typeof entry === 'string' ? { '*': entry, [type]: 'missing' } : { ...entry, [type]: 'missing' }
  }
  const kept = []
  for (const iov of state.iovs ?? []) {
    if (iov.type !== '*' && iov.type !== type) kept.push(iov)
    else {
      const open = iov.end === undefined || iov.end === null
      seeded.push({ start: iov.start, end: open ? MAXSIZE : iov.end, url: resolveSpec(iov.spec, type, iov.start, undefined), open })
      if (iov.type === '*') kept.push(...ALL_PAYLOAD_TYPES.filter((t) => t !== type).map((t) => ({ ...iov, type: t })))
    }
  }
  if (state.iovs) state.iovs = kept
  // No checksum: the read side gives a seeded row's checksum and size, as before.
  for (const s of seeded) {
    ;(state.piovs ??= []).push({
      id: newId(state), url: s.url, size: null, minor_iov: s.start, minor_iov_end: stored(BigInt(s.end)),
      major_iov_end: s.open ? stored(MAXSIZE) : 0, list, type, globalTag: tag,
    })
  }
}

/** is_conflicting_iov_end_continuous: compares the new IOV's end with (M, m); its missing name raises when equal. */
function conflictingEnd(end, [M, m]) {
  if (end[0] !== M) return end[0] > M
  if (end[1] > m) return true
  throw new Crash("NameError: name 'minor_iov_end' is not defined")
}

const lockedMessage = (p, q) => {
  const a = bounds(p)
  const b = bounds(q)
  return (
    `GT is LOCKED. You are attempting to insert IOV (major_iov,minor_iov,major_iov_end, minor_iov_end) ` +
    `(${a.start[0]},${a.start[1]},${a.end[0]},${a.end[1]}). Conflicts with existing IOV ${q.url} (${b.start[0]},${b.start[1]},${b.end[0]},${b.end[1]})`
  )
}

/** PUT piov_attach (PayloadIOVAttachAPIView.put, one transaction: a Crash or Refusal changes nothing). */
export function attachPiov(state, body, readTag = GLOBAL_TAG) {
  if (body?.payload_list === undefined) throw new Refusal(500, 'PayloadList not found.')
  const found = Object.entries(globalTags(state))
    .flatMap(([tag, gt]) => (gt.lists ?? []).map((type) => ({ tag, gt, type })))
    .find((l) => listName(l.tag, l.type) === body.payload_list)
  if (!found) throw new Crash('cdb_rest.models.PayloadList.DoesNotExist: PayloadList matching query does not exist.')
  if (body.piov_id === undefined) throw new Refusal(500, 'PayloadIOV not found.')
  const piov = (state.piovs ?? []).find((p) => p.id === body.piov_id)
  if (!piov) throw new Crash('cdb_rest.models.PayloadIOV.DoesNotExist: PayloadIOV matching query does not exist.')
  const name = body.payload_list
  if (found.gt.status === 'frozen') throw new Refusal(500, 'Global Tag is frozen.')
  if (found.tag === readTag) materialize(state, found.tag, found.type, name)
  const P = bounds(piov)
  const list = () => state.piovs.filter((p) => p.list === name)
  const latestBefore = (strict) => list().filter((q) => (strict ? cmp(bounds(q).start, P.start) < 0 : cmp(bounds(q).start, P.start) <= 0))
    .sort((a, b) => cmp(bounds(a).start, bounds(b).start)).at(-1)
  const firstAfter = () => list().filter((q) => cmp(bounds(q).start, P.start) > 0).sort((a, b) => cmp(bounds(a).start, bounds(b).start))[0]
  if (found.gt.status === 'locked') {
    const same = list().find((q) => cmp(bounds(q).start, P.start) === 0)
    if (same) throw new Refusal(500, lockedMessage(piov, same))
    const openEnd = (b) => (b.end[0] === 0n || b.end[0] === MAXSIZE) && b.end[1] === MAXSIZE
    const last = list().sort((a, b) => cmp(bounds(a).start, bounds(b).start)).at(-1)
    const special = openEnd(P) && last && openEnd(bounds(last)) && cmp(bounds(last).start, P.start) < 0
    if (!special) {
      if (latestBefore(true)) throw new Crash("KeyError: 'is_conflicting_iov_tail'")
      const next = firstAfter()
      if (next && conflictingEnd(P.end, bounds(next).end)) throw new Refusal(500, lockedMessage(piov, next))
    }
  } else {
    // (a) the IOVs inside the new one leave the list
    for (const q of list()) if (cmp(bounds(q).start, P.start) >= 0 && cmp(bounds(q).end, P.end) <= 0) q.list = null
    // (b) the IOV before it ends where it starts; what it covered past the new one's end goes on in a copy
    const prev = latestBefore(false)
    let prevEnd
    if (prev) {
      prevEnd = bounds(prev).end
      if (cmp(P.start, prevEnd) < 0) Object.assign(prev, { major_iov_end: stored(P.start[0]), minor_iov_end: stored(P.start[1]) })
      if (cmp(P.end, prevEnd) < 0) {
        state.piovs.push({ ...prev, id: newId(state), inserted: insertedNow(), major_iov: stored(P.end[0]), minor_iov: stored(P.end[1]), major_iov_end: stored(prevEnd[0]), minor_iov_end: stored(prevEnd[1]) })
      }
    }
    // (c) the IOV after it starts where it ends, whether they overlapped or not
    const next = firstAfter()
    if (next) {
      if (!prev) throw new Crash("UnboundLocalError: cannot access local variable 'major_iov_end' where it is not associated with a value")
      if (conflictingEnd(P.end, prevEnd)) Object.assign(next, { major_iov: stored(P.end[0]), minor_iov: stored(P.end[1]) })
    }
  }
  Object.assign(piov, { list: name, type: found.type, globalTag: found.tag })
  return row(piov)
}

/** GET piov?page=…: paginate_browse over PayloadIOVBrowseSerializer (search in the URL and the list's name). */
export function searchPiovs(state, query) {
  const search = (query.get('search') ?? '').trim().toLowerCase()
  const list = query.get('payload_list')
  const all = (state.piovs ?? []).filter(
    (p) => (!search || p.url.toLowerCase().includes(search) || (p.list ?? '').toLowerCase().includes(search)) && (!list || p.list === list),
  )
  const size = Math.min(1000, Math.max(1, Number(query.get('page_size')) || 25))
  const page = Math.max(1, Number(query.get('page')) || 1)
  const results = all
    .sort((a, b) => a.id - b.id)
    .slice((page - 1) * size, page * size)
    .map((p) => {
      const { comb_iov, ...rest } = row(p)
      return { ...rest, global_tag: p.list ? p.globalTag : null, payload_type: p.list ? p.type : null }
    })
  return { count: all.length, page, page_size: size, total_pages: Math.max(1, Math.ceil(all.length / size)), results }
}

/** authentication.py: only writes are authenticated, and a failure is a 403. */
export function checkWriteToken(state, authorization) {
  if (!state.writeToken) return
  if (!authorization) throw new Refusal(403, 'Authentication credentials were not provided')
  const words = authorization.split(' ')
  if (words.length !== 2) throw new Crash('ValueError: too many values to unpack (expected 2)')
  if (words[0] !== 'Bearer') throw new Refusal(403, 'Wrong access_token format')
  if (words[1] !== state.writeToken) throw new Refusal(403, 'invalid access_token')
}

/** An answer as startFakeNopayloaddb sends it; a Crash is Django's page (and its line in `server.errors`). */
function answer(ctx, run) {
  try {
    return { status: 200, body: exact(run()) }
  } catch (err) {
    if (err instanceof Refusal) return { status: err.status, body: JSON.stringify(err.body) }
    if (err instanceof Crash) {
      ctx.server.errors?.push(`${ctx.method} ${ctx.path}: ${err.message}`)
      return { status: 500, type: 'text/html', body: DJANGO_500 }
    }
    if (err instanceof SyntaxError) return { status: 400, body: JSON.stringify({ detail: `JSON parse error - ${err.message}` }) }
    throw err
  }
}

/** Runs a write against the state file: load, change, save, as one transaction (the fake serves one at a time). */
function write(ctx, change) {
  return answer(ctx, () => {
    checkWriteToken(ctx.load(), ctx.headers?.authorization)
    const state = structuredClone(ctx.load())
    const result = change(state, ctx.json())
    ctx.save(state)
    return result
  })
}

/** The routes of the write side, for startFakeNopayloaddb (keys "METHOD path-after-api_res"). */
export const writeRoutes = {
  'GET globalTags': (ctx) => answer(ctx, () => globalTagList(ctx.load(), ctx.server.globalTag)),
  'GET gtPayloadLists/*': (ctx) => answer(ctx, () => payloadListsOf(ctx.load(), decodeURIComponent(ctx.path.slice('gtPayloadLists/'.length)))),
  'GET piov': (ctx) => answer(ctx, () => (ctx.query.has('page') ? searchPiovs(ctx.load(), ctx.query) : (ctx.load().piovs ?? []).map(row))),
  'POST piov': (ctx) => write(ctx, (state, body) => createPiov(state, body)),
  'PUT piov_attach': (ctx) => write(ctx, (state, body) => attachPiov(state, body, ctx.server.globalTag)),
}

/** md5 of a text, hex (for tests that build payload URLs). */
export const md5 = (text) => createHash('md5').update(text).digest('hex')
