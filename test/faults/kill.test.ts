// Killed at any moment: SIGKILL each stage at random points; after each kill nothing partial is visible
// under a real name, and a re-run gives byte-identical outputs to a clean run's.
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { loadCatalog } from '../demo/load.js'
import { freshDatabase } from '../helpers/database.js'
import { killRepeatedly as killLoop } from '../helpers/kill.js'
import { buildBundles, runStageHere, startBuilt } from '../helpers/run-script.js'

/** Kills per stage; the suite's total is reported in the README's reliability table. */
export const KILLS_PER_STAGE = Number(process.env.CALOPROD_KILLS ?? 12)

interface Case {
  stage: string
  args: (output: string) => string[]
  /** Fills a fresh output directory with the stage's inputs. */
  prepare: (output: string) => void
}

/** The kill loop of test/helpers/kill.ts on one stage, started from its bundle as the Taskfile starts it. */
async function killRepeatedly(t: Test, c: Case) {
  await buildBundles()
  const { killedMidway } = await killLoop(t, {
    name: c.stage,
    kills: KILLS_PER_STAGE,
    prepare: c.prepare,
    start: (dir) => startBuilt(c.stage, c.args(dir)),
  })
  t.ok(killedMidway >= KILLS_PER_STAGE / 2, `most kills landed while ${c.stage} ran (${killedMidway}/${KILLS_PER_STAGE})`)
}

t.test('query', async (t) => {
  const { url, sql } = await freshDatabase(t)
  await loadCatalog(sql, { runs: { run2pp: 2, run2auau: 2, run3auau: 20 } })
  await killRepeatedly(t, {
    stage: 'query',
    args: (output) => ['--db-url', url, '--output', output, '--quiet'],
    prepare: () => {},
  })
})

t.test('reduce', async (t) => {
  const { url, sql } = await freshDatabase(t)
  await loadCatalog(sql, { runs: { run2pp: 1, run2auau: 1, run3auau: 30 } })
  const source = mkdtempSync(join(tmpdir(), 'caloprod-kill-src-'))
  t.teardown(() => rmSync(source, { recursive: true, force: true }))
  t.equal((await runStageHere('query', ['--db-url', url, '--output', source, '--min-events', '100k'])).code, 0)
  await killRepeatedly(t, {
    stage: 'reduce',
    args: (output) => ['--output', output, '--quiet'],
    prepare: (output) => cpSync(join(source, 'query.csv'), join(output, 'query.csv')),
  })
})
