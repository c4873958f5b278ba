// One upload into the CDB at a time, whatever its output directory: every run type's upload inserts the same payload
// types into the same global tag, and plans each run from what payloadiovs answers just before its insert. Another
// upload's insert in between made that plan wrong: a run3auau run planned as [run, ∞) above the type's open last IOV
// detached the [run', ∞) a run3pp upload had just attached above it, and run' read run3auau's payload (the fake
// nopayloaddb, whose attach follows the real one: test/upload/store-lock.test.ts). The output directory's own lock
// cannot see that; the payload store (write_dir), which every upload of the site writes to, holds one that can.
import { join } from 'node:path'
import { LockedError } from '../errors.js'
import { acquireLock, processInfo, type ReleaseLock } from '../lock.js'
import type { Log } from '../log.js'

/** The lock file in the payload store. */
export const storeLockFile = (writeDir: string): string => join(writeDir, '.caloprod-upload.lock')

/**
 * Takes the payload store's upload lock for this process (never a pipeline's: it goes when the upload ends), or
 * throws LockedError (exit 3) naming the upload that holds it. A lock whose process has ended is taken over, with a
 * warning; another host's is honoured, as the output directory's lock is (lib/lock.ts).
 */
export async function lockStore(writeDir: string, output: string, log: Pick<Log, 'info' | 'warn'>): Promise<ReleaseLock> {
  const owner = { pid: process.pid, start: processInfo(process.pid)?.start, command: `upload --output ${output}`, pipeline: false }
  try {
    return await acquireLock(writeDir, 'upload', owner, { log, path: storeLockFile(writeDir) })
  } catch (err) {
    if (!(err instanceof LockedError)) throw err
    throw new LockedError(`another upload into the CDB is running, one at a time for every output directory: ${err.message}; nothing was uploaded`)
  }
}
