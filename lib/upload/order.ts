// The order of an upload's inserts, chosen per payload type from where the type's last IOV in the tag starts (`top`,
// from payloadiovs at the last run): runs below it downwards, then the rest upwards. nopayloaddb moves the IOV after
// an inserted one back to meet it; downwards, that IOV is the run inserted just before, where upwards the next run
// would fall inside the moved one and fail. Above the last IOV's start upwards: each insert's IOV before it is the
// run inserted just before (ended at the run), and nothing lies after it. The types sharing a `top` form one group.
import type { PayloadIov } from '../cdb/payload-iovs.js'

export interface InsertGroup<T> {
  top: number
  types: string[]
  runs: T[]
}

/** The runs in insertion order for each group of `types`; `last`: payloadiovs' rows at the last run. */
export function insertionGroups<T extends { runnumber: number }>(
  runs: readonly T[], types: readonly string[], last: readonly PayloadIov[],
): InsertGroup<T>[] {
  const sorted = [...runs].sort((a, b) => a.runnumber - b.runnumber)
  const tops = new Map<number, string[]>()
  for (const type of types) {
    const top = Math.max(-1, ...last.filter((row) => row.type === type).map((row) => Number(row.minorIov)))
    tops.set(top, [...(tops.get(top) ?? []), type])
  }
  return [...tops].sort(([a], [b]) => a - b).map(([top, group]) => ({
    top,
    types: group,
    runs: [...sorted.filter((r) => r.runnumber < top).reverse(), ...sorted.filter((r) => r.runnumber >= top)],
  }))
}
