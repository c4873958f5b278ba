import { field, type Table } from './csv.js'
import { pathProblem, tagProblem } from './names.js'

/** One HIST_CALOQA file of a qualifying (run, tag): a row of `query.csv` and of `reduce.csv`. */
export interface QueryRow {
  runnumber: number
  tag: string
  segment: number
  /** Events of the segment's DST_CALOFITTING twin; 0 when the segment has none. */
  events: number
  full_file_path: string
  /** files.time exactly as the catalog holds it, e.g. `2025-07-01 12:34:56.789`. */
  time: string
}

const TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:\d{2})?)?$/

/** The contract of `query.csv` and `reduce.csv`. */
export const QUERY_TABLE: Table<QueryRow> = {
  columns: ['runnumber', 'tag', 'segment', 'events', 'full_file_path', 'time'],
  toFields: (r) => [r.runnumber, r.tag, r.segment, r.events, r.full_file_path, r.time],
  fromFields([runnumber, tag, segment, events, path, time]) {
    const problem = tagProblem(tag) ?? pathProblem(path)
    if (problem) throw new Error(problem)
    if (!TIME.test(time)) throw new Error(`time "${time}" is not a timestamp like 2025-07-01 12:34:56`)
    return {
      runnumber: field.count(runnumber, 'runnumber'),
      tag,
      segment: field.count(segment, 'segment'),
      events: field.count(events, 'events'),
      full_file_path: path,
      time,
    }
  },
}

/** Orders rows as query.csv is sorted: run, tag, segment, then path for copies on several hosts. */
export function compareQueryRows(a: QueryRow, b: QueryRow): number {
  return (
    a.runnumber - b.runnumber ||
    (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0) ||
    a.segment - b.segment ||
    (a.full_file_path < b.full_file_path ? -1 : a.full_file_path > b.full_file_path ? 1 : 0)
  )
}
