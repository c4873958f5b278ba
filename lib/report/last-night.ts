// <output>/log/last-night.json: how each stage last ended, and since when this output directory has had no good night.
// lib/stage.ts records every exit of a stage that may write (a read-only look records nothing); the report opens
// with it, so a failed night is on the page even when the page is all that was written.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileIfChanged } from '../files/atomic.js'
import { layout } from '../files/layout.js'

/** How a stage last ended: when, its exit code, and its one line (the summary, or the error). */
interface StageEnd {
  at: string
  code: number
  line: string
}

export interface LastNight {
  stages: Record<string, StageEnd>
  /** When `submit --do-condor-submit` last succeeded: the end of the last good night. */
  lastGood: string | null
  /** The first failure after `lastGood`. */
  badSince: string | null
}

/** Beside the day's logs: a record of the runs, like them, not an output of the pipeline. */
const lastNightJson = (output: string) => join(layout.logDir(output), 'last-night.json')

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
    if (typeof parsed.stages !== 'object' || parsed.stages === null) throw new Error('no "stages"')
    return parsed
  } catch (err) {
    throw new Error(`${path} is not caloprod's record of the last night (${(err as Error).message}); remove it, the next stage writes it again`)
  }
}

/**
 * Records how `stage` ended. A successful submit that submits makes a good night. Never throws: the record must not
 * change a stage's exit code (a full or read-only disk already has its own line).
 */
export async function recordStageEnd(output: string, stage: string, end: StageEnd, submits: boolean): Promise<void> {
  try {
    const record = await readLastNight(output).catch(() => ({ stages: {}, lastGood: null, badSince: null }) as LastNight)
    record.stages[stage] = { ...end, line: end.line.split('\n')[0]! }
    if (end.code === 0 && submits) Object.assign(record, { lastGood: end.at, badSince: null })
    if (end.code !== 0) record.badSince ??= end.at
    await writeFileIfChanged(lastNightJson(output), `${JSON.stringify(record, null, 2)}\n`)
  } catch {
    // Nothing to do: the stage's own line already says what went wrong with the disk.
  }
}

/** The stages whose last end failed after the last good night, latest first. */
export function failedSinceGood(record: LastNight): [string, StageEnd][] {
  return Object.entries(record.stages)
    .filter(([, end]) => end.code !== 0 && (record.lastGood === null || end.at > record.lastGood))
    .sort(([, a], [, b]) => (a.at < b.at ? 1 : -1))
}
