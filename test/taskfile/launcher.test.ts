// `npm run task -- ARGS` (tasks/task.ts): runs go-task with ARGS, found on PATH or in $(go env GOPATH)/bin, and
// ends as it ends; without go-task and without Go, one line pointing to the README's set-up.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import t from 'tap'
import { layout } from '../../lib/files/layout.js'
import { freshDatabase } from '../helpers/database.js'
import { createCatalogFiles } from '../demo/files-on-disk.js'
import { loadCatalog } from '../demo/load.js'
import { FAKE_FILTER_DATASETS, fakeCdb, fakeCdbEnv } from '../helpers/fake-cdb.js'
import { collectOutput, ROOT } from '../helpers/run-script.js'

const launch = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  collectOutput(spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'tasks', 'task.ts'), ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }))

const goBin = (() => {
  const gopath = spawnSync('go', ['env', 'GOPATH'], { encoding: 'utf8' }).stdout?.trim()
  return gopath ? join(gopath, 'bin') : undefined
})()
/** PATH with no `task` on it: node and the system's directories only, and Go's with `withGo`. */
const pathWithoutTask = (withGo: boolean) => {
  const go = spawnSync('sh', ['-c', 'command -v go'], { encoding: 'utf8' }).stdout.trim()
  return [dirname(process.execPath), ...(withGo && go ? [dirname(go)] : []), '/usr/bin', '/bin'].join(delimiter)
}

t.test('the arguments and the exit code pass through', async (t) => {
  const listed = await launch(['--list']).done
  t.equal(listed.code, 0, listed.stderr)
  t.match(listed.stdout, /^\* submit:/m)
  const failed = await launch(['--silent', '-x', 'query', 'MIN_EVENTS=lots', `OUTPUT=${t.testdir()}`]).done
  t.equal(failed.code, 2)
  t.match(failed.stderr, /^caloprod query: CALOPROD_MIN_EVENTS: cannot parse "lots"/)
})

t.test('go-task from $(go env GOPATH)/bin when PATH has none; without Go either, one line and exit 127', { skip: goBin && existsSync(join(goBin, 'task')) ? false : 'no go-task in GOPATH/bin here' }, async (t) => {
  const found = await launch(['--version'], { PATH: pathWithoutTask(true) }).done
  t.equal(found.code, 0, found.stderr)
  t.match(found.stdout, /3\.54\./)
  t.equal(found.stderr, '', 'nothing installed')
  const none = await launch(['--version'], { PATH: pathWithoutTask(false) }).done
  t.equal(none.code, 127)
  t.equal(none.stderr, "caloprod: go-task v3.54 is not on PATH and Go is not installed to build it: see the README's set-up (a release binary, `go install`, or `npm i -g @go-task/cli`)\n")
})

t.test('SIGTERM to the launcher reaches the running stage: it cleans up and all exit 143', async (t) => {
  const db = await freshDatabase(t)
  const dir = t.testdir()
  const { files } = await loadCatalog(db.sql, { root: join(dir, 'files'), runs: { run2pp: 1, run2auau: 1, run3auau: 4 } })
  await createCatalogFiles(files)
  const out = join(dir, 'out')
  const cdb = fakeCdb(dir)
  // filter-datasets waits at a gate never opened: the check is still running when the signal comes, however long a
  // busy machine takes to see it started (lookups of a fixed time could all end first).
  const { child, done } = launch(['--silent', '-x', 'check', 'RUN_TYPE=run3auau', `OUTPUT=${out}`], {
    ...fakeCdbEnv(cdb, { FAKE_CDB_GATE: join(dir, 'cdb-gate') }), CALOPROD_DB_URL: db.url, CALOPROD_BIN_FILTER_DATASETS: FAKE_FILTER_DATASETS, TASK_TEMP_DIR: join(dir, '.task'),
  })
  const stage = () => {
    try {
      return (JSON.parse(readFileSync(layout.lockFile(out), 'utf8')) as { stage: string | null }).stage
    } catch {
      return undefined
    }
  }
  while (!(existsSync(cdb.calls) && stage() === 'check')) await new Promise((resolve) => setTimeout(resolve, 100))
  child.kill('SIGTERM')
  const result = await done
  t.equal(result.code, 143, result.stderr)
  t.match(result.stderr, 'caloprod check: stopped by SIGTERM')
  t.notOk(stage(), 'the lock is released (between stages, or removed once go-task ended)')
})
