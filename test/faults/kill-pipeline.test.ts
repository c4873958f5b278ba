// Killed at any moment, the whole night: `task submit` through go-task and Taskfile.yml, its process
// group (runner, shell, stage, fakes) SIGKILLed at random points, then run again. The outputs equal a clean
// night's, nothing partial is visible under a real name, the runner never records a killed stage as up to date,
// and no run is submitted twice. go-task records a checksum before it runs a task (and removes it when the task
// fails, which a SIGKILL never lets it do), so a killed reduce is re-run because its status check fails.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { createCatalogFiles } from '../demo/files-on-disk.js'
import { loadCatalog } from '../demo/load.js'
import { layout } from '../../lib/files/layout.js'
import { readLedger } from '../../lib/files/ledger.js'
import { freshDatabase } from '../helpers/database.js'
import { FAKE_FILTER_DATASETS, fakeCdb, fakeCdbEnv } from '../helpers/fake-cdb.js'
import { FAKE_GENSTATUS, fakeCondorEnv, readFakeState } from '../helpers/fake-condor.js'
import { killRepeatedly } from '../helpers/kill.js'
import { runTask, startTask } from '../helpers/run-script.js'
import { listedRuns } from '../helpers/listed-runs.js'


/** Kills of the whole `task submit` pipeline; the README's reliability table cites it. */
export const PIPELINE_KILLS = Number(process.env.CALOPROD_KILLS_PIPELINE ?? 6)

const RUN_TYPE = 'run3auau'
const MIN_EVENTS = '500000'
const MEMORY = '0.5'

/** The stages go-task may skip (sources and status) and the outputs they write. */
function skippable(): { stage: string; writes: (path: string) => boolean }[] {
  return [
    // lists and condor ask the disk and the software release, so they always run and have no checksum.
    { stage: 'reduce', writes: (p) => p === `${RUN_TYPE}.csv` || p === 'reduce.csv' },
  ]
}

/** The outputs but the ledger, the submissions and the page (submit writes it every night, with its time). */
const ledgerFree = (files: Record<string, string>) =>
  Object.fromEntries(Object.entries(files).filter(([path]) => path !== 'submissions.csv' && !path.startsWith('submissions/') && path !== 'report.html'))

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
    start: (dir) => startTask(['--silent', '-x', 'submit', ...vars(dir)], env(dir), { group: true }),
    normalize: ledgerFree,
    afterKill: async (t, dir, i, { now, clean }) => {
      // What go-task takes as up to date now (asked with --dry: a bare --status records its checksum) has all its
      // outputs whole, as in a clean night; a stage the lock says was running when the night died is not.
      const lockPath = layout.lockFile(join(dir, 'out'))
      const inProgress = existsSync(lockPath) ? (JSON.parse(readFileSync(lockPath, 'utf8')) as { stage: string | null }).stage : null
      for (const s of skippable()) {
        const upToDate = (await runTask(['--dry', '--status', s.stage, ...vars(dir)], env(dir))).code === 0
        if (s.stage === inProgress) t.notOk(upToDate, `kill ${i}: ${s.stage} was killed and is not up to date`)
        if (!upToDate) continue
        const want = Object.keys(clean).filter(s.writes)
        t.same(Object.fromEntries(want.map((p) => [p, now[p]])), Object.fromEntries(want.map((p) => [p, clean[p]])), `kill ${i}: ${s.stage} is up to date only with all its outputs`)
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
