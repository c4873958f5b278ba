import { openCsvWriter } from './files/csv.js'
import { identities, keepDerived } from './files/derived-cache.js'
import { copyQueryLines, QUERY_TABLE, readQueryBatches, scanQueryCsv, type QueryRow } from './files/query-csv.js'
import { writeRunList, type RunTag } from './files/run-list.js'
import { layout } from './files/layout.js'
import type { RuleSet } from './rules/types.js'

/** What reduce learns from a first pass over query.csv: each tag's recency and each run's tags. */
export interface TagSurvey {
  /** A tag's recency: the earliest `time` of any of its rows, across all runs. */
  tagMinTime: Map<string, string>
  runTags: Map<number, Set<string>>
  /** Per run and tag, the newest `time` of its rows (for the `newest-qa-file` rule). */
  runTagMaxTime: Map<string, string>
}

/** First pass: collects each tag's earliest time and the tags seen for each run. */
export function surveyTags(rows: Iterable<QueryRow>, survey = emptySurvey()): TagSurvey {
  for (const row of rows) addToSurvey(survey, row)
  return survey
}

export const emptySurvey = (): TagSurvey => ({ tagMinTime: new Map(), runTags: new Map(), runTagMaxTime: new Map() })

/**
 * Adds one row to a survey; for streaming callers. Times compare as text: all come from one `::text` cast in one
 * time zone, so text order is time order.
 */
export function addToSurvey(survey: TagSurvey, row: QueryRow): void {
  const seen = survey.tagMinTime.get(row.tag)
  if (seen === undefined || row.time < seen) survey.tagMinTime.set(row.tag, row.time)
  let tags = survey.runTags.get(row.runnumber)
  if (!tags) {
    tags = new Set()
    survey.runTags.set(row.runnumber, tags)
  }
  tags.add(row.tag)
  const key = `${row.runnumber}/${row.tag}`
  const newest = survey.runTagMaxTime.get(key)
  if (newest === undefined || row.time > newest) survey.runTagMaxTime.set(key, row.time)
}

/**
 * The seed's rule: each run keeps the tag whose earliest time is the latest among its tags. Where two tags share
 * that time (the seed kept both), the tag that sorts last wins (`_v009` beats `_v008`): one (run, tag) per run.
 */
export function chooseTags(survey: TagSurvey, rule: RuleSet['tagRule'] = 'earliest-file'): RunTag[] {
  const chosen: RunTag[] = []
  for (const [runnumber, tags] of survey.runTags) {
    // `newest-qa-file` was decided by the query (it needs files query.csv does not list, such as segment 9999),
    // so each run has one tag; were query.csv edited to hold more, its newest row decides, as close as it can.
    const recency = (tag: string) =>
      rule === 'earliest-file' ? survey.tagMinTime.get(tag)! : survey.runTagMaxTime.get(`${runnumber}/${tag}`)!
    const later = (best: string, tag: string) => {
      const [time, bestTime] = [recency(tag), recency(best)]
      return time > bestTime || (time === bestTime && tag > best) ? tag : best
    }
    chosen.push({ runnumber, tag: [...tags].reduce(later) })
  }
  return chosen.sort((a, b) => a.runnumber - b.runnumber)
}

/**
 * The reduce stage: two streaming passes over query.csv (survey the tags, then keep the rows of each run's chosen
 * tag), so memory grows with the runs and tags, not the files. The second copies the kept lines as they are when
 * the first found every line exactly as caloprod writes it, else it parses and writes them again.
 */
export async function runReduce(options: { output: string; runType: string; rules: RuleSet }) {
  const queryCsv = layout.queryCsv(options.output)
  const queryRead = await identities([queryCsv])
  const survey = emptySurvey()
  // query.csv is sorted: under the seed's rule a row of the same run and tag as the one before can only lower the
  // tag's time when it is earlier.
  const rule = options.rules.tagRule
  let last: QueryRow | undefined
  const scan = await scanQueryCsv(queryCsv, (rows) => {
    for (const row of rows) {
      if (rule === 'earliest-file' && last && row.runnumber === last.runnumber && row.tag === last.tag && row.time >= last.time) continue
      addToSurvey(survey, row)
      last = row
    }
  })
  const chosen = chooseTags(survey, rule)
  const kept = new Map(chosen.map((r) => [r.runnumber, r.tag]))

  const writer = await openCsvWriter(layout.reduceCsv(options.output), QUERY_TABLE)
  let files = 0
  try {
    if (scan.verbatim) {
      files = await copyQueryLines(scan, 2, ([runnumber, tag]) => kept.get(Number(runnumber)) === tag, writer)
    } else {
      for await (const rows of readQueryBatches(queryCsv)) {
        const keep = rows.filter((row) => kept.get(row.runnumber) === row.tag)
        await writer.write(keep)
        files += keep.length
      }
    }
  } catch (err) {
    await writer.abort()
    throw err
  }
  // The run list goes last: were reduce.csv to fail, the old pair stays consistent.
  const reduceChanged = await writer.commit()
  const runListChanged = await writeRunList(layout.runListCsv(options.output, options.runType), chosen)
  // For `why`, the one fact of a run's story its own rows do not give (a tag's earliest file is of any run); kept
  // only by a reduce that finished, like its outputs.
  await keepDerived(layout.tagTimesCache(options.output), [queryCsv], queryRead, [...survey.tagMinTime])
  return { runs: chosen.length, files, changed: { runList: runListChanged, reduce: reduceChanged } }
}
