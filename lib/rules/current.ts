import { PAYLOAD_TYPES } from './calibrations.js'
import { RUN_TYPES } from './run-types.js'
import type { RuleSet } from './types.js'

/**
 * Today's production rules: runProd.py as the macros repository has it since March 2026
 * (calibrations/calo/calo_cdb/). genStatus reads the QA and the fitting-QA histograms (the ZS cross-calibration
 * needs both); no DST twin is needed and there is no event threshold; each run's tag is the one whose newest
 * HIST_CALOQA file in that run is the latest; ten payloads.
 */
export const CURRENT_RULES: RuleSet = {
  name: 'current',
  description:
    'runProd.py since March 2026: HIST_CALOQA and HIST_CALOFITTINGQA files of the tag with the newest QA file, ' +
    'no threshold, ten payloads',
  runTypes: RUN_TYPES,
  histogramTypes: ['HIST_CALOQA', 'HIST_CALOFITTINGQA'],
  excludedTypes: ['HIST_CALOQASKIMMED'],
  twinType: 'DST_CALOFITTING',
  countedTypes: ['HIST_CALOQA'],
  twinRequired: false,
  tagRule: 'newest-qa-file',
  tagFileTypes: ['HIST_CALOQA'],
  minEvents: undefined,
  payloadTypes: PAYLOAD_TYPES,
}
