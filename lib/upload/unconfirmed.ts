// The ledger's `uploaded` against the CDB's own view: a payload the ledger says it uploaded that payloadiovs does not
// hold for the run (an older caloprod took a proxy's 200 for an attach, or the payload IOV left the list since) is
// planned again (plan.ts), attaching the payload IOV the ledger names when the CDB still has it in no payload list.
import { detachedPayloadIovs, type CdbRequest } from '../cdb/nopayload-write.js'
import type { PayloadIov } from '../cdb/payload-iovs.js'
import { uploadKey, type UploadRow } from './ledger.js'
import type { PayloadCheck } from './payload-files.js'
import { cdbHolds } from './plan.js'

/** One finished run: its payload files and payloadiovs at the run in the global tag. */
interface RunFiles {
  runnumber: number
  tag: string
  checks: readonly PayloadCheck[]
  cdb: readonly PayloadIov[]
}

/**
 * The ids of the payload IOVs that the ledger's `uploaded` rows of this run's files name and the CDB holds in no
 * payload list (for the plan's `detached`); asks the CDB only about files the CDB does not hold for the run.
 */
export async function detachedUploads(
  request: CdbRequest, run: RunFiles, globalTag: string, latest: ReadonlyMap<string, UploadRow>,
): Promise<Set<number>> {
  const ids = new Set<number>()
  for (const check of run.checks) {
    if (!check.ok) continue
    const { type, md5 } = check.file
    const done = latest.get(uploadKey({ runnumber: run.runnumber, tag: run.tag, type, globalTag }))
    if (done?.state !== 'uploaded' || done.checksum !== md5 || done.piov === undefined) continue
    if (cdbHolds(run.cdb, type, run.runnumber, md5)) continue
    if ((await detachedPayloadIovs(request, done.url, run.runnumber)).some((p) => p.id === done.piov)) ids.add(done.piov)
  }
  return ids
}
