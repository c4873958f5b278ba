/**
 * Every CDB payload type caloprod knows, in the order filter-datasets asks for them: the seven of the seed, then
 * the three ZS cross-calibrations that releases since 2025-10 ask for too. A rule set names the ones it keeps current.
 */
export const PAYLOAD_TYPES = [
  'CEMC_BadTowerMap',
  'CEMC_meanTime',
  'HCALIN_meanTime',
  'HCALOUT_meanTime',
  'CEMC_hotTowers_fracBadChi2',
  'HCALIN_hotTowers_fracBadChi2',
  'HCALOUT_hotTowers_fracBadChi2',
  'CEMC_ZSCrossCalib',
  'HCALIN_ZSCrossCalib',
  'HCALOUT_ZSCrossCalib',
] as const

export type PayloadType = (typeof PAYLOAD_TYPES)[number]

/** The seven types of the seed (and of filter-datasets before 2025-10). */
export const SEVEN_PAYLOAD_TYPES: readonly PayloadType[] = PAYLOAD_TYPES.slice(0, 7)

/** The CDB global tag the payloads are looked up under. */
export const GLOBAL_TAG = 'newcdbtag'

/** The file name a payload's URL ends with when built for (run, tag): the CDB's only record of what produced it. */
export function currentPayloadFile(type: PayloadType, tag: string, run: number): string {
  // genStatus writes CEMC_BadTowerMap as the EMCal hot map.
  if (type === 'CEMC_BadTowerMap') return `EMCalHotMap_${tag}_${run}cdb.root`
  return `${type}_${tag}_${run}.root`
}

/** How a payload stands against (run, tag): what the CDB's answer says of one payload type. */
export type PayloadState = 'current' | 'missing' | 'outdated'

/**
 * Classifies a CDB URL as DESIGN.md says: a DataBaseException is missing, another tag's file outdated. The file
 * may carry the md5 prefix nopayloadclient's store gives it (`<md5>_<name>`).
 */
export function payloadState(type: PayloadType, tag: string, run: number, url: string): PayloadState {
  if (url.startsWith('DataBaseException')) return 'missing'
  const name = currentPayloadFile(type, tag, run)
  const file = url.slice(url.lastIndexOf('/') + 1)
  return file === name || (file.endsWith(`_${name}`) && /^[0-9a-f]{32}$/.test(file.slice(0, -name.length - 1))) ? 'current' : 'outdated'
}
