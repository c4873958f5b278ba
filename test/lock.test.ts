import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { LockedError } from '../lib/errors.js'
import { layout } from '../lib/files/layout.js'
import { acquireLock, isPipelineCommand, lockOwner, processInfo, submitInFlight, type LockOwner } from '../lib/lock.js'
import { TAG, writeStageInputs } from './helpers/condor-output.js'
import { FAKE_GENSTATUS } from './helpers/fake-condor.js'
import { ROOT, runScript } from './helpers/run-script.js'
import { deadPid, liveProcess } from './helpers/processes.js'

const ownerOf = (pid: number, pipeline: boolean): LockOwner => ({ pid, start: processInfo(pid)?.start, command: pipeline ? 'task submit' : `stage (pid ${pid})`, pipeline })

function recordingLog() {
  const lines = { info: [] as string[], warn: [] as string[] }
  return { lines, log: { info: (m: string) => lines.info.push(m), warn: (m: string) => lines.warn.push(m) } }
}

const readLock = (output: string) => JSON.parse(readFileSync(layout.lockFile(output), 'utf8'))

t.test('a stage run by hand holds the lock alone and removes it when done', async (t) => {
  const output = t.testdir()
  const release = await acquireLock(output, 'submit', ownerOf(process.pid, false))
  const held = readLock(output)
  t.match(held, { host: hostname(), pid: process.pid, stage: 'submit', stagePid: process.pid, pipeline: false })
  t.match(held.since, /^\d{4}-\d\d-\d\dT/)
  const other = liveProcess(t)
  await t.rejects(acquireLock(output, 'condor', ownerOf(other.pid!, false), { self: other.pid }), {
    constructor: LockedError,
    exitCode: 3,
    message: new RegExp(`^${output} is in use by the submit stage \\(pid ${process.pid}\\) on ${hostname()} since .*; this run stops`),
  })
  await release()
  t.notOk(existsSync(layout.lockFile(output)))
})

t.test('the stages of one pipeline enter in turn; another pipeline stays out; the lock outlives the stages', async (t) => {
  const output = t.testdir()
  const runner = liveProcess(t)
  const pipeline = ownerOf(runner.pid!, true)
  const first = await acquireLock(output, 'condor', pipeline)
  await first()
  t.match(readLock(output), { pid: runner.pid, pipeline: true, stage: null, stagePid: null }, 'kept between stages')
  const second = await acquireLock(output, 'submit', pipeline)
  t.match(readLock(output), { pid: runner.pid, stage: 'submit' })
  const cron = liveProcess(t)
  await t.rejects(acquireLock(output, 'query', ownerOf(cron.pid!, true), { self: cron.pid }), {
    exitCode: 3,
    message: new RegExp(`in use by the submit stage \\(pid ${process.pid}\\) of the pipeline "task submit" \\(pid ${runner.pid}\\)`),
  })
  await second()
  await t.rejects(acquireLock(output, 'query', ownerOf(cron.pid!, true), { self: cron.pid }), {
    message: /in use by the pipeline "task submit" .*, between stages since/,
  }, 'between stages the pipeline still holds it')
})

t.test('one pipeline never runs two stages at once', async (t) => {
  const output = t.testdir()
  const runner = liveProcess(t)
  const stage = liveProcess(t)
  const pipeline = ownerOf(runner.pid!, true)
  await acquireLock(output, 'lists', pipeline, { self: stage.pid })
  await t.rejects(acquireLock(output, 'condor', pipeline), { exitCode: 3, message: /wait for that stage to finish/ })
})

t.test('a lock whose owner is gone is taken over: silently after a finished pipeline, with a warning after a killed stage', async (t) => {
  const output = t.testdir()
  const gone = await deadPid()
  const finished = { host: hostname(), pid: gone, start: null, command: 'task submit', pipeline: true, since: '2025-01-01T00:00:00.000Z', stage: null, stagePid: null, stageStart: null, stageSince: null }
  writeFileSync(layout.lockFile(output), JSON.stringify(finished))
  const quiet = recordingLog()
  const release = await acquireLock(output, 'submit', ownerOf(process.pid, false), { log: quiet.log })
  t.same(quiet.lines.warn, [])
  t.match(quiet.lines.info, [/took over the lock left by the pipeline "task submit" \(pid \d+\) .*which has finished/])
  await release()

  writeFileSync(layout.lockFile(output), JSON.stringify({ ...finished, stage: 'submit', stagePid: gone, stageSince: '2025-01-01T00:01:00.000Z' }))
  const loud = recordingLog()
  await acquireLock(output, 'submit', ownerOf(process.pid, false), { log: loud.log })
  t.match(loud.lines.warn, [/took over the lock of the submit stage \(pid \d+\) of the pipeline .*: it ended without releasing it \(killed\?\)/])
  t.match(readLock(output), { pid: process.pid, stage: 'submit' })
})

t.test('a reused pid is not taken for the owner: its start time differs', async (t) => {
  const output = t.testdir()
  const other = liveProcess(t)
  writeFileSync(layout.lockFile(output), JSON.stringify({
    host: hostname(), pid: other.pid, start: '1', command: 'task submit', pipeline: true, since: '2025-01-01T00:00:00.000Z',
    stage: null, stagePid: null, stageStart: null, stageSince: null,
  }))
  const noisy = recordingLog()
  const release = await acquireLock(output, 'submit', ownerOf(process.pid, false), { log: noisy.log })
  // Taken over: the lock now names us, and the takeover was logged (a stage of a finished pipeline, so quietly).
  t.match(readLock(output), { pid: process.pid, stage: 'submit' })
  t.not(readLock(output).pid, other.pid)
  t.ok([...noisy.lines.info, ...noisy.lines.warn].some((line) => /took over/.test(line)), 'the takeover is logged')
  await release()
  t.notOk(existsSync(layout.lockFile(output)), 'released')
})

t.test("another host's lock is honoured, saying so; a lock file that is not ours stops too", async (t) => {
  const output = t.testdir()
  writeFileSync(layout.lockFile(output), JSON.stringify({
    host: 'sphnxprod02', pid: 1234, start: '99', command: 'task submit', pipeline: true, since: '2025-01-01T00:00:00.000Z',
    stage: 'check', stagePid: 1240, stageStart: '100', stageSince: '2025-01-01T00:00:05.000Z',
  }))
  await t.rejects(acquireLock(output, 'submit', ownerOf(process.pid, false)), {
    exitCode: 3,
    message: /is locked by the check stage \(pid 1240\) of the pipeline "task submit" \(pid 1234\) on sphnxprod02 .*another host: caloprod cannot tell whether it still runs; if it does not, remove .*\.caloprod\.lock/,
  })
  writeFileSync(layout.lockFile(output), 'garbage')
  await t.rejects(acquireLock(output, 'submit', ownerOf(process.pid, false)), { exitCode: 3, message: /is not caloprod's/ })
})

/** A /proc with the given processes: pid -> [ppid, argv]. */
function fakeProc(dir: string, processes: Record<number, [number, string[]]>): string {
  for (const [pid, [ppid, argv]] of Object.entries(processes)) {
    mkdirSync(join(dir, pid), { recursive: true })
    const fields = ['S', ppid, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0, 1, 0, 1000 + Number(pid)]
    writeFileSync(join(dir, pid, 'stat'), `${pid} (${argv[0].slice(0, 15)} x) ${fields.join(' ')} 0 0\n`)
    writeFileSync(join(dir, pid, 'cmdline'), `${argv.join('\0')}\0`)
  }
  return dir
}

t.test('the owner is the nearest task runner above the stage, or the stage itself', async (t) => {
  const proc = fakeProc(t.testdir(), {
    10: [1, ['/usr/sbin/cron']],
    20: [10, ['/usr/local/bin/task', '--silent', 'submit', 'RUN_TYPE=run3auau']],
    30: [20, ['node', '--import', 'tsx', 'tasks/submit.ts', '--output', 'x']],
    40: [10, ['npm', 'run', 'task', '--', 'submit']],
    41: [40, ['sh', '-c', 'node --import tsx tasks/task.ts submit']],
    42: [41, ['node', '--import', 'tsx', 'tasks/task.ts', 'submit']],
    43: [42, ['/root/go/bin/task', 'submit']],
    44: [43, ['node', '--import', 'tsx', 'tasks/condor.ts']],
    50: [10, ['bash']],
    51: [50, ['node', '--import', 'tsx', 'tasks/submit.ts']],
  })
  t.match(lockOwner({ pid: 30, ppid: 20 }, proc), { pid: 20, start: '1020', pipeline: true, command: /^\/usr\/local\/bin\/task --silent submit/ })
  t.match(lockOwner({ pid: 44, ppid: 43 }, proc), { pid: 43, start: '1043', pipeline: true }, 'npm run task: go-task, which the launcher started')
  t.match(lockOwner({ pid: 51, ppid: 50 }, proc), { pid: 51, start: '1051', pipeline: false })
  t.ok(isPipelineCommand(['go-task', 'submit']))
  t.ok(isPipelineCommand(['/usr/bin/node', '/home/x/caloprod/tasks/task.ts']))
  t.notOk(isPipelineCommand(['sh', '-c', 'task submit']))
  t.notOk(isPipelineCommand(['node', 'tasks/taskfile.ts']))
})

const condorStage = (output: string, env: Record<string, string> = {}) =>
  runScript('condor', ['--output', output, '--bin-genStatus', FAKE_GENSTATUS, '--condor-log-dir', join(output, 'logs')], env)

t.test('an overlapping run exits 3 with one line naming the holder; a killed stage\'s lock is taken over with a warning', async (t) => {
  const output = t.testdir()
  writeStageInputs(output, [{ run: 68001, tag: TAG, files: ['/d/a.root'] }])
  const holder = liveProcess(t)
  const record = {
    host: hostname(), pid: holder.pid, start: processInfo(holder.pid!)?.start ?? null, command: `stage (pid ${holder.pid})`, pipeline: false,
    since: '2025-01-01T00:00:00.000Z', stage: 'submit', stagePid: holder.pid, stageStart: processInfo(holder.pid!)?.start ?? null, stageSince: '2025-01-01T00:00:00.000Z',
  }
  writeFileSync(layout.lockFile(output), JSON.stringify(record))
  const locked = await condorStage(output)
  t.equal(locked.code, 3)
  t.equal(locked.stdout, '')
  t.match(locked.stderr, new RegExp(`^caloprod condor: ${output} is in use by the submit stage \\(pid ${holder.pid}\\) on .*\n$`))
  t.notOk(existsSync(join(output, 'condor')), 'the locked run wrote nothing')

  holder.kill('SIGKILL')
  await new Promise((resolve) => holder.on('exit', resolve))
  const after = await condorStage(output)
  t.equal(after.code, 0, after.stderr)
  t.match(after.stderr, /condor: warning: took over the lock of the submit stage .*killed\?/)
  t.notOk(existsSync(layout.lockFile(output)), 'released when done')
})

t.test('under a task runner the stages share its lock; the next run takes over the finished pipeline\'s lock quietly', async (t) => {
  const dir = t.testdir()
  const output = join(dir, 'out')
  writeStageInputs(output, [{ run: 68001, tag: TAG, files: ['/d/a.root'] }])
  // A stand-in for go-task: a program named `task` that runs two stages one after the other.
  const runner = join(dir, 'task')
  writeFileSync(runner, `
    const { spawnSync } = require('node:child_process')
    const { readFileSync } = require('node:fs')
    const stage = () => spawnSync(process.execPath, ['--import', 'tsx', 'tasks/condor.ts', ...JSON.parse(process.argv[2])], { cwd: ${JSON.stringify(ROOT)}, encoding: 'utf8' })
    const one = stage()
    const between = readFileSync(${JSON.stringify(layout.lockFile(output))}, 'utf8')
    const two = stage()
    process.stdout.write(JSON.stringify({ pid: process.pid, codes: [one.status, two.status], stderr: one.stderr + two.stderr, between: JSON.parse(between) }))
  `)
  writeFileSync(join(dir, 'package.json'), '{"type": "commonjs"}')
  const args = ['--output', output, '--bin-genStatus', FAKE_GENSTATUS, '--condor-log-dir', join(dir, 'logs')]
  const child = spawn(process.execPath, [runner, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] })
  let text = ''
  child.stdout.on('data', (d) => (text += d))
  await new Promise((resolve) => child.on('close', resolve))
  const result = JSON.parse(text)
  t.same(result.codes, [0, 0], result.stderr)
  t.equal(result.stderr, '', 'the second stage entered without a word')
  t.match(result.between, { pid: result.pid, pipeline: true, stage: null })
  // The pipeline's watcher removes its lock once the runner has ended (lock-end.test.ts); wait for that, as long
  // as a busy machine needs, then put back the record a finished pipeline leaves when its watcher never ran
  // (killed, a reboot): the next run takes it over quietly.
  const lock = layout.lockFile(output)
  for (let waited = 0; existsSync(lock) && waited < 120; waited++) await new Promise((resolve) => setTimeout(resolve, 1000))
  t.notOk(existsSync(lock), 'the watcher removed the finished pipeline\'s lock')
  // Not the very text the watchers wait for (a watcher of the first stage may still be polling), so none of them
  // removes the record put back: only the next run's takeover does.
  const left = { ...result.between, since: new Date(Date.parse(result.between.since) - 1000).toISOString() }
  writeFileSync(lock, `${JSON.stringify(left, null, 2)}\n`)
  t.match(readLock(output), { pid: result.pid, stage: null }, 'a finished pipeline\'s lock, left')

  const next = await condorStage(output)
  t.equal(next.code, 0, next.stderr)
  t.equal(next.stderr, '', 'taken over quietly')
  t.match(readFileSync(join(output, 'log', `${new Date().toISOString().slice(0, 10)}.log`), 'utf8'), /took over the lock left by the pipeline .* which has finished/)
})

t.test('submitInFlight: a submit stage holding the lock now, here or on another host; none for a dead one, itself or another stage', async (t) => {
  const output = t.testdir()
  t.equal(await submitInFlight(output), undefined, 'no lock')
  const other = liveProcess(t)
  const release = await acquireLock(output, 'submit', ownerOf(other.pid!, false), { self: other.pid })
  t.match(await submitInFlight(output), { since: readLock(output).stageSince, by: `the submit stage (pid ${other.pid}) on ${hostname()} since ${readLock(output).stageSince}` })
  t.equal(await submitInFlight(output, other.pid), undefined, 'the submit itself')
  await release()
  await acquireLock(output, 'report', ownerOf(other.pid!, false), { self: other.pid })
  t.equal(await submitInFlight(output), undefined, 'another stage')
  const record = (host: string, stagePid: number) => ({
    host, pid: stagePid, start: null, command: 'task submit', pipeline: true, since: '2025-01-01T00:00:00.000Z',
    stage: 'submit', stagePid, stageStart: null, stageSince: '2025-01-01T00:00:01.000Z',
  })
  writeFileSync(layout.lockFile(output), JSON.stringify(record(hostname(), await deadPid())))
  t.equal(await submitInFlight(output), undefined, 'a killed submit: its rows are a stopped submit\'s')
  writeFileSync(layout.lockFile(output), JSON.stringify(record('sphnxprod02', 1240)))
  t.match(await submitInFlight(output), { since: '2025-01-01T00:00:01.000Z', by: /the submit stage \(pid 1240\) of the pipeline "task submit" \(pid 1240\) on sphnxprod02/ })
  writeFileSync(layout.lockFile(output), 'not json')
  t.equal(await submitInFlight(output), undefined, 'an unreadable lock: none (the next stage names it)')
})
