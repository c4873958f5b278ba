// A stage stopped by SIGINT or SIGTERM (a person's Ctrl-C, a timeout, go-task passing it on) exits 130 or 143,
// as a shell reports them, after it released the lock and removed its temporary files; a second signal ends it
// at once.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { layout } from '../lib/files/layout.js'
import { collectOutput, STAGE_START } from './helpers/run-script.js'
import { spawn } from 'node:child_process'

const HELD = join(import.meta.dirname, 'helpers', 'held-stage.ts')

const temps = (out: string) => readdirSync(out).filter((name) => name.endsWith('.tmp'))

/** The lock's record, undefined while there is none to read. */
function lockRecord(out: string): { stage: string | null; stagePid: number | null } | undefined {
  try {
    return JSON.parse(readFileSync(layout.lockFile(out), 'utf8')) as { stage: string | null; stagePid: number | null }
  } catch {
    return undefined
  }
}

/** Waits until the held stage is in its body: the lock taken for it and held.csv's temporary file open. */
async function inBody(out: string): Promise<number> {
  for (;;) {
    const record = lockRecord(out)
    if (record?.stage === 'held' && temps(out).some((name) => name.startsWith('.held.csv.'))) return record.stagePid!
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/**
 * Starts the held stage, by hand or under a parent named `task` (a shell script that waits for it), so the lock is a
 * pipeline's and is written again, not removed, when the stage releases it.
 */
function startHeld(out: string, { pipeline = false, env = {} as NodeJS.ProcessEnv } = {}) {
  // Started as the Taskfile starts a stage (tasks/start.cjs).
  const command = [process.execPath, STAGE_START, HELD, '--output', out]
  const runner = join(out, '..', 'task')
  if (pipeline) writeFileSync(runner, '#!/bin/sh\n"$@"\n', { mode: 0o755 })
  const [file, args] = pipeline ? [runner, command] : [command[0], command.slice(1)]
  return collectOutput(spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } }))
}

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  t.test(`${signal}: exit ${code}, the lock released, the temporary file removed`, async (t) => {
    const out = t.testdir()
    const { child, done } = startHeld(out)
    await inBody(out)
    child.kill(signal)
    const result = await done
    t.equal(result.code, code, result.stderr)
    t.equal(result.stderr, `caloprod held: stopped by ${signal}\n`)
    t.same(temps(out), [], 'no temporary file')
    t.notOk(existsSync(layout.lockFile(out)), 'the lock of a stage run by hand is removed')
    t.notOk(existsSync(join(out, 'held.csv')), 'nothing half-written under the real name')
  })

  // The body ends too, so the stage's own end and the signal's cleanup both come to release the lock: it is released
  // once, and the process does not exit with the other's write of the lock half done (a temporary file left behind).
  t.test(`${signal} that also ends the body, in a pipeline: the lock written back once, no temporary file`, async (t) => {
    const out = t.testdir({ out: {} })
    const dir = join(out, 'out')
    const { done } = startHeld(dir, { pipeline: true, env: { HELD_ENDS_ON_SIGNAL: '1' } })
    process.kill(await inBody(dir), signal)
    const result = await done
    t.equal(result.code, code, result.stderr)
    t.equal(result.stderr, `caloprod held: stopped by ${signal}\n`, 'no second release ("changed hands")')
    t.same(temps(dir), [], 'no temporary file')
    t.notOk(lockRecord(dir)?.stage, 'the lock is between stages, or gone once the runner ended')
  })
}

t.test('a second signal, of the other kind, ends the stage at once, with its code', async (t) => {
  const out = t.testdir()
  const { child, done } = startHeld(out)
  await inBody(out)
  // Stopped, so both signals are pending together when it goes on (in an order that is not ours to choose): the
  // first is named and starts the cleanup, the second ends the process with its own code before that is done.
  child.kill('SIGSTOP')
  child.kill('SIGTERM')
  child.kill('SIGINT')
  child.kill('SIGCONT')
  const result = await done
  const first = /^caloprod held: stopped by (SIGINT|SIGTERM)\n$/.exec(result.stderr)?.[1]
  t.ok(first, `one line, naming the first signal: ${result.stderr}`)
  t.equal(result.code, first === 'SIGINT' ? 143 : 130, 'the code of the second')
})
