/**
 * The seven CDB payload types caloprod keeps current, in the order filter-datasets asks for them.
 * The CDB's only record of what produced a payload is its file name: see `currentPayloadFile`.
 */
export const PAYLOAD_TYPES = [
  'CEMC_BadTowerMap',
  'CEMC_meanTime',
  'HCALIN_meanTime',
  'HCALOUT_meanTime',
  'CEMC_hotTowers_fracBadChi2',
  'HCALIN_hotTowers_fracBadChi2',
  'HCALOUT_hotTowers_fracBadChi2',
] as const

export type PayloadType = (typeof PAYLOAD_TYPES)[number]

/** The CDB global tag the payloads are looked up under. */
export const GLOBAL_TAG = 'newcdbtag'

/**
 * The file name a payload's URL ends with when it was built for (run, tag).
 * CEMC_BadTowerMap is the exception: genStatus writes it as the EMCal hot map.
 */
export function currentPayloadFile(type: PayloadType, tag: string, run: number): string {
  if (type === 'CEMC_BadTowerMap') return `EMCalHotMap_${tag}_${run}cdb.root`
  return `${type}_${tag}_${run}.root`
}
