/**
 * The run types and their inclusive run-number ranges: facts about the accelerator, shared by every rule set
 * (a site's rules file can add one or override one, see lib/rules/load.ts). The seed left run3auau open-ended,
 * which let the p+p and O+O runs of 2025-26 fall into it; these are the ranges the collaboration uses.
 */
export const RUN_TYPES: Readonly<Record<string, RunRange>> = {
  run2pp: { first: 47286, last: 53880 },
  run2auau: { first: 54128, last: 54974 },
  run3auau: { first: 66457, last: 78954 },
  run3pp: { first: 79146, last: 81668 },
  run3oo: { first: 82374, last: 82703 },
}

/** An inclusive run-number range. */
export type RunRange = { first: number; last: number }

/** A run type's name, e.g. `run3auau`; which names exist depends on the rule set (its `runTypes`). */
export type RunType = string

/** A name that is safe in file names and labels: what a rules file may call a run type. */
export const RUN_TYPE_NAME = /^[a-z][a-z0-9]{0,31}$/

/** The inclusive run-number range of a run type, from `runTypes` (a rule set's, by default the shared facts). */
export function runRange(runType: RunType, runTypes: Readonly<Record<string, RunRange>> = RUN_TYPES): RunRange {
  const range = Object.hasOwn(runTypes, runType) ? runTypes[runType] : undefined
  if (!range) throw new Error(`unknown run type "${runType}": expected one of ${Object.keys(runTypes).join(', ')}`)
  return range
}
