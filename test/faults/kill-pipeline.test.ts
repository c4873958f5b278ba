// Killed at any moment, the whole night: `task submit` through the built-in runner and Taskfile.yml, its process
// group (runner, shell, stage, fakes) SIGKILLed at random points, then run again. The outputs equal a clean
// night's, nothing partial is visible under a real name, the runner never records a killed stage as up to date,
// and no run is submitted twice.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { createCatalogFiles } from '../demo/files-on-disk.js'
import { loadCatalog } from '../demo/load.js'
import { layout } from '../../lib/files/layout.js'
import { readLedger } from '../../lib/files/ledger.js'
import { checksumPath, fingerprintDir } from '../../lib/taskfile/checksum.js'
import { freshDatabase } from '../helpers/database.js'
import { FAKE_FILTER_DATASETS, fakeCdb, fakeCdbEnv } from '../helpers/fake-cdb.js'
import { FAKE_GENSTATUS, fakeCondorEnv, readFakeState } from '../helpers/fake-condor.js'
import { killRepeatedly, startRunnerGroup } from '../helpers/kill.js'
import { buildBundles, ROOT } from '../helpers/run-script.js'
import { listedRuns } from '../helpers/listed-runs.js'

// Started from the bundles, as the Taskfile starts them.
t.before(buildBundles)

/** Kills of the whole `task submit` pipeline; the README's reliability table cites it. */
export const PIPELINE_KILLS = Number(process.env.CALOPROD_KILLS_PIPELINE ?? 6)

const RUN_TYPE = 'run3auau'
const MIN_EVENTS = '500000'
const MEMORY = '0.5'
const RULES = 'seed'

/** The stages the runner may skip (sources + generates), their Taskfile labels and the outputs they write. */
function skippable(dir: string): { stage: string; label: string; writes: (path: string) => boolean }[] {
  const out = join(dir, 'out')
  return [
    // lists and condor ask the disk and the software release, so they always run and have no checksum.
    { stage: 'reduce', label: `reduce-${RUN_TYPE}-${out}-${RULES}`, writes: (p) => p === `${RUN_TYPE}.csv` || p === 'reduce.csv' },
  ]
}

const ledgerFree = (files: Record<string, string>) =>
  Object.fromEntries(Object.entries(files).filter(([path]) => path !== 'submissions.csv' && !path.startsWith('submissions/')))

// Each night now runs lists and condor too (issue 13): on a busy two-core machine the file takes more than tap's
// default 180 s.
t.setTimeout(600_000)

t.test(`task submit killed at ${PIPELINE_KILLS} random points, then run again`, async (t: Test) => {
  // A short directory: the Taskfile's labels carry the output path into checksum file names (255 bytes at most).
  const root = mkdtempSync(join(tmpdir(), 'caloprod-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const db = await freshDatabase(t)
  const { files } = await loadCatalog(db.sql, { root: join(root, 'files'), runs: { run2pp: 1, run2auau: 1, run3auau: 10 } })
  await createCatalogFiles(files)
  const cdb = fakeCdb(root)
  const tempDir = join(root, '.task')
  const env = (dir: string) => ({
    ...fakeCdbEnv(cdb),
    ...fakeCondorEnv(join(dir, 'condor.json')),
    CALOPROD_DB_URL: db.url,
    CALOPROD_BIN_FILTER_DATASETS: FAKE_FILTER_DATASETS,
    CALOPROD_BIN_GENSTATUS: FAKE_GENSTATUS,
    TASK_TEMP_DIR: tempDir,
  })
  const vars = (dir: string) => [`RUN_TYPE=${RUN_TYPE}`, `OUTPUT=${join(dir, 'out')}`, `CONDOR_LOG_DIR=${join(dir, 'condor-log')}`, `MIN_EVENTS=${MIN_EVENTS}`, `MEMORY=${MEMORY}`]
  const runTags = (dir: string) => listedRuns(join(dir, 'out'))

  const report = await killRepeatedly(t, {
    name: 'pipeline',
    kills: PIPELINE_KILLS,
    group: true,
    warmup: false,
    seed: 11,
    output: (dir) => join(dir, 'out'),
    prepare: () => {},
    start: (dir) => startRunnerGroup(['--silent', '-x', 'submit', ...vars(dir)], env(dir)),
    normalize: ledgerFree,
    afterKill: (t, dir, i, { now, clean }) => {
      // A stage the lock says was running when the night died was never recorded as up to date.
      const lockPath = layout.lockFile(join(dir, 'out'))
      const inProgress = existsSync(lockPath) ? (JSON.parse(readFileSync(lockPath, 'utf8')) as { stage: string | null }).stage : null
      for (const s of skippable(dir)) {
        const recorded = existsSync(checksumPath(fingerprintDir(ROOT, tempDir, undefined), s.label))
        if (s.stage === inProgress) t.notOk(recorded, `kill ${i}: ${s.stage} was killed and has no checksum`)
        if (!recorded) continue
        // Recorded as up to date: then every output of it is there, whole, as in a clean night.
        const want = Object.keys(clean).filter(s.writes)
        t.same(Object.fromEntries(want.map((p) => [p, now[p]])), Object.fromEntries(want.map((p) => [p, clean[p]])), `kill ${i}: ${s.stage} has a checksum only with all its outputs`)
      }
      const queued = readFakeState(join(dir, 'condor.json')).jobs.map((j) => j.CaloprodRunTag)
      t.equal(new Set(queued).size, queued.length, `kill ${i}: no run twice in the queue`)
    },
    afterRerun: async (t, dir, i) => {
      const expected = runTags(dir)
      t.ok(expected.length > 3, `kill ${i}: runs to submit`)
      t.same(readFakeState(join(dir, 'condor.json')).jobs.map((j) => j.CaloprodRunTag).sort(), expected, `kill ${i}: each run in the queue once`)
      const submitted = (await readLedger(layout.ledgerCsv(join(dir, 'out')))).rows.filter((r) => r.state === 'submitted')
      t.same(submitted.map((r) => `${r.runnumber}_${r.tag}`).sort(), expected, `kill ${i}: each run submitted once in the ledger`)
    },
  })
  t.ok(report.killedMidway >= PIPELINE_KILLS / 2, `most kills landed while the night ran (${report.killedMidway}/${PIPELINE_KILLS})`)
})
