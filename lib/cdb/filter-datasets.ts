import { constants } from 'node:fs'
import { access, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Env } from '../config/options.js'
import { PAYLOAD_TYPES, type PayloadType } from '../rules/calibrations.js'
import { CaloprodError, UsageError } from '../errors.js'
import { formatCsv } from '../files/csv.js'
import { RUN_TAG_TABLE, type RunTag } from '../files/run-list.js'
import { runInGroup } from '../spawn-group.js'
import { plural } from '../plural.js'

/** Per payload type, how many runs had it missing or outdated, as filter-datasets counts them. */
export type PayloadCounts = Record<PayloadType, { missing: number; outdated: number }>

/** No payload counted yet, for each type caloprod knows. */
export function emptyCounts(): PayloadCounts {
  return Object.fromEntries(PAYLOAD_TYPES.map((type) => [type, { missing: 0, outdated: 0 }])) as PayloadCounts
}

export function addCounts(into: PayloadCounts, from: PayloadCounts): void {
  for (const type of PAYLOAD_TYPES) {
    into[type].missing += from[type].missing
    into[type].outdated += from[type].outdated
  }
}

/** A filter-datasets call without a usable answer, saying what it did instead; all but `aborted` may pass on a retry. */
export class FilterDatasetsError extends CaloprodError {
  constructor(readonly kind: 'exit' | 'signal' | 'timeout' | 'output' | 'aborted', message: string) {
    super(message, 1)
  }
}

/** The filter-datasets binary to run; one not configured or not executable is a UsageError (exit 2, nothing asked). */
export async function checkFilterDatasets(bin: string | undefined): Promise<string> {
  const advice = 'set OFFLINE_MAIN (source the sPHENIX setup) or pass --bin-filter-datasets PATH'
  if (!bin) throw new UsageError(`no CaloCDB-FilterDatasets binary: OFFLINE_MAIN is not set; ${advice}`)
  const info = await stat(bin).catch(() => undefined)
  const executable = info?.isFile() && (await access(bin, constants.X_OK).then(() => true, () => false))
  if (!executable) throw new UsageError(`filter-datasets binary ${bin} ${info ? 'is not an executable file' : 'does not exist'}; ${advice}`)
  return bin
}

/**
 * A call of `BIN IN.csv OUTDIR 1`; `dir` is its own, empty, for IN.csv and the process csv it writes. A binary that
 * asks another number of payloads than `payloadTypes` is refused; `onAnswered` is told the runs answered so far.
 */
export interface FilterDatasetsCall {
  bin: string
  payloadTypes: readonly PayloadType[]
  runs: readonly RunTag[]
  dir: string
  timeoutMs: number
  env: Env
  signal?: AbortSignal
  onAnswered?: (runs: number) => void
}

/** The tool names its output `<stem>-process.csv` after its input. */
const INPUT = 'runs.csv'
const OUTPUT = 'runs-process.csv'
/** How long a killed tool gets to end before SIGKILL, and its pipes to drain after it ended. */
const KILL_GRACE_MS = 2000

const RUN_LINE = /^Run: (\d+), Dataset: ([^,]*), Processing: (\d+), \S+ %$/
/** In debug mode the tool prints this before each payload lookup: how many it makes per run is its compiled-in list. */
const LOOKUP_LINE = /^Attempt to get Calibration$/
const TOTAL_LINE = /^Total Runs: (\d+)$/
const COUNTER_LINE = /^CDB: cdb_(missing|outdated)_(\w+), Counts: (\d+), \S+ %$/
const RELEASES: Record<number, string> = {
  7: 'a release before 2025-10 (seven payload types)',
  10: 'a release since 2025-10 (ten payload types)',
}

/**
 * What the tool's stdout says: its counters, after checking it went through every run of `runs` in order. Debug
 * mode prints a line per lookup, which tells how many payload types the binary asks.
 */
export function parseStdout(
  stdout: string,
  runs: readonly RunTag[],
  payloadTypes: readonly PayloadType[],
): { counts: PayloadCounts; unknown: string[] } {
  const counts = emptyCounts()
  const unknown: string[] = []
  let next = 0
  let total: number | undefined
  // Lookups of the run being read (debug mode); checked against the rule set's payloads at the next run line.
  let lookups = -1
  const checkLookups = () => {
    if (lookups < 0 || lookups === payloadTypes.length) return
    const release = RELEASES[lookups] ?? `a build asking ${lookups} payload types`
    throw new UsageError(
      `filter-datasets is ${release}, but the rule set needs ${payloadTypes.length} (${payloadTypes.join(', ')}) for each run: ` +
        'use a matching release (--bin-filter-datasets) or other --rules; nothing was written',
    )
  }
  for (const line of stdout.split('\n')) {
    const [run, totalMatch, counter] = [RUN_LINE.exec(line), TOTAL_LINE.exec(line), COUNTER_LINE.exec(line)]
    if (LOOKUP_LINE.test(line)) {
      if (lookups >= 0) lookups++
    } else if (run) {
      checkLookups()
      lookups = 0
      const expected = runs[next]
      if (!expected || Number(run[1]) !== expected.runnumber || run[2] !== expected.tag || Number(run[3]) !== next + 1) {
        const wanted = expected ? `run ${expected.runnumber} (tag ${expected.tag}) as number ${next + 1}` : 'no more runs'
        throw new FilterDatasetsError('output', `printed "${line}" where ${wanted} was expected`)
      }
      next++
    } else if (totalMatch) {
      checkLookups()
      lookups = -1
      total = Number(totalMatch[1])
    } else if (counter) {
      const [, state, type, count] = counter
      if ((PAYLOAD_TYPES as readonly string[]).includes(type)) counts[type as PayloadType][state as 'missing' | 'outdated'] += Number(count)
      else unknown.push(`${state} ${type}: ${count}`)
    }
  }
  if (next < runs.length) {
    throw new FilterDatasetsError(
      'output',
      `stopped early: its stdout goes through ${next} of its ${plural(runs.length, 'run')}, up to run ${runs[next].runnumber}`,
    )
  }
  if (total === undefined) throw new FilterDatasetsError('output', 'printed no "Total Runs:" line: it did not finish')
  if (total !== runs.length) throw new FilterDatasetsError('output', `printed "Total Runs: ${total}" for ${plural(runs.length, 'run')}`)
  return { counts, unknown }
}

/** The runs of the tool's process csv (header `runnumber`), each one of `runs` and listed once. */
export function parseProcessCsv(text: string, runs: readonly RunTag[]): number[] {
  const file = `its ${OUTPUT}`
  if (!text.endsWith('\n')) throw new FilterDatasetsError('output', `${file} is ${text === '' ? 'empty' : 'truncated'}`)
  const [header, ...lines] = text.slice(0, -1).split('\n')
  if (header !== 'runnumber') {
    throw new FilterDatasetsError('output', `${file} starts with "${header.slice(0, 80)}", not the header "runnumber"`)
  }
  const asked = new Set(runs.map((r) => r.runnumber))
  const keep = new Set<number>()
  lines.forEach((line, i) => {
    const run = /^\d{1,15}$/.test(line) ? Number(line) : undefined
    if (run === undefined || !asked.has(run) || keep.has(run)) {
      const what = run === undefined ? 'is not a run number' : keep.has(run) ? 'repeats a run' : 'is a run it was not asked about'
      throw new FilterDatasetsError('output', `${file} line ${i + 2} "${line.slice(0, 80)}" ${what}`)
    }
    keep.add(run)
  })
  return [...keep].sort((a, b) => a - b)
}

/**
 * Runs `BIN IN.csv OUTDIR 1` (debug mode) on `call.runs` in a process group of its own (a timeout or an abort ends
 * all it started). Throws FilterDatasetsError for anything but a clean, complete answer. Returns the runs to process
 * (sorted), the per-type counts, and in `unknown` the counters of payload types caloprod does not know.
 */
export async function runFilterDatasets(call: FilterDatasetsCall): Promise<{ keep: number[]; counts: PayloadCounts; unknown: string[] }> {
  await writeFile(join(call.dir, INPUT), formatCsv(RUN_TAG_TABLE, call.runs))
  const chunks: Buffer[] = []
  let stderrEnd = Buffer.alloc(0)
  // Progress: whole `Run: ` lines only (one may arrive in two pieces).
  let pending = ''
  let answered = 0
  const run = await runInGroup(call.bin, [join(call.dir, INPUT), call.dir, '1'], {
    cwd: call.dir, env: call.env, stdio: 'pipe', signal: call.signal, timeoutMs: call.timeoutMs, graceMs: KILL_GRACE_MS,
    reapOnExit: true,
    onStdout: (chunk) => {
      chunks.push(chunk)
      if (!call.onAnswered) return
      const text = pending + chunk.toString('latin1')
      const end = text.lastIndexOf('\n') + 1
      answered += text.slice(0, end).split('\n').filter((line) => line.startsWith('Run: ')).length
      pending = text.slice(end)
      call.onAnswered(answered)
    },
    // Only the end of stderr goes into a message.
    onStderr: (chunk) => void (stderrEnd = Buffer.concat([stderrEnd, chunk]).subarray(-4096)),
  }).catch((err: Error) => {
    throw new FilterDatasetsError('exit', `cannot be started: ${err.message}`)
  })
  const stdout = Buffer.concat(chunks).toString('utf8')
  const lastLine = stderrEnd.toString('utf8').split('\n').map((l) => l.trim()).filter(Boolean).pop()
  const lastWords = lastLine ? `; its last words: "${lastLine.slice(0, 300)}"` : ''
  if (run.aborted) throw new FilterDatasetsError('aborted', 'was stopped because another part of the check failed')
  if (run.timedOut) throw new FilterDatasetsError('timeout', `did not finish within ${call.timeoutMs / 1000} s (--timeout) and was killed`)
  if (run.signal) throw new FilterDatasetsError('signal', `crashed (killed by ${run.signal})${lastWords}`)
  if (run.code !== 0) throw new FilterDatasetsError('exit', `exited with code ${run.code}${lastWords}`)
  let parsed: ReturnType<typeof parseStdout>
  try {
    parsed = parseStdout(stdout, call.runs, call.payloadTypes)
  } catch (err) {
    // The tool reports its own trouble (an unreadable input, an unwritable output) on stdout and exits 0.
    const said = stdout.split('\n').find((line) => /^(ERROR|Error)\b/.test(line))
    if (said && err instanceof FilterDatasetsError) {
      throw new FilterDatasetsError('output', `${err.message}; its stdout says "${said.slice(0, 300)}"`)
    }
    throw err
  }
  const { counts, unknown } = parsed
  const text = await readFile(join(call.dir, OUTPUT), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new FilterDatasetsError('output', `exited 0 but wrote no ${OUTPUT}${lastWords}`)
    throw err
  })
  const keep = parseProcessCsv(text, call.runs)
  // The counters must agree with the process csv: each kept run counts at least one payload, at most all.
  const sum = PAYLOAD_TYPES.reduce((total, type) => total + counts[type].missing + counts[type].outdated, 0)
  if (sum < keep.length || sum > keep.length * call.payloadTypes.length) {
    throw new FilterDatasetsError(
      'output',
      `its counters (${sum} payloads missing or outdated) do not fit the ${plural(keep.length, 'run')} of its ${OUTPUT}`,
    )
  }
  return { keep, counts, unknown }
}
