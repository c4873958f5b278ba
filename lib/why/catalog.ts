// What the catalog said of some runs, as the query stage wrote it to query.csv: each run's tags with their files and
// events, and each tag's recency under the rule set's tag rule (which needs every row: a tag's earliest file is
// looked for across all runs). One streamed pass; memory holds the asked runs' paths and one time per tag.
import { stat } from 'node:fs/promises'
import { readQueryRows } from '../files/query-csv.js'
import { addToSurvey, emptySurvey, type TagSurvey } from '../reduce.js'

interface TagFiles {
  tag: string
  files: number
  /** Events of its segments, each segment counted once. */
  events: number
  /** Paths of its files, by segment: the lists stage drops a segment's events when its file is missing. */
  paths: { path: string; segment: number; events: number }[]
  segments: Set<number>
}

export interface CatalogView {
  /** Whether query.csv exists (the query stage has run). */
  queried: boolean
  /** The asked runs' tags, by run; a run the query did not select has none. */
  tags: Map<number, TagFiles[]>
  survey: TagSurvey
}

/** Reads query.csv once for `runs`. */
export async function readCatalogView(path: string, runs: ReadonlySet<number>): Promise<CatalogView> {
  const survey = emptySurvey()
  const tags = new Map<number, TagFiles[]>()
  if (!(await stat(path).catch(() => undefined))) return { queried: false, tags, survey }
  for await (const row of readQueryRows(path)) {
    addToSurvey(survey, row)
    if (!runs.has(row.runnumber)) continue
    const list = tags.get(row.runnumber) ?? []
    tags.set(row.runnumber, list)
    let entry = list.find((t) => t.tag === row.tag)
    if (!entry) list.push((entry = { tag: row.tag, files: 0, events: 0, paths: [], segments: new Set() }))
    entry.files++
    entry.paths.push({ path: row.full_file_path, segment: row.segment, events: row.events })
    if (!entry.segments.has(row.segment)) entry.events += row.events
    entry.segments.add(row.segment)
  }
  return { queried: true, tags, survey }
}

/** Events of a tag's segments that have a file not in `missing`, each segment once: what the lists stage counts. */
export function eventsOnDisk(tag: TagFiles, missing: ReadonlySet<string>): number {
  const present = new Map<number, number>()
  for (const file of tag.paths) if (!missing.has(file.path)) present.set(file.segment, file.events)
  return [...present.values()].reduce((a, b) => a + b, 0)
}
