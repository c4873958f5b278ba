import { SEVEN_PAYLOAD_TYPES } from './calibrations.js'
import { RUN_TYPES } from './run-types.js'
import type { RuleSet } from './types.js'

/**
 * The seed: runProd.py of July 2025. Its query's two steps (DESIGN.md): a temporary table of the DST_CALOFITTING
 * segments that have a HIST_CALOQA segment of the same tag and run, then the HIST_CALOQA files of the (run, tag)s
 * whose twins hold more than --min-events, joined on run, tag and segment: a histogram without a twin is neither
 * counted nor listed. Reduce keeps the tag whose earliest file is the latest. Seven payloads.
 * (caloprod fixes the seed's catalog traps under every rule set: see README "Rules".)
 */
export const SEED_RULES: RuleSet = {
  name: 'seed',
  description: 'runProd.py of July 2025 (the seed): HIST_CALOQA files with a DST_CALOFITTING twin, more than 500k events, seven payloads',
  runTypes: RUN_TYPES,
  histogramTypes: ['HIST_CALOQA'],
  excludedTypes: ['HIST_CALOQASKIMMED'],
  twinType: 'DST_CALOFITTING',
  countedTypes: ['HIST_CALOQA'],
  twinRequired: true,
  tagRule: 'earliest-file',
  tagFileTypes: [],
  minEvents: 500000,
  payloadTypes: SEVEN_PAYLOAD_TYPES,
}
