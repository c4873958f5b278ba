// What comes after `--` on a cron line under the real go-task: `submit` gets it, and so does the report it defers
// (`{{.STAGE_FLAGS}} {{.CLI_ARGS}}`). Each of submit's flags given there must leave the night's page written, and
// the page must judge the runs as that submit did.
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { layout } from '../../lib/files/layout.js'
import { fakeCondor } from '../helpers/fake-condor.js'
import { nightWorld } from '../helpers/night-world.js'
import { runTask } from '../helpers/run-script.js'

t.setTimeout(600_000)

const OVER = 'Job has gone over memory limit of 512 megabytes (MemoryUsage > RequestMemory)'

/** A first night on a small catalog; returns a function running go-task's cron line on the same output. */
async function firstNight(t: Test) {
  const { dir, out, condor, env } = await nightWorld(t, 'cli-args', 4)
  const vars = ['RUN_TYPE=run3auau', `OUTPUT=${out}`, `CONDOR_LOG_DIR=${join(dir, 'condor-log')}`, 'JOBS=2']
  const cron = (after: string[]) => runTask(['--silent', '-x', 'submit', 'report', ...vars, '--', ...after], env)
  const first = await cron([])
  t.equal(first.code, 0, first.stderr)
  t.match(first.stdout, /^submit: \d+ runs submitted to cluster 1 /m)
  return { out, condor, cron }
}

t.test("submit's memory flags after --: the deferred report takes them and judges a held job as submit did", async (t) => {
  const { out, condor, cron } = await firstNight(t)
  // Held for memory at 512 MB; with --max-memory 0.5 submit cannot give it more and leaves it for a person.
  await fakeCondor(condor, 'set', '1.0', 'held', `reason=${OVER}`, 'code=34')
  const page = layout.reportHtml(out)
  writeFileSync(page, 'yesterday\n')
  const night = await cron(['--max-memory', '0.5', '--memory-scale', '2'])
  t.equal(night.code, 0, night.stderr)
  t.notMatch(night.stderr, /caloprod report:|task: Failed/, 'the report took the flags (it refused them: unknown flag --max-memory)')
  t.match(night.stderr, /it has 512 MB, the most --max-memory allows: left for a person/, "submit's warning")
  const html = readFileSync(page, 'utf8')
  t.not(html, 'yesterday\n', 'the page is written')
  t.match(html, /held/)
  // With its own defaults (4 GB, 1.5) the page would promise what submit did not do.
  t.notMatch(html, /next night: release/, 'no release promised that submit, at --max-memory 0.5, does not make')
})

t.test('--quiet after --: a quiet cron line (a mail only on failure) still writes the page', async (t) => {
  const { out, cron } = await firstNight(t)
  const page = layout.reportHtml(out)
  writeFileSync(page, 'yesterday\n')
  const night = await cron(['--quiet'])
  t.equal(night.code, 0, night.stderr)
  t.equal(night.stdout, '', 'nothing on stdout')
  t.equal(night.stderr, '', 'nothing on stderr (the report got --quiet twice: "--quiet is given more than once", exit 2)')
  t.not(readFileSync(page, 'utf8'), 'yesterday\n', 'the page is written')
})
