// A pipeline's lock is kept between its stages and removed once the pipeline has ended, so nothing looks running
// after a night; never while a stage of it or another run holds it.
import { execFile, spawn } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { acquireLock, processInfo, removeWhenEnded } from '../lib/lock.js'
import { someRuns, writeStageInputs } from './helpers/condor-output.js'
import { FAKE_GENSTATUS } from './helpers/fake-condor.js'
import { ROOT } from './helpers/run-script.js'

t.setTimeout(300_000)

/** A stand-in for a task runner: a process that lives until killed. */
function runner() {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
  const owner = { pid: child.pid!, start: processInfo(child.pid!)?.start, command: 'task submit', pipeline: true }
  const ended = new Promise((resolve) => child.on('exit', resolve))
  return { owner, end: async () => (child.kill(), await ended) }
}

t.test('the lock a pipeline left between stages is removed once its runner has ended', async (t) => {
  const output = t.testdir()
  const pipeline = runner()
  const release = await acquireLock(output, 'submit', pipeline.owner)
  const kept = await release()
  t.ok(kept, 'a pipeline keeps its lock between stages')
  const removed = removeWhenEnded(output, kept!, { pollMs: 50 })
  // Six polls' chance to remove it wrongly: a wait for something not to happen (a busy machine only polls less).
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.ok(existsSync(join(output, '.caloprod.lock')), 'kept while the runner lives')
  await pipeline.end()
  t.equal(await removed, true)
  t.notOk(existsSync(join(output, '.caloprod.lock')), 'removed after it ended')
})

t.test('a next stage of the pipeline, or another run, keeps the lock', async (t) => {
  const output = t.testdir()
  const pipeline = runner()
  const kept = await (await acquireLock(output, 'condor', pipeline.owner))()
  const watching = removeWhenEnded(output, kept!, { pollMs: 50 })
  const next = await acquireLock(output, 'submit', pipeline.owner)
  t.equal(await watching, false, 'the next stage entered: not removed')
  await next()
  await pipeline.end()
  t.ok(existsSync(join(output, '.caloprod.lock')), 'that stage\'s watcher removes it, not the first')
})

t.test('after a night run by go-task, no .caloprod.lock is left', { skip: !existsSync('/root/go/bin/task') && 'no go-task' }, async (t) => {
  const root = t.testdir()
  const output = join(root, 'out')
  writeStageInputs(output, someRuns(2))
  const stage = `node --import ${import.meta.resolve('tsx')} ${ROOT}/tasks/condor.ts --output ${output} --bin-genStatus ${FAKE_GENSTATUS} --condor-log-dir ${join(root, 'logs')} --quiet`
  writeFileSync(join(root, 'Taskfile.yml'), `version: '3'\ntasks:\n  night:\n    cmds:\n      - ${stage}\n      - ${stage} --memory 1\n`)
  await promisify(execFile)('/root/go/bin/task', ['--silent', '-d', root, 'night'])
  // The watcher polls once a second: wait for the condition, as long as a busy machine needs.
  for (let waited = 0; existsSync(join(output, '.caloprod.lock')) && waited < 120; waited++) await new Promise((resolve) => setTimeout(resolve, 1000))
  t.notOk(existsSync(join(output, '.caloprod.lock')), 'the lock is gone once the runner has ended')
})
