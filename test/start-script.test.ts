// tasks/start.cjs: how the Taskfile starts a stage (tsx's CommonJS hooks, on the stage's own thread). The stage
// scripts themselves are run through it by every test that starts one (helpers/run-script.ts); here, what it
// says when it is given no script or a script that is not there.
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import t from 'tap'
import { collectOutput, ROOT, STAGE_START } from './helpers/run-script.js'

const start = (...args: string[]) =>
  collectOutput(spawn(process.execPath, [STAGE_START, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })).done

t.test('no script: the usage, exit 2', async (t) => {
  const result = await start()
  t.equal(result.code, 2)
  t.equal(result.stderr, 'usage: node tasks/start.cjs tasks/<stage>.ts [flags]\n')
})

t.test('a script that is not there: one line naming it, exit 2', async (t) => {
  const result = await start('tasks/nothing.ts', '--output', 'x')
  t.equal(result.code, 2)
  t.equal(result.stderr, `caloprod: ${join(ROOT, 'tasks', 'nothing.ts')}: no such script\n`)
})

t.test('a stage started through it parses its own flags, as if started directly', async (t) => {
  const result = await start('tasks/condor.ts', '--frobnicate')
  t.equal(result.code, 2)
  t.match(result.stderr, /^caloprod condor: .*--frobnicate/)
  t.equal(result.stderr.split('\n').length, 2, 'one line')
})
