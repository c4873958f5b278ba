// What payloadiovs answers once this upload's inserts are in, foreseen from what it answered before them: the plan
// sees the inserts it plans as the act sees those it made, so both decide each later insert alike. The model is
// nopayloaddb's attach in an unlocked tag (PayloadIOVAttachAPIView.put, cdb_rest/views.py at 0c9f2f8): (a) the IOVs
// of the list lying within the new one leave it, (b) the IOV before it ends where it starts, and when it went on
// past the new one's end a copy of it goes on from there, (c) the first IOV after it starts where it ends, when the
// one before ended earlier. An insert of [run, ∞) thus leaves the list nothing from the run on but itself.
import type { PayloadIov } from '../cdb/payload-iovs.js'
import type { PlanLine } from './plan.js'

/** nopayloaddb's open end, 2^63-1 at both ends, as payloadiovs' rows read it (a plain number). */
export const OPEN_END = Number(2n ** 63n - 1n)

/** One insert of this upload: its row, and for a closed one the IOV after it that the attach moves back to run + 1. */
export interface Inserted {
  row: PayloadIov
  moved?: PayloadIov
}

const start = (r: PayloadIov) => r.minorIov
const end = (r: PayloadIov) => (r.majorIovEnd > 0 ? Infinity : r.minorIovEnd)
export const isOpen = (r: PayloadIov) => r.majorIovEnd > 0

/** The row payloadiovs gives for an insert of this upload: [run, run+1), or [run, ∞) for an open one. */
export function insertedRow(line: PlanLine): Inserted {
  const run = line.runnumber
  const endAt = line.open ? { majorIovEnd: OPEN_END, minorIovEnd: OPEN_END } : { majorIovEnd: 0, minorIovEnd: run + 1 }
  return { row: { type: line.type, url: line.url!, checksum: line.file!.md5, majorIov: 0, minorIov: run, ...endAt }, moved: line.moved }
}

/** The row of its type payloadiovs answers at `at` after `insert`, given `held`, the one it answered before. */
function after(held: PayloadIov | undefined, at: number, { row, moved }: Inserted): PayloadIov | undefined {
  const run = start(row)
  const cut = (r: PayloadIov): PayloadIov => (end(r) > run ? { ...r, majorIovEnd: 0, minorIovEnd: run } : r)
  // Before the run: the row there is the one before the insert, or an earlier one; only its end can change.
  if (at < run) return held && cut(held)
  if (isOpen(row) || at === run) return row
  // Past a closed insert: the row there starts after it (moved back if it is the first), or it is the one that
  // held the run, now cut, whose copy, the moved next IOV or the insert itself answers.
  if (held && start(held) > run) return moved && start(held) === start(moved) ? { ...held, minorIov: run + 1 } : held
  if (held && start(held) < run && end(held) > run + 1) return { ...held, minorIov: run + 1 }
  if (moved) return { ...moved, minorIov: run + 1 }
  return row
}

/** payloadiovs' rows at run `at` with this upload's inserts (`mine`, in the order made) in. */
export function withMine(rows: readonly PayloadIov[], at: number, mine: readonly Inserted[]): PayloadIov[] {
  const byType = new Map<string, PayloadIov | undefined>(rows.map((row) => [row.type, row]))
  for (const insert of mine) byType.set(insert.row.type, after(byType.get(insert.row.type), at, insert))
  return [...byType.values()].filter((row): row is PayloadIov => row !== undefined)
}

/**
 * The first IOV of `type` starting after `run` (the one a closed insert there moves back), found down from the
 * tag's last one by asking payloadiovs just before each start; undefined when none starts after the run.
 */
export async function firstAfter(
  view: (at: number) => Promise<readonly PayloadIov[]>, type: string, run: number, last: PayloadIov | undefined,
): Promise<PayloadIov | undefined> {
  let next = last && start(last) > run ? last : undefined
  while (next) {
    const row = (await view(start(next) - 1)).find((r) => r.type === type)
    if (!row || start(row) <= run) return next
    next = row
  }
  return undefined
}
