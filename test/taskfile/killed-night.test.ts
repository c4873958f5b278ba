// A night cron's time limit ends (`timeout 6h task …` sends SIGTERM to its process group: go-task and the stage):
// the stage stops and go-task still runs the report submit deferred. That page, and the next morning's `status`,
// must say the night was stopped, not show the night before's stages as this night's.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { layout } from '../../lib/files/layout.js'
import { calls } from '../helpers/fake-cdb.js'
import { nightWorld } from '../helpers/night-world.js'
import { alive } from '../helpers/processes.js'
import { runTask, startTask } from '../helpers/run-script.js'

t.setTimeout(600_000)

/** Waits for `condition`, polling; the test's own time-out bounds it. */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 100))
}

t.test('a night stopped by SIGTERM in the check: its page opens with the stopped stage; the next good night clears it', async (t) => {
  const { dir, out, cdb, env } = await nightWorld(t, 'killed-night', 4)
  // The CDB has none of the maps: every night's check asks it about every run again.
  const args = ['--silent', '-x', 'submit', 'report', 'RUN_TYPE=run3auau', `OUTPUT=${out}`, `CONDOR_LOG_DIR=${join(dir, 'log')}`, 'JOBS=2']
  const page = layout.reportHtml(out)
  const banner = () => readFileSync(page, 'utf8').match(/<div class="banner failed" id="last-night">.*?<\/div>/)?.[0]

  const good = await runTask(args, env)
  t.equal(good.code, 0, good.stderr)
  t.equal(banner(), undefined, 'a good night: no banner')

  rmSync(cdb.calls, { force: true })
  const lockStage = () => {
    try {
      return (JSON.parse(readFileSync(layout.lockFile(out), 'utf8')) as { stage: string | null }).stage
    } catch {
      return undefined
    }
  }
  const { child, done } = startTask(args, { ...env, FAKE_CDB_DELAY_MS: '60000' }, { group: true })
  await until(() => existsSync(cdb.calls) && lockStage() === 'check')
  const pageBefore = readFileSync(page, 'utf8')
  process.kill(-child.pid!, 'SIGTERM') // as `timeout` does: go-task and everything it started
  const killed = await done
  t.equal(killed.code, 143, killed.stderr)
  t.match(killed.stderr, /^caloprod check: stopped by SIGTERM$/m)
  t.not(readFileSync(page, 'utf8'), pageBefore, 'the page the deferred report wrote is not the night before\'s')
  t.match(banner(), /<b>check failed<\/b> at [^<]* \(exit 143\): <span class="line">stopped by SIGTERM<\/span>/,
    'the page says the check was stopped (it showed no banner: the night before\'s check, all succeeded)')
  const record = JSON.parse(readFileSync(join(layout.logDir(out), 'last-night.json'), 'utf8'))
  t.match(record.stages.check, { code: 143, line: 'stopped by SIGTERM' })
  t.notOk(existsSync(layout.lockFile(out)) && lockStage(), 'no stage holds the lock')

  const next = await runTask(args, env)
  t.equal(next.code, 0, next.stderr)
  t.equal(banner(), undefined, 'the next good night: the banner is gone')
})

t.test('SIGHUP (a terminal hanging up on a run by hand): the stage stops filter-datasets, removes its folder and exits 129', async (t) => {
  const world = await nightWorld(t, 'hangup', 4, { FAKE_CDB_DELAY_MS: '60000' })
  const { dir, out, cdb } = world
  const tmp = join(dir, 'tmp')
  mkdirSync(tmp)
  const env = { ...world.env, TMPDIR: tmp }
  const args = ['--silent', '-x', 'submit', 'report', 'RUN_TYPE=run3auau', `OUTPUT=${out}`, `CONDOR_LOG_DIR=${join(dir, 'log')}`, 'JOBS=2']
  const { child, done } = startTask(args, env, { group: true })
  await until(() => calls(cdb).length > 0)
  const pids = calls(cdb).map((line) => Number(line.split(' ')[0]))
  process.kill(-child.pid!, 'SIGHUP') // the terminal's foreground group: go-task and the stage
  const night = await done
  t.teardown(() => pids.filter(alive).forEach((pid) => process.kill(pid, 'SIGKILL')))
  t.equal(night.code, 129, night.stderr)
  t.match(night.stderr, /^caloprod check: stopped by SIGHUP$/m, 'the stage says what stopped it (it died at once, saying nothing)')
  t.same(pids.filter(alive), [], 'no filter-datasets outlived the stage')
  t.same(readdirSync(tmp).filter((name) => name.startsWith('caloprod-')), [], 'its working folder is removed')
  const lock = existsSync(layout.lockFile(out)) ? JSON.parse(readFileSync(layout.lockFile(out), 'utf8')) : undefined
  t.equal(lock?.stage ?? null, null, 'no stage holds the lock')
  t.match(JSON.parse(readFileSync(join(layout.logDir(out), 'last-night.json'), 'utf8')).stages.check, { code: 129, line: 'stopped by SIGHUP' })
})
