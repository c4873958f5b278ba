// The fake CaloCDB-FilterDatasets IN.csv [OUTDIR] [debug] (the executable beside this file runs `main`): behaves
// like the real one (coresoftware's calibrations/calorimeter/calo_cdb/FilterDatasets.cc and CaloCDB-FilterDatasets.cc)
// against the fake CDB in $FAKE_CDB_STATE (see cdb-lib.mjs): reads IN.csv (header, then runnumber,tag), looks up the
// payloads of each run one after another (seven, or ten as releases since 2025-10 do: FAKE_CDB_TYPES=10; the list is
// compiled into the real one), writes OUTDIR/<stem of IN.csv>-process.csv (header runnumber, the runs with a payload
// missing or outdated), prints a line per run and counters per type, exits 0; a usage error exits 1.
//
// What a lookup answers (FAKE_CDB_RELEASE), as the real releases do:
//   cdbutils      (default) releases from 2025-07 to 2026-03 (coresoftware filter-datasets.cc over
//                 offline/database/sphenixnpc/CDBUtils::getUrl, added by e6b16f782, as of 4da2c62b6 of 2025-07-22:
//                 global tag newcdbtag since 913c84940, "_" between dataset and run in the payload's file name since
//                 4da2c62b6): the payload's URL, or nopayloadclient's error message,
//                 e.g. "DataBaseException: No valid payload with type T" (SphenixClient::getUrl), counted missing
//   cdbinterface  releases since 2026-03 (coresoftware ce2fb5e92, FilterDatasets.cc over offline/framework/ffamodules/
//                 CDBInterface::getUrl): an error is '' (SphenixClient::getCalibration), so an absent payload makes it
//                 ask <type>_default (an IOV of "iovs" with exactly that type); absent too, the answer is '': outdated
// A CDB it cannot get answers from (nopayloadclient fbce293: realwrapper.hpp/.cpp, nopayloadclient.cpp), never an
// error of the program, which exits 0:
//   FAKE_CDB_OUTAGE=gateway   a proxy answers 504 to every request: RealWrapper::getResponse gives up after n_retries
//                 (NOPAYLOADCLIENT_CONF's, else 5) with DataBaseException "Request failed after N tries": each lookup
//                 answers that text (cdbutils: counted missing) or '' (cdbinterface: outdated)
//   FAKE_CDB_OUTAGE=refused   nothing listens: curl's empty answer goes to json::parse (CurlRequest::parseResponse),
//                 whose parse_error NOPAYLOADCLIENT_TRY does not catch: std::terminate at the first lookup (SIGABRT)
//   a state whose "globalTags" (cdb-write-lib.mjs) lacks newcdbtag, as a server on another database: checkGtExists
//                 fails before each lookup, "BaseException: no global tag with name 'newcdbtag' exists" (cdbutils:
//                 outdated) or '' (cdbinterface: outdated)
//   FAKE_CDB_PAYLOAD_FILES=1  the payload files are checked, as nopayloadclient does (fbce293 src/plhandler.cpp
//                 getFirstGoodUrl, called by decoratePrefixes from NoPayloadClient::getPayloadIOVs on every row of the
//                 run's answer, of every type, before the type asked is picked): a row whose payload_url (as the fake
//                 nopayloaddb answers it, nopayloaddb.mjs payloadIovRows) is under none of read_dir_list's folders
//                 (NOPAYLOADCLIENT_CONF's; the folder and the URL joined as they are) makes every lookup of that run
//                 answer "BaseException: Could not find payload <URL> in any of the following read dirs: D1 D2"
//                 (cdbutils: outdated) or '' (cdbinterface: outdated), as when cvmfs is not mounted or not yet published
//
// Its configuration, as nopayloadclient reads it (fbce293 src/config.cpp) before the first lookup: NOPAYLOADCLIENT_CONF
// unset, the installed default (a line on stdout says so); set but naming no file ('' included), "config file does not
// exist: PATH" on stderr and exit 1; a file without one of the twelve keys nopayloadclient requires, "config does not
// contain key <KEY>" and exit 1. The real one reads it when it first needs the CDB; the fake, once the input is read.
//
// Test controls, all optional:
//   FAKE_CDB_TYPES=7|10        the release played: seven payload types (before 2025-10, default) or ten
//   FAKE_CDB_DELAY_MS=N        each lookup takes N ms, as the real CDB's round trip does
//   FAKE_CDB_GATE=FILE         each lookup waits until FILE exists (a CDB slow for as long as a test needs), or
//                              until FILE's folder is gone (the test that made it has ended: none is left waiting);
//                              not in an invocation that plays FAKE_CDB_FAIL, which fails without waiting
//   FAKE_CDB_WAITING=FILE      the pid, appended as a lookup starts waiting (its lines before it are written)
//   FAKE_CDB_LOOKUPS=FILE      append "run,type" to FILE for every lookup (and "run,type_default" for the second one)
//   FAKE_CDB_CALLS=FILE        append "pid IN.csv" to FILE for every invocation
//   FAKE_CDB_FAIL=MODE         fail half-way through the runs: exit1 (exit 1), crash-midway (SIGABRT), hang (never
//                              ends; a child process holds stdout open too), garbage (exit 0 with garbled stdout and
//                              process csv), no-output (exit 0 without a process csv, as when OUTDIR is not writable)
//   FAKE_CDB_FAIL_TIMES=N      fail (FAKE_CDB_FAIL or FAKE_CDB_OUTAGE) only the first N invocations (counted in
//                              FAKE_CDB_CALLS, which must be set)
//   FAKE_CDB_FAIL_RUN=R        fail only invocations whose input holds run R
import { spawn } from 'node:child_process'
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs'
import { basename, dirname, extname } from 'node:path'
import { GLOBAL_TAG, loadState, lookup, payloadFile, releasePayloadTypes } from './cdb-lib.mjs'
import { payloadIovRows } from './nopayloaddb.mjs'

const env = process.env
const out = (line) => process.stdout.write(`${line}\n`)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
/** A double as std::cout prints it by default (six significant digits, no trailing zeros). */
const cppDouble = (x) => String(Number(x.toPrecision(6)))

function usage() {
  out(`usage: ${process.argv[1]} <input_csv> [output_directory] [debug]`)
  out('input: input csv')
  out('output: Output directory. Default: .')
  out('debug: debug mode. Default false')
  process.exit(1)
}

export async function main(args = process.argv.slice(2)) {
  if (args.length < 1 || args.length > 3) usage()
  const [input, outdir = '.', debugArg] = args
  // The real one reads debug with std::stoi; a value that is not a number is a usage error here.
  if (debugArg !== undefined && !/^\s*[+-]?\d+/.test(debugArg)) usage()
  const debug = debugArg !== undefined && Number.parseInt(debugArg, 10) !== 0

  let invocation = 0
  if (env.FAKE_CDB_CALLS) {
    const token = `${process.pid} ${input}`
    appendFileSync(env.FAKE_CDB_CALLS, `${token}\n`)
    invocation = readFileSync(env.FAKE_CDB_CALLS, 'utf8').split('\n').indexOf(token)
  }

  out('#############################')
  out('Run Parameters')
  out(`input: ${input}`)
  out(`output: ${outdir}`)
  out(`Debug: ${debug ? 'True' : 'False'}`)
  out('#############################')

  let text
  try {
    text = readFileSync(input, 'utf8')
  } catch {
    out(`Error: [${input}] Could not open file.`)
  }
  if (text !== undefined) {
    const runInfo = []
    const lines = text.split('\n')
    if (lines[lines.length - 1] === '') lines.pop()
    for (const line of lines.slice(1)) {
      const tokens = line.split(',')
      if (tokens.length < 2) out(`ERROR: line does not contain both RUN and DATASET information! Skipping: ${line}`)
      else runInfo.push([tokens[0], tokens[1]])
    }
    readClientConfig()
    const filename = `${outdir}/${basename(input, extname(input))}-process.csv`
    const failing = failureApplies(runInfo, invocation)
    const state = loadState(env.FAKE_CDB_STATE)
    const ask = cdbAnswers(state, failing ? env.FAKE_CDB_OUTAGE : undefined)
    await analyze({ runInfo, filename, debug, mode: failing ? env.FAKE_CDB_FAIL : undefined, ask })
  }
  out('======================================')
  out('done')
}

/** Whether this invocation plays the failure or outage asked for. */
function failureApplies(runInfo, invocation) {
  if (env.FAKE_CDB_FAIL_TIMES !== undefined && invocation >= Number(env.FAKE_CDB_FAIL_TIMES)) return false
  return env.FAKE_CDB_FAIL_RUN === undefined || runInfo.some(([run]) => run === env.FAKE_CDB_FAIL_RUN)
}

/** The keys nopayloadclient's config must hold (src/config.cpp, _checkKeys). */
const CLIENT_KEYS = ['base_url', 'api_res', 'n_retries', 'retry_sleep_mean', 'write_dir', 'read_dir_list', 'cache_life_time',
  'cache_max_mb', 'print_time_stamps', 'use_fake_backend', 'logger', 'log_level']

/** nopayloadclient's config::getDict: the file NOPAYLOADCLIENT_CONF names, with every key, or exit 1. */
function readClientConfig() {
  const file = env.NOPAYLOADCLIENT_CONF
  if (file === undefined) return out('variable NOPAYLOADCLIENT_CONF not set. Using default...')
  let text
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    process.stderr.write(`config file does not exist: ${file}\n`)
    process.exit(1)
  }
  const conf = JSON.parse(text)
  const missing = CLIENT_KEYS.find((key) => !(key in conf))
  if (missing) {
    process.stderr.write(`config does not contain key <${missing}>\n`)
    process.exit(1)
  }
}

/** nopayloadclient's n_retries from NOPAYLOADCLIENT_CONF, as RealWrapper reads it; 5 as its config/default.json. */
function retries() {
  try {
    return JSON.parse(readFileSync(env.NOPAYLOADCLIENT_CONF, 'utf8')).n_retries ?? 5
  } catch {
    return 5
  }
}

/** read_dir_list of NOPAYLOADCLIENT_CONF, as PLHandler's constructor reads it; [] when there is none to read. */
function readDirs() {
  try {
    return JSON.parse(readFileSync(env.NOPAYLOADCLIENT_CONF, 'utf8')).read_dir_list ?? []
  } catch {
    return []
  }
}

/**
 * PLHandler::decoratePrefixes over the rows of `run` (FAKE_CDB_PAYLOAD_FILES): getFirstGoodUrl's BaseException text
 * for the first row whose payload file is under none of `dirs` (dir + url, stat), else undefined.
 */
function unreadablePayload(state, run, tag, dirs) {
  for (const [, url] of payloadIovRows(state, Number(run), { tagOf: (r) => (r === Number(run) ? tag : undefined) })) {
    if (dirs.some((dir) => existsSync(dir + url))) continue
    return `BaseException: Could not find payload <${url}> in any of the following read dirs:${dirs.map((dir) => ` ${dir}`).join('')}`
  }
  return undefined
}

/** The latest IOV of exactly `type` (a `<type>_default` payload) covering `run` in the state's "iovs", or undefined. */
function defaultPayload(state, type, run) {
  const covering = (state.iovs ?? []).filter((iov) => iov.type === type && iov.start <= run && (iov.end ?? Infinity) > run)
  return covering.sort((a, b) => b.start - a.start)[0]?.spec
}

/** What getCalibration(type, run) returns for the release and outage played (see the top of this file). */
function cdbAnswers(state, outage) {
  const release = env.FAKE_CDB_RELEASE ?? 'cdbutils'
  if (release !== 'cdbutils' && release !== 'cdbinterface') throw new Error(`FAKE_CDB_RELEASE=${release}: expected cdbutils or cdbinterface`)
  if (outage && outage !== 'gateway' && outage !== 'refused') throw new Error(`FAKE_CDB_OUTAGE=${outage}: expected gateway or refused`)
  const error =
    outage === 'gateway'
      ? `DataBaseException: Request failed after ${retries()} tries`
      : state.globalTags && !(GLOBAL_TAG in state.globalTags)
        ? `BaseException: no global tag with name '${GLOBAL_TAG}' exists`
        : undefined
  const dirs = env.FAKE_CDB_PAYLOAD_FILES ? readDirs() : undefined
  const record = (run, type) => env.FAKE_CDB_LOOKUPS && appendFileSync(env.FAKE_CDB_LOOKUPS, `${run},${type}\n`)
  return (type, run, tag) => {
    if (outage === 'refused') {
      process.stderr.write(
        "terminate called after throwing an instance of 'nlohmann::detail::parse_error'\n" +
          "  what():  [json.exception.parse_error.101] parse error at line 1, column 1: syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal\n",
      )
      abortAsCpp()
    }
    record(run, type)
    const unreadable = error ?? (dirs && unreadablePayload(state, run, tag, dirs))
    const url = unreadable ?? lookup(state, type, Number(run), tag)
    if (release === 'cdbutils' || !/^(DataBase|Base)Exception/.test(url)) return url
    record(run, `${type}_default`)
    return (unreadable ? undefined : defaultPayload(state, `${type}_default`, Number(run))) ?? ''
  }
}

async function analyze({ runInfo, filename, debug, mode, ask }) {
  let fd
  try {
    if (mode === 'no-output') throw new Error('not writable')
    fd = openSync(filename, 'w')
  } catch {
    out(`ERROR: Could not open file ${filename} for writing.`)
    return
  }
  writeSync(fd, 'runnumber\n')
  const ctr = new Map()
  const bump = (name) => ctr.set(name, (ctr.get(name) ?? 0) + 1)
  const failAt = Math.floor(runInfo.length / 2)
  for (let i = 0; i < runInfo.length; i++) {
    const [run, dataset] = runInfo[i]
    if (mode && i === failAt) await fail(mode, fd, filename)
    bump('ctr_run')
    out(`Run: ${run}, Dataset: ${dataset}, Processing: ${ctr.get('ctr_run')}, ${cppDouble((ctr.get('ctr_run') * 100) / runInfo.length)} %`)
    let keep = false
    for (const cdbName of releasePayloadTypes(env)) {
      if (debug) out('Attempt to get Calibration')
      if (env.FAKE_CDB_WAITING) appendFileSync(env.FAKE_CDB_WAITING, `${process.pid}\n`)
      if (env.FAKE_CDB_DELAY_MS) await sleep(Number(env.FAKE_CDB_DELAY_MS))
      while (env.FAKE_CDB_GATE && !mode && !existsSync(env.FAKE_CDB_GATE) && existsSync(dirname(env.FAKE_CDB_GATE))) await sleep(50)
      const cdb = ask(cdbName, run, dataset)
      if (debug) {
        bump('getCalib_calls')
        out(`Get Calibration Calls: ${ctr.get('getCalib_calls')}`)
      }
      if (!cdb.endsWith(payloadFile(cdbName, dataset, run))) {
        bump(cdb.startsWith('DataBaseException') ? `cdb_missing_${cdbName}` : `cdb_outdated_${cdbName}`)
        keep = true
      }
    }
    if (keep) writeSync(fd, `${run}\n`)
  }
  out('===============================')
  out('Stats')
  out(`Total Runs: ${runInfo.length}`)
  for (const [name, value] of [...ctr].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (name.startsWith('cdb')) out(`CDB: ${name}, Counts: ${value}, ${cppDouble((value * 100) / runInfo.length)} %`)
  }
  out('===============================')
  closeSync(fd)
}

/**
 * abort(3) itself, as the C++ runtime does after its terminate message: no JavaScript signal handler (a test runner's)
 * can catch it. Standard error is closed first: Node's abort writes its own native backtrace there, which the real
 * program's stderr does not hold, and caloprod quotes a crashed program's last line.
 */
function abortAsCpp() {
  closeSync(2)
  process.abort()
}

async function fail(mode, fd, filename) {
  switch (mode) {
    case 'exit1':
      process.stderr.write(`CDBUtils: cannot reach the CDB server for global tag ${GLOBAL_TAG}\n`)
      process.exit(1)
    case 'crash-midway':
      process.stderr.write("terminate called after throwing an instance of 'std::runtime_error'\n")
      abortAsCpp()
    case 'hang':
      // A child in the same process group keeps stdout open: only killing the group ends the pipe.
      // Its command line names the output, so a test can tell whether it is still there.
      // Once the child runs, FILE.hanging says so: a test on a busy machine can tell a kill of both from a time-out
      // that came before the child was there.
      spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)', filename], { stdio: 'inherit' })
        .once('spawn', () => writeFileSync(`${filename}.hanging`, ''))
      return new Promise(() => setInterval(() => {}, 1 << 30))
    case 'garbage':
      process.stdout.write('\u0000\u0001\u00ff#~~ CDB \u0007 garbled ~~\n')
      writeSync(fd, '66\u0000x9,\u00ff\n')
      closeSync(fd)
      process.exit(0)
    default:
      process.stderr.write(`fake CaloCDB-FilterDatasets: unknown FAKE_CDB_FAIL=${mode}\n`)
      process.exit(70)
  }
}
