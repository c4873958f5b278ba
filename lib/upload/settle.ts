// Settling the ledger rows a crash or a lost answer left open (`uploading`, `created`), by asking the CDB, before
// anything is planned: what the CDB holds is `uploaded`; a payload IOV made for an `uploading` row and never attached
// is taken up (`created`), so it is attached instead of made again; else `failed`, planned again.
import { join } from 'node:path'
import { detachedPayloadIovs, payloadIovs, type CdbRequest, type DetachedPayloadIov } from '../cdb/nopayload-write.js'
import type { PayloadIov } from '../cdb/payload-iovs.js'
import { sweepStaleTemps } from '../files/atomic.js'
import type { UploadRow } from './ledger.js'
import { cdbHolds } from './plan.js'
import { CLOCK_SKEW_MS } from '../clock-skew.js'

// nopayloaddb's clock may be behind ours by CLOCK_SKEW_MS when it stamps a payload IOV `inserted`. An `uploading` row
// is on disk before its copy and its POST, so a payload IOV stamped more than that before the row was made for
// something else.

/**
 * The payload IOV an `uploading` row's POST made: in no payload list, with the row's URL and IOV, named by no ledger
 * row (`claimed`: of any global tag; a payload IOV belongs to one list, and attaching it to a second moves it out of
 * the first) and stamped no earlier than the row less CLOCK_SKEW_MS (one without a readable stamp is not taken).
 * Of several, the latest. `passed`: how many were passed over for those two reasons.
 */
export function madeFor(row: UploadRow, found: readonly DetachedPayloadIov[], claimed: ReadonlySet<number>): { id?: number; passed: number } {
  const notBefore = Date.parse(row.time) - CLOCK_SKEW_MS
  const ours = found.filter((p) => !claimed.has(p.id) && p.inserted !== undefined && p.inserted >= notBefore)
  return { id: ours.length ? Math.max(...ours.map((p) => p.id)) : undefined, passed: found.length - ours.length }
}

/**
 * The ledger rows that settle open rows by what the CDB holds: an `uploading` or `created` row whose checksum the
 * CDB returns for the run is `uploaded`; an `uploading` one whose payload IOV the CDB made but never attached (a
 * crash, or an answer that never came: madeFor) becomes `created` with its id, so it is attached instead of made
 * again. `ledger`: the latest row of each payload and every payload IOV a row names (readUploadState); `writeDir`:
 * the store to sweep of a killed copy's temporary files, when acting.
 */
export async function settle(
  ledger: { latest: ReadonlyMap<string, UploadRow>; piovs: ReadonlySet<number> }, request: CdbRequest, writeDir: string | undefined,
): Promise<UploadRow[]> {
  const open = [...ledger.latest.values()].filter((row) => row.state === 'uploading' || row.state === 'created')
  const claimed = new Set(ledger.piovs)
  const views = new Map<string, PayloadIov[]>()
  const settled: UploadRow[] = []
  for (const row of open) {
    const key = `${row.globalTag}\0${row.runnumber}`
    if (!views.has(key)) views.set(key, await payloadIovs(request, row.globalTag, row.runnumber))
    // A copy killed before its rename leaves a hidden temporary file: remove it, so the store holds no partial file.
    if (writeDir) await sweepStaleTemps(join(writeDir, row.url, '..'))
    const settledAs = (state: UploadRow['state'], piov: number | undefined, detail: string) =>
      settled.push({ ...row, time: new Date().toISOString(), state, piov, detail: `settled: an interrupted upload; ${detail}` })
    if (cdbHolds(views.get(key)!, row.type, row.runnumber, row.checksum)) {
      settledAs('uploaded', row.piov, 'the CDB holds this checksum for the run')
    } else if (row.state === 'uploading') {
      const { id, passed } = madeFor(row, await detachedPayloadIovs(request, row.url, row.runnumber), claimed)
      const others = passed ? ` (${passed} in no payload list with its URL and IOV: another ledger row's, or made before it)` : ''
      if (id !== undefined) {
        claimed.add(id)
        settledAs('created', id, `the CDB made piov ${id} for it, in no payload list: it is attached next${others}`)
      } else settledAs('failed', undefined, `the CDB made no payload IOV for it${others}; will be tried again`)
    }
  }
  return settled
}
