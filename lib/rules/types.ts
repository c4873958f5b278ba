import type { PayloadType } from './calibrations.js'
import type { RunRange } from './run-types.js'

/**
 * A rule set: everything that decides which files and runs caloprod selects, as data (lib/catalog/selection.ts
 * makes it SQL). Two ship with caloprod (seed.ts, current.ts); a site's YAML or JSON file starts from one (load.ts).
 */
export interface RuleSet {
  /** `seed`, `current`, or the path of the file it came from. */
  name: string
  /** One line: what these rules are and which upstream version they reproduce. */
  description: string
  /** Run types and their inclusive ranges (the shared facts of run-types.ts, plus the file's own). */
  runTypes: Readonly<Record<string, RunRange>>
  /** Prefixes of a run's histogram `datasets.dsttype` (old entries append the dataset: `HIST_CALOQA_run2pp`). */
  histogramTypes: readonly string[]
  /** Types that start like a histogram type but are not one (the skimmed QA files). */
  excludedTypes: readonly string[]
  /** The DST type whose `events` count a segment's events, and which a histogram's segment may need as twin. */
  twinType: string
  /** The histogram types that make a segment count toward the threshold (with a twin of the same tag, run, segment). */
  countedTypes: readonly string[]
  /** Whether a histogram is listed only when its segment has a DST twin (the seed's step B join on segment). */
  twinRequired: boolean
  /**
   * Which tag a run keeps (ties go to the tag that sorts last, bytewise):
   * - `earliest-file` (reduce): the tag whose earliest listed file, across all runs, is the most recent;
   * - `newest-qa-file` (query): the tag whose newest file of `tagFileTypes` in that run is the latest.
   */
  tagRule: 'earliest-file' | 'newest-qa-file'
  /** For `newest-qa-file`: the types whose newest file decides (segment 9999 counts, as upstream does). */
  tagFileTypes: readonly string[]
  /** The default of --min-events: a (run, tag) needs more events than this; undefined: no threshold. */
  minEvents: number | undefined
  /** The CDB payloads a run needs current for its tag. */
  payloadTypes: readonly PayloadType[]
}

/** Segment number of the aggregated per-run files: never listed, never counted, under every rule set. */
export const AGGREGATE_SEGMENT = 9999
