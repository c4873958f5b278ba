// A stage script for the signal tests: it takes the output directory's lock, starts an atomic write of
// <output>/held.csv (a temporary file beside it) and waits, as a stage does in the middle of its work, until a
// signal stops it. Declared through tasks/main.ts, as every stage is.
import { join } from 'node:path'
import { openAtomicWriter } from '../../lib/files/atomic.js'
import { declareStage } from '../../tasks/main.js'

export const stage = await declareStage(
  import.meta.url,
  { name: 'held', summary: 'Holds a write open until a signal.', flags: ['output', 'quiet', 'help'], lock: true },
  async ({ options }) => {
    const writer = await openAtomicWriter(join(options.output, 'held.csv'))
    await writer.write('a,b\n')
    await new Promise(() => setInterval(() => {}, 60_000))
    return 'never'
  },
)
