import { tmpdir } from 'node:os'
import { PAYLOAD_TYPES, type PayloadType } from './rules/calibrations.js'
import { openCdb, type CdbChoice, type CdbDeps } from './cdb/backend.js'
import { writeCheckSummary } from './cdb/check-summary.js'
import { sweepWorkDirs } from './cdb/work-dir.js'
import { emptyCounts, type PayloadCounts } from './cdb/filter-datasets.js'
import { checkedAhead, coversPayloads, payloadTypesField, readSettled, stillSettled, writeSettled, type SettledRow } from './files/settled.js'
import { layout } from './files/layout.js'
import { writeProcessList } from './files/process-list.js'
import { readRunList, type RunTag } from './files/run-list.js'
import type { Log } from './log.js'
import { plural } from './plural.js'

export interface CheckOptions extends Omit<CdbChoice, 'payloadTypes'> {
  output: string
  runType: string
  recheck: boolean
  recheckAfter: number
  rules: { name: string; payloadTypes: readonly PayloadType[] }
}

/**
 * Which runs of the run list to ask about, and why: every run without a settled entry for its current tag that is at
 * most `recheckAfter` seconds old; with `recheck`, all of them.
 */
export function planCheck(
  runs: readonly RunTag[], settled: ReadonlyMap<number, SettledRow>, now: Date, recheckAfter: number, recheck: boolean,
  payloadTypes: readonly string[],
): (RunTag & { why: string })[] {
  const ask: (RunTag & { why: string })[] = []
  for (const run of runs) {
    const entry = settled.get(run.runnumber)
    if (recheck) ask.push({ ...run, why: '--recheck' })
    else if (!entry) ask.push({ ...run, why: 'not settled (new, or missing or outdated when last asked)' })
    else if (entry.tag !== run.tag) ask.push({ ...run, why: `tag changed (settled for ${entry.tag} at ${entry.checked_at})` })
    else if (!coversPayloads(entry, payloadTypes)) {
      ask.push({ ...run, why: `settled for ${entry.payload_types.split(' ').length} payload types, the rules need ${payloadTypes.length}` })
    } else if (!stillSettled(entry, run.tag, now, recheckAfter, payloadTypes)) {
      const when = checkedAhead(entry, now) ? `later than now (${now.toISOString()}): a clock was wrong` : 'longer ago than --recheck-after'
      ask.push({ ...run, why: `settled at ${entry.checked_at}, ${when}` })
    }
  }
  return ask
}

/**
 * The cache after asking: the runs found current are settled now, the runs found missing or outdated are not
 * settled at all, every other entry stays as it was (also of runs that left the run list: they are asked again
 * only if they come back with another tag or grow old). Sorted by run.
 */
export function nextSettled(
  old: readonly SettledRow[], asked: readonly RunTag[], keep: ReadonlySet<number>, now: Date, payloadTypes: readonly string[],
): SettledRow[] {
  const byRun = new Map(old.map((row) => [row.runnumber, row]))
  const checkedAt = now.toISOString()
  const types = payloadTypesField(payloadTypes)
  for (const run of asked) {
    if (keep.has(run.runnumber)) byRun.delete(run.runnumber)
    else byRun.set(run.runnumber, { runnumber: run.runnumber, tag: run.tag, checked_at: checkedAt, payload_types: types })
  }
  return [...byRun.values()].sort((a, b) => a.runnumber - b.runnumber)
}

/** `counts` as `CEMC_meanTime 3 missing, 1 outdated; ...` for the types with any; undefined when none. */
export function describeCounts(counts: PayloadCounts): string | undefined {
  const parts = PAYLOAD_TYPES.flatMap((type) => {
    const { missing, outdated } = counts[type]
    const words = [missing && `${missing} missing`, outdated && `${outdated} outdated`].filter(Boolean)
    return words.length ? [`${type} ${words.join(', ')}`] : []
  })
  return parts.length ? parts.join('; ') : undefined
}

export type CheckResult = Awaited<ReturnType<typeof runCheck>>

/**
 * The check stage: which runs of `<runtype>.csv` need their maps made, into `<runtype>-process.csv`. Asks the CDB only
 * about runs not settled in `<runtype>-settled.csv` (nothing started when all are); any failure of the CDB fails the
 * stage before anything is written. process.csv goes first, then the cache, each only if changed. Call it holding the
 * output's lock: it removes the working folders of killed checks under TMPDIR.
 */
export async function runCheck(options: CheckOptions, log: Log, deps: CdbDeps & { now?: () => Date }) {
  const cdb = await openCdb({ ...options, payloadTypes: options.rules.payloadTypes }, log, deps)
  // Run under the lock: what a check killed with SIGKILL left under TMPDIR is gone before this one makes its own.
  const swept = await sweepWorkDirs(deps.tempRoot ?? tmpdir())
  if (swept.processes) log.info(`killed ${swept.processes} process${swept.processes === 1 ? '' : 'es'} (filter-datasets) that checks killed before them left running`)
  if (swept.folders) log.info(`removed ${swept.folders} working folder${swept.folders === 1 ? '' : 's'} of checks that were killed, under ${deps.tempRoot ?? tmpdir()}`)
  const runListPath = layout.runListCsv(options.output, options.runType)
  const settledPath = layout.settledCsv(options.output, options.runType)
  const runs = await readRunList(runListPath)
  runs.sort((a, b) => a.runnumber - b.runnumber)
  const settledRows = await readSettled(settledPath)
  const now = (deps.now ?? (() => new Date()))()

  const { payloadTypes } = options.rules
  const settledByRun = new Map(settledRows.map((r) => [r.runnumber, r]))
  const questions = planCheck(runs, settledByRun, now, options.recheckAfter, options.recheck, payloadTypes)
  const cached = runs.length - questions.length
  log.info(`${plural(runs.length, 'run')} in ${runListPath}; ${cached} settled in the cache, ${questions.length} to ask the CDB about`)
  if (questions.length) log.info(`asking the CDB through ${cdb.name}: ${cdb.target}`)
  // Runs settled as current for their tag and payloads: a night that calls them outdated is asked about twice.
  const known = questions.filter((q) => {
    const entry = settledByRun.get(q.runnumber)
    return entry?.tag === q.tag && coversPayloads(entry, payloadTypes)
  })
  const answer = await cdb.ask(questions, { runs: new Set(known.map((q) => q.runnumber)), cache: settledPath })

  const toProcess = questions.filter((q) => answer.keep.has(q.runnumber)).map((q) => ({ ...q, ...answer.reasons.get(q.runnumber) }))
  for (const q of toProcess) log.info(`run ${q.runnumber} (tag ${q.tag}): a map is missing or outdated; asked because ${q.why}`)
  const counts = questions.length ? answer.counts : emptyCounts()
  const described = describeCounts(counts)
  if (described) log.info(`payloads missing or outdated, by type (runs): ${described}`)

  const processChanged = await writeProcessList(layout.processCsv(options.output, options.runType), toProcess)
  await writeCheckSummary(layout.checkJson(options.output, options.runType), runs.length, toProcess.length, counts, payloadTypes)
  // Unchanged when nothing was asked, even if a person reordered the file: the cache changes only by asking.
  const settled =
    questions.length > 0 && (await writeSettled(settledPath, nextSettled(settledRows, questions, answer.keep, now, payloadTypes)))
  // `cached`: runs whose settled entry answered for them.
  return {
    cdb: cdb.name, runs: runs.length, asked: questions.length, cached, toProcess: toProcess.length, counts,
    calls: answer.calls, shards: answer.shards, changed: { process: processChanged, settled },
  }
}
