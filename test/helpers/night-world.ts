// The world of a night under go-task, for the Taskfile's tests: a folder of its own (removed after the test), a fresh
// catalog of `runs` run3auau runs (or of several run types) whose files are on disk, the fake CDB (every map missing)
// and the fake scheduler, and the environment the cron line gets them from.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import type { CatalogShape } from '../demo/catalog.js'
import { createCatalogFiles } from '../demo/files-on-disk.js'
import { loadCatalog } from '../demo/load.js'
import { freshDatabase } from './database.js'
import { FAKE_FILTER_DATASETS, fakeCdb, fakeCdbEnv } from './fake-cdb.js'
import { FAKE_GENSTATUS, fakeCondorEnv } from './fake-condor.js'

/**
 * `name` names the folder; `runs`: run3auau's, or the runs of each run type; `cdbEnv`: more of the fake CDB's variables
 * (FAKE_CDB_DELAY_MS, …).
 */
export async function nightWorld(t: Test, name: string, runs: number | CatalogShape['runs'], cdbEnv: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), `caloprod-${name}-`))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const db = await freshDatabase(t)
  const { files } = await loadCatalog(db.sql, { root: join(dir, 'files'), runs: typeof runs === 'number' ? { run3auau: runs } : runs })
  await createCatalogFiles(files)
  const cdb = fakeCdb(dir)
  const condor = join(dir, 'condor.json')
  const env: Record<string, string> = {
    ...fakeCdbEnv(cdb, cdbEnv),
    ...fakeCondorEnv(condor),
    CALOPROD_DB_URL: db.url,
    CALOPROD_BIN_FILTER_DATASETS: FAKE_FILTER_DATASETS,
    CALOPROD_BIN_GENSTATUS: FAKE_GENSTATUS,
    TASK_TEMP_DIR: join(dir, '.task'),
  }
  return { dir, out: join(dir, 'out'), cdb, condor, env }
}
