// Whether nopayloadclient can read the payload files of a run: it looks for each row's payload_url under the folders of
// read_dir_list in turn (nopayloadclient fbce293 src/plhandler.cpp getFirstGoodUrl: stat of dir + url, joined as they
// are), for every row of the run's answer before it picks the type asked (decoratePrefixes in getPayloadIOVs); one
// found nowhere fails every lookup of the run with "BaseException: Could not find payload <url> ...", which
// filter-datasets counts outdated. cvmfs not mounted, or not yet published there, looks so.
import { stat } from 'node:fs/promises'
import type { PayloadIov } from './payload-iovs.js'

/** Runs whose files are looked for at most: each costs a stat per row and folder, on cvmfs perhaps a slow one. */
const MAX_RUNS = 10

/** The first row, of the first `MAX_RUNS` runs, whose payload file is under none of `readDirs`; undefined when all are. */
export async function firstUnreadable(
  rowsByRun: ReadonlyMap<number, readonly PayloadIov[]>, readDirs: readonly string[],
): Promise<{ run: number; url: string } | undefined> {
  const exists = (path: string) => stat(path).then(() => true, () => false)
  for (const [run, rows] of [...rowsByRun].slice(0, MAX_RUNS)) {
    for (const row of rows) {
      let found = false
      for (const dir of readDirs) if ((found = await exists(dir + row.url))) break
      if (!found) return { run, url: row.url }
    }
  }
  return undefined
}
