/** The run types the seed knows, each with its inclusive run-number range. */
export const RUN_TYPES = {
  run2pp: { first: 47286, last: 53880 },
  run2auau: { first: 54128, last: 54974 },
  // Run 3 is still taking data: open-ended, capped at PostgreSQL's largest integer.
  run3auau: { first: 66457, last: 2147483647 },
} as const

export type RunType = keyof typeof RUN_TYPES

/** Whether a string names a known run type (and so is safe to use in file names). */
export function isRunType(value: string): value is RunType {
  return Object.hasOwn(RUN_TYPES, value)
}

/** The inclusive run-number range of a run type. */
export function runRange(runType: RunType): { first: number; last: number } {
  return RUN_TYPES[runType]
}
