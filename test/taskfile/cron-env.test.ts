// The nightly run in cron's environment under the real go-task: no USER (Debian's cron sets LOGNAME only), no
// PGUSER, no terminal, started from $HOME with --dir. The catalog's user is the one the process runs as, as libpq
// (psql) takes it, so the night connects as the same user as the same command typed by hand.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { ROOT, runTask } from '../helpers/run-script.js'

t.setTimeout(300_000)

t.test("no USER, no PGUSER: the query asks the catalog as the process's user (it asked as postgres)", async (t) => {
  const home = mkdtempSync(join(tmpdir(), 'caloprod-cron-home-'))
  t.teardown(() => rmSync(home, { recursive: true, force: true }))
  const me = userInfo().username
  // Nothing listens on port 1: the query's one line names whom it tried to connect as.
  const cron = { USER: undefined, LOGNAME: undefined, PGUSER: undefined, PGPASSWORD: undefined, CALOPROD_DB_URL: undefined, TERM: undefined, LANG: undefined, HOME: home, PGHOST: '127.0.0.1', PGPORT: '1' }
  const args = ['--silent', '-x', '--dir', ROOT, 'query', `OUTPUT=${join(home, 'out')}`]
  for (const env of [cron, { ...cron, LOGNAME: me }, { ...cron, USER: `not-${me}` }]) {
    const night = await runTask(args, env, home)
    t.equal(night.code, 1, night.stderr)
    t.match(night.stderr, `caloprod query: cannot reach the FileCatalog at ${me}@127.0.0.1:1/FileCatalog`, JSON.stringify({ USER: env.USER, LOGNAME: env.LOGNAME }))
  }
})
