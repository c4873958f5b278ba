// Loaded into a stage by the internal-error tests only (NODE_OPTIONS=--import <this file>): once the stage has opened a
// temporary file (`.<name>.<pid>.<hex>.tmp`) whose name starts with CALOPROD_CRASH_ON (e.g. `.query.csv.`), an error
// that no code catches is thrown from a timer, as a bug deep in a library would throw it. The stage script knows
// nothing of it: the hook wraps node:fs/promises's open before any module of the stage is loaded.
import fs from 'node:fs/promises'
import { basename } from 'node:path'
import { syncBuiltinESMExports } from 'node:module'

const prefix = process.env.CALOPROD_CRASH_ON
if (prefix) {
  const open = fs.open
  let thrown = false
  fs.open = async (path, ...rest) => {
    const handle = await open(path, ...rest)
    const name = basename(String(path))
    if (!thrown && name.startsWith(prefix) && name.endsWith('.tmp')) {
      thrown = true
      setImmediate(() => {
        throw new TypeError('injected: an error no code catches')
      })
    }
    return handle
  }
  syncBuiltinESMExports()
}
