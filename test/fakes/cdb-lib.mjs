// The fake CDB behind test/fakes/CaloCDB-FilterDatasets and test/fakes/fake-cdb: payload URLs kept in a JSON file
// ($FAKE_CDB_STATE). Plain Node (no tsx), so the fakes start fast from any PATH.
//
// State file:
//   { "default": SPEC,                       what every run not listed holds (default "missing": an empty CDB)
//     "runs": { "66500": SPEC | { "<payload type>": SPEC, "*": SPEC } } }
// where SPEC is one of
//   "current"        the payload built for whatever tag the run is asked with
//   "current:TAG"    the payload built from TAG (current only while the run's tag is TAG)
//   "outdated"       a payload built from another tag
//   "missing"        no payload: the CDB answers with a DataBaseException
//   any other text   the URL itself, exactly as the CDB would return it
// Each run's SPEC other than "missing" is an IOV [run, run+1) of its payload, as sPHENIX inserts a run's map.
// Optionally, IOVs spanning several runs (open-ended when "end" is left out or null), for either fake to find:
//   "iovs": [ { "type": "<payload type>" | "*", "spec": SPEC (not bare "current"), "start": RUN, "end": RUN } ]
// Both fakes read the state as the CDB does: for each type, the IOV with the latest start at or before the run
// (a run's own IOV wins a tie); a type is missing when there is none or it has ended (end <= run).
import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { endOnClosedPipe } from './closed-pipe.mjs'

export const PAYLOAD_TYPES = [
  'CEMC_BadTowerMap',
  'CEMC_meanTime',
  'HCALIN_meanTime',
  'HCALOUT_meanTime',
  'CEMC_hotTowers_fracBadChi2',
  'HCALIN_hotTowers_fracBadChi2',
  'HCALOUT_hotTowers_fracBadChi2',
]

/** The three types releases since 2025-10 ask for too (the ZS cross-calibration). */
export const ZS_PAYLOAD_TYPES = ['CEMC_ZSCrossCalib', 'HCALIN_ZSCrossCalib', 'HCALOUT_ZSCrossCalib']

/** The ten types of releases since 2025-10 (the seven and the ZS cross-calibrations): the fake CDB holds them all. */
export const ALL_PAYLOAD_TYPES = [...PAYLOAD_TYPES, ...ZS_PAYLOAD_TYPES]

/** The end of an open-ended IOV in nopayloaddb: 2^63-1, beyond a JavaScript number's exact range. */
export const OPEN_END = 9223372036854775807n

/**
 * The payload types a filter-datasets release asks for: its list is compiled in. FAKE_CDB_TYPES picks the release
 * the fake plays: 7 (before 2025-10, the default) or 10 (since 2025-10).
 */
export function releasePayloadTypes(env = process.env) {
  const chosen = env.FAKE_CDB_TYPES ?? '7'
  if (chosen === '7') return PAYLOAD_TYPES
  if (chosen === '10') return [...PAYLOAD_TYPES, ...ZS_PAYLOAD_TYPES]
  throw new Error(`FAKE_CDB_TYPES=${chosen}: expected 7 or 10`)
}

export const GLOBAL_TAG = 'newcdbtag'
const BASE = '/cvmfs/sphenix.sdcc.bnl.gov/calibrations/sphnxpro/cdb'
/** The tag an "outdated" payload was built from; no production tag looks like it. */
export const OUTDATED_TAG = 'ana000_fake_outdated'

/** The name filter-datasets expects a current payload's URL to end with (genStatus writes the bad tower map as EMCalHotMap). */
export function payloadFile(type, tag, run) {
  return type === 'CEMC_BadTowerMap' ? `EMCalHotMap_${tag}_${run}cdb.root` : `${type}_${tag}_${run}.root`
}

/** The URL a payload of `type` built from `tag` for `run` has in the fake CDB. */
export function payloadUrl(type, tag, run) {
  return `${BASE}/${type}/${payloadFile(type, tag, run)}`
}

/** What CDBUtils::getUrl answers for a payload the CDB does not have (sphenixnpc/SphenixClient.cc getUrl). */
export function missingUrl(type) {
  return `DataBaseException: No valid payload with type ${type}`
}

/** Resolves a SPEC (see the top of this file) into the URL the CDB returns when `run` is asked with `tag`. */
export function resolveSpec(spec, type, run, tag) {
  if (spec === 'current') return payloadUrl(type, tag, run)
  if (spec.startsWith('current:')) return payloadUrl(type, spec.slice('current:'.length), run)
  if (spec === 'outdated') return payloadUrl(type, OUTDATED_TAG, run)
  if (spec === 'missing') return missingUrl(type, run)
  return spec
}

/** The SPEC of a run's own IOV of `type` (see the top of this file). */
export function specFor(state, type, run) {
  const entry = state.runs?.[String(Number(run))]
  return typeof entry === 'string' ? entry : (entry?.[type] ?? entry?.['*'] ?? state.default ?? 'missing')
}

/** The runs the state names, sorted, computed once per state object. */
const listedRuns = new WeakMap()
function sortedRuns(state) {
  let runs = listedRuns.get(state)
  if (!runs) listedRuns.set(state, (runs = Object.keys(state.runs ?? {}).map(Number).sort((a, b) => a - b)))
  return runs
}

/** The start of the latest own IOV of `type` that starts before `run`, or undefined. */
function previousOwnStart(state, type, run) {
  if ((state.default ?? 'missing') !== 'missing') {
    // Every run not listed has the default: only listed runs marked missing are skipped.
    for (let k = run - 1, left = sortedRuns(state).length + 1; k >= 0 && left >= 0; k--, left--) {
      if (specFor(state, type, k) !== 'missing') return k
    }
    return undefined
  }
  const runs = sortedRuns(state)
  let lo = 0
  let hi = runs.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (runs[mid] < run) lo = mid + 1
    else hi = mid
  }
  for (let i = lo - 1; i >= 0; i--) if (specFor(state, type, runs[i]) !== 'missing') return runs[i]
  return undefined
}

/**
 * The IOV of `type` the CDB picks for `run`: the latest start at or before the run, ended or not, as
 * { start, end, url } with bigint bounds; undefined when none starts by then. `tagOf(run)` is the production tag a
 * bare "current" SPEC stands for (the tag asked for, or the run list's).
 */
export function selectIov(state, type, run, tagOf, globalTag = GLOBAL_TAG) {
  const own = (start) => {
    const spec = specFor(state, type, start)
    const tag = spec === 'current' ? (tagOf(start) ?? OUTDATED_TAG) : undefined
    return { start: BigInt(start), end: BigInt(start) + 1n, url: resolveSpec(spec, type, start, tag) }
  }
  let best
  if (specFor(state, type, run) !== 'missing') best = own(run)
  else {
    const previous = previousOwnStart(state, type, run)
    if (previous !== undefined) best = own(previous)
  }
  for (const iov of state.iovs ?? []) {
    if (iov.type !== '*' && iov.type !== type) continue
    const start = BigInt(iov.start)
    if (start > BigInt(run) || (best && start <= best.start)) continue
    if (iov.spec === 'current' || iov.spec === 'missing') throw new Error(`fake CDB state: an IOV of "iovs" cannot be "${iov.spec}"`)
    const end = iov.end === undefined || iov.end === null ? OPEN_END : BigInt(iov.end)
    best = { start, end, url: resolveSpec(iov.spec, type, iov.start, undefined) }
  }
  // Payloads inserted through the fake's write side (cdb-write-lib.mjs): attached later, they win a tie with the
  // seeded state. Between two of them nopayloaddb orders by the start alone (cdb_rest/queries.py get_payload_iovs:
  // ORDER BY comb_iov DESC LIMIT 1, at 0c9f2f8), so a tie may answer either; PostgreSQL 15 answered the older row in
  // every try (an open IOV starting at the run, ended there by the attach of [run, run+1): the new payload hidden
  // behind an empty IOV). The fake answers the older: the one that hides.
  let fromPiov = false
  for (const piov of state.piovs ?? []) {
    if (!piov.list || piov.type !== type || piov.globalTag !== globalTag) continue
    const start = BigInt(piov.minor_iov)
    if (start > BigInt(run) || (best && (start < best.start || (fromPiov && start === best.start)))) continue
    best = { start, end: BigInt(piov.minor_iov_end), url: piov.url, checksum: piov.checksum, size: piov.size }
    fromPiov = true
  }
  return best
}

/** The URL the fake CDB returns for (type, run); `tag` is what filter-datasets was given, for the "current" specs. */
export function lookup(state, type, run, tag) {
  const iov = selectIov(state, type, Number(run), (r) => (r === Number(run) ? tag : undefined))
  return iov && iov.end > BigInt(run) ? iov.url : missingUrl(type, run)
}

/** Reads the state file; no file is an empty CDB. */
export function loadState(path) {
  if (!path || !existsSync(path)) return { default: 'missing', runs: {} }
  return JSON.parse(readFileSync(path, 'utf8'))
}

/**
 * A small seeded generator (mulberry32), so a state made from a run list is the same every time; the demo's
 * catalog draws from it too (test/demo/random.ts).
 */
export function seededRandom(seed) {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * A state for the runs of a `runnumber,tag` CSV: a fraction `current` of the runs fully current for their tag,
 * a fraction `outdated` with one payload built from another tag, one in ten of those with one payload missing too,
 * the rest (new runs) missing everything. Deterministic for a seed.
 */
export function stateFromRunList(csvText, { current = 0.6, outdated = 0.1, seed = 1, since } = {}) {
  const next = seededRandom(seed)
  const runs = {}
  const lines = csvText.split('\n').slice(1).filter(Boolean)
  for (const line of lines) {
    const [run, tag] = line.split(',')
    const roll = next()
    if (roll < current) runs[run] = `current:${tag}`
    else if (roll < current + outdated) {
      const type = PAYLOAD_TYPES[Math.floor(next() * PAYLOAD_TYPES.length)]
      runs[run] = { '*': `current:${tag}`, [type]: 'outdated' }
      if (next() < 0.1) runs[run][PAYLOAD_TYPES[(PAYLOAD_TYPES.indexOf(type) + 1) % PAYLOAD_TYPES.length]] = 'missing'
    }
  }
  // A tag in use holds maps from before this run list (a real one dates from the run type's first runs); without
  // one, a run before every IOV of the tag is a layout the real server's continuous insert crashes on.
  const iovs = since === undefined ? [] : [{ type: '*', spec: 'outdated', start: since, end: since + 1 }]
  return { default: 'missing', runs, ...(iovs.length ? { iovs } : {}) }
}

/** Marks a run's payloads (all types) as built from `tag`, as a finished genStatus job and its upload would. */
export function calibrate(state, run, tag) {
  state.runs ??= {}
  state.runs[String(Number(run))] = `current:${tag}`
  return state
}

/** Writes a state file atomically, so a filter-datasets call never reads half of one. */
export function saveState(path, state) {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`
  writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`)
  renameSync(temp, path)
}

const CLI_USAGE = `usage: fake-cdb init STATE RUNLIST.csv [--current F] [--outdated F] [--seed N] [--since RUN]
       fake-cdb calibrate STATE RUN TAG
       fake-cdb show STATE RUN TAG`

/** The command line of test/fakes/fake-cdb (see there). */
export function cli(args = process.argv.slice(2)) {
  endOnClosedPipe()
  const fail = (message) => {
    process.stderr.write(`fake-cdb: ${message}\n`)
    process.exit(1)
  }
  const [command, statePath, ...rest] = args
  if (!statePath) fail(CLI_USAGE)
  if (command === 'init') {
    const [runList, ...flags] = rest
    if (!runList) fail(CLI_USAGE)
    const options = {}
    for (let i = 0; i < flags.length; i += 2) {
      const name = { '--current': 'current', '--outdated': 'outdated', '--seed': 'seed', '--since': 'since' }[flags[i]]
      const value = Number(flags[i + 1])
      if (!name || !Number.isFinite(value)) fail(`bad option ${flags[i]} ${flags[i + 1] ?? ''}`)
      options[name] = value
    }
    const state = stateFromRunList(readFileSync(runList, 'utf8'), options)
    saveState(statePath, state)
    process.stdout.write(`fake-cdb: ${Object.keys(state.runs).length} runs with payloads in ${statePath}\n`)
    return
  }
  const [run, tag] = rest
  if (!/^\d+$/.test(run ?? '') || !tag) fail(CLI_USAGE)
  if (command === 'calibrate') saveState(statePath, calibrate(loadState(statePath), run, tag))
  else if (command === 'show') {
    const state = loadState(statePath)
    for (const type of releasePayloadTypes()) process.stdout.write(`${type} ${lookup(state, type, Number(run), tag)}\n`)
  } else fail(`unknown command "${command}"\n${CLI_USAGE}`)
}
