// Killed at any moment: SIGKILL each stage at random points; after each kill nothing partial is visible
// under a real name, and a re-run gives byte-identical outputs to a clean run's.
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { loadCatalog } from '../../lib/demo/load.js'
import { seededRandom } from '../../lib/demo/random.js'
import { freshDatabase } from '../helpers/database.js'
import { runScript, startScript } from '../helpers/run-script.js'
import { partialFiles, snapshot } from '../helpers/snapshot.js'

/** Kills per stage; the suite's total is reported in the README's reliability table. */
export const KILLS_PER_STAGE = Number(process.env.CALOPROD_KILLS ?? 12)

interface Case {
  stage: string
  args: (output: string) => string[]
  /** Fills a fresh output directory with the stage's inputs. */
  prepare: (output: string) => void
}

async function killRepeatedly(t: Test, c: Case) {
  const random = seededRandom(7)
  const work = mkdtempSync(join(tmpdir(), `caloprod-kill-${c.stage}-`))
  t.teardown(() => rmSync(work, { recursive: true, force: true }))
  const cleanDir = join(work, 'clean')
  mkdirSync(cleanDir)
  c.prepare(cleanDir)
  const before = snapshot(cleanDir)
  const started = Date.now()
  const result = await runScript(c.stage, c.args(cleanDir))
  t.equal(result.code, 0, `clean ${c.stage}: ${result.stderr}`)
  const took = Date.now() - started
  const clean = snapshot(cleanDir)
  let killedMidway = 0
  for (let i = 0; i < KILLS_PER_STAGE; i++) {
    const dir = join(work, `kill-${i}`)
    mkdirSync(dir)
    c.prepare(dir)
    const { child, done } = startScript(c.stage, c.args(dir))
    await new Promise((r) => setTimeout(r, Math.floor(random() * took * 1.1)))
    child.kill('SIGKILL')
    const ended = await done
    if (ended.signal === 'SIGKILL') killedMidway++
    t.same(partialFiles(snapshot(dir), clean, before), [], `kill ${i}: nothing partial under a real name`)
    const rerun = await runScript(c.stage, c.args(dir))
    t.equal(rerun.code, 0, `kill ${i}: re-run succeeds ${rerun.stderr}`)
    t.same(snapshot(dir), clean, `kill ${i}: re-run equals a clean run`)
    rmSync(dir, { recursive: true, force: true })
  }
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
  t.equal((await runScript('query', ['--db-url', url, '--output', source, '--min-events', '100k'])).code, 0)
  await killRepeatedly(t, {
    stage: 'reduce',
    args: (output) => ['--output', output, '--quiet'],
    prepare: (output) => cpSync(join(source, 'query.csv'), join(output, 'query.csv')),
  })
})
