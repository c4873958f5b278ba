// `<runtype>-check.json`: what the check stage learned that no CSV holds, the counts per payload type of the runs
// whose maps are missing or outdated. The report reads it; it changes only when the CDB's answer does.
import { readFile } from 'node:fs/promises'
import { InputError } from '../errors.js'
import { writeFileIfChanged } from '../files/atomic.js'
import type { PayloadType } from '../rules/calibrations.js'
import type { PayloadCounts } from './filter-datasets.js'

/** The runs of `<runtype>.csv` and of `<runtype>-process.csv`, and per payload type those missing or outdated. */
export interface CheckSummary {
  runs: number
  to_process: number
  payload_types: Record<string, { missing: number; outdated: number }>
}

/** Writes the summary of a check (the rule set's payload types, in its order) atomically, two-space indented, if changed. */
export function writeCheckSummary(path: string, runs: number, toProcess: number, counts: PayloadCounts, types: readonly PayloadType[]) {
  const payloadTypes: CheckSummary['payload_types'] = {}
  for (const type of types) payloadTypes[type] = { missing: counts[type]?.missing ?? 0, outdated: counts[type]?.outdated ?? 0 }
  const summary: CheckSummary = { runs, to_process: toProcess, payload_types: payloadTypes }
  return writeFileIfChanged(path, `${JSON.stringify(summary, null, 2)}\n`)
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0

/** Reads it; undefined when there is none yet (no check since this file was added). Throws InputError if malformed. */
export async function readCheckSummary(path: string): Promise<CheckSummary | undefined> {
  const text = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw new InputError(path, undefined, `cannot be read: ${err.message}`)
  })
  if (text === undefined) return undefined
  let value: Partial<CheckSummary>
  try {
    value = JSON.parse(text) as Partial<CheckSummary>
  } catch (err) {
    throw new InputError(path, undefined, `is not JSON (${(err as Error).message}); delete it and re-run the check stage`)
  }
  const types = value?.payload_types
  const valid = isCount(value?.runs) && isCount(value?.to_process) && typeof types === 'object' && types !== null &&
    Object.values(types).every((c) => isCount(c?.missing) && isCount(c?.outdated))
  const holds = 'runs, to_process and payload_types {type: {missing, outdated}}'
  if (!valid) throw new InputError(path, undefined, `does not hold ${holds}; delete it and re-run the check stage`)
  return value as CheckSummary
}
