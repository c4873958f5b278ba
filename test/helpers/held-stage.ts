// A stage script for the signal tests: it takes the output directory's lock, starts an atomic write of
// <output>/held.csv (a temporary file beside it) and waits, as a stage does in the middle of its work, until a
// signal stops it. With HELD_ENDS_ON_SIGNAL set, the signal also ends its body with an error, as it ends the check's
// when filter-datasets dies of the same signal. Declared through tasks/main.ts, as every stage is.
import { join } from 'node:path'
import { openAtomicWriter } from '../../lib/files/atomic.js'
import { declareStage } from '../../tasks/main.js'

export const stage = declareStage(
  import.meta.url,
  { name: 'held', summary: 'Holds a write open until a signal.', flags: ['output', 'quiet', 'help'], lock: true },
  async ({ options, env }) => {
    const writer = await openAtomicWriter(join(options.output, 'held.csv'))
    await writer.write('a,b\n')
    try {
      await new Promise((_, reject) => {
        setInterval(() => {}, 60_000)
        if (!env.HELD_ENDS_ON_SIGNAL) return
        for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => reject(new Error(`child killed by ${signal}`)))
      })
    } catch (err) {
      await writer.abort()
      throw err
    }
    return 'never'
  },
)
