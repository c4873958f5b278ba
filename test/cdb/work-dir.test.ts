// sweepWorkDirs on the folders of an older release's checks (`caloprod-check-XXXXXX`, before 590725a), which name no
// process: removed only once a week unchanged. Folders named after a process: test/check-stop.test.ts.
import { mkdirSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { sweepWorkDirs, UNNAMED_AGE_MS } from '../../lib/cdb/work-dir.js'

const DAY = 24 * 3600 * 1000

t.test("an older release's unnamed folders: removed after a week unchanged, and nothing else", async (t) => {
  const root = t.testdir({ 'elsewhere': {} })
  const now = Date.now()
  const aged = (name: string, ageMs: number, make: (path: string) => void = mkdirSync) => {
    const path = join(root, name)
    make(path)
    const time = (now - ageMs) / 1000
    utimesSync(path, time, time)
  }
  aged('caloprod-check-aB3dE9', UNNAMED_AGE_MS + DAY, (path) => {
    mkdirSync(join(path, 'shard-1-try-1'), { recursive: true })
    writeFileSync(join(path, 'shard-1-try-1', 'input.csv'), 'runnumber,tag\n')
  })
  aged('caloprod-check-Zz0000', UNNAMED_AGE_MS + 1000)
  // Younger than a week: a check of that release may still be writing there.
  aged('caloprod-check-y0ung1', UNNAMED_AGE_MS - DAY)
  // Not a folder, or not that name.
  aged('caloprod-check-f1le00', 30 * DAY, (path) => writeFileSync(path, ''))
  aged('caloprod-check-l1nk00', 30 * DAY, (path) => symlinkSync(join(root, 'elsewhere'), path))
  aged('caloprod-check-toolong7', 30 * DAY)
  aged('caloprod-checkout', 30 * DAY)

  const swept = await sweepWorkDirs(root, '/proc', now)
  t.same(swept, { folders: 2, processes: 0 })
  t.same(readdirSync(root).sort(), [
    'caloprod-check-f1le00', 'caloprod-check-l1nk00', 'caloprod-check-toolong7', 'caloprod-check-y0ung1', 'caloprod-checkout', 'elsewhere',
  ])
  t.same(readdirSync(join(root, 'elsewhere')), [], "a link's target is left alone")
})
