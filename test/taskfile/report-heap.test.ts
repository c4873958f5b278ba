// The Taskfile starts the report with V8's young generation capped (NODE_OPTIONS in its env: docs/speed.md, "The
// report's young generation"), the report that submit defers as well as `task report`; no other stage gets it.
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { collectOutput, ROOT } from '../helpers/run-script.js'

t.test('task report and the report submit defers run with --max-semi-space-size=4; the other stages without', async (t) => {
  const dir = t.testdir()
  // A stand-in for node tasks/start.cjs: says which stage it was asked to start and the NODE_OPTIONS it got, and
  // leaves the files reduce's record sums (query.csv, the run list, reduce.csv), so the night goes on to submit.
  const probe = join(dir, 'probe.cjs')
  writeFileSync(probe, "const { basename, join } = require('node:path')\n" +
    "const out = process.argv[process.argv.indexOf('--output') + 1]\n" +
    "for (const name of ['query.csv', 'run3auau.csv', 'reduce.csv']) require('node:fs').writeFileSync(join(out, name), '')\n" +
    "process.stdout.write(`${basename(process.argv[2], '.ts')} ${JSON.stringify(process.env.NODE_OPTIONS ?? null)}\\n`)\n")
  mkdirSync(join(dir, 'out'))
  const env: NodeJS.ProcessEnv = { ...process.env, TASK_TEMP_DIR: join(dir, '.task') }
  delete env.NODE_OPTIONS
  const task = (...args: string[]) => collectOutput(spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'tasks', 'task.ts'), '--silent', ...args,
    `STAGE=${process.execPath} ${probe}`, `OUTPUT=${join(dir, 'out')}`], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })).done
  const report = await task('report')
  t.equal(report.code, 0, report.stderr)
  t.equal(report.stdout, 'report "--max-semi-space-size=4"\n')
  const night = await task('submit')
  t.equal(night.code, 0, night.stderr)
  const started = night.stdout.trim().split('\n')
  t.equal(started.at(-1), 'report "--max-semi-space-size=4"', 'the deferred report, last')
  t.same(started.slice(0, -1).filter((line) => !line.endsWith(' null')), [], `every other stage without it: ${started.join('; ')}`)
})
