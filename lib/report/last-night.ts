// <output>/log/last-night.json: how each stage that may write last ended (lib/stage.ts records it), and since when
// there was no good night: the report opens with it, so a failed night is on the page. And <output>/log/run-states.csv,
// append-only: each run's state whenever a writing report finds it changed; a run's state at a time is its last row.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { appendRows, readAppendOnly } from '../files/append-only.js'
import { writeFileIfChanged } from '../files/atomic.js'
import { withFileLock } from '../files/file-lock.js'
import { field, type Table } from '../files/csv.js'
import { layout } from '../files/layout.js'
import type { RunView } from './runs.js'
import { utcMinute } from './utc-minute.js'

/**
 * How a stage last ended: when, its exit code, and its one line (the summary, or the error); `seq`: its place among
 * every end recorded in the file (absent in a record written before it counted them).
 */
type StageEnd = { at: string; code: number; line: string; seq?: number }

/**
 * `lastGood`: when `submit --do-condor-submit` last succeeded, `lastGoodSeq` its `seq`; `badSince`: the first failure
 * after it; `seq`: how many ends were recorded. What came after what is told by `seq`, not by the times: they are
 * each writer's clock, which another host's, or one NTP stepped back, puts in another order.
 */
export type LastNight = {
  stages: Record<string, StageEnd>; lastGood: string | null; badSince: string | null; seq?: number; lastGoodSeq?: number
}

/** Beside the day's logs: a record of the runs, like them, not an output of the pipeline. */
const lastNightJson = (output: string) => join(layout.logDir(output), 'last-night.json')

const isTime = (value: unknown) => typeof value === 'string' && !Number.isNaN(Date.parse(value))

/** An optional count: absent, or a whole number from 0. */
const isCount = (value: unknown) => value === undefined || (Number.isSafeInteger(value) && (value as number) >= 0)

/**
 * What in a parsed record is not as recordStageEnd writes it (a hand edit, another program's file): every reader
 * compares its times and reads each stage's code, so a stage `null`, a code in quotes or a time that is no date would
 * crash the report or hide a failed night.
 */
function shapeProblem(parsed: unknown): string | undefined {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'not a JSON object'
  const record = parsed as Record<string, unknown>
  if (typeof record.stages !== 'object' || record.stages === null || Array.isArray(record.stages)) return 'no "stages"'
  for (const [stage, end] of Object.entries(record.stages)) {
    const e = end as Record<string, unknown> | null
    if (typeof e !== 'object' || e === null || !isTime(e.at) || !Number.isInteger(e.code) || typeof e.line !== 'string' ||
      !isCount(e.seq)) {
      return `stage "${stage}" is not {"at": a time, "code": a number, "line": a text}`
    }
  }
  for (const key of ['lastGood', 'badSince']) {
    if (record[key] !== undefined && record[key] !== null && !isTime(record[key])) return `"${key}" is neither a time nor null`
  }
  for (const key of ['seq', 'lastGoodSeq']) if (!isCount(record[key])) return `"${key}" is not a whole number`
  return undefined
}

/**
 * `lastGoodSeq` while it is the seq of `lastGood`'s end. A caloprod from before ends were counted (dc2366d to
 * before 51ff009, d767aa6 among them) keeps the fields it does not know but writes its stages' ends without a seq:
 * its good submit moves `lastGood` and leaves the `lastGoodSeq` of the good night before, which would put every end
 * recorded between the two after its good night. So a submit end without a seq makes the good night's place
 * unknown: undefined, and the failures are compared with it by their times, as in a record from before the count.
 */
const goodSeq = (record: LastNight) => (record.stages.submit?.seq === undefined ? undefined : record.lastGoodSeq)

/** The record, or an empty one where none was written yet. Throws a plain error naming the file when unreadable. */
export async function readLastNight(output: string): Promise<LastNight> {
  const path = lastNightJson(output)
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw new Error(`${path} cannot be read: ${err.message}`)
  })
  if (text === undefined) return { stages: {}, lastGood: null, badSince: null }
  try {
    const parsed = JSON.parse(text) as LastNight
    const problem = shapeProblem(parsed)
    if (problem) throw new Error(problem)
    const { seq } = parsed
    return { stages: parsed.stages, lastGood: parsed.lastGood ?? null, badSince: parsed.badSince ?? null, seq, lastGoodSeq: goodSeq(parsed) }
  } catch (err) {
    throw new Error(`${path} is not caloprod's record of the last night (${(err as Error).message}); the next stage to end writes it afresh`)
  }
}

/** Records how `stage` ended. Never throws: it must not change a stage's exit code (a full disk has its own line). */
export async function recordStageEnd(output: string, stage: string, end: StageEnd, submits: boolean): Promise<void> {
  try {
    // A report (no lock) may record beside a pipeline's stage: each read-modify-write under a short hold, so neither
    // drops the other's entry (lib/files/file-lock.ts).
    await withFileLock(lastNightJson(output), async () => {
      const record = await readLastNight(output).catch(() => ({ stages: {}, lastGood: null, badSince: null }) as LastNight)
      // On from the highest seq the record holds: an older caloprod writing it back keeps its stages' seq but drops
      // the count, and counting again from 1 would put every end before those.
      const seq = Math.max(record.seq ?? 0, record.lastGoodSeq ?? 0, ...Object.values(record.stages).map((e) => e.seq ?? 0)) + 1
      record.seq = seq
      record.stages[stage] = { ...end, line: end.line.split('\n')[0]!, seq }
      if (end.code === 0 && submits) Object.assign(record, { lastGood: end.at, lastGoodSeq: seq, badSince: null })
      if (end.code !== 0) record.badSince ??= end.at
      await writeFileIfChanged(lastNightJson(output), `${JSON.stringify(record, null, 2)}\n`)
    })
  } catch {
    // Nothing to do: the stage's own line already says what went wrong with the disk.
  }
}

/** Whether end `a` was recorded after end `b`: by their `seq` where both have one, else (an older record) by time. */
const later = (a: { at: string; seq?: number }, b: { at: string; seq?: number }) =>
  a.seq !== undefined && b.seq !== undefined ? a.seq > b.seq : a.at > b.at

/** The stages whose last end failed after the last good night, latest first. */
export function failedSinceGood(record: LastNight): [string, StageEnd][] {
  const good = record.lastGood === null ? undefined : { at: record.lastGood, seq: record.lastGoodSeq }
  return Object.entries(record.stages)
    .filter(([, end]) => end.code !== 0 && (good === undefined || later(end, good)))
    .sort(([, a], [, b]) => (later(a, b) ? -1 : 1))
}

/**
 * A bad night as the page's banner and status tell it: the stage that failed last since the last good night, how it
 * ended, when (`at`, minutes UTC), and since when the run type has had no good night (with the other stages failed
 * since); undefined when no stage failed since.
 */
export function badNight(runType: string, record: LastNight) {
  const failed = failedSinceGood(record)
  if (failed.length === 0) return undefined
  const [[stage, end], ...others] = failed
  const also = others.length ? ` Also failed since: ${others.map(([name, e]) => `${name} (${utcMinute(e.at)})`).join(', ')}.` : ''
  const since = record.lastGood
    ? `${runType} has had no good night since ${utcMinute(record.lastGood)} (the last submit that succeeded).`
    : `${runType} has had no good night on record in this output directory (failing since ${utcMinute(record.badSince ?? end.at)}).`
  return { stage, end, at: utcMinute(end.at), since: since + also }
}

type StateRow = { time: string; runnumber: number; tag: string; state: string }

const TABLE: Table<StateRow> = {
  columns: ['time', 'runnumber', 'tag', 'state'],
  toFields: (r) => [r.time, r.runnumber, r.tag, r.state],
  fromFields: ([time, runnumber, tag, state]) => {
    if (Number.isNaN(Date.parse(time))) throw new Error(`time "${time}" is not a date`)
    return { time, runnumber: field.count(runnumber, 'runnumber'), tag, state }
  },
}

const stateHistoryCsv = (output: string) => join(layout.logDir(output), 'run-states.csv')

const key = (run: { runnumber: number; tag: string }) => `${run.runnumber}_${run.tag}`

/** Each run's last recorded state at or before `time` (every run when `time` is undefined). */
function statesAt(rows: readonly StateRow[], time: string | undefined): Map<string, string> {
  const states = new Map<string, string>()
  for (const row of rows) if (time === undefined || row.time <= time) states.set(key(row), row.state)
  return states
}

/** The rows of log/run-states.csv, oldest first (none before the first report wrote it). */
export async function readStateHistory(output: string): Promise<readonly StateRow[]> {
  return (await readAppendOnly(stateHistoryCsv(output), TABLE)).rows
}

/**
 * Appends the runs whose state differs from their last row; returns how many. `history`: the file's rows, when the
 * caller has just read them (the report, for changesSince too: a year of them is read once).
 */
export async function recordStates(output: string, runs: readonly RunView[], now: Date, history?: readonly StateRow[]): Promise<number> {
  const path = stateHistoryCsv(output)
  const last = statesAt(history ?? await readStateHistory(output), undefined)
  const time = now.toISOString()
  const rows = runs.filter((run) => last.get(key(run)) !== run.state).map((run) => ({ time, runnumber: run.runnumber, tag: run.tag, state: run.state }))
  if (rows.length) await appendRows(path, TABLE, rows)
  return rows.length
}

/**
 * The runs whose state now differs from their recorded state at `since` (`before` undefined: new since); undefined
 * when nothing was recorded that early (no baseline: every run would look new).
 */
export async function changesSince(output: string, runs: readonly RunView[], since: string, history?: readonly StateRow[]) {
  const rows = history ?? await readStateHistory(output)
  if (!rows.some((row) => row.time <= since)) return undefined
  const before = statesAt(rows, since)
  return runs
    .filter((run) => before.get(key(run)) !== run.state)
    .map((run) => ({ runnumber: run.runnumber, tag: run.tag, before: before.get(key(run)), now: run.state }))
}

/** The time of the earliest row of `rows` (each writer's clock, so not necessarily the first), undefined if none. */
export const oldestRecord = (rows: readonly StateRow[]): string | undefined =>
  rows.reduce<string | undefined>((oldest, row) => (oldest === undefined || row.time < oldest ? row.time : oldest), undefined)

export type StateChange = NonNullable<Awaited<ReturnType<typeof changesSince>>>[number]
