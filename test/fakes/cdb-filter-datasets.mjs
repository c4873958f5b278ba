// The fake CaloCDB-FilterDatasets IN.csv [OUTDIR] [debug] (the executable beside this file runs `main`): behaves
// like the real one (coresoftware's filter-datasets) against the fake CDB in $FAKE_CDB_STATE (see cdb-lib.mjs):
// reads IN.csv (header, then runnumber,tag), looks up the payloads of each run one after another (seven, or ten as
// releases since 2025-10 do: FAKE_CDB_TYPES=10; the list is compiled into the real one), writes
// OUTDIR/<stem of IN.csv>-process.csv (header runnumber, the runs with a payload missing or outdated), prints a
// line per run and counters per type, exits 0; a usage error exits 1.
//
// Test controls, all optional:
//   FAKE_CDB_TYPES=7|10        the release played: seven payload types (before 2025-10, default) or ten
//   FAKE_CDB_DELAY_MS=N        each lookup takes N ms, as the real CDB's round trip does
//   FAKE_CDB_LOOKUPS=FILE      append "run,type" to FILE for every lookup
//   FAKE_CDB_CALLS=FILE        append "pid IN.csv" to FILE for every invocation
//   FAKE_CDB_FAIL=MODE         fail half-way through the runs: exit1 (exit 1), crash-midway (SIGABRT), hang (never
//                              ends; a child process holds stdout open too), garbage (exit 0 with garbled stdout and
//                              process csv), no-output (exit 0 without a process csv, as when OUTDIR is not writable)
//   FAKE_CDB_FAIL_TIMES=N      fail only the first N invocations (counted in FAKE_CDB_CALLS, which must be set)
//   FAKE_CDB_FAIL_RUN=R        fail only invocations whose input holds run R
import { spawn } from 'node:child_process'
import { appendFileSync, closeSync, openSync, readFileSync, writeSync } from 'node:fs'
import { basename, extname } from 'node:path'
import { GLOBAL_TAG, loadState, lookup, payloadFile, releasePayloadTypes } from './cdb-lib.mjs'

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
    const filename = `${outdir}/${basename(input, extname(input))}-process.csv`
    await analyze({ runInfo, filename, debug, mode: failureMode(runInfo, invocation), state: loadState(env.FAKE_CDB_STATE) })
  }
  out('======================================')
  out('done')
}

/** The failure this invocation plays, if any. */
function failureMode(runInfo, invocation) {
  const mode = env.FAKE_CDB_FAIL
  if (!mode) return undefined
  if (env.FAKE_CDB_FAIL_TIMES !== undefined && invocation >= Number(env.FAKE_CDB_FAIL_TIMES)) return undefined
  if (env.FAKE_CDB_FAIL_RUN !== undefined && !runInfo.some(([run]) => run === env.FAKE_CDB_FAIL_RUN)) return undefined
  return mode
}

async function analyze({ runInfo, filename, debug, mode, state }) {
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
      if (env.FAKE_CDB_DELAY_MS) await sleep(Number(env.FAKE_CDB_DELAY_MS))
      if (env.FAKE_CDB_LOOKUPS) appendFileSync(env.FAKE_CDB_LOOKUPS, `${run},${cdbName}\n`)
      const cdb = lookup(state, cdbName, Number(run), dataset)
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

async function fail(mode, fd, filename) {
  switch (mode) {
    case 'exit1':
      process.stderr.write(`CDBUtils: cannot reach the CDB server for global tag ${GLOBAL_TAG}\n`)
      process.exit(1)
    case 'crash-midway':
      process.stderr.write("terminate called after throwing an instance of 'std::runtime_error'\n")
      // abort(3) itself, as the C++ runtime does: no JavaScript signal handler (a test runner's) can catch it.
      process.abort()
    case 'hang':
      // A child in the same process group keeps stdout open: only killing the group ends the pipe.
      // Its command line names the output, so a test can tell whether it is still there.
      spawn(process.execPath, ['-e', 'setInterval(() => {}, 1 << 30)', filename], { stdio: 'inherit' })
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
