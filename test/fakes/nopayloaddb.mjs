// A fake nopayloaddb (the sPHENIX CDB's REST service) over the same fake CDB state file that the fake
// CaloCDB-FilterDatasets reads (cdb-lib.mjs), so both backends of `check` can be asked about the same CDB.
// Plain Node (no tsx). From a test: `const cdb = await startFakeNopayloaddb({ state })` (port 0: any free port),
// then `cdb.apiUrl`, `cdb.requests`, `cdb.faults`, `await cdb.close()`. By hand:
//   node test/fakes/nopayloaddb.mjs --state STATE.json [--port 8000] [--run-list RUNLIST.csv] [--conf CONF.json]
//        [--latency-ms N] [--columns 8|9] [--fail-500 N] [--status CODE] [--hang] [--html] [--truncate] [--fail-run R]
//        [--backlog N]
// (--conf writes a nopayloadclient configuration file pointing at the server, for NOPAYLOADCLIENT_CONF).
//
// What it answers, as a nopayloaddb of July 2026 does (api_res default /api/cdb_rest/):
//   GET payloadiovs/?gtName=T&majorIOV=0&minorIOV=R   positional rows [payload_type, payload_url, checksum, size,
//       major_iov, minor_iov, major_iov_end, minor_iov_end(, revision)], one per payload type of the tag with an IOV
//       starting at or before R (the latest start; ended IOVs included), in no particular order; open ends are
//       9223372036854775807 written out exactly; `&shape=dict` gives objects. `size` and `revision` are sometimes
//       null. An unknown tag or a missing parameter: []. A run that is not a number: an HTML 500 page. The seeded
//       state (cdb-lib.mjs) is the read tag's (`globalTag`, newcdbtag); any other tag holds just the payloads attached
//       to its lists (cdb-write-lib.mjs), as the real server answers every tag from its payload lists.
//   GET payloadiovs?...   (no trailing slash) a 301 to the path with its slash.
//   GET globalTags   200, a JSON list of every global tag (the state's "globalTags", by default newcdbtag unlocked) as
//       GlobalTagListSerializer writes it: id, name, author, status, payload_lists_count, payload_iov_count, created,
//       updated (naive ISO times: USE_TZ is False); checked against nopayloaddb 0c9f2f8 run on Debian's Django.
// A bare "current" SPEC needs the production tag of the run, which a CDB does not know: it comes from the run
// list (`runList`, a runnumber,tag CSV; a run not in it gets another tag's payload).
//
// Faults on demand (`faults`, changeable while running; `failRun` limits them to the requests of one run, `route`
// ("POST piov", "PUT piov_attach", ...) to the requests of one route, latency included):
//   latencyMs  every answer waits this long          fail500  the next N requests answer an HTML 500 page
//   status     every request answers this code (5xx: a proxy's HTML page "Application is not available", as
//              OpenShift's router gives for a service that is down; 4xx: a JSON detail)
//                                                      hang     never answer (the connection stays open)
//   html       200 with an HTML page (a proxy's)      truncate announce the whole body, send half, close
//   columns    8 (servers before 2026-03) or 9 (default)
// `backlog` (--backlog N) is the listen queue: Django's runserver has 10 (basehttp.py), so a server stopped with SIGSTOP leaves new
// connections unanswered (their SYN dropped) once it is full, where a larger queue would take them and only hang.
//
// The write side (GET globalTags, GET gtPayloadLists/<tag>, GET piov, POST piov, PUT piov_attach) is
// cdb-write-lib.mjs's, over the same state: what it inserts, payloadiovs and the fake filter-datasets return; what
// would crash the real server answers Django's HTML 500 page, its exception line in `server.errors`. More endpoints
// go into `routes`, keyed "METHOD path-after-api_res" ("POST piov"; a trailing "*" matches a prefix), each
// (ctx) => { status, body } with ctx = { method, path, query, headers, body (text), json() (parsed body), load() (the
// state), save(state), server }.
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import { pathToFileURL } from 'node:url'
import { ALL_PAYLOAD_TYPES, GLOBAL_TAG, OPEN_END, loadState, saveState, selectIov } from './cdb-lib.mjs'
import { DJANGO_500, writeRoutes } from './cdb-write-lib.mjs'

const STORE_PREFIX = '/cvmfs/sphenix.sdcc.bnl.gov/calibrations/sphnxpro/cdb/'
/** A payload type of the global tag that caloprod does not check: every answer has it, as the real tag has many. */
export const OTHER_TYPE = 'ZDC_TowerMap'

const md5 = (text) => createHash('md5').update(text).digest('hex')

/** JSON text of a value holding bigints, written as exact integers (JSON.stringify refuses them). */
export function exactJson(value) {
  if (typeof value === 'bigint') return value.toString()
  if (Array.isArray(value)) return `[${value.map(exactJson).join(', ')}]`
  if (value && typeof value === 'object') return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${exactJson(v)}`).join(', ')}}`
  return JSON.stringify(value)
}

/** The payload URL as nopayloadclient's insertPayload stores it: `<type>/<md5[0:2]>/<md5[2:4]>/<md5>_<name>`. */
function storeUrl(type, url) {
  if (!url.startsWith(STORE_PREFIX)) return url
  const name = url.slice(url.lastIndexOf('/') + 1)
  const sum = md5(url)
  return `${type}/${sum.slice(0, 2)}/${sum.slice(2, 4)}/${sum}_${name}`
}

/** FNV-1a: a cheap hash for an order. */
function fnv(text) {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0
  return h
}

/** A deterministic order that is not the order of the types: rows come in no guaranteed order. */
function shuffle(rows, seed) {
  const keyed = rows.map((row) => [fnv(`${seed}:${row[0]}`), row])
  return keyed.sort(([a], [b]) => a - b).map(([, row]) => row)
}

const OTHER_URL = `${OTHER_TYPE}/00/00/${md5(OTHER_TYPE)}_zdc_towermap.root`
const OTHER_SUM = md5(OTHER_URL)

/** The rows payloadiovs answers for `run` (see the top of this file). */
export function payloadIovRows(state, run, { tagOf = () => undefined, columns = 9, globalTag = GLOBAL_TAG, other = true } = {}) {
  const rows = []
  for (const type of ALL_PAYLOAD_TYPES) {
    const iov = selectIov(state, type, run, tagOf, globalTag)
    if (!iov || iov.url.startsWith('DataBaseException')) continue
    const url = storeUrl(type, iov.url)
    // An inserted payload (cdb-write-lib.mjs) has its own checksum and size.
    const sum = iov.checksum ?? md5(url)
    const size = iov.checksum ? (iov.size ?? null) : parseInt(sum.slice(0, 2), 16) % 5 === 0 ? null : 4096 + parseInt(sum.slice(2, 8), 16)
    const open = iov.end === OPEN_END
    rows.push([type, url, sum, size, 0n, iov.start, open ? OPEN_END : 0n, iov.end, parseInt(sum.slice(8, 10), 16) % 3 === 0 ? null : 1])
  }
  if (other) rows.push([OTHER_TYPE, OTHER_URL, OTHER_SUM, 1234, 0n, 0n, OPEN_END, OPEN_END, null])
  return shuffle(rows, run).map((row) => (columns === 8 ? row.slice(0, 8) : row))
}

const DICT_KEYS = ['payload_type_name', 'payload_url', 'checksum', 'size', 'major_iov', 'minor_iov', 'major_iov_end', 'minor_iov_end', 'revision']
const html = (title) => `<!DOCTYPE html>\n<html lang="en">\n<head><title>${title}</title></head>\n<body><h1>${title}</h1><p>fake nopayloaddb</p></body>\n</html>\n`

/** Reads a file again only when it changed (a rename by saveState makes a new inode). */
function cachedReader(read) {
  let key
  let value
  return (path) => {
    const info = path && existsSync(path) ? statSync(path) : undefined
    const now = info ? `${path}:${info.ino}:${info.mtimeMs}:${info.size}` : `${path}:none`
    if (now !== key) (value = read(path)), (key = now)
    return value
  }
}

const readRunList = cachedReader((path) => {
  const tags = new Map()
  if (!path || !existsSync(path)) return tags
  for (const line of readFileSync(path, 'utf8').split('\n').slice(1)) {
    const [run, tag] = line.trim().split(',')
    if (run && tag) tags.set(Number(run), tag)
  }
  return tags
})

/** The read endpoint every caller of `check --cdb rest` uses (exported, for a route that changes some answers). */
export function payloadIovs(ctx) {
  const { query, server } = ctx
  const gtName = query.get('gtName')
  const major = query.get('majorIOV')
  const minor = query.get('minorIOV')
  if (gtName === null || major === null || minor === null) return { status: 200, body: '[]' }
  if (!/^-?\d+$/.test(major) || !/^-?\d+$/.test(minor)) return { status: 500, type: 'text/html', body: html('Server Error (500)') }
  if (major !== '0') return { status: 500, type: 'text/html', body: html('fake nopayloaddb: only majorIOV=0 is modelled') }
  const tags = readRunList(server.runList)
  const columns = server.faults.columns ?? 9
  const state = ctx.load()
  const rows = gtName === server.globalTag
    ? payloadIovRows(state, Number(minor), { tagOf: (run) => tags.get(run), columns, globalTag: gtName })
    // Another tag: only what was attached to its lists ([] for a tag with none, or none at all).
    : payloadIovRows({ default: 'missing', runs: {}, piovs: state.piovs }, Number(minor), { columns, globalTag: gtName, other: false })
  const shaped = query.get('shape') === 'dict' ? rows.map((row) => Object.fromEntries(row.map((v, i) => [DICT_KEYS[i], v]))) : rows
  return { status: 200, body: exactJson(shaped) }
}

/** Starts the fake; resolves once it listens. */
export async function startFakeNopayloaddb(options = {}) {
  const apiRes = options.apiRes ?? '/api/cdb_rest/'
  const readState = cachedReader((path) => loadState(path))
  const routes = { 'GET payloadiovs/': payloadIovs, ...writeRoutes, ...options.routes }
  const sockets = new Set()
  const server = {
    statePath: options.state,
    runList: options.runList,
    globalTag: options.globalTag ?? GLOBAL_TAG,
    faults: { ...options.faults },
    /** Every request: { method, path, query, run }. */
    requests: [],
    /** The exception line of each request the real server would have crashed on (cdb-write-lib.mjs). */
    errors: [],
    url: '',
    apiUrl: '',
    port: 0,
    setFaults(faults) {
      server.faults = { ...faults }
    },
    /** Writes a nopayloadclient configuration file naming this server; returns its path. */
    writeConfig(path, extra = {}) {
      // Every key nopayloadclient requires (fbce293 src/config.cpp), the others as its config/default.json has them.
      const conf = {
        base_url: `127.0.0.1:${server.port}`, api_res: apiRes, write_dir: '/tmp/fake_pl_store/', read_dir_list: ['/tmp/fake_pl_store/'],
        n_retries: 5, retry_sleep_mean: 3, cache_life_time: 10, cache_max_mb: 1, print_time_stamps: false, use_fake_backend: false,
        logger: 'terminal', log_level: 'INFO', ...extra,
      }
      writeFileSync(path, `${JSON.stringify(conf, null, 2)}\n`)
      return path
    },
    close: () => new Promise((resolve) => {
      for (const socket of sockets) socket.destroy()
      http.close(() => resolve())
    }),
  }
  const answer = async (req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://fake')
    if (!url.pathname.startsWith(apiRes)) return send(res, { status: 404, type: 'text/html', body: html('Not Found') })
    const path = url.pathname.slice(apiRes.length)
    const run = url.searchParams.get('minorIOV')
    server.requests.push({ method: req.method, path, query: url.search, run })
    const faults = server.faults
    const onRoute = faults.route === undefined || faults.route === `${req.method} ${path}`
    const faulty = onRoute && (faults.failRun === undefined || String(faults.failRun) === run)
    if (faulty && faults.hang) return
    if (onRoute && faults.latencyMs) await new Promise((resolve) => setTimeout(resolve, faults.latencyMs))
    if (faulty && faults.fail500 > 0) {
      faults.fail500--
      return send(res, { status: 500, type: 'text/html', body: DJANGO_500 })
    }
    if (faulty && faults.status >= 500) return send(res, { status: faults.status, type: 'text/html', body: html('Application is not available') })
    if (faulty && faults.status) return send(res, { status: faults.status, body: JSON.stringify({ detail: 'You do not have permission to perform this action.' }) })
    if (faulty && faults.html) return send(res, { status: 200, type: 'text/html', body: html('Single Sign-On: please log in') })
    const exact = routes[`${req.method} ${path}`]
    const prefix = exact ? undefined : Object.entries(routes).find(([key]) => key.endsWith('*') && `${req.method} ${path}`.startsWith(key.slice(0, -1)))?.[1]
    const route = exact ?? prefix
    if (!route) {
      if (routes[`${req.method} ${path}/`]) return send(res, { status: 301, headers: { location: `${apiRes}${path}/${url.search}` }, body: '' })
      return send(res, { status: 404, type: 'text/html', body: html('Not Found') })
    }
    const ctx = {
      method: req.method, path, query: url.searchParams, headers: req.headers, body, server,
      json: () => JSON.parse(body),
      load: () => readState(server.statePath),
      save: (state) => saveState(server.statePath, state),
    }
    let result
    try {
      result = await route(ctx)
    } catch (err) {
      result = { status: 500, type: 'text/html', body: html(`Server Error (500): ${String(err?.message ?? err).replace(/[<&]/g, '')}`) }
    }
    send(res, result, faulty && faults.truncate)
  }
  const http = createServer((req, res) => {
    const chunks = []
    req.on('data', (chunk) => chunks.push(chunk))
    req.on('end', () => void answer(req, res, Buffer.concat(chunks).toString('utf8')))
  })
  http.keepAliveTimeout = 5000
  http.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise((resolve, reject) => {
    http.once('error', reject)
    http.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1', backlog: options.backlog ?? 511 }, () => resolve(undefined))
  })
  server.port = http.address().port
  server.url = `http://${options.host ?? '127.0.0.1'}:${server.port}`
  server.apiUrl = `${server.url}${apiRes}`
  return server
}

function send(res, { status = 200, type = 'application/json', headers = {}, body = '' }, truncate = false) {
  const bytes = Buffer.from(body)
  res.writeHead(status, { 'content-type': type, 'content-length': bytes.length, ...headers })
  if (!truncate) return res.end(bytes)
  // Half the body, then the connection dies: the client sees a body shorter than announced.
  res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => res.socket?.destroy())
}

/** The command line (see the top of this file). */
export async function cli(args = process.argv.slice(2)) {
  const flags = {}
  for (let i = 0; i < args.length; i++) {
    const name = args[i].replace(/^--/, '')
    if (['hang', 'html', 'truncate'].includes(name)) flags[name] = true
    else flags[name] = args[++i]
  }
  if (!flags.state) {
    process.stderr.write('usage: node test/fakes/nopayloaddb.mjs --state STATE.json [--port N] [--run-list CSV] [--conf FILE] [faults]\n')
    process.exit(2)
  }
  const num = (v) => (v === undefined ? undefined : Number(v))
  const server = await startFakeNopayloaddb({
    state: flags.state,
    port: num(flags.port) ?? 8000,
    runList: flags['run-list'],
    backlog: num(flags.backlog),
    apiRes: flags['api-res'],
    faults: {
      latencyMs: num(flags['latency-ms']), columns: num(flags.columns), fail500: num(flags['fail-500']), status: num(flags.status),
      hang: flags.hang, html: flags.html, truncate: flags.truncate, failRun: flags['fail-run'],
    },
  })
  if (flags.conf) server.writeConfig(flags.conf)
  process.stdout.write(`fake nopayloaddb: listening on ${server.apiUrl}${flags.conf ? `; NOPAYLOADCLIENT_CONF=${flags.conf}` : ''}\n`)
  for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => void server.close().then(() => process.exit(0)))
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await cli()
